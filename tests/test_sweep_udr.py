"""UDR per configuration (sweep/udr.py, report/udr.py): seeds whose codes are permutations of
each other score higher than unrelated ones; a 2-seed smoke sweep stores a UDR value per model
that the tables show; a re-run computes nothing; a third seed recomputes the group; one seed
per configuration is said plainly in the report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from disentangle_bench.cli import main
from disentangle_bench.data import get_dataset
from disentangle_bench.report.udr import udr_correlations, udr_markdown
from disentangle_bench.sweep import RunStore, load_results
from disentangle_bench.sweep.udr import configuration_key, group_udr

SWEEP = ["--preset", "smoke", "--dataset", "tiny", "--latent-dim", "3", "--models", "vae",
         "--architecture", "mlp", "--steps", "30", "--batch-size", "32",
         "--checkpoint-every", "30", "--metrics", "mig", "--quiet", "--no-report"]


def fake_posterior(mix: np.ndarray):
    """An 'encoder' of the tiny dataset (one square per image): the square's area and centre
    (x, y), read from the pixels, mixed by ``mix`` (3 × 3)."""

    def posterior(observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        images = observations[:, 0].astype(np.float64)
        mass = images.sum(axis=(1, 2))
        grid = np.arange(images.shape[-1])
        x = (images.sum(axis=1) * grid).sum(axis=1) / mass
        y = (images.sum(axis=2) * grid).sum(axis=1) / mass
        codes = np.stack([mass, x, y], axis=1) @ mix
        return codes, np.full_like(codes, -2.0)  # KL well above 0.01 on every latent

    return posterior


def test_permuted_seeds_score_higher_than_unrelated_ones():
    dataset = get_dataset("tiny")
    rng = np.random.default_rng(0)
    permuted = [fake_posterior(np.eye(3)[rng.permutation(3)] * rng.choice([-1, 1], 3))
                for _ in range(3)]
    unrelated = [fake_posterior(np.linalg.qr(rng.normal(size=(3, 3)))[0]) for _ in range(3)]
    agree = group_udr(dataset, permuted, seed=0, num_train=300)["model_scores"]
    differ = group_udr(dataset, unrelated, seed=0, num_train=300)["model_scores"]
    # lasso (alpha 0.1) shrinks a standardised one-to-one coefficient to 0.9: the maximum
    assert min(agree) == pytest.approx(0.9, abs=0.01)
    assert max(differ) < min(agree) - 0.2


def test_dead_latents_are_left_out_by_their_kl():
    dataset = get_dataset("tiny")
    identity = fake_posterior(np.eye(3))

    def with_dead(observations):  # a fourth latent at the prior: KL 0, ignored
        mean, logvar = identity(observations)
        return (np.hstack([mean, np.zeros((len(mean), 1))]),
                np.hstack([logvar, np.zeros((len(mean), 1))]))

    result = group_udr(dataset, [with_dead, with_dead], num_train=200)
    assert result["kl"][0][3] == pytest.approx(0.0)
    assert result["model_scores"] == pytest.approx([0.9, 0.9], abs=1e-6)  # dead one ignored


def test_configuration_key_ignores_only_the_seed():
    config = {"source": {"kind": "trained"}, "identity": {"model": "vae", "seed": 0, "lr": 1e-3}}
    other_seed = {**config, "identity": {**config["identity"], "seed": 5}}
    other_lr = {**config, "identity": {**config["identity"], "lr": 1e-4}}
    assert configuration_key(config) == configuration_key(other_seed)
    assert configuration_key(config) != configuration_key(other_lr)
    assert configuration_key({"source": {"kind": "encoder"}, "identity": {}}) is None


def udr_files(out: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in (out / "models").glob("*/evals/udr-*.json")}


def test_two_seeds_give_udr_per_model_idempotent_and_a_third_seed_recomputes(
        tmp_path, one_thread, capsys):
    out = tmp_path / "results"
    assert main([*SWEEP, "--num-seeds", "2", "--out", str(out)]) == 0
    results = pd.read_csv(out / "results.csv")
    assert len(results) == 2
    assert results["udr.model_score"].between(0, 1).all()  # one value per model
    summary = pd.read_csv(out / "summary.csv")
    assert summary["udr.model_score.finite"].tolist() == [2]
    first = udr_files(out)
    assert len(first) == 2
    record = json.loads(next(iter(first)).read_text())
    assert record["protocol"]["members"] == sorted(results["run_id"])
    assert record["protocol"]["num_train"] == 300 and record["protocol"]["correlation"] == "lasso"
    assert "UDR: 1 configuration group(s) (1 computed, 0 cached)" in capsys.readouterr().out

    assert main([*SWEEP, "--num-seeds", "2", "--out", str(out)]) == 0
    assert "(0 computed, 1 cached)" in capsys.readouterr().out
    assert udr_files(out) == first  # nothing rewritten

    assert main([*SWEEP, "--num-seeds", "3", "--out", str(out)]) == 0
    assert "(1 computed, 0 cached)" in capsys.readouterr().out
    results = pd.read_csv(out / "results.csv")
    assert len(results) == 3 and results["udr.model_score"].notna().all()
    new = set(udr_files(out)) - set(first)
    assert len(new) == 3  # a new evaluation id for each member of the grown group
    manifest = RunStore(out).read_sweep()
    assert set(manifest["udr"]["evaluations"].values()) == {p.stem for p in new}
    section = udr_markdown(load_results(out))  # the report's UDR section: ρ, p, n per score
    assert "| mig.discrete_mig |" in section and "| 3 | inconclusive |" in section

    for path in new:  # `evaluate DIR` computes a missing group's UDR, and only that
        path.unlink()
    capsys.readouterr()
    assert main(["evaluate", str(out), "--quiet", "--no-report"]) == 0
    assert "(1 computed, 0 cached)" in capsys.readouterr().out
    assert set(udr_files(out)) - set(first) == new


def test_a_smoke_group_without_active_latents_is_undefined_with_its_reason_and_exits_0(
        tmp_path, one_thread, capsys):
    # beta 1000 drives every latent to the prior within 30 steps; beta 2 keeps active ones
    out = tmp_path / "results"
    args = ["beta_vae" if arg == "vae" else arg for arg in SWEEP[:-1]]  # with the report
    assert main([*args, "--betas", "2", "1000", "--num-seeds", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "UDR: 2 configuration group(s) (2 computed" in printed and "FAILED" not in printed
    assert "UDR undefined (NaN) for 2 model(s): no active latent" in printed
    results = pd.read_csv(out / "results.csv").set_index("hparams.beta")
    dead = results.loc[1000.0]
    assert (dead["active_units"] == 0).all()  # the premise: no active latent
    assert dead["udr.model_score"].isna().all()
    assert dead["udr.reason"].str.startswith("no active latent").all()
    assert dead["nan_columns"].str.contains("udr.model_score").all()
    assert results.loc[2.0, "udr.model_score"].between(0, 1).all()
    summary = pd.read_csv(out / "summary.csv").set_index("hparams.beta")
    assert summary.loc[1000.0, "udr.model_score.finite"] == 0  # shown as "– (0/2)"
    assert summary.loc[2.0, "udr.model_score.finite"] == 2
    report = (out / "report.md").read_text()
    assert "beta_vae(beta=1000), seed 0: udr: no active latent" in report
    for run_id in dead["run_id"]:  # stored, not failed: the undefined pair is null
        record = json.loads(next((out / "models" / run_id / "evals").glob("udr-*")).read_text())
        assert record["result"]["group"]["pairwise"] == [[0.0, None], [None, 0.0]]


def test_report_says_udr_needs_two_seeds(tmp_path, one_thread, capsys):
    out = tmp_path / "results"
    assert main([*SWEEP[:-1], "--out", str(out)]) == 0  # one seed, with the report
    assert "UDR needs --num-seeds >= 2" in capsys.readouterr().out
    assert "needs `--num-seeds` ≥ 2" in (out / "report.md").read_text()
    assert "needs <code>--num-seeds</code> ≥ 2" in (out / "report.html").read_text()
    assert "udr.model_score" not in pd.read_csv(out / "results.csv").columns


def test_spearman_with_supervised_scores_across_models():
    n = 12
    udr = np.linspace(0.2, 0.9, n)
    frame = pd.DataFrame({"run_id": [f"m{i}" for i in range(n)], "status": "finished",
                          "model": "vae", "seed": range(n), "udr.model_score": udr,
                          "mig.discrete_mig": udr ** 2, "sap.sap_score": udr[::-1]})
    table = udr_correlations(frame).set_index("score")
    assert table.loc["mig.discrete_mig", "rho"] == pytest.approx(1.0)
    assert table.loc["mig.discrete_mig", "verdict"] == "positive"
    assert table.loc["sap.sap_score", "rho"] == pytest.approx(-1.0)
    assert table.loc["mig.discrete_mig", "n"] == n
    few = udr_correlations(frame.iloc[:4]).set_index("score")
    assert few.loc["mig.discrete_mig", "verdict"] == "inconclusive"  # 4 models: too few
