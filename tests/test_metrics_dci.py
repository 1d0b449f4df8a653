import math

import numpy as np
import pytest

from disentangle_bench.metrics import completeness, dci, dci_fast, disentanglement

SIZES = (1, 2, 3, 4)  # few classes: the exact GBT fits one tree per class and stage


def split(n_train=240, n_test=120, seed=0):
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(s, size=n_train + n_test) for s in SIZES], axis=1)
    return factors[:n_train], factors[n_train:]


def noisy_identity(factors, scale=0.05, seed=0):
    rng = np.random.default_rng(seed)
    return factors[:, 1:] / np.array(SIZES[1:]) + scale * rng.normal(size=(len(factors), 3))


# ---- disentanglement_lib's importance-matrix invariants (dci_test.py) ----------------------
def test_diagonal_importance_is_perfect():
    importance = np.diag(5.0 * np.ones(5))
    assert disentanglement(importance) == pytest.approx(1.0, abs=1e-7)
    assert completeness(importance) == pytest.approx(1.0, abs=1e-7)


def test_zero_importance_scores_zero():
    importance = np.zeros((5, 5))
    assert disentanglement(importance) == pytest.approx(0.0, abs=1e-7)
    assert completeness(importance) == pytest.approx(0.0, abs=1e-7)


def test_duplicated_codes_lose_completeness_only():
    importance = np.vstack([np.diag(5.0 * np.ones(5))] * 2)
    assert disentanglement(importance) == pytest.approx(1.0, abs=1e-7)
    assert completeness(importance) == pytest.approx(1 - np.log(2) / np.log(10), abs=1e-7)


def test_one_code_for_two_factors_loses_disentanglement_only():
    importance = np.hstack([np.diag(5.0 * np.ones(5))] * 2)
    assert disentanglement(importance) == pytest.approx(1 - np.log(2) / np.log(10), abs=1e-7)
    assert completeness(importance) == pytest.approx(1.0, abs=1e-7)


# ---- estimators on samples ----------------------------------------------------------------
@pytest.mark.parametrize("estimator", [dci, dci_fast])
def test_identity_is_perfect_and_a_rotated_identity_less_disentangled(estimator):
    ftr, fte = split()
    plain = estimator(ftr, noisy_identity(ftr), fte, noisy_identity(fte, seed=1), n_jobs=1)
    assert plain["disentanglement"] > 0.9 and plain["completeness"] > 0.9
    assert plain["informativeness_test"] > 0.9
    angle = np.pi / 4
    rotation = np.eye(3)
    rotation[1:, 1:] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    rotated = estimator(
        ftr, noisy_identity(ftr) @ rotation, fte, noisy_identity(fte, seed=1) @ rotation, n_jobs=1
    )
    assert rotated["disentanglement"] < plain["disentanglement"] - 0.2


def test_exact_dci_invariant_to_scaling_and_to_permutation_up_to_tie_breaking():
    ftr, fte = split()
    ctr, cte = noisy_identity(ftr, 0.3), noisy_identity(fte, 0.3, seed=1)
    reference = dci(ftr, ctr, fte, cte, n_jobs=1)
    scale = np.array([2.0, 0.5, 4.0])  # powers of two: the float32 tree inputs scale exactly
    assert dci(ftr, ctr * scale, fte, cte * scale, n_jobs=1) == reference
    # Reordering features changes only which of equally good splits a tree keeps (the same
    # noise as disentanglement_lib's unseeded runs), so equality holds to ~1e-3.
    order = [2, 0, 1]
    permuted = dci(ftr, ctr[:, order], fte, cte[:, order], n_jobs=1)
    for key in ("disentanglement", "completeness", "informativeness_test"):
        assert permuted[key] == pytest.approx(reference[key], abs=0.01)


def test_exact_dci_does_not_depend_on_n_jobs():
    ftr, fte = split(150, 50)
    ctr, cte = noisy_identity(ftr, 0.3), noisy_identity(fte, 0.3, seed=1)
    assert dci(ftr, ctr, fte, cte, n_jobs=1) == dci(ftr, ctr, fte, cte, n_jobs=2)


def test_constant_factor_skipped_and_constant_codes_nan():
    ftr, fte = split()
    ctr, cte = noisy_identity(ftr, 0.3), noisy_identity(fte, 0.3, seed=1)
    with_constant = dci_fast(ftr, ctr, fte, cte, n_jobs=1)
    without = dci_fast(ftr[:, 1:], ctr, fte[:, 1:], cte, n_jobs=1)
    assert with_constant == without and math.isfinite(with_constant["disentanglement"])
    result = dci(ftr, np.zeros((len(ftr), 3)), fte, np.zeros((len(fte), 3)))
    assert math.isnan(result["disentanglement"]) and "constant" in result["reason"]


def test_mismatched_train_test_shapes_are_rejected():
    ftr, fte = split()
    with pytest.raises(ValueError, match="same numbers of factors and codes"):
        dci_fast(ftr, noisy_identity(ftr), fte, noisy_identity(fte)[:, :2])
