"""--eval-every: checkpoints scored along training on a cheap subset, stored per run, summarised
in the results, plotted, and checked against Kim & Mnih's robustness claim."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from test_sweep_store import make_spec

from disentangle_bench.report import claims as cl
from disentangle_bench.sweep import RunSpec, load_results
from disentangle_bench.sweep.results import along_training_columns
from disentangle_bench.sweep.run import run_one
from disentangle_bench.sweep.store import EVAL_LOG


@pytest.fixture(scope="module")
def along(tmp_path_factory):
    import torch

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("along")
    base = make_spec("beta_vae", {"beta": 4.0}, 0, steps=20, checkpoint_every=10)
    spec = RunSpec(train=base.train, metrics=base.metrics, protocol=base.protocol,
                   preset=base.preset, eval_every=10)
    outcome = run_one(spec, root, progress=False)
    assert outcome.action == "trained", outcome.error
    return root, spec


def test_checkpoints_are_scored_every_k_steps(along):
    root, spec = along
    log = pd.read_csv(root / "models" / spec.run_id / EVAL_LOG)
    assert list(log["step"]) == [10, 20]
    for column in ("mig.discrete_mig", "factor_vae.eval_accuracy", "kl", "reconstruction"):
        assert np.isfinite(log[column]).all(), column
    assert (log["reconstruction"] > 0).all() and (log["kl"] >= 0).all()
    row = load_results(root).iloc[0]
    scores = log["factor_vae.eval_accuracy"]
    assert row["factor_vae.eval_accuracy_drop_over_training"] == pytest.approx(
        scores.max() - scores.iloc[-1])


def test_eval_every_is_part_of_a_run_id_only_when_used(along):
    _, spec = along
    plain = make_spec("beta_vae", {"beta": 4.0}, 0, steps=20, checkpoint_every=10)
    assert spec.run_id != plain.run_id
    assert "eval_every" not in plain.identity()  # runs without it keep their ids
    assert RunSpec.from_dict(spec.to_dict()) == spec


def test_the_report_plots_scores_against_the_step(along):
    from disentangle_bench.report import write_report

    root, _ = along
    paths = write_report(root)
    assert "metrics_along_training.png" in {p.name for _, p in paths.figures}


def test_drop_needs_two_checkpoints(tmp_path):
    path = tmp_path / EVAL_LOG
    pd.DataFrame({"step": [10], "factor_vae.eval_accuracy": [0.8]}).to_csv(path, index=False)
    assert math.isnan(along_training_columns(path)["factor_vae.eval_accuracy_drop_over_training"])
    pd.DataFrame({"step": [10, 20, 30], "factor_vae.eval_accuracy": [0.7, 0.9, 0.6],
                  "mig.discrete_mig": [0.1, 0.2, 0.3]}).to_csv(path, index=False)
    columns = along_training_columns(path)
    assert columns["factor_vae.eval_accuracy_drop_over_training"] == pytest.approx(0.3)
    assert columns["mig.discrete_mig_drop_over_training"] == 0.0
    assert along_training_columns(tmp_path / "missing.csv") == {}


def test_kim_and_mnih_robustness_claim_is_a_checkable_comparison():
    claims = cl.load_claims()
    claims = claims[claims["claim_id"] == "kim18-iterations"]
    metric = "factor_vae.eval_accuracy_drop_over_training"

    def runs(model, drops):
        return [{"run_id": f"{model}-{i}", "status": "finished", "model": model,
                 "dataset": "dsprites-procedural", "seed": i, "preset": "cpu", "steps": 1500,
                 "batch_size": 32, "lr": 1e-3, "latent_dim": 10, "architecture": "conv",
                 "hparams.beta": 4.0 if model == "beta_vae" else math.nan, metric: d}
                for i, d in enumerate(drops)]

    robust = pd.DataFrame(runs("factor_vae", [0.01, 0.02, 0.0, 0.01])
                          + runs("beta_vae", [0.20, 0.25, 0.15, 0.22]))
    table = cl.check_trends(robust, claims)
    assert list(table["verdict"]) == ["holds"]
    assert "stand-in for dsprites" in table["evidence"][0]
    fragile = robust.assign(model=robust["model"].map({"factor_vae": "beta_vae",
                                                        "beta_vae": "factor_vae"}))
    assert list(cl.check_trends(fragile, claims)["verdict"]) == ["does not hold"]
    assert list(cl.check_trends(robust.drop(columns=[metric]), claims)["verdict"]) == \
        ["not enough data"]
