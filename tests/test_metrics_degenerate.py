"""Every registered metric on degenerate representations (issue 23): constant codes, and a
VAE whose latents all sit at the prior (no active latent: means ~0, KL ~0). Each score is a
finite number, or NaN with the metric's ``reason``; never an exception, never inf, and no
warning reaches the user."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from disentangle_bench.data import get_dataset
from disentangle_bench.metrics import evaluate, list_metrics


def constant(observations: np.ndarray) -> np.ndarray:
    """The same code for every image."""
    return np.full((len(observations), 3), 0.5)


def at_the_prior(observations: np.ndarray) -> np.ndarray:
    """Means within 1e-4 of 0 (what a collapsed VAE encodes): barely varying codes."""
    return 1e-4 * observations.reshape(len(observations), -1)[:, :3].astype(np.float64)


def unit_posterior(represent):
    """``(mean, logvar)`` with unit variance: KL to the prior ~0 on every latent."""
    def posterior(observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean = represent(observations)
        return mean, np.zeros_like(mean)

    return posterior


@pytest.fixture(scope="module")
def tiny():
    return get_dataset("tiny")


@pytest.mark.parametrize("represent", [constant, at_the_prior])
@pytest.mark.parametrize("name", list_metrics())
def test_a_degenerate_representation_scores_finite_or_nan_with_a_reason(tiny, name, represent):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = evaluate(tiny, represent, [name], preset="smoke", n_jobs=1,
                          posterior=unit_posterior(represent))[name]["scores"]
    scores = {k: v for k, v in result.items() if isinstance(v, float)}
    assert scores, result
    undefined = [k for k, v in scores.items() if math.isnan(v)]
    assert all(math.isfinite(v) for k, v in scores.items() if k not in undefined), scores
    if undefined:
        assert isinstance(result.get("reason"), str) and result["reason"], (undefined, result)


def test_the_cases_are_the_degenerate_ones_they_claim_to_be(tiny):
    results = evaluate(tiny, constant, ["mig", "factor_vae"], preset="smoke", n_jobs=1)
    assert math.isnan(results["mig"]["scores"]["discrete_mig"])
    assert "constant" in results["mig"]["scores"]["reason"]
    assert "no active dimension" in results["factor_vae"]["scores"]["reason"]
    prior = evaluate(tiny, at_the_prior, ["unsupervised"], preset="smoke",
                     posterior=unit_posterior(at_the_prior))["unsupervised"]["scores"]
    assert prior["active_units"] == 0  # every latent's KL <= 0.01 nats
