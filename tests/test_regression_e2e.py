"""Regression check end to end on a tiny baseline: exact reproduction, a perturbed score, a wrong
KL weight, and --update-baseline."""

from __future__ import annotations

import json

import pytest

from disentangle_bench.cli import main
from disentangle_bench.models.beta_vae import BetaVAE
from disentangle_bench.report import regression as rg
from disentangle_bench.sweep import SweepRequest, expand, get_preset


def tiny_specs():
    request = SweepRequest(
        models=["beta_vae"], preset=get_preset("smoke"), grids={"beta_vae": {"beta": [4.0]}},
        dataset="tiny", steps=120, batch_size=32, lr=1e-3, latent_dim=4, architecture="mlp",
        precision="fp32", device="cpu", metrics=["mig", "unsupervised"],
        protocol={"mig": {"num_train": 400}, "unsupervised": {"num_train": 400}},
    )
    return expand(request)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    path = tmp_path_factory.mktemp("baseline") / "tiny.json"
    record = rg.make_baseline_file(path, tiny_specs(), eval_seeds=2, train_seeds=[1],
                                   command="tiny test baseline")
    return path, record


def test_baseline_file_records_config_versions_scores_and_derived_tolerances(baseline):
    path, record = baseline
    stored = json.loads(path.read_text())
    assert stored["format"] == rg.FORMAT and stored["torch_threads"] == 1
    run = stored["runs"][0]
    assert run["label"] == "beta_vae(beta=4) seed 0"
    assert run["config"]["train"]["steps"] == 120 and run["config"]["protocol"]["mig"]
    assert {"torch", "numpy", "scikit-learn", "disentangle_bench"} <= set(stored["environment"])
    assert {"kl", "reconstruction", "mig.discrete_mig"} <= set(run["scores"])
    assert not any(k.startswith("unsupervised.kl_dim_") for k in run["scores"])
    tolerances = stored["tolerances"]
    assert tolerances["eval_seeds"] == [0, 1, 2] and tolerances["train_seeds"] == [0, 1]
    entry = tolerances["per_run"][run["label"]]["kl"]
    assert entry["n_eval"] == 3 and entry["n_train"] == 2
    assert entry["tolerance"] == pytest.approx(max(rg.K_EVAL * entry["eval_std"],
                                                   rg.K_TRAIN * entry["train_std"],
                                                   rg.floor(run["scores"]["kl"])))
    assert entry["train_std"] > 0   # another training seed moves the KL


def test_check_reproduces_the_baseline_exactly_and_exits_0(baseline, capsys):
    path, record = baseline
    assert main(["check", str(path), "--quiet"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header == rg.TABLE_COLUMNS
    total = len(record["runs"][0]["scores"])
    assert f"PASSED: {total} scores compared, {total} identical to the baseline" in out


def test_a_score_perturbed_beyond_tolerance_fails_on_its_row(baseline, tmp_path, capsys):
    path, record = baseline
    label = record["runs"][0]["label"]
    tolerance = record["tolerances"]["per_run"][label]["mig.discrete_mig"]["tolerance"]
    perturbed = json.loads(path.read_text())
    perturbed["runs"][0]["scores"]["mig.discrete_mig"] += 2 * tolerance
    bad = tmp_path / "perturbed.json"
    bad.write_text(json.dumps(perturbed))
    assert main(["check", str(bad), "--quiet"]) == 1
    lines = capsys.readouterr().out.splitlines()
    failing = [line for line in lines if line.rstrip().endswith("FAIL")]
    assert len(failing) == 1 and " mig.discrete_mig " in failing[0]

    rg.update_baseline(bad)   # rewrites the file on purpose: back to the real scores
    restored = json.loads(bad.read_text())
    assert restored["runs"][0]["scores"] == record["runs"][0]["scores"]
    assert restored["tolerances"]["train_seeds"] == [0, 1]
    assert not list(tmp_path.glob(".tmp-*"))


def test_a_wrong_kl_weight_fails_on_the_kl_row(baseline, monkeypatch):
    path, _ = baseline

    def forgot_beta(self, kl, mean, logvar, z, step):   # the bug: β dropped from the loss
        return kl, {}

    monkeypatch.setattr(BetaVAE, "regulariser", forgot_beta)
    result = rg.check_baseline(path)
    assert not result.passed
    rows = result.table.set_index("metric")["result"]
    assert rows["kl"] == "FAIL" and rows["unsupervised.kl_total"] == "FAIL"
    assert rows["reconstruction"] == "FAIL"   # less KL pressure, better reconstructions
