"""The matrices behind MIG, DCI and SAP: returned on request, scores unchanged, and each
matrix gives back its score."""

from __future__ import annotations

import numpy as np
import pytest

from disentangle_bench.metrics import dci_fast, evaluate, mig, sap
from disentangle_bench.metrics.dci import completeness, disentanglement


@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(0)
    factors = rng.integers(0, 4, size=(600, 3))
    # code 0 carries factor 0, code 1 factor 2 (noisily), code 2 is noise
    codes = np.c_[factors[:, 0] + 0.05 * rng.normal(size=600),
                  factors[:, 2] + 0.5 * rng.normal(size=600), rng.normal(size=600)]
    return factors, codes


def _without(scores: dict) -> dict:
    return {k: v for k, v in scores.items() if k != "matrices"}


def test_mig_matrix_is_the_mutual_information_behind_the_score(sample):
    factors, codes = sample
    plain = mig(factors, codes)
    full = mig(factors, codes, return_matrices=True)
    assert _without(full) == plain
    record = full["matrices"]["mutual_information"]
    mi, entropy = np.array(record["values"]), np.array(record["entropy"])
    assert mi.shape == (3, 3) and record["factors"] == [0, 1, 2]
    assert entropy == pytest.approx([np.log(4)] * 3, abs=0.01)  # uniform over 4 values
    top = np.sort(mi, axis=0)[::-1]
    assert np.mean((top[0] - top[1]) / entropy) == pytest.approx(plain["discrete_mig"])
    assert np.argmax(mi[:, 0]) == 0 and np.argmax(mi[:, 2]) == 1


def test_dci_and_sap_matrices_give_back_their_scores(sample):
    factors, codes = sample
    half = len(factors) // 2
    arrays = (factors[:half], codes[:half], factors[half:], codes[half:])
    full = dci_fast(*arrays, n_jobs=1, return_matrices=True)
    assert _without(full) == dci_fast(*arrays, n_jobs=1)
    importance = np.array(full["matrices"]["dci_importance"]["values"])
    assert importance.shape == (3, 3)
    assert disentanglement(importance) == pytest.approx(full["disentanglement"])
    assert completeness(importance) == pytest.approx(full["completeness"])
    scores = sap(*arrays, n_jobs=1, return_matrices=True)
    assert _without(scores) == sap(*arrays, n_jobs=1)
    matrix = np.sort(np.array(scores["matrices"]["sap_scores"]["values"]), axis=0)[::-1]
    assert np.mean(matrix[0] - matrix[1]) == pytest.approx(scores["SAP_score"])


def test_evaluate_carries_the_matrices_with_factor_names():
    from disentangle_bench.data import get_dataset

    dataset = get_dataset("tiny")
    weights = np.random.default_rng(1).normal(size=(16 * 16, 4))

    def represent(x):
        return x.reshape(len(x), -1) @ weights

    results = evaluate(dataset, represent, ["mig", "sap"], preset="smoke", n_jobs=1)
    record = results["mig"]["matrices"]["mutual_information"]
    varying = [dataset.factor_names[k] for k in dataset.varying_factors]
    assert record["factor_names"] == varying  # tiny's constant colour is not scored
    assert np.array(record["values"]).shape == (4, len(varying))
    assert "matrices" not in results["mig"]["scores"]
    assert results["sap"]["matrices"]["sap_scores"]["factor_names"] == varying
