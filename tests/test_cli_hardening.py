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
