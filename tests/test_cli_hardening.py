"""Failure paths found by trying the CLI as a new user (issue 16): each is one line on stderr
with exit code 2, before anything is trained or written."""

from __future__ import annotations

import pytest

import disentangle_bench.sweep as sweep
from disentangle_bench.cli import EXIT_USAGE, main

BASE = ["--dataset", "tiny", "--preset", "smoke", "--quiet"]


def _no_training(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a sweep started despite a bad argument")

    monkeypatch.setattr(sweep, "run_sweep", refuse)
    monkeypatch.setattr(sweep, "run_one", refuse)


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("error: ")
    return err[0]


@pytest.mark.parametrize("architecture", ["conv", "conv_paper"])
@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
def test_conv_architecture_on_small_images_fails_while_planning(architecture, dry_run, tmp_path,
                                                                monkeypatch, capsys):
    _no_training(monkeypatch)
    out = tmp_path / "out"
    code = main([*BASE, "--architecture", architecture, "--out", str(out), *dry_run])
    assert code == EXIT_USAGE
    line = _one_error_line(capsys)
    assert "need 64x64 images, got 16x16" in line and "mlp" in line
    assert not out.exists()


def test_mlp_architecture_on_small_images_is_accepted(tmp_path, capsys):
    assert main([*BASE, "--architecture", "mlp", "--dry-run", "--out", str(tmp_path)]) == 0
    assert "architecture mlp" in capsys.readouterr().out


# --- unwritable outputs -------------------------------------------------------------------------
@pytest.fixture
def read_only(monkeypatch):
    """``read_only(dir, errno)``: creating anything under ``dir`` fails with ``errno``, as on a
    read-only file system (EROFS) or in a directory without write permission (EACCES; the tests
    may run as root, who ignores permission bits, so the kernel's answer is simulated)."""
    import errno as errnos
    import os
    from pathlib import Path

    real_open, real_mkdir = os.open, os.mkdir
    blocked: list[tuple[str, int]] = []

    def check(path) -> None:
        text = os.path.abspath(os.fspath(path))
        for prefix, code in blocked:
            if text == prefix or text.startswith(prefix + os.sep):
                raise OSError(code, os.strerror(code), text)

    def fake_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            check(path)
        return real_open(path, flags, *args, **kwargs)

    def fake_mkdir(path, *args, **kwargs):
        check(path)
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "mkdir", fake_mkdir)

    def block(directory: Path, code: int = errnos.EROFS) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        blocked.append((os.path.abspath(directory), code))
        return directory

    return block


def test_out_on_an_existing_regular_file_is_one_line(tmp_path, monkeypatch, capsys):
    _no_training(monkeypatch)
    target = tmp_path / "taken"
    target.write_text("not a directory")
    for out in (target, target / "sub"):
        assert main([*BASE, "--out", str(out)]) == EXIT_USAGE
        line = _one_error_line(capsys)
        assert str(out) in line and "a file, not a directory" in line
    assert target.read_text() == "not a directory"


@pytest.mark.parametrize("code, reason", [(30, "Read-only file system"),
                                          (13, "Permission denied")])
def test_out_that_cannot_be_written_is_one_line_before_training(code, reason, tmp_path,
                                                                monkeypatch, read_only, capsys):
    _no_training(monkeypatch)
    locked = read_only(tmp_path / "locked", code)
    for out in (locked, locked / "new" / "deeper"):
        assert main([*BASE, "--out", str(out)]) == EXIT_USAGE
        line = _one_error_line(capsys)
        assert f"--out {out}" in line and reason in line and "writable directory" in line
    assert main([*BASE, "--out", str(locked), "--dry-run"]) == EXIT_USAGE
    assert capsys.readouterr().out == ""
    assert list(locked.iterdir()) == []


