"""Quiet when not a terminal (issue 23, item 6): progress on a stderr that is not a TTY is whole
lines, one per model (and one every 25 % of a long run), never bar frames; on a terminal it is
tqdm's bar as before. A smoke sweep with stderr to a pipe writes no ``\\r`` and no Python
warning (item 1: warnings on stderr count)."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest
from processes import run

from disentangle_bench import progress
from disentangle_bench.progress import LineProgress, progress_bar

REPO = Path(__file__).resolve().parents[1]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def lines_of(bar_updates, capsys, **options) -> list[str]:
    bar = LineProgress(desc="vae seed 0", unit="step", **options)
    bar_updates(bar)
    bar.close()
    err = capsys.readouterr().err
    assert "\r" not in err
    return err.splitlines()


def test_a_long_bar_writes_a_line_every_25_percent_and_a_quick_one_only_at_the_end(capsys):
    def steps(bar):
        for step in range(100):
            bar.set_postfix(loss=f"{step:.2f}", kl="0.5", refresh=False)
            bar.update(1)

    long = lines_of(steps, capsys, total=100, every=25, min_seconds=0)
    assert [line.split(" in ")[0] for line in long] == [
        f"vae seed 0: {n}/100 steps ({n} %)" for n in (25, 50, 75, 100)]
    assert long[-1].endswith(", kl=0.5, loss=99.00")  # tqdm's postfix order: sorted keys
    quick = lines_of(steps, capsys, total=100, every=25, min_seconds=1e9)
    assert len(quick) == 1 and quick[0].startswith("vae seed 0: 100/100 steps (100 %)")


def test_a_bar_without_every_writes_a_line_per_update_and_close_writes_what_is_left(capsys):
    def runs(bar):
        for name in ("ae seed 0", "vae seed 0"):
            bar.set_postfix_str(f"last: {name} trained", refresh=False)
            bar.update(1)

    per_run = lines_of(runs, capsys, total=3)
    assert [line.split(" in ")[0] for line in per_run] == [
        "vae seed 0: 1/3 steps (33 %)", "vae seed 0: 2/3 steps (67 %)"]  # close: 2/3 is written
    assert per_run[1].endswith("last: vae seed 0 trained")
    stopped = lines_of(lambda bar: bar.update(3), capsys, total=10, every=25, min_seconds=1e9)
    assert len(stopped) == 1 and stopped[0].startswith("vae seed 0: 3/10 steps (30 %)")
    cached = lines_of(lambda bar: None, capsys, total=4, initial=4)
    assert len(cached) == 1 and cached[0].startswith("vae seed 0: 4/4 steps (100 %)")
    assert lines_of(lambda bar: bar.update(4), capsys, total=4, disable=True) == []


def test_a_terminal_gets_tqdm_and_anything_else_lines(monkeypatch):
    from tqdm.auto import tqdm

    monkeypatch.setattr(sys, "stderr", _Terminal())
    assert progress.interactive()
    bar = progress_bar(total=3, desc="sweep", unit="run", dynamic_ncols=True)
    try:
        assert isinstance(bar, tqdm)
    finally:
        bar.close()
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not progress.interactive()
    assert isinstance(progress_bar(total=3, desc="sweep", unit="run"), LineProgress)


WARNING = re.compile(r"\b[A-Z]\w*Warning\b")


@pytest.mark.slow
def test_a_redirected_smoke_sweep_writes_lines_not_frames_and_no_warnings(tmp_path):
    # the smoke preset's metric set on tiny; the AE (no posterior), two seeds (UDR), the report
    command = [sys.executable, "-W", "default", str(REPO / "run_benchmark.py"), "--preset",
               "smoke", "--dataset", "tiny", "--architecture", "mlp", "--latent-dim", "3",
               "--models", "ae", "beta_vae", "--betas", "4", "--steps", "40", "--batch-size",
               "32", "--num-seeds", "2", "--out", str(tmp_path / "results")]
    done = run(command, cwd=REPO)  # stderr to a pipe: not a terminal
    assert done.returncode == 0, done.stderr[-3000:]
    assert "\r" not in done.stderr and "\r" not in done.stdout
    lines = done.stderr.splitlines()
    sweep_lines = [line for line in lines if line.startswith("sweep: ")]
    assert [line.split(" (")[0] for line in sweep_lines] == [
        f"sweep: {n}/4 runs" for n in range(1, 5)]  # one line per model
    for model in ("ae seed 0", "ae seed 1", "beta_vae seed 0", "beta_vae seed 1"):
        training = [line for line in lines if line.startswith(f"{model}: ")]
        assert 1 <= len(training) <= 4, training  # the end, and at most 25/50/75 %
        assert training[-1].startswith(f"{model}: 40/40 steps (100 %)")
    assert not WARNING.findall(done.stderr), done.stderr  # no Python warning reached the user
    assert len(done.stdout.splitlines()) + len(lines) < 200
