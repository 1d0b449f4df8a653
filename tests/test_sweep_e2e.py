"""End to end: `run_benchmark.py --preset smoke` on the tiny dataset (mlp), in a real process.

Checks the model directories, the table rows, the figure files, and that the table values are
the numbers stored in each model's evaluation files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import processes
import pytest

from disentangle_bench.metrics import metric_spec
from disentangle_bench.sweep import get_preset, load_results
from disentangle_bench.sweep.grid import resolve_metrics

REPO = Path(__file__).resolve().parents[1]
#: One torch thread: the tiny mlp gains nothing from more, and on a shared machine OpenMP
#: threads contending for busy cores make every step many times slower.
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
SWEEP = ["--preset", "smoke", "--dataset", "tiny", "--latent-dim", "4", "--betas", "1", "4",
         "--steps", "60", "--batch-size", "32", "--quiet"]
RUN_FILES = ("config.json", "trained.json", "train_log.csv", "artifacts.npz")



def run_benchmark(*argv: str) -> subprocess.CompletedProcess:
    return processes.run([sys.executable, str(REPO / "run_benchmark.py"), *argv], cwd=REPO,
                         env=ENV)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("e2e") / "results"
    done = run_benchmark(*SWEEP, "--out", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done


def test_prints_the_budget_first_and_the_report_path_last(sweep):
    out, done = sweep
    lines = done.stdout.splitlines()
    assert lines[0].startswith("preset smoke (overridden: steps): 60 steps x batch 32 "
                               "(1,920 images)")
    assert "NOT comparable to published numbers" in lines[0]
    assert "architecture mlp" in done.stdout  # 16×16 images: the runner picked the mlp
    assert lines[-1] == f"report: {out / 'report.html'} (and report.md)"


def test_one_finished_model_directory_per_model(sweep):
    out, _ = sweep
    runs = sorted((out / "models").iterdir())
    assert sorted(p.name.split("-")[0] for p in runs) == ["ae", "beta_vae", "vae"]
    for run in runs:
        for name in RUN_FILES:
            assert (run / name).is_file(), f"{run.name}/{name}"
        assert any((run / "checkpoint").iterdir())
        config = json.loads((run / "config.json").read_text())
        assert config["model_id"] == run.name and config["preset"] == "smoke"
        assert config["train"]["architecture"] == "mlp" and config["train"]["steps"] == 60
        assert config["train"]["device"] == "cpu"  # --device auto, resolved: no GPU here
        # one evaluation file per metric of the smoke preset, at evaluation seed 0
        evals = sorted(p.name.split("-s0-")[0] for p in (run / "evals").glob("*.json"))
        assert evals == sorted(resolve_metrics(None, get_preset("smoke")))


def test_table_rows_and_values_equal_the_stored_metrics(sweep):
    out, _ = sweep
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary["label"]) == ["ae", "vae", "beta_vae(beta=4)"]
    assert list(summary["n"]) == [1, 1, 1]
    checked = 0
    for run in (out / "models").iterdir():
        trained = json.loads((run / "trained.json").read_text())
        config = json.loads((run / "config.json").read_text())
        label = {"ae": "ae", "vae": "vae"}.get(config["train"]["model"], "beta_vae(beta=4)")
        row = summary[summary["label"] == label].iloc[0]
        headline = dict(trained["summary"])  # reconstruction: the model's (sampled z)
        for path in (run / "evals").glob("*.json"):
            record = json.loads(path.read_text())
            name, result = record["metric"], record["result"]
            if name == "unsupervised":  # KL and active units come from it when it ran
                for ours, theirs in (("kl", "kl_total"), ("active_units", "active_units")):
                    if theirs in result["scores"]:
                        headline[ours] = result["scores"][theirs]
            for score, value in result["scores"].items():
                if not isinstance(value, (int, float)) or isinstance(value, bool):
                    continue  # e.g. a "reason" string
                if metric_spec(name).is_hidden(score):
                    continue  # e.g. per-dimension KL: in results.csv, drawn as bars
                column = f"{name}.{score}"
                assert row[f"{column}.mean"] == pytest.approx(value, rel=1e-12, nan_ok=True)
                checked += 1
        for key in ("reconstruction", "kl", "active_units"):
            assert row[f"{key}.mean"] == pytest.approx(headline[key], rel=1e-12, nan_ok=True)
    assert checked >= 3 * 5  # every metric of the smoke preset, for every run
    ae = summary[summary["label"] == "ae"].iloc[0]
    assert pd.isna(ae["kl.mean"]) and pd.isna(ae["active_units.mean"])  # no posterior: no KL
    results = load_results(out)
    assert len(results) == 3 and (results["status"] == "finished").all()


def test_figures_and_reports_exist(sweep):
    out, _ = sweep
    plots = {p.name for p in (out / "plots").glob("*.png")}
    assert {"metrics_vs_beta.png", "kl_per_dim.png", "training_curves.png",
            "reconstructions.png", "traversals_ae.png", "traversals_vae.png",
            "traversals_beta_vae-beta-4.png"} <= plots
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= len(plots)
    assert (out / "report.md").is_file() and (out / "summary.md").is_file()


def test_rerun_skips_finished_runs(sweep):
    out, _ = sweep
    before = {p: p.stat().st_mtime_ns for p in (out / "models").rglob("*") if p.is_file()}
    done = run_benchmark(*SWEEP, "--out", str(out), "--no-report")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "3 runs (3 cached)" in done.stdout
    after = {p: p.stat().st_mtime_ns for p in (out / "models").rglob("*") if p.is_file()}
    assert after == before
