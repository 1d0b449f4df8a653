"""MIG-sup, DCIMIG and JEMMIG: known answers on full factor grids (exact independence, so
every plug-in MI is exact), responses on the property suite, and a naive re-computation."""

import itertools
import math

import numpy as np
import property_suite as ps
import pytest
from sklearn.metrics import mutual_info_score

from disentangle_bench.metrics.dcimig import dcimig
from disentangle_bench.metrics.jemmig import jemmig
from disentangle_bench.metrics.mig_sup import mig_sup


def grid(*sizes, repeat=1):
    return np.array(list(itertools.product(*(range(s) for s in sizes))) * repeat)


def test_ideal_grid_scores_exactly_one():
    factors = grid(10, 10, 10)
    codes = factors / 9.0
    assert mig_sup(factors, codes)["mig_sup"] == pytest.approx(1.0, abs=1e-12)
    assert dcimig(factors, codes)["dcimig"] == pytest.approx(1.0, abs=1e-12)
    assert jemmig(factors, codes)["jemmig"] == pytest.approx(1.0, abs=1e-12)


def test_duplicated_codes_known_answers():
    factors = grid(10, 10, 10)
    codes = np.hstack([factors, factors]) / 9.0
    assert mig_sup(factors, codes)["mig_sup"] == pytest.approx(1.0, abs=1e-12)
    assert dcimig(factors, codes)["dcimig"] == pytest.approx(1.0, abs=1e-12)
    # the second code holds the factor fully: JEMMIG_k = H(v_k) = log 10 for every factor
    expected = 1 - math.log(10) / (math.log(10) + math.log(20))
    assert jemmig(factors, codes)["jemmig"] == pytest.approx(expected, abs=1e-12)


def test_one_code_holding_two_factors_known_answers():
    factors = grid(2, 2, repeat=5)
    codes = np.stack([2 * factors[:, 0] + factors[:, 1], factors[:, 1]], axis=1).astype(float)
    # code 0 tells both factors (gap 0), code 1 tells v1 only (normalised gap 1)
    assert mig_sup(factors, codes, num_bins=4)["mig_sup"] == pytest.approx(0.5, abs=1e-12)
    # code 0's gap 0 goes to v0, code 1's gap log 2 to v1: log 2 / (2 log 2)
    assert dcimig(factors, codes, num_bins=4)["dcimig"] == pytest.approx(0.5, abs=1e-12)


def naive_mi(factors, codes, num_bins=20):
    binned = np.stack([
        np.digitize(c, np.histogram(c, num_bins)[1][:-1]) for c in codes.T
    ], axis=1)
    mi = np.array([[mutual_info_score(f, b) for f in factors.T] for b in binned.T])
    h = np.array([mutual_info_score(f, f) for f in factors.T])
    return binned, mi, h


@pytest.mark.parametrize("variant", ["modularity", "explicitness", "mixing"])
def test_agree_with_naive_recomputation(variant):
    factors, codes = ps.suite(1500, seed=2)[variant]
    binned, mi, h = naive_mi(factors, codes)
    normalised = mi / h
    expected_sup = np.mean([sorted(r)[-1] - sorted(r)[-2] for r in normalised])
    assert mig_sup(factors, codes)["mig_sup"] == pytest.approx(expected_sup, abs=1e-12)
    best = np.zeros(len(h))
    for row in mi:
        k = int(np.argmax(row))
        best[k] = max(best[k], sorted(row)[-1] - sorted(row)[-2])
    assert dcimig(factors, codes)["dcimig"] == pytest.approx(best.sum() / h.sum(), abs=1e-12)
    values = []
    for k in range(len(h)):
        top, second = np.argsort(-mi[:, k], kind="stable")[:2]
        joint = mutual_info_score(binned[:, top] * 100 + factors[:, k],
                                  binned[:, top] * 100 + factors[:, k])
        values.append((joint - mi[top, k] + mi[second, k]) / (h[k] + math.log(20)))
    assert jemmig(factors, codes)["jemmig"] == pytest.approx(1 - np.mean(values), abs=1e-12)


def test_property_responses():
    scores = {
        v: (mig_sup(f, c)["mig_sup"], dcimig(f, c)["dcimig"], jemmig(f, c)["jemmig"])
        for v, (f, c) in ps.suite(2000).items()
    }
    sup, dci_mig, jem = (dict(zip(scores, col)) for col in zip(*scores.values()))
    # MIG-sup: modularity (one factor per code); blind to redundancy and non-linearity
    assert sup["modularity"] < sup["ideal"] - 0.1 and sup["mixing"] < 0.05
    assert sup["duplicated"] == pytest.approx(sup["ideal"], abs=0.01)
    assert sup["nonlinear"] == pytest.approx(sup["ideal"], abs=0.01)
    # DCIMIG: a clean code per factor; blind to redundancy and non-linearity, not to mixing
    assert dci_mig["modularity"] < dci_mig["ideal"] - 0.3 and dci_mig["mixing"] < 0.05
    assert dci_mig["duplicated"] == pytest.approx(dci_mig["ideal"], abs=0.01)
    assert dci_mig["nonlinear"] == pytest.approx(dci_mig["ideal"], abs=0.01)
    # JEMMIG: punishes both a shared top code and a redundant second code; not extra noise codes
    assert jem["modularity"] < jem["ideal"] - 0.2 and jem["duplicated"] < jem["ideal"] - 0.3
    assert jem["noise"] == pytest.approx(jem["ideal"], abs=0.01)
    assert jem["nonlinear"] == pytest.approx(jem["ideal"], abs=0.01)


def test_nan_with_reason():
    factors = grid(4, 4, repeat=3)
    for fn, key in ((mig_sup, "mig_sup"), (dcimig, "dcimig"), (jemmig, "jemmig")):
        result = fn(factors, np.ones((len(factors), 3)))
        assert math.isnan(result[key]) and "constant" in result["reason"]
    one_factor = np.stack([factors[:, 0], np.zeros(len(factors), int)], axis=1)
    assert math.isnan(mig_sup(one_factor, factors / 3.0)["mig_sup"])
    assert math.isnan(dcimig(one_factor, factors / 3.0)["dcimig"])
