"""Modularity and explicitness (Ridgeway & Mozer 2018, "Learning Deep Disentangled Embeddings
With the F-Statistic Loss", arXiv:1802.05312), as in disentanglement_lib's
``evaluation/metrics/modularity_explicitness.py``.
"""

from __future__ import annotations

import os

import numpy as np

from .utils import (
    check_split,
    constant_codes,
    discrete_mutual_info,
    fit_quietly,
    histogram_discretize,
    logistic_regression,
    nan_scores,
    varying_columns,
)

MODULARITY_KEYS = ("modularity_score", "explicitness_score_train", "explicitness_score_test")


def modularity(mutual_information: np.ndarray) -> float:
    """Mean over codes j of ``1 - sum_{k != k*} m_jk^2 / (m_jk*^2 (K - 1))`` for the
    (n_codes, K) mutual-information matrix ``m``, k* the factor of largest MI; a code with no
    information scores 0 (it still counts in the unweighted mean)."""
    squared = np.square(np.asarray(mutual_information, dtype=np.float64))
    best = squared.max(axis=1)
    deviation = np.divide(
        squared.sum(axis=1) - best,
        best * (squared.shape[1] - 1.0),
        out=np.zeros_like(best),
        where=best > 0,
    )
    per_code = np.where(best > 0, 1.0 - deviation, 0.0)
    return float(np.mean(per_code))


def _roc_auc(model, codes: np.ndarray, labels: np.ndarray) -> float:
    """Macro ROC-AUC of the one-hot labels against predicted class probabilities, over the
    classes that have both positives and negatives in ``labels``."""
    from sklearn.metrics import roc_auc_score

    proba = model.predict_proba(codes)
    one_hot = (labels[:, None] == model.classes_[None, :]).astype(int)
    usable = (one_hot.min(axis=0) == 0) & (one_hot.max(axis=0) == 1)
    return float(roc_auc_score(one_hot[:, usable], proba[:, usable], average="macro"))


def _explicitness_one_factor(x_train, y_train, x_test, y_test, classifier, seed):
    model, converged = fit_quietly(logistic_regression(classifier, seed), x_train, y_train)
    return _roc_auc(model, x_train, y_train), _roc_auc(model, x_test, y_test), converged


def modularity_explicitness(
    factors_train: np.ndarray,
    codes_train: np.ndarray,
    factors_test: np.ndarray,
    codes_test: np.ndarray,
    *,
    num_bins: int = 20,
    classifier: str = "liblinear_ovr",
    seed: int = 0,
    n_jobs: int | None = None,
) -> dict:
    """Modularity (from binned-code / factor mutual information on the training sample, see
    :func:`modularity`) and explicitness: per factor, a logistic regression on all codes
    (standardised with the training mean and std) predicts the class; explicitness = macro
    ROC-AUC of its class probabilities against the one-hot labels, averaged over factors.

    Protocol (unsupervised_study_v1): 10,000 train / 5,000 test, 20 histogram bins,
    ``LogisticRegression()`` with library defaults; here every parameter is explicit
    (``classifier``: ``"liblinear_ovr"`` = the study's scikit-learn < 0.22 defaults,
    ``"lbfgs_multinomial"`` = today's). Constant codes get std 1 (dlib divides by zero).
    Classes absent from the evaluated labels are left out of the macro average (dlib errors).
    Factors are fitted in parallel processes (``n_jobs``; the result does not depend on it).

    Returns ``{"modularity_score", "explicitness_score_train", "explicitness_score_test",
    "explicitness_classifier_converged"}`` (1.0 if every logistic regression converged);
    NaN with ``"reason"`` when fewer than 2 factors vary (modularity) or all codes are constant.
    """
    factors_train, codes_train, factors_test, codes_test = check_split(
        factors_train, codes_train, factors_test, codes_test
    )
    scored = varying_columns(factors_train)
    if len(scored) == 0:
        return nan_scores(MODULARITY_KEYS, "no varying factor left to score")
    if constant_codes(codes_train).all():
        reason = "all code dimensions are constant on the training sample"
        return nan_scores(MODULARITY_KEYS, reason)
    ftr, fte = factors_train[:, scored], factors_test[:, scored]
    mi = discrete_mutual_info(histogram_discretize(codes_train, num_bins), ftr)
    scores = {"modularity_score": modularity(mi) if len(scored) > 1 else float("nan")}

    mean = codes_train.mean(axis=0)
    std = codes_train.std(axis=0)
    std[std == 0] = 1.0
    x_train, x_test = (codes_train - mean) / std, (codes_test - mean) / std
    from joblib import Parallel, delayed

    n_jobs = min(n_jobs or os.cpu_count() or 1, len(scored))
    jobs = (
        delayed(_explicitness_one_factor)(x_train, ftr[:, k], x_test, fte[:, k], classifier, seed)
        for k in range(len(scored))
    )
    fits = Parallel(n_jobs=n_jobs)(jobs) if n_jobs > 1 else [job[0](*job[1]) for job in jobs]
    scores["explicitness_score_train"] = float(np.mean([fit[0] for fit in fits]))
    scores["explicitness_score_test"] = float(np.mean([fit[1] for fit in fits]))
    scores["explicitness_classifier_converged"] = float(all(fit[2] for fit in fits))
    if len(scored) == 1:
        scores["reason"] = "modularity needs at least 2 varying factors"
    return scores
