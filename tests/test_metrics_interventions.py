import math

import numpy as np
import pytest

from disentangle_bench.data import get_dataset
from disentangle_bench.metrics import beta_vae_score, factor_vae_score, mig
from disentangle_bench.metrics.beta_vae import _fixed_factor_pairs

SMALL = dict(batch_size=16, num_train=300, num_eval=150)
SMALL_FACTOR_VAE = dict(SMALL, num_variance_estimate=1000)


@pytest.fixture(scope="module")
def tiny():
    return get_dataset("tiny")


def identity(observations):
    """Tiny's factors read back from the image: (side^2, centroid x, centroid y)."""
    image = observations[:, 0]
    mass = image.sum(axis=(1, 2))
    grid = np.arange(image.shape[-1])
    cx = (image.sum(axis=1) * grid).sum(axis=1) / mass
    cy = (image.sum(axis=2) * grid).sum(axis=1) / mass
    return np.stack([mass, cx, cy], axis=1)


_PROJECTION = np.random.default_rng(123).normal(size=(256, 3))


def noise(observations):
    """A fixed pseudo-random code per image, unrelated to the factors."""
    return np.sin(1000.0 * observations.reshape(len(observations), -1) @ _PROJECTION)


def test_identity_scores_one(tiny):
    beta = beta_vae_score(tiny, identity, **SMALL)
    factor = factor_vae_score(tiny, identity, **SMALL_FACTOR_VAE)
    assert beta["train_accuracy"] > 0.98 and beta["eval_accuracy"] > 0.98
    assert factor["train_accuracy"] > 0.98 and factor["eval_accuracy"] > 0.98
    assert factor["num_active_dims"] == 3


def test_noise_is_near_chance(tiny):
    beta = beta_vae_score(tiny, noise, **SMALL)
    factor = factor_vae_score(tiny, noise, **SMALL_FACTOR_VAE)
    assert beta["eval_accuracy"] < 0.5  # chance is 1/3 with three varying factors
    assert factor["eval_accuracy"] < 0.55


def test_constant_factor_is_never_the_fixed_one(tiny):
    rng = np.random.default_rng(0)
    first, second, label = _fixed_factor_pairs(tiny, 200, 8, tiny.varying_factors, rng)
    fixed = np.asarray(tiny.varying_factors)[label]
    assert set(label) == {0, 1, 2}
    np.testing.assert_array_equal(first[np.arange(200), :, fixed], second[np.arange(200), :, fixed])


def test_factor_vae_invariant_to_permutation_and_positive_scaling(tiny):
    def mixed(obs):
        return identity(obs) / np.array([16.0, 4.0, 4.0]) + 2.0 * noise(obs)

    reference = factor_vae_score(tiny, mixed, **SMALL_FACTOR_VAE)
    transformed = factor_vae_score(
        tiny, lambda obs: mixed(obs)[:, [2, 0, 1]] * np.array([4.0, 0.5, 2.0]),
        **SMALL_FACTOR_VAE,
    )
    assert transformed == reference
    assert 0.4 < reference["eval_accuracy"] < 0.95  # informative but not trivially perfect


def test_duplicated_code_keeps_intervention_scores_high(tiny):
    def duplicated(obs):
        codes = identity(obs)
        return np.hstack([codes, codes])

    assert beta_vae_score(tiny, duplicated, **SMALL)["eval_accuracy"] > 0.98
    factor = factor_vae_score(tiny, duplicated, **SMALL_FACTOR_VAE)
    assert factor["eval_accuracy"] > 0.98 and factor["num_active_dims"] == 6
    # ... while MIG, which wants one code per factor, drops to 0 (docs/metrics.md).
    factors, observations = tiny.sample(1000, np.random.default_rng(0))
    assert mig(factors, identity(observations))["discrete_mig"] > 0.5
    assert mig(factors, duplicated(observations))["discrete_mig"] == pytest.approx(0, abs=1e-12)


def test_factor_vae_counts_active_dims_and_ignores_inactive(tiny):
    def with_dead_dims(obs):
        codes = identity(obs)
        dead = np.full((len(obs), 2), 0.3)
        dead[:, 1] += 0.01 * codes[:, 1]  # std < 0.05: pruned
        return np.hstack([codes, dead])

    result = factor_vae_score(tiny, with_dead_dims, **SMALL_FACTOR_VAE)
    assert result["num_active_dims"] == 3  # dlib would report 5
    assert result == factor_vae_score(tiny, identity, **SMALL_FACTOR_VAE)


def test_constant_representation_gives_nan_with_reason(tiny):
    def constant(obs):
        return np.zeros((len(obs), 4))

    beta = beta_vae_score(tiny, constant, **SMALL)
    factor = factor_vae_score(tiny, constant, **SMALL_FACTOR_VAE)
    assert math.isnan(beta["eval_accuracy"]) and "constant" in beta["reason"]
    assert math.isnan(factor["eval_accuracy"]) and "no active dimension" in factor["reason"]
    assert factor["num_active_dims"] == 0


def test_seeded_and_independent_of_chunk_size_for_deterministic_images(tiny):
    a = beta_vae_score(tiny, identity, seed=3, chunk_size=512, **SMALL)
    b = beta_vae_score(tiny, identity, seed=3, chunk_size=4096, **SMALL)
    c = factor_vae_score(tiny, noise, seed=3, chunk_size=512, **SMALL_FACTOR_VAE)
    d = factor_vae_score(tiny, noise, seed=3, chunk_size=4096, **SMALL_FACTOR_VAE)
    assert a == b and c == d
    assert factor_vae_score(tiny, noise, seed=4, **SMALL_FACTOR_VAE) != c


def test_represent_is_called_on_large_batches(tiny):
    sizes = []

    def counting(obs):
        sizes.append(len(obs))
        return identity(obs)

    beta_vae_score(tiny, counting, **SMALL)
    assert max(sizes) >= 4096 and len(sizes) <= 4
