"""Locatello et al.'s analyses over a store: variance shares (objective, hyperparameters, seed)
and the rank-correlation matrix between scores, with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from disentangle_bench.report.locatello import rank_correlations, variance_decomposition


def frame(values: dict[tuple[str, float], list[float]], column: str = "mig.discrete_mig"):
    rows = []
    for (model, beta), scores in values.items():
        rows += [{"run_id": f"{model}-{beta}-{s}", "status": "finished", "model": model,
                  "label": f"{model}({beta})", "seed": s, "hparams.beta": beta, column: v}
                 for s, v in enumerate(scores)]
    return pd.DataFrame(rows)


def test_shares_are_nested_sums_of_squares():
    # model a: configs (1, 3) means 1, 3; model b: configs (1, 3) means 5, 7; seeds ±1
    runs = frame({("a", 1.0): [0, 2], ("a", 3.0): [2, 4], ("b", 1.0): [4, 6], ("b", 3.0): [6, 8]})
    row = variance_decomposition(runs, ["mig.discrete_mig"]).iloc[0]
    # grand mean 4; SS_objective = 4·(2−4)² + 4·(6−4)² = 32; SS_hyper = 8·1² = 8; SS_seed = 8
    assert row["objective"] == pytest.approx(32 / 48)
    assert row["hyperparameters"] == pytest.approx(8 / 48)
    assert row["seed"] == pytest.approx(8 / 48)
    assert (row["runs"], row["objectives"], row["configurations"]) == (8, 2, 4)


def test_pure_seed_noise_is_all_seed_and_nan_never_counts():
    runs = frame({("a", 1.0): [0, 2], ("a", 3.0): [0, 2], ("b", 1.0): [0, 2, np.nan]})
    row = variance_decomposition(runs, ["mig.discrete_mig"]).iloc[0]
    assert row["seed"] == pytest.approx(1.0) and row["objective"] == pytest.approx(0.0)
    assert row["runs"] == 6


def test_rank_correlations_are_spearman_over_paired_runs():
    rng = np.random.default_rng(0)
    runs = frame({("a", 1.0): list(rng.normal(size=6))})
    runs["dci.disentanglement"] = runs["mig.discrete_mig"] * 2 + rng.normal(size=6) * 0.3
    runs["sap.SAP_score"] = -runs["mig.discrete_mig"]
    runs.loc[0, "sap.SAP_score"] = np.nan
    columns = ["mig.discrete_mig", "dci.disentanglement", "sap.SAP_score"]
    matrix = rank_correlations(runs, columns)
    expected = spearmanr(runs["mig.discrete_mig"], runs["dci.disentanglement"])[0]
    assert matrix.loc["mig.discrete_mig", "dci.disentanglement"] == pytest.approx(expected)
    assert matrix.loc["sap.SAP_score", "mig.discrete_mig"] == pytest.approx(-1.0)
    assert np.allclose(np.diag(matrix), 1.0) and np.allclose(matrix, matrix.T, equal_nan=True)
    assert rank_correlations(runs.iloc[:2], columns).isna().all().all()  # too few runs


def test_the_report_has_both_analyses(tmp_path):
    from test_sweep_store import make_store

    from disentangle_bench.report import write_report

    make_store(tmp_path, seeds=(0, 1, 2))
    paths = write_report(tmp_path)
    assert "rank_correlations.png" in {p.name for _, p in paths.figures}
    text = paths.markdown.read_text()
    assert "## What moves the scores: objective, hyperparameters, seed" in text
    # MIG = base(model, β) + seed/100: the objective and β explain nearly all of it
    section = text.split("## What moves the scores")[1]
    line = next(x for x in section.splitlines() if x.startswith("| mig.discrete_mig |"))
    objective, hyper, seed = (float(c.strip().rstrip("%")) for c in line.split("|")[2:5])
    assert objective + hyper + seed == pytest.approx(100, abs=1.5) and seed < 1