def test_check_create_without_sweep_options_is_one_line(tmp_path, capsys):
    baseline = tmp_path / "new.json"
    for argv in (["check", str(baseline), "--create"],
                 ["check", str(baseline), "--create", "--"]):
        assert main(argv) == EXIT_USAGE
        assert "--create needs the sweep" in _one_error_line(capsys)
    assert not baseline.exists()


def test_claims_with_a_missing_table_is_one_line(tmp_path, capsys):
    missing = tmp_path / "missing.csv"
    assert main(["claims", str(tmp_path), "--table", str(missing)]) == EXIT_USAGE
    line = _one_error_line(capsys)
    assert f"--table {missing}: no such file" in line


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory):
    """A one-run tiny sweep (a couple of seconds), shared by the report/claims tests."""
    out = tmp_path_factory.mktemp("sweep") / "out"
    argv = [*BASE, "--models", "beta_vae", "--betas", "4", "--steps", "20", "--metrics", "mig",
            "--no-report", "--out", str(out)]
    assert main(argv) == 0
    return out


@pytest.mark.parametrize("command, written", [("report", "report.html"),
                                              ("claims", "claims.md")])
def test_report_and_claims_on_a_read_only_results_dir(command, written, finished_sweep, tmp_path,
                                                      read_only, capsys):
    import shutil

    results = tmp_path / "results"
    shutil.copytree(finished_sweep, results)
    capsys.readouterr()
    read_only(results)
    assert main([command, str(results)]) == EXIT_USAGE
    line = _one_error_line(capsys)
    assert "Read-only file system" in line and str(results) in line
    assert not (results / written).exists()

    elsewhere = tmp_path / "elsewhere"
    assert main([command, str(results), "--dest", str(elsewhere)]) == 0
    assert (elsewhere / written).is_file()
    assert not (results / written).exists()


