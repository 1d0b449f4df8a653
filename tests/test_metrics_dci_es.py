import itertools
import math

import numpy as np
import property_suite as ps
import pytest

from disentangle_bench.metrics.dci_es import dci_es, explicitness_from_curve


def test_explicitness_from_curve_known_answers():
    assert explicitness_from_curve([0.0, 0.0, 0.0], baseline=0.8) == 1.0
    assert explicitness_from_curve([0.8, 0.8, 0.8], baseline=0.8) == 0.0
    assert explicitness_from_curve([0.4, 0.4], baseline=0.8) == pytest.approx(0.5)
    assert explicitness_from_curve([0.9, 0.9], baseline=0.8) == 0.0  # clipped
    assert math.isnan(explicitness_from_curve([0.1], baseline=0.0))


def test_binary_factors_read_by_a_stump_are_fully_explicit():
    factors = np.array(list(itertools.product(range(2), range(2))) * 50)
    codes = factors + 0.01 * np.random.default_rng(0).normal(size=factors.shape)
    result = dci_es(factors, codes, factors, codes, depths=(1, 2, 4))
    assert result["explicitness"] == 1.0 and result["size"] == 1.0


def test_responds_to_noise_and_rotation_not_to_redundant_or_extra_codes():
    scores = {v: dci_es(*arrays) for v, arrays in ps.split_suite(1500, 800).items()}
    e = {v: s["explicitness"] for v, s in scores.items()}
    assert e["explicitness"] < e["ideal"] - 0.3  # information destroyed by noise
    assert e["mixing"] < e["ideal"] - 0.3  # axis-aligned probes need more capacity
    assert e["duplicated"] == pytest.approx(e["ideal"], abs=0.02)
    assert e["noise"] == pytest.approx(e["ideal"], abs=0.02)
    assert scores["duplicated"]["size"] == 0.5 and scores["ideal"]["size"] == 1.0


def test_constant_codes_nan_with_reason():
    ftr, ctr, fte, cte = ps.split_suite(100, 50)["ideal"]
    result = dci_es(ftr, np.ones_like(ctr), fte, np.ones_like(cte))
    assert math.isnan(result["explicitness"]) and "constant" in result["reason"]
