"""Bad arguments fail before any training: one line on stderr, exit code 2, nothing written."""

from __future__ import annotations

import re

import pytest

import disentangle_bench.sweep as sweep
from disentangle_bench.cli import EXIT_USAGE, build_parser, main

BASE = ["--dataset", "tiny", "--preset", "smoke", "--quiet"]

BAD = {
    "negative beta": (["--betas", "1", "-2"], r"beta"),
    "unknown model": (["--models", "ae", "nosuchvae"], r"unknown model 'nosuchvae'.*beta_vae"),
    "unknown dataset": (["--dataset", "dsprite"], r"unknown dataset 'dsprite'.*tiny"),
    "metric typo": (["--metrics", "mig", "mgi"], r"mgi"),
    "unknown preset": (["--preset", "fast"], r"--preset.*invalid choice: 'fast'"),
    "zero steps": (["--steps", "0"], r"--steps must be positive"),
    "negative lr": (["--lr=-1e-3"], r"--lr must be positive"),
    "negative seed": (["--seeds", "0", "-1"], r"--seeds must be non-negative"),
    "zero jobs": (["--jobs", "0"], r"--jobs must be positive"),
    "negative eval-every": (["--eval-every=-5"], r"--eval-every must be 0 \(never\) or a "
                                                  r"positive number of steps, got -5"),
    "unknown executor": (["--executor", "slurm"], r"--executor.*invalid choice: 'slurm'"),
    "hyperparameter of no selected model": (["--gammas", "10"], r"--gammas sets 'gamma'.*"
                                                                r"factor_vae"),
    "unknown hyperparameter": (["--grid", "beta_vae.bta=2"], r"no hyperparameter 'bta'"),
    "grid for an unselected model": (["--grid", "factor_vae.gamma=10"],
                                     r"factor_vae.*not selected"),
    "malformed grid": (["--grid", "beta_vae.beta"], r"--grid expects NAME.PARAM=V1"),
    "unknown protocol parameter": (["--metrics", "mig", "--protocol", "mig.num_trian=10"],
                                   r"mig.*no protocol parameter 'num_trian'"),
    "non-numeric beta": (["--betas", "four"], r"--betas.*invalid float value: 'four'"),
    "seeds and num-seeds": (["--seeds", "1", "--num-seeds", "2"], r"not allowed with"),
    "unknown lr schedule": (["--lr-schedule", "step"], r"--lr-schedule.*invalid choice"),
    "negative warm-up": (["--warmup-steps=-1"], r"--warmup-steps must be >= 0, got -1"),
    "negative KL warm-up": (["--kl-warmup-steps=-3"], r"--kl-warmup-steps must be >= 0"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_argument_is_one_line_exit_2_before_training(case, tmp_path, monkeypatch, capsys):
    argv, pattern = BAD[case]
    out = tmp_path / "out"

    def no_training(*args, **kwargs):
        raise AssertionError("a sweep started despite a bad argument")

    monkeypatch.setattr(sweep, "run_sweep", no_training)
    monkeypatch.setattr(sweep, "run_one", no_training)
    assert main([*BASE, *argv, "--out", str(out)]) == EXIT_USAGE
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    assert re.search(pattern, lines[0]), lines[0]
    assert not out.exists()


def test_bad_argument_in_a_real_process(tmp_path):
    """The installed entry point: exit status 2 and one stderr line."""
    import sys
    from pathlib import Path

    from processes import run

    script = Path(__file__).resolve().parents[1] / "run_benchmark.py"
    done = run([sys.executable, str(script), "--betas", "-4", "--dataset", "tiny",
                "--out", str(tmp_path / "out")])
    assert done.returncode == EXIT_USAGE
    assert len(done.stderr.strip().splitlines()) == 1 and "beta" in done.stderr
    assert done.stdout == "" and not (tmp_path / "out").exists()


def test_help_documents_every_option_and_the_presets(capsys):
    parser = build_parser()
    text = parser.format_help()
    for action in parser._actions:
        if action.option_strings:
            assert action.help, f"{action.option_strings} has no help text"
            assert action.option_strings[-1] in text
    for name in ("paper", "cpu", "smoke"):
        assert re.search(rf"^  {name}( \(default\))?: ", text, re.MULTILINE), name
    assert "300,000 steps" in text and "NOT comparable" in text
    for option in ("--betas", "--models", "--grid", "--seeds", "--num-seeds", "--dataset",
                   "--steps", "--batch-size", "--lr", "--latent-dim", "--metrics", "--preset",
                   "--device", "--jobs", "--executor", "--out", "--force"):
        assert option in text


def test_report_of_an_empty_directory_is_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nothing")]) == EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no models in" in err[0]
    assert not (tmp_path / "nothing").exists()


def test_dry_run_lists_the_grid_without_training(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sweep, "run_sweep", lambda *a, **k: pytest.fail("trained"))
    out = tmp_path / "out"
    code = main([*BASE, "--betas", "1", "2", "4", "--models", "ae", "vae", "beta_vae",
                 "--dry-run", "--out", str(out)])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("preset smoke: ")
    runs = [line.split()[0] for line in lines if line.startswith("  ")]
    # β = 1 of beta_vae is the vae: trained once
    assert runs == ["ae", "vae", "beta_vae(beta=2)", "beta_vae(beta=4)"]
    assert not out.exists()


def test_dask_option_without_dask_executor_is_refused(tmp_path, capsys):
    argv = [*BASE, "--scheduler", "tcp://127.0.0.1:1", "--out", str(tmp_path / "out")]
    assert main(argv) == EXIT_USAGE
    assert "--scheduler is an option of the dask executor" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_schedule_options_reach_the_training_config_and_the_budget_line(tmp_path, capsys):
    from disentangle_bench.cli import _plan

    argv = [*BASE, "--betas", "4", "--lr", "0.003", "--lr-schedule", "cosine",
            "--warmup-steps", "7", "--kl-warmup-steps", "20", "--out", str(tmp_path / "o")]
    _, specs, _ = _plan(argv)
    train = specs[0].train
    assert (train["lr_schedule"], train["warmup_steps"], train["kl_warmup_steps"]) == (
        "cosine", 7, 20)
    assert main([*argv, "--dry-run"]) == 0
    budget = capsys.readouterr().out.splitlines()[0]
    assert "lr 0.003 (7 warm-up steps, cosine decay), KL warm-up over 20 steps" in budget
    _, plain, _ = _plan([*BASE, "--betas", "4", "--out", str(tmp_path / "p")])
    assert plain[0].train["lr_schedule"] == "constant" and plain[0].train["warmup_steps"] == 0


def test_the_cpu_preset_trains_one_latent_per_factor_unless_told(tmp_path, capsys):
    from disentangle_bench.cli import _plan
    from disentangle_bench.data import get_dataset

    base = ["--dataset", "tiny", "--betas", "4", "--quiet", "--out", str(tmp_path / "o")]
    factors = 3  # tiny's factors: colour (constant, not counted), size, posX, posY
    assert get_dataset("tiny").factor_sizes == (1, 3, 8, 8)
    _, cpu, _ = _plan(base)
    assert cpu[0].train["latent_dim"] == factors
    _, told, _ = _plan([*base, "--latent-dim", "7"])
    assert told[0].train["latent_dim"] == 7 and told[0].model_id != cpu[0].model_id
    _, paper, _ = _plan([*base, "--preset", "smoke"])
    assert paper[0].train["latent_dim"] == 10
    assert main([*base, "--dry-run"]) == 0
    assert f"mlp network, {factors} latents," in capsys.readouterr().out.splitlines()[0]


def test_the_budget_line_calls_only_the_paper_recipe_the_published_protocol():
    from disentangle_bench.sweep.presets import get_preset

    paper = get_preset("paper")
    assert paper.budget_line().endswith("the published training protocol")
    for changed in ({"latent_dim": 5}, {"lr_schedule": "cosine"}, {"warmup_steps": 10}):
        assert paper.budget_line(**changed).endswith("NOT comparable to published numbers")
