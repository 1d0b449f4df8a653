import math

import numpy as np
import pytest

from disentangle_bench.metrics import modularity, modularity_explicitness, sap

SIZES = (1, 3, 6, 8)


def split(n_train=1500, n_test=800, seed=0):
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(s, size=n_train + n_test) for s in SIZES], axis=1)
    return factors[:n_train], factors[n_train:]


def identity(factors):
    return factors[:, 1:].astype(float)


# ---- SAP ---------------------------------------------------------------------------------
def test_sap_identity_beats_noise_which_is_near_zero():
    ftr, fte = split()
    rng = np.random.default_rng(1)
    good = sap(ftr, identity(ftr), fte, identity(fte), n_jobs=1)["SAP_score"]
    noise = sap(ftr, rng.normal(size=(len(ftr), 3)), fte, rng.normal(size=(len(fte), 3)), n_jobs=1)
    assert abs(noise["SAP_score"]) < 0.05
    assert good > noise["SAP_score"] + 0.2


def test_sap_duplicated_code_has_zero_gap():
    ftr, fte = split()
    ctr, cte = identity(ftr), identity(fte)
    result = sap(ftr, np.hstack([ctr, ctr]), fte, np.hstack([cte, cte]), n_jobs=1)
    assert result["SAP_score"] == 0.0


def test_sap_constant_factor_skipped_and_constant_codes_nan():
    ftr, fte = split()
    assert sap(ftr, identity(ftr), fte, identity(fte), n_jobs=1) == sap(
        ftr[:, 1:], identity(ftr), fte[:, 1:], identity(fte), n_jobs=1
    )
    result = sap(ftr, np.zeros((len(ftr), 2)), fte, np.zeros((len(fte), 2)))
    assert math.isnan(result["SAP_score"]) and result["reason"]


# ---- modularity (disentanglement_lib's modularity_explicitness_test.py) --------------------
def test_modularity_known_matrices():
    diagonal = np.diag(5.0 * np.ones(5))
    assert modularity(diagonal) == pytest.approx(1.0)
    assert modularity(np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])) == pytest.approx(2 / 3)
    assert modularity(np.zeros((5, 5))) == 0.0
    assert modularity(np.vstack([diagonal, diagonal])) == pytest.approx(1.0)
    assert modularity(diagonal[:2]) == pytest.approx(1.0)
    assert modularity(np.hstack([diagonal, diagonal])) == pytest.approx(1 - 1 / 9)


def test_modularity_explicitness_identity_versus_noise():
    ftr, fte = split()
    rng = np.random.default_rng(2)
    good = modularity_explicitness(ftr, identity(ftr), fte, identity(fte), n_jobs=1)
    noise = modularity_explicitness(
        ftr, rng.normal(size=(len(ftr), 3)), fte, rng.normal(size=(len(fte), 3)), n_jobs=1
    )
    assert good["modularity_score"] > 0.95
    assert good["explicitness_score_test"] > 0.8
    assert abs(noise["explicitness_score_test"] - 0.5) < 0.05
    assert good["explicitness_score_test"] > noise["explicitness_score_test"] + 0.25


def test_explicitness_tolerates_one_constant_code_and_records_classifier_choice():
    ftr, fte = split()
    ctr = np.hstack([identity(ftr), np.ones((len(ftr), 1))])
    cte = np.hstack([identity(fte), np.ones((len(fte), 1))])
    ovr = modularity_explicitness(ftr, ctr, fte, cte, n_jobs=1)
    multinomial = modularity_explicitness(ftr, ctr, fte, cte, classifier="lbfgs_multinomial")
    assert multinomial == modularity_explicitness(
        ftr, ctr, fte, cte, classifier="lbfgs_multinomial", n_jobs=1
    )
    assert all(math.isfinite(v) for v in ovr.values())
    assert ovr["explicitness_score_test"] != multinomial["explicitness_score_test"]


# ---- SAP, continuous factors (dlib's continuous_factors=True branch) ---------------------
def dlib_sap_continuous(ftr, ctr):
    """Standalone re-reading of compute_score_matrix(continuous_factors=True) + top-two gap."""
    matrix = np.zeros((ctr.shape[1], ftr.shape[1]))
    for i in range(ctr.shape[1]):
        for j in range(ftr.shape[1]):
            cov = np.cov(ctr[:, i], ftr[:, j], ddof=1)
            if cov[0, 0] > 1e-12:
                matrix[i, j] = cov[0, 1] ** 2 / (cov[0, 0] * cov[1, 1])
    ordered = np.sort(matrix, axis=0)
    return np.mean(ordered[-1] - ordered[-2])


def test_sap_continuous_known_answers():
    factors = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 3)
    codes = np.stack([3.0 * factors[:, 0] - 1.0, factors[:, 1]], axis=1).astype(float)
    # each code is an exact line of its factor (R² 1) and uncorrelated with the other (R² 0)
    result = sap(factors, codes, factors, codes, continuous_factors=True)
    assert result["SAP_score"] == pytest.approx(1.0, abs=1e-12)
    doubled = np.hstack([codes, codes])
    assert sap(factors, doubled, factors, doubled, continuous_factors=True)["SAP_score"] == 0.0


def test_sap_continuous_matches_reference_and_ignores_test_sample():
    import property_suite as ps

    ftr, ctr, fte, cte = ps.split_suite(1500, 500, seed=4)["mixing"]
    ours = sap(ftr, ctr, fte, cte, continuous_factors=True)["SAP_score"]
    assert ours == pytest.approx(dlib_sap_continuous(ftr, ctr), abs=1e-12)
    assert sap(ftr, ctr, fte, cte[::-1], continuous_factors=True)["SAP_score"] == ours


def test_sap_continuous_responds_to_nonlinearity_not_to_extra_noise_codes():
    import property_suite as ps

    scores = {
        v: sap(*arrays, continuous_factors=True)["SAP_score"]
        for v, arrays in ps.split_suite(2000, 500).items()
    }
    assert scores["ideal"] > 0.99
    assert scores["nonlinear"] < scores["ideal"] - 0.5  # a permuted scale is not a line
    assert scores["mixing"] < scores["ideal"] - 0.5
    assert scores["noise"] == pytest.approx(scores["ideal"], abs=0.01)
