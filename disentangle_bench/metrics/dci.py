"""DCI: disentanglement, completeness, informativeness (Eastwood & Williams 2018, "A Framework
for the Quantitative Evaluation of Disentangled Representations", ICLR 2018), with the
gradient-boosted-tree importances of disentanglement_lib's ``evaluation/metrics/dci.py``.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import scipy.stats

from .matrices import MATRICES_KEY, matrix_record
from .utils import (
    check_split,
    constant_codes,
    nan_scores,
    varying_columns,
)

DCI_KEYS = ("disentanglement", "completeness", "informativeness_train", "informativeness_test")
_TINY = 1e-11  # added to every importance before the entropies, as in disentanglement_lib


def disentanglement(importance: np.ndarray) -> float:
    """D = sum_j rho_j (1 - H_K(P_j.)), P_j. = row j of the (n_codes, K) importance matrix
    normalised to sum 1, H_K the entropy in base K (number of factors), rho_j = row sum / total.
    If every importance is 0 the weights are uniform (disentanglement_lib's convention)."""
    importance = np.asarray(importance, dtype=np.float64)
    per_code = 1.0 - scipy.stats.entropy(importance.T + _TINY, base=importance.shape[1])
    total = importance.sum()
    weights = importance.sum(axis=1) / total if total != 0 else np.full(len(per_code), 1.0)
    if total == 0:
        weights = weights / weights.sum()
    return float(np.sum(per_code * weights))


def completeness(importance: np.ndarray) -> float:
    """C = sum_k rho_k (1 - H_J(P_.k)), P_.k = column k normalised, H_J the entropy in base J
    (number of codes), rho_k = column sum / total (equal weights for tree importances, which sum
    to 1 per factor)."""
    importance = np.asarray(importance, dtype=np.float64)
    per_factor = 1.0 - scipy.stats.entropy(importance + _TINY, base=importance.shape[0])
    total = importance.sum()
    if total == 0:
        weights = np.full(len(per_factor), 1.0 / len(per_factor))
    else:
        weights = importance.sum(axis=0) / total
    return float(np.sum(per_factor * weights))


def _scores_from_fits(importance, acc_train, acc_test) -> dict:
    scores = {
        "disentanglement": disentanglement(importance) if importance.shape[1] > 1 else np.nan,
        "completeness": completeness(importance) if importance.shape[0] > 1 else np.nan,
        "informativeness_train": float(np.mean(acc_train)),
        "informativeness_test": float(np.mean(acc_test)),
    }
    reasons = []
    if importance.shape[1] == 1:
        reasons.append("disentanglement needs at least 2 varying factors")
    if importance.shape[0] == 1:
        reasons.append("completeness needs at least 2 code dimensions")
    if reasons:
        scores["reason"] = "; ".join(reasons)
    return scores


def _uncomputable(factors_train, codes_train) -> str | None:
    if len(varying_columns(factors_train)) == 0:
        return "no varying factor left to score"
    if constant_codes(codes_train).all():
        return "all code dimensions are constant on the training sample"
    return None


# ---- exact reference estimator -------------------------------------------------------------
def _fit_gbt(x_train, y_train, x_test, y_test, seed):
    from sklearn.ensemble import GradientBoostingClassifier

    # All scikit-learn defaults, as disentanglement_lib's GradientBoostingClassifier(); the seed
    # only fixes the feature-order tie-breaking that dlib leaves unseeded.
    model = GradientBoostingClassifier(
        loss="log_loss", learning_rate=0.1, n_estimators=100, subsample=1.0,
        min_samples_split=2, min_samples_leaf=1,
        min_weight_fraction_leaf=0.0, max_depth=3, min_impurity_decrease=0.0, init=None,
        random_state=seed, max_features=None, max_leaf_nodes=None, warm_start=False,
        validation_fraction=0.1, n_iter_no_change=None, tol=1e-4, ccp_alpha=0.0,
    )
    model.fit(x_train, y_train)
    importance = np.abs(model.feature_importances_)
    return importance, np.mean(model.predict(x_train) == y_train), np.mean(
        model.predict(x_test) == y_test
    )


def _num_trees(labels: np.ndarray) -> int:
    k = len(np.unique(labels))
    return 1 if k == 2 else k  # trees per boosting stage: the cost of one factor


def dci(
    factors_train: np.ndarray,
    codes_train: np.ndarray,
    factors_test: np.ndarray,
    codes_test: np.ndarray,
    *,
    seed: int = 0,
    n_jobs: int | None = None,
    return_matrices: bool = False,
) -> dict:
    """DCI with disentanglement_lib's exact estimator.

    For each factor k a ``sklearn.ensemble.GradientBoostingClassifier`` with library defaults
    (100 stages, depth 3, learning rate 0.1) predicts the factor class from all codes;
    ``R[j, k]`` = its impurity importance of code j (each column sums to 1). Then
    (see :func:`disentanglement`, :func:`completeness`)

        D = sum_j rho_j (1 - H_K(P_j.)),   C = sum_k rho_k (1 - H_J(P_.k)),
        I_train / I_test = mean over factors of the classifier's accuracy.

    Protocol (unsupervised_study_v1): 10,000 train / 5,000 test i.i.d. uniform points.
    Factors are fitted in parallel (``n_jobs`` processes, default: all cores), largest first;
    the result does not depend on ``n_jobs``. Factors constant in the training sample are skipped.

    Returns ``{"disentanglement", "completeness", "informativeness_train",
    "informativeness_test"}``; NaN with a ``"reason"`` if no factor varies or all codes are
    constant. ``return_matrices=True`` adds ``"matrices": {"dci_importance": record}``, the
    (n_codes, K) importance matrix R (:func:`~.matrices.matrix_record`).
    """
    factors_train, codes_train, factors_test, codes_test = check_split(
        factors_train, codes_train, factors_test, codes_test
    )
    reason = _uncomputable(factors_train, codes_train)
    if reason:
        return nan_scores(DCI_KEYS, reason)
    return _fit_factors(_fit_gbt, factors_train, codes_train, factors_test, codes_test,
                        seed, n_jobs, return_matrices)


def _fit_factors(fit, factors_train, codes_train, factors_test, codes_test, seed, n_jobs,
                 return_matrices=False):
    """Fit one classifier per varying factor, in parallel processes, longest job first."""
    from joblib import Parallel, delayed

    scored = list(varying_columns(factors_train))
    order = sorted(scored, key=lambda k: -_num_trees(factors_train[:, k]))
    n_jobs = min(n_jobs or os.cpu_count() or 1, len(order))
    jobs = (
        delayed(fit)(codes_train, factors_train[:, k], codes_test, factors_test[:, k], seed)
        for k in order
    )
    fits = Parallel(n_jobs=n_jobs)(jobs) if n_jobs > 1 else [job[0](*job[1]) for job in jobs]
    by_factor = dict(zip(order, fits))
    importance = np.stack([by_factor[k][0] for k in scored], axis=1)
    scores = _scores_from_fits(
        importance, [by_factor[k][1] for k in scored], [by_factor[k][2] for k in scored]
    )
    if return_matrices:
        scores[MATRICES_KEY] = {"dci_importance": matrix_record(
            importance, scored, "R[j, k]: importance of code j for predicting factor k")}
    return scores


# ---- fast variant --------------------------------------------------------------------------
#: scikit-learn versions [low, high) on which the fast estimator's reading of private tree
#: attributes (``HistGradientBoostingClassifier._predictors[stage][tree].nodes`` with the fields
#: ``is_leaf``, ``feature_idx``, ``gain``) was checked: 1.0 made the estimator public; the
#: upper bound is the next minor version after the newest one tested (1.9).
SKLEARN_VERIFIED = ((1, 0), (1, 10))
_NODE_FIELDS = ("is_leaf", "feature_idx", "gain")


def sklearn_version_verified(version: str | None = None) -> bool:
    """Whether scikit-learn ``version`` (default: the installed one) is in
    :data:`SKLEARN_VERIFIED`."""
    import re

    if version is None:
        import sklearn

        version = sklearn.__version__
    match = re.match(r"(\d+)\.(\d+)", str(version))
    if not match:
        return False
    release = (int(match.group(1)), int(match.group(2)))
    return SKLEARN_VERIFIED[0] <= release < SKLEARN_VERIFIED[1]


def _fast_unavailable() -> str | None:
    """Why the fast estimator cannot be trusted here (None when it can)."""
    import sklearn

    if not sklearn_version_verified(sklearn.__version__):
        low, high = (".".join(map(str, v)) for v in SKLEARN_VERIFIED)
        return (f"scikit-learn {sklearn.__version__} is outside the range the fast DCI "
                f"estimator was verified on ({low} <= version < {high})")
    return None


def _gain_importance(model, n_features: int) -> np.ndarray:
    """Total split gain per feature over all trees of a fitted HistGradientBoostingClassifier,
    normalised to sum 1 (the histogram analogue of GBT's impurity importance)."""
    importance = np.zeros(n_features)
    for stage in model._predictors:
        for tree in stage:
            nodes = tree.nodes
            if not set(_NODE_FIELDS) <= set(nodes.dtype.names or ()):
                raise _PrivateLayoutChanged("tree nodes lack " + ", ".join(_NODE_FIELDS))
            split = ~nodes["is_leaf"].astype(bool)
            np.add.at(importance, nodes["feature_idx"][split], nodes["gain"][split])
    total = importance.sum()
    return importance / total if total > 0 else importance


def _fit_hist_gbt(x_train, y_train, x_test, y_test, seed):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    model = HistGradientBoostingClassifier(
        loss="log_loss", learning_rate=0.1, max_iter=100, max_depth=3, max_leaf_nodes=None,
        min_samples_leaf=1, l2_regularization=0.0, max_bins=255, early_stopping=False,
        random_state=seed,
    )
    # One OpenMP thread per fit and prediction: on shared cores OpenMP's spinning threads made
    # a fit 15-50x slower; parallelism comes from fitting factors in separate processes instead.
    with threadpool_limits(limits=1, user_api="openmp"):
        model.fit(x_train, y_train)
        acc_train = np.mean(model.predict(x_train) == y_train)
        acc_test = np.mean(model.predict(x_test) == y_test)
    return _gain_importance(model, x_train.shape[1]), acc_train, acc_test


def dci_fast(
    factors_train: np.ndarray,
    codes_train: np.ndarray,
    factors_test: np.ndarray,
    codes_test: np.ndarray,
    *,
    seed: int = 0,
    n_jobs: int | None = None,
    return_matrices: bool = False,
) -> dict:
    """DCI with a fast histogram gradient-boosting estimator (not the reference; see docs).

    Same definitions as :func:`dci` (D, C from an importance matrix, I = accuracies), but each
    factor is fitted with ``sklearn.ensemble.HistGradientBoostingClassifier`` (100 iterations,
    depth 3, learning rate 0.1, 255 bins, no early stopping, min_samples_leaf=1) and the
    importance of code j is its total split gain over all trees, normalised per factor.
    Agreement with :func:`dci` is reported in docs/metrics.md. Factors are fitted in parallel
    processes (``n_jobs``, default all cores), each fit single-threaded.

    The split gains are read from scikit-learn's private tree attributes: outside the versions
    in :data:`SKLEARN_VERIFIED` (or if those attributes are missing) this warns in one line and
    returns the exact :func:`dci`, with ``"estimator_used"`` saying so.
    """
    factors_train, codes_train, factors_test, codes_test = check_split(
        factors_train, codes_train, factors_test, codes_test
    )
    reason = _uncomputable(factors_train, codes_train)
    if reason:
        return nan_scores(DCI_KEYS, reason)
    why = _fast_unavailable()
    if why is None:
        try:
            return _fit_factors(_fit_hist_gbt, factors_train, codes_train, factors_test,
                                codes_test, seed, n_jobs, return_matrices)
        except (_PrivateLayoutChanged, AttributeError) as error:
            why = f"scikit-learn's private tree layout changed ({error})"
    warnings.warn(f"dci_fast: {why}; computing the exact DCI instead", RuntimeWarning,
                  stacklevel=2)
    scores = dci(factors_train, codes_train, factors_test, codes_test, seed=seed, n_jobs=n_jobs,
                 return_matrices=return_matrices)
    scores["estimator_used"] = "exact (fast estimator unverified here)"
    return scores


class _PrivateLayoutChanged(RuntimeError):
    """The fitted model's private attributes are not what the fast estimator reads."""
