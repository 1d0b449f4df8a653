"""Per-run intervals: MIG's bootstrap of the evaluation rows (fixed bins), exact at unit
weights, carried by evaluate() and load_results, and summarised against the seed noise."""

from __future__ import annotations

import numpy as np
import pytest

from disentangle_bench.metrics import evaluate, mig
from disentangle_bench.metrics.bootstrap import mig_resamples, multiplicities


@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(0)
    factors = rng.integers(0, 5, size=(2000, 3))
    codes = np.c_[factors[:, 0] + 0.3 * rng.normal(size=2000),
                  factors[:, 1] + 1.0 * rng.normal(size=2000), rng.normal(size=(2000, 2))]
    return factors, codes


def test_unit_weights_give_mig_exactly(sample):
    factors, codes = sample
    assert mig_resamples(factors, codes, [0, 1, 2], weights=np.ones((1, 2000)))[0] == \
        pytest.approx(mig(factors, codes)["discrete_mig"], abs=1e-12)


def test_bootstrap_spread_matches_resampling_the_rows(sample):
    """Multiplicity weights are the same as recomputing MIG on drawn rows (fixed bins)."""
    from disentangle_bench.metrics.utils import histogram_discretize

    factors, codes = sample
    weights = multiplicities(2000, 3, seed=1)
    fast = mig_resamples(factors, codes, [0, 1, 2], weights=weights)
    binned = histogram_discretize(codes, 20)  # bins of the full sample, as the bootstrap keeps
    for b in range(3):
        rows = np.repeat(np.arange(2000), weights[b].astype(int))
        # MIG of the resampled rows on the full sample's bins (binned codes are already bins)
        direct = mig(factors[rows], binned[rows].astype(float), num_bins=20)
        # re-binning integer bin labels with 20 equal-width bins keeps them distinct, so the
        # plug-in MI is the same
        assert fast[b] == pytest.approx(direct["discrete_mig"], abs=1e-10)
    assert multiplicities(2000, 3, seed=1).sum(axis=1).tolist() == [2000.0] * 3


def test_evaluate_adds_a_run_interval_only_when_asked():
    from disentangle_bench.data import get_dataset

    dataset = get_dataset("tiny")
    weights = np.random.default_rng(1).normal(size=(16 * 16, 4))

    def represent(x):
        return x.reshape(len(x), -1) @ weights

    plain = evaluate(dataset, represent, ["mig"], preset="smoke", n_jobs=1)
    assert "interval" not in plain["mig"]
    result = evaluate(dataset, represent, ["mig"], preset="smoke", n_jobs=1, bootstrap=100)
    low, high = result["mig"]["interval"]["scores"]["discrete_mig"]
    score = result["mig"]["scores"]["discrete_mig"]
    assert score == plain["mig"]["scores"]["discrete_mig"]
    assert low < high and low - 0.02 <= score <= high + 0.02
    assert result["mig"]["interval"]["resamples"] == 100
    again = evaluate(dataset, represent, ["mig"], preset="smoke", n_jobs=1, bootstrap=100)
    assert again["mig"]["interval"]["scores"] == result["mig"]["interval"]["scores"]


def test_run_intervals_reach_the_results_and_the_report_table():
    import pandas as pd

    from disentangle_bench.report.tables import evaluation_noise, value_columns
    from disentangle_bench.sweep.results import run_intervals

    columns = run_intervals({"mig": {"scores": {"discrete_mig": 0.3},
                                     "interval": {"scores": {"discrete_mig": [0.28, 0.34]}}}})
    assert columns == {"mig.discrete_mig@lo": 0.28, "mig.discrete_mig@hi": 0.34}
    frame = pd.DataFrame([{"status": "finished", "model": "vae", "seed": s,
                           "mig.discrete_mig": 0.3 + s / 100, "mig.discrete_mig@lo": 0.28,
                           "mig.discrete_mig@hi": 0.34} for s in range(3)])
    assert value_columns(frame) == ["mig.discrete_mig"]
    noise = evaluation_noise(frame).iloc[0]
    assert noise["evaluation half-width (median)"] == pytest.approx(0.03)
    assert noise["seed std (pooled)"] == pytest.approx(0.01)
