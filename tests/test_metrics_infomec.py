import math
import warnings

import numpy as np
import property_suite as ps
import pytest
from sklearn import feature_selection, linear_model, metrics, preprocessing

from disentangle_bench.metrics.infomec import info_ratios, infomec


def test_ratio_known_answers():
    assert info_ratios(np.eye(3), 3)[0] == pytest.approx({"infom": 1.0, "infoc": 1.0})
    assert info_ratios(np.ones((3, 3)), 3)[0] == pytest.approx({"infom": 0.0, "infoc": 0.0})
    # two codes share factor 0: modular (InfoM 1) but factor 0 is split over two codes:
    # InfoC = (mean(1/2, 1) - 1/3) / (1 - 1/3) = 0.625
    split = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    assert info_ratios(split, 2)[0] == pytest.approx({"infom": 1.0, "infoc": 0.625})
    scores, reasons = info_ratios(np.array([[1.0, 0.0], [0.0, 0.0]]), 2)
    assert scores["infom"] == 1.0 and math.isnan(scores["infoc"]) and len(reasons) == 2


def test_each_score_responds_to_its_property_only():
    scores = {v: infomec(f, c) for v, (f, c) in ps.suite(1000).items()
              if v not in ("noise", "mixing")}
    ideal = scores["ideal"]
    assert min(ideal["infom"], ideal["infoe"], ideal["infoc"]) > 0.98
    # InfoM: one code holding two factors; not a factor split over codes
    assert scores["modularity"]["infom"] < 0.8
    assert scores["compactness"]["infom"] > 0.98 and scores["duplicated"]["infom"] > 0.98
    # InfoC: a factor split over / copied into two codes; not a code holding two factors
    assert scores["compactness"]["infoc"] < 0.8 and scores["duplicated"]["infoc"] < 0.6
    assert scores["modularity"]["infoc"] > 0.98
    # InfoE: information destroyed by noise; not a permuted (non-monotonic) code
    assert scores["explicitness"]["infoe"] < 0.5
    assert scores["nonlinear"]["infoe"] > 0.98
    assert scores["explicitness"]["infom"] > 0.95  # noise leaves modularity alone


def test_pruning_rule_drops_codes_of_small_range():
    factors, codes = ps.suite(1000)["ideal"]
    small = np.hstack([codes, 0.04 * np.random.default_rng(0).uniform(size=(len(codes), 1))])
    assert infomec(factors, small)["num_active_latents"] == 3.0
    assert infomec(factors, small, prune_ratio=1000.0)["num_active_latents"] == 4.0


def reference_infomec(sources, latents, seed):
    """Standalone re-reading of latent_quantization's compute_infomec (continuous latents):
    per (source, latent) pair mutual_info_classif(k=10) / H(source), range pruning at 1/20 of
    the largest range, and the unpenalised balanced logistic probe for InfoE."""
    z = preprocessing.StandardScaler().fit_transform(latents)
    nmi = np.empty((sources.shape[1], z.shape[1]))
    for i in range(sources.shape[1]):
        for j in range(z.shape[1]):
            nmi[i, j] = feature_selection.mutual_info_classif(
                z[:, j][:, None], sources[:, i], discrete_features=False, n_neighbors=10,
                random_state=seed)[0]
        nmi[i] /= metrics.mutual_info_score(sources[:, i], sources[:, i])
    ranges = latents.max(axis=0) - latents.min(axis=0)
    pruned = nmi[:, ranges > ranges.max() / 20]
    n_s, n_a = sources.shape[1], pruned.shape[1]
    infom = (np.mean(pruned.max(axis=0) / pruned.sum(axis=0)) - 1 / n_s) / (1 - 1 / n_s)
    infoc = (np.mean(pruned.max(axis=1) / pruned.sum(axis=1)) - 1 / n_a) / (1 - 1 / n_a)

    def cross_entropy(x, y):
        model = linear_model.LogisticRegression(C=np.inf, class_weight="balanced",
                                                solver="lbfgs", tol=1e-4, max_iter=100)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(x, y)
        return metrics.log_loss(y, model.predict_proba(x))

    shares = []
    for i in range(sources.shape[1]):
        marginal = cross_entropy(np.zeros_like(z), sources[:, i])
        shares.append((marginal - cross_entropy(z, sources[:, i])) / marginal)
    return {"infom": infom, "infoe": np.mean(shares), "infoc": infoc}


@pytest.mark.parametrize("variant", ["mixing", "modularity", "explicitness"])
def test_oracle_reference_code(variant):
    factors, codes = ps.suite(800, seed=5)[variant]
    ours, ref = infomec(factors, codes), reference_infomec(factors, codes, seed=0)
    # the tie-breaking noise (1e-10) is drawn per call: per column there, per factor here
    for key in ("infom", "infoe", "infoc"):
        assert ours[key] == pytest.approx(ref[key], abs=1e-6), key
