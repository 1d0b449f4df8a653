"""DCI-ES: the explicitness (E) and size (S) that Eastwood et al. 2023 ("DCI-ES: An Extended
Disentanglement Framework with Connections to Identifiability", ICLR 2023, §4) add to DCI.

D, C and I stay those of :mod:`.dci`. No reference code was read for this module: the definition
below is this package's reading of the paper, with the probe family and capacities stated.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .utils import check_split, constant_codes, nan_scores, varying_columns

#: Probe capacities: the maximum depth of a decision tree (2^depth leaves at most).
DEPTHS = (1, 2, 3, 4, 5, 6, 8, 10)
DCI_ES_KEYS = ("explicitness", "size")


def loss_capacity_curve(x_train, y_train, x_test, y_test, depths: Sequence[int],
                        seed: int) -> np.ndarray:
    """Test misclassification rate of ``DecisionTreeClassifier(max_depth=d)`` (gini, best
    splits, ``random_state=seed``) on all codes, for each capacity d in ``depths``."""
    from sklearn.tree import DecisionTreeClassifier

    losses = []
    for depth in depths:
        tree = DecisionTreeClassifier(max_depth=int(depth), random_state=seed)
        tree.fit(x_train, y_train)
        losses.append(float(np.mean(tree.predict(x_test) != y_test)))
    return np.array(losses)


def explicitness_from_curve(losses: np.ndarray, baseline: float, best: float = 0.0) -> float:
    """``E = 1 - AULCC / Z``: ``AULCC = sum_i (l_i - l*)`` over the capacities (equal steps on
    the capacity index, right Riemann sum), ``Z = m (l_b - l*)`` the area of a curve that never
    leaves the baseline; clipped to [0, 1]. E = 1 when the smallest probe already reaches
    ``l*``, 0 when no probe beats the baseline. NaN if ``l_b <= l*``."""
    losses = np.asarray(losses, dtype=np.float64)
    if baseline <= best:
        return float("nan")
    area = np.sum(losses - best)
    return float(np.clip(1.0 - area / (len(losses) * (baseline - best)), 0.0, 1.0))


def dci_es(
    factors_train: np.ndarray,
    codes_train: np.ndarray,
    factors_test: np.ndarray,
    codes_test: np.ndarray,
    *,
    depths: Sequence[int] = DEPTHS,
    seed: int = 0,
) -> dict:
    """Explicitness and size.

    Explicitness of factor k: the loss-capacity curve is the test misclassification rate of a
    probe family of increasing capacity trained on all codes; here the family is decision trees
    of maximum depth ``depths`` (default 1, 2, 3, 4, 5, 6, 8, 10). With ``l_b`` the baseline loss
    (the test error of predicting the training sample's majority class, i.e. capacity 0) and
    ``l* = 0`` (the lowest loss any representation can reach: the factor itself, read by a deep
    enough tree), ``E_k = 1 - AULCC_k / Z_k`` (:func:`explicitness_from_curve`) and
    ``explicitness`` is the mean over the varying factors. A representation whose factors are
    read off by shallow trees scores near 1; one that needs deep trees, or never gets there
    (noise, information lost), scores lower.

    Size: ``S = K / d`` (K varying factors, d code dimensions): 1 for a representation as small
    as the factors, smaller for larger ones.

    Deviations from the paper, named: the paper's probes and capacities are experiment
    choices (it uses e.g. MLP widths and random-forest depths); its loss for classification
    factors is replaced by the misclassification rate, so ``l* = 0`` is exact and the
    measure is free of the probes' calibration; the area is taken over the capacity index.

    Returns ``{"explicitness", "size", "explicitness_<k>"}``; NaN with ``"reason"`` if no
    factor varies or all codes are constant.
    """
    factors_train, codes_train, factors_test, codes_test = check_split(
        factors_train, codes_train, factors_test, codes_test
    )
    scored = varying_columns(factors_train)
    if len(scored) == 0:
        return nan_scores(DCI_ES_KEYS, "no varying factor left to score")
    if constant_codes(codes_train).all():
        return nan_scores(DCI_ES_KEYS, "all code dimensions are constant on the training sample")
    scores: dict = {}
    per_factor = []
    for k in scored:
        labels, counts = np.unique(factors_train[:, k], return_counts=True)
        majority = labels[np.argmax(counts)]
        baseline = float(np.mean(factors_test[:, k] != majority))
        curve = loss_capacity_curve(codes_train, factors_train[:, k], codes_test,
                                    factors_test[:, k], depths, seed)
        per_factor.append(explicitness_from_curve(curve, baseline))
        scores[f"explicitness_{k}"] = per_factor[-1]
    scores["explicitness"] = float(np.mean(per_factor))
    scores["size"] = float(len(scored) / codes_train.shape[1])
    return scores
