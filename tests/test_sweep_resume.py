"""Resume after SIGKILL: a sweep killed mid-run and re-run retrains nothing that had finished,
resumes the interrupted run from its checkpoint, never reads a half-written file as valid, and
ends with exactly the table of an uninterrupted sweep.

The kill point is read from the store's files; the waits are bounded only by a hang deadline,
and every command's process group is killed when the test is done (``tests/processes.py``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
from processes import kill_group, run, started, wait_until

from disentangle_bench.sweep import RunStatus, RunStore, load_results

REPO = Path(__file__).resolve().parents[1]
#: One torch thread: the tiny mlp gains nothing from more, and on a shared machine OpenMP
#: threads contending for busy cores make every step many times slower.
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
SWEEP = ["--preset", "smoke", "--dataset", "tiny", "--latent-dim", "4", "--betas", "1", "4",
         "--steps", "150", "--checkpoint-every", "10", "--batch-size", "32", "--quiet",
         "--no-report", "--metrics", "mig", "sap", "beta_vae", "unsupervised"]
TIMING_COLUMNS = ("seconds", "train_seconds", "metrics_seconds")


def command(out: Path) -> list[str]:
    return [sys.executable, str(REPO / "run_benchmark.py"), *SWEEP, "--out", str(out)]


def comparable(out: Path) -> pd.DataFrame:
    frame = load_results(out).drop(columns=list(TIMING_COLUMNS))
    return frame.sort_values("run_id").reset_index(drop=True)


def test_sigkill_mid_sweep_then_resume_equals_uninterrupted(tmp_path):
    out = tmp_path / "killed"
    store = RunStore(out)

    def first_finished_second_checkpointed() -> bool:
        ids = store.model_ids()
        finished = [r for r in ids if store.status(r) is RunStatus.FINISHED]
        started = [r for r in ids if r not in finished
                   and any((store.model_dir(r) / "checkpoint").glob("*"))]
        return len(finished) >= 1 and len(started) >= 1

    with started(command(out), cwd=REPO, env=ENV, stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL) as process:
        wait_until(first_finished_second_checkpointed, "finished run beside a checkpointed one",
                   process)
        kill_group(process.pid)
        process.wait()
    assert process.returncode == -signal.SIGKILL

    # nothing half-written reads as finished: every run is finished (valid) or incomplete
    statuses = {r: store.status(r) for r in store.model_ids()}
    finished = [r for r, s in statuses.items() if s is RunStatus.FINISHED]
    assert set(statuses.values()) <= {RunStatus.FINISHED, RunStatus.INCOMPLETE}
    assert 1 <= len(finished) < 3
    stamps = {p: p.stat().st_mtime_ns for r in finished
              for p in store.model_dir(r).rglob("*") if p.is_file() and p.name != ".lock"}

    resumed = run(command(out), cwd=REPO, env=ENV)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"{len(finished)} cached" in resumed.stdout
    assert "resumed" in resumed.stdout  # the interrupted run continued from its checkpoint
    # the runs that had finished were not retrained: not one of their files was rewritten
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps

    reference = tmp_path / "uninterrupted"
    clean = run(command(reference), cwd=REPO, env=ENV)
    assert clean.returncode == 0, clean.stderr[-3000:]
    pd.testing.assert_frame_equal(comparable(out), comparable(reference), check_exact=True)
    pd.testing.assert_frame_equal(pd.read_csv(out / "summary.csv"),
                                  pd.read_csv(reference / "summary.csv"), check_exact=True)