# --- papercuts ----------------------------------------------------------------------------------
def test_precision_auto_is_accepted_as_documented(tmp_path, capsys):
    assert main([*BASE, "--precision", "auto", "--dry-run", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert ", fp32, metrics" in out or ", bf16, metrics" in out  # resolved on this machine


def test_preview_dataset_option_has_help_and_default():
    from disentangle_bench.cli import DEFAULT_DATASET, _Parser, _preview_command

    seen = {}

    def capture(self, argv=None, namespace=None):
        seen["help"] = self.format_help()
        raise SystemExit(0)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_Parser, "parse_args", capture)
        with pytest.raises(SystemExit):
            _preview_command([])
    text = " ".join(seen["help"].split())
    assert f"--dataset DATASET dataset to show (default {DEFAULT_DATASET};" in text


@pytest.mark.parametrize("name, magic", [("p.jpg", b"\xff\xd8\xff"), ("p.png", b"\x89PNG"),
                                         ("p.svg", b"<?xml")])
def test_preview_writes_the_format_its_name_says_with_mode_0644(name, magic, tmp_path, capsys):
    target = tmp_path / name
    assert main(["preview", "--dataset", "tiny", "--out", str(target)]) == 0
    assert target.read_bytes().startswith(magic)
    assert target.stat().st_mode & 0o777 == 0o644


def test_preview_with_an_unknown_image_suffix_is_one_line(tmp_path, capsys):
    target = tmp_path / "p.gifx"
    assert main(["preview", "--dataset", "tiny", "--out", str(target)]) == EXIT_USAGE
    assert ".png" in _one_error_line(capsys)
    assert not target.exists()


def test_a_mistyped_subcommand_gets_a_suggestion(capsys):
    assert main(["dataset"]) == EXIT_USAGE
    assert "did you mean `datasets`?" in _one_error_line(capsys)
    assert main(["reprot", "x"]) == EXIT_USAGE
    assert "did you mean `report`?" in _one_error_line(capsys)


def test_help_says_default_once_per_preset():
    from disentangle_bench.cli import build_parser

    text = build_parser().format_help()
    assert "(default): default" not in text
    assert "cpu (default): --betas 1 2 4 8" in text


def test_dataset_option_chooses_the_file_source_of_a_variant(tmp_path, monkeypatch, capsys):
    from test_data_dsprites_file import FILE_NAME, real_format_arrays, write_npz

    from disentangle_bench.cli import _plan

    monkeypatch.setenv("DISENTANGLE_BENCH_DATA", str(tmp_path))
    argv = ["--dataset", "color-dsprites", "--preset", "smoke", "--models", "ae",
            "--out", str(tmp_path / "out")]
    # no file yet: the file source is asked for, so planning fails on the missing file
    assert main([*argv, "--dataset-option", "source=file", "--dry-run"]) == EXIT_USAGE
    assert FILE_NAME in _one_error_line(capsys)

    write_npz(tmp_path / FILE_NAME, real_format_arrays())
    _, on_file, _ = _plan([*argv, "--dataset-option", "source=file"])
    _, procedural, _ = _plan(argv)
    assert on_file[0].train["dataset_kwargs"] == {"source": "file"}
    assert procedural[0].train["dataset_kwargs"] == {}
    assert on_file[0].run_id != procedural[0].run_id
    assert main([*argv, "--dataset-option", "source=file", "--dry-run"]) == 0
    assert "dataset color-dsprites source=file," in capsys.readouterr().out


def test_unknown_dataset_option_is_one_line(tmp_path, monkeypatch, capsys):
    _no_training(monkeypatch)
    assert main([*BASE, "--dataset-option", "source=file", "--out", str(tmp_path)]) == EXIT_USAGE
    assert "dataset 'tiny' has no option 'source'" in _one_error_line(capsys)


def test_paper_preset_on_cpu_states_device_and_time_per_run_first(tmp_path, capsys):
    argv = ["--preset", "paper", "--dataset", "tiny", "--device", "cpu", "--models", "ae",
            "--seeds", "0", "1", "--dry-run", "--out", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("device: cpu"))
    assert "per run" in line and "for the sweep" in line
    assert out.index(line) < out.index("ae seed 0")
    assert main([*BASE, "--device", "cpu", "--dry-run", "--out", str(tmp_path)]) == 0
    assert "device: cpu" not in capsys.readouterr().out  # only for the paper budget


def test_sweep_summary_line_counts_one_run_in_the_singular():
    from disentangle_bench.sweep.runner import SweepSummary

    one = SweepSummary(run_ids=["a"], actions={"a": "trained"}, seconds=3.2)
    two = SweepSummary(run_ids=["a", "b"], actions={"a": "trained", "b": "cached"})
    assert one.lines()[0] == "1 run (1 trained) in 3 s"
    assert two.lines()[0].startswith("2 runs (1 cached, 1 trained)")


def test_labels_follow_one_rule_for_every_model():
    """Each model shows the hyperparameters that vary among its runs, or all when none varies;
    factor_vae and annealed_vae (three hyperparameters) used to be shown plain."""
    import math

    import pandas as pd

    from disentangle_bench.models import model_defaults
    from disentangle_bench.sweep.results import _add_labels

    rows = [("beta_vae", {"beta": 2.0}), ("beta_vae", {"beta": 4.0}), ("ae", {})]
    rows += [(m, model_defaults(m)) for m in ("beta_tcvae", "dip_vae_i", "factor_vae",
                                              "annealed_vae")]
    names = sorted({k for _, h in rows for k in h})
    frame = pd.DataFrame([{"model": m, **{f"hparams.{k}": h.get(k, math.nan) for k in names}}
                          for m, h in rows])
    _add_labels(frame)
    assert list(frame["label"]) == [
        "beta_vae(beta=2)", "beta_vae(beta=4)", "ae", "beta_tcvae(beta=6)",
        "dip_vae_i(lambda_d=100, lambda_od=10)",
        "factor_vae(discriminator_depth=6, discriminator_width=1000, gamma=40)",
        "annealed_vae(c_max=25, gamma=1000, iteration_threshold=100000)"]
