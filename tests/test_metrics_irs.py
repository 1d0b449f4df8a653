import math

import numpy as np
import property_suite as ps
import pytest

from disentangle_bench.metrics.irs import irs


def dlib_irs(factors, codes, diff_quantile=0.99, num_bins=20):
    """Standalone re-reading of disentanglement_lib's compute_irs on arrays: histogram-discretise
    the factors (columns-last here), drop constant codes, then scalable_disentanglement_score."""
    ys = np.zeros_like(factors)
    for k in range(factors.shape[1]):
        edges = np.histogram(factors[:, k], num_bins)[1]
        ys[:, k] = np.digitize(factors[:, k], edges[:-1])
    mus = codes[:, codes.var(axis=0) > 0]
    max_dev = np.max(np.abs(mus - mus.mean(axis=0)), axis=0)
    cum = np.zeros((mus.shape[1], ys.shape[1]))
    for i in range(ys.shape[1]):
        levels = np.unique(ys[:, i])
        for level in levels:
            match = ys[:, i] == level
            diffs = np.abs(mus[match] - np.mean(mus[match], axis=0))
            cum[:, i] += np.percentile(diffs, q=diff_quantile * 100, axis=0)
        cum[:, i] /= len(levels)
    scores = (1.0 - cum / max_dev[:, None]).max(axis=1)
    return np.average(scores, weights=max_dev)


def test_known_answers():
    factors = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    exact = factors.astype(float)
    assert irs(factors, exact, diff_quantile=1.0, factor_bins=0)["IRS"] == 1.0
    # z = v0 + v1: holding either factor fixed leaves a spread of 0.5 around the group mean,
    # the largest deviation from the overall mean is 1, so every IRS_jk is 1 - 0.5 = 0.5
    summed = (factors[:, :1] + factors[:, 1:]).astype(float)
    assert irs(factors, summed, diff_quantile=1.0, factor_bins=0)["IRS"] == pytest.approx(0.5)


def test_responds_to_modularity_not_to_compactness_or_nonlinearity():
    scores = {v: irs(f, c)["IRS"] for v, (f, c) in ps.suite(2000).items()}
    assert scores["ideal"] > 0.99
    assert scores["mixing"] < scores["ideal"] - 0.3  # codes depending on two factors
    # a factor split over two codes, or read through a non-monotonic map, keeps each code
    # robust to the other factors
    assert scores["compactness"] == pytest.approx(scores["ideal"], abs=0.01)
    assert scores["nonlinear"] == pytest.approx(scores["ideal"], abs=0.01)


def test_constant_codes_dropped_and_counted():
    factors, codes = ps.suite(1000)["ideal"]
    with_constant = np.hstack([codes, np.full((len(codes), 1), 3.0)])
    result = irs(factors, with_constant)
    assert result["num_active_dims"] == 3.0
    assert result["IRS"] == irs(factors, codes)["IRS"]
    all_constant = irs(factors, np.ones((len(codes), 2)))
    assert math.isnan(all_constant["IRS"]) and "constant" in all_constant["reason"]


@pytest.mark.parametrize("variant", ["ideal", "mixing", "explicitness", "noise"])
def test_oracle_disentanglement_lib(variant):
    factors, codes = ps.suite(1500, seed=3)[variant]
    assert irs(factors, codes)["IRS"] == pytest.approx(dlib_irs(factors, codes), abs=1e-12)


def test_oracle_with_factors_binned_into_20():
    rng = np.random.default_rng(5)
    factors = np.stack([rng.integers(s, size=3000) for s in (3, 6, 40, 32)], axis=1)
    codes = factors / np.array([2, 5, 39, 31]) @ rng.normal(size=(4, 6)) + 0.1 * rng.normal(
        size=(3000, 6)
    )
    ours = irs(factors, codes)["IRS"]
    assert ours == pytest.approx(dlib_irs(factors, codes), abs=1e-12)
    assert ours != irs(factors, codes, factor_bins=0)["IRS"]
