import math

import numpy as np
import pytest

from disentangle_bench.metrics import (
    gaussian_total_correlation,
    gaussian_wasserstein_correlation,
    kl_to_standard_normal,
    unsupervised,
)


def test_gaussian_total_correlation_known_values():
    assert gaussian_total_correlation(np.diag([1.0, 4.0, 0.5])) == pytest.approx(0.0, abs=1e-12)
    rho = 0.6
    cov = np.array([[1.0, rho], [rho, 1.0]])
    assert gaussian_total_correlation(cov) == pytest.approx(-0.5 * np.log(1 - rho**2))
    assert gaussian_wasserstein_correlation(np.diag([1.0, 2.0])) == pytest.approx(0.0, abs=1e-12)
    assert gaussian_wasserstein_correlation(cov) > 0


def test_kl_per_dimension_known_values():
    means = np.array([[0.0, 1.0, 0.0], [0.0, -1.0, 0.0]])
    logvars = np.array([[0.0, 0.0, np.log(2.0)], [0.0, 0.0, np.log(2.0)]])
    kl = kl_to_standard_normal(means, logvars)
    np.testing.assert_allclose(kl, [0.0, 0.5, 0.5 * (2.0 - np.log(2.0) - 1.0)])


def test_scores_on_sampled_codes():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(20000, 3))
    independent = unsupervised(z)
    assert independent["gaussian_total_correlation"] == pytest.approx(0.0, abs=0.005)
    assert independent["mutual_info_score"] < 0.02
    correlated = unsupervised(np.hstack([z, z[:, :1] + 0.1 * rng.normal(size=(20000, 1))]))
    assert correlated["gaussian_total_correlation"] > 1.0
    assert correlated["mutual_info_score"] > independent["mutual_info_score"] + 0.1
    assert independent["active_units_variance"] == 3


def test_active_units_threshold_and_reconstruction():
    rng = np.random.default_rng(1)
    means = np.hstack([rng.normal(size=(5000, 2)), 0.05 * rng.normal(size=(5000, 1))])
    logvars = np.hstack([np.full((5000, 2), -2.0), np.zeros((5000, 1))])
    scores = unsupervised(means, means=means, logvars=logvars, reconstruction_nll=np.arange(5000))
    assert scores["active_units"] == 2  # third dim: KL ~ 0.5 * 0.05^2 < 0.01 nats
    assert scores["active_units_variance"] == 2
    assert scores["reconstruction_nll"] == pytest.approx(2499.5)
    with pytest.raises(ValueError, match="both means and logvars"):
        unsupervised(means, means=means)


def test_constant_codes_are_left_out_or_nan():
    rng = np.random.default_rng(2)
    codes = np.hstack([rng.normal(size=(1000, 2)), np.ones((1000, 1))])
    scores = unsupervised(codes)
    assert math.isfinite(scores["gaussian_total_correlation"]) and scores["num_constant_codes"] == 1
    dead = unsupervised(np.zeros((1000, 3)))
    assert math.isnan(dead["gaussian_total_correlation"]) and "constant" in dead["reason"]
