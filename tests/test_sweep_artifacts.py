"""The report's arrays from a trained model: KL per dimension, traversal layout, summaries.

A hand-made linear "model" with known posterior and a decoder that writes each latent into its
own image column makes every stored number checkable exactly."""

from __future__ import annotations

import numpy as np
import pytest

from disentangle_bench.data import get_dataset
from disentangle_bench.sweep.artifacts import compute_artifacts, summarize_artifacts

DIM = 4
SCALES = np.array([0.1, 2.0, 0.0, 1.0])  # posterior mean = scale_j * (mean pixel), so KL varies


class LinearModel:
    latent_dim = DIM

    def __init__(self, has_posterior: bool = True):
        self.has_posterior = has_posterior

    def encode(self, observations):
        return observations.mean(axis=(1, 2, 3))[:, None] * SCALES[None, :] * 10

    def posterior(self, observations):
        if not self.has_posterior:
            raise ValueError("no posterior")
        mean = self.encode(observations)
        return mean, np.full_like(mean, np.log(0.25))  # sigma = 0.5

    def decode(self, codes):
        """Image column j (of 16) holds (z_j + 2) / 4: the latent made visible."""
        images = np.zeros((len(codes), 1, 16, 16), np.float32)
        images[:, 0, :, :DIM] = np.clip((codes[:, None, :] + 2) / 4, 0, 1)
        return images

    def reconstruction_nll(self, observations):
        return np.full(len(observations), 7.0)

    def sampled_reconstruction_nll(self, observations, seed):
        return np.full(len(observations), 9.0)


def test_kl_order_and_traversal_layout():
    arrays = compute_artifacts(LinearModel(), get_dataset("tiny"), seed=0,
                               settings={"eval_images": 200, "base_images": 2,
                                         "traversal_steps": 5})
    rng = np.random.default_rng([0, 7919])
    observations = get_dataset("tiny").sample_observations(200, rng)
    mean = LinearModel().encode(observations)
    expected_kl = (0.5 * (mean**2 + 0.25 - np.log(0.25) - 1)).mean(axis=0)
    np.testing.assert_allclose(arrays["kl_per_dim"], expected_kl, rtol=1e-12)
    assert list(arrays["traversal_order"]) == [1, 3, 0, 2]  # largest KL first
    traversals = arrays["traversals"]
    assert traversals.shape == (2, DIM, 5, 1, 16, 16) and traversals.dtype == np.uint8
    offsets = np.linspace(-2, 2, 5)
    for row, dim in enumerate(arrays["traversal_order"]):
        for step, value in enumerate(offsets):
            image = traversals[0, row, step, 0]
            # the swept latent's column follows the prior grid, the others stay at the base code
            assert image[0, dim] == np.rint(np.clip((value + 2) / 4, 0, 1) * 255)
            others = [j for j in range(DIM) if j != dim]
            base = np.rint(np.clip((mean[0, others] + 2) / 4, 0, 1) * 255)
            np.testing.assert_array_equal(image[0, others], base)
    assert bool(arrays["prior_range"])


def test_summary_counts_active_units_and_uses_the_mean_nll():
    arrays = compute_artifacts(LinearModel(), get_dataset("tiny"), seed=1,
                               settings={"eval_images": 100})
    summary = summarize_artifacts(arrays, active_threshold=0.2)
    assert summary["reconstruction"] == 9.0  # the sampled-z term is the headline
    assert summary["reconstruction_posterior_mean"] == 7.0
    assert summary["kl"] == pytest.approx(arrays["kl_per_dim"].sum())
    assert summary["active_units"] == int((arrays["kl_per_dim"] > 0.2).sum())
    # sigma = 0.5 alone gives KL 0.5 (0.25 - log 0.25 - 1) = 0.318 per dimension: all 4 active
    assert summarize_artifacts(arrays, active_threshold=0.3)["active_units"] == DIM


def test_model_without_posterior_sweeps_the_fitted_range_and_has_no_kl():
    arrays = compute_artifacts(LinearModel(has_posterior=False), get_dataset("tiny"), seed=0,
                               settings={"eval_images": 100, "traversal_steps": 3})
    assert not bool(arrays["prior_range"])
    assert np.all(arrays["kl_per_dim"] == 0)
    order = arrays["traversal_order"]
    assert list(order) == [1, 3, 0, 2]  # by the codes' spread instead of KL
    spread = arrays["code_std"][order]
    np.testing.assert_allclose(arrays["traversal_values"][:, 2] - arrays["traversal_values"][:, 0],
                               4 * spread)
    summary = summarize_artifacts(arrays, active_threshold=0.01)
    assert np.isnan(summary["kl"]) and np.isnan(summary["active_units"])


def test_same_seed_same_arrays():
    first = compute_artifacts(LinearModel(), get_dataset("tiny"), seed=3)
    second = compute_artifacts(LinearModel(), get_dataset("tiny"), seed=3)
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
