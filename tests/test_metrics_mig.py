import math

import numpy as np
import pytest

from disentangle_bench.metrics import mig

SIZES = (1, 3, 6, 8, 8)  # a constant first factor, like dSprites' colour


def factors_sample(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(s, size=n) for s in SIZES], axis=1)


def identity_codes(factors):
    return factors[:, 1:].astype(float)


def test_identity_scores_near_one_and_noise_near_zero():
    factors = factors_sample()
    assert mig(factors, identity_codes(factors))["discrete_mig"] > 0.95
    noise = np.random.default_rng(1).normal(size=(len(factors), 4))
    assert mig(factors, noise)["discrete_mig"] < 0.02


def test_invariant_to_code_permutation_and_positive_scaling():
    factors = factors_sample()
    rng = np.random.default_rng(2)
    codes = identity_codes(factors) + 0.3 * rng.normal(size=(len(factors), 4))
    reference = mig(factors, codes)["discrete_mig"]
    assert 0.1 < reference < 0.95
    permuted = codes[:, [2, 0, 3, 1]]
    assert mig(factors, permuted)["discrete_mig"] == reference
    assert mig(factors, codes * np.array([2.0, 0.5, 4.0, 8.0]))["discrete_mig"] == reference
    assert mig(factors, codes * 3.7 + 1.0)["discrete_mig"] == pytest.approx(reference, abs=1e-3)


def test_duplicated_code_gives_zero_gap():
    factors = factors_sample()
    codes = identity_codes(factors)
    assert mig(factors, np.hstack([codes, codes]))["discrete_mig"] == pytest.approx(0.0, abs=1e-12)


def test_rotated_identity_scores_lower():
    factors = factors_sample()
    codes = identity_codes(factors) / np.array([3, 6, 8, 8])
    angle = np.pi / 4
    rotation = np.eye(4)
    rotation[2:, 2:] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    rotated = mig(factors, codes @ rotation)["discrete_mig"]
    assert rotated < mig(factors, codes)["discrete_mig"] - 0.2


def test_constant_factor_is_skipped_not_divided_by():
    factors = factors_sample()
    codes = identity_codes(factors) + 0.2 * np.random.default_rng(3).normal(size=(len(factors), 4))
    with_constant = mig(factors, codes, factor_names=["color", "scale", "orient", "x", "y"])
    without = mig(factors[:, 1:], codes)
    assert math.isfinite(with_constant["discrete_mig"])
    assert with_constant["discrete_mig"] == pytest.approx(without["discrete_mig"], abs=1e-12)
    assert "gap_color" not in with_constant and "gap_scale" in with_constant


def test_all_constant_codes_give_nan_with_reason():
    factors = factors_sample(500)
    result = mig(factors, np.ones((500, 3)))
    assert math.isnan(result["discrete_mig"]) and "constant" in result["reason"]


def test_exclude_factor_by_name_averages_the_remaining_gaps():
    factors = factors_sample()
    codes = identity_codes(factors) + 0.3 * np.random.default_rng(4).normal(size=(len(factors), 4))
    names = ["color", "shape", "scale", "x", "y"]
    full = mig(factors, codes, factor_names=names)
    chen = mig(factors, codes, factor_names=names, exclude_factors=("shape",))
    assert "gap_shape" not in chen
    assert chen["discrete_mig"] == pytest.approx(
        np.mean([full["gap_scale"], full["gap_x"], full["gap_y"]]), abs=1e-12
    )
    with pytest.raises(ValueError, match="factor_names"):
        mig(factors, codes, exclude_factors=("shape",))


def test_fewer_bins_change_the_score():
    factors = factors_sample()
    codes = identity_codes(factors)
    coarse = mig(factors, codes, num_bins=2)["discrete_mig"]
    assert coarse < 0.5 < mig(factors, codes)["discrete_mig"]
