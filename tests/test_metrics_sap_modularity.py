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
