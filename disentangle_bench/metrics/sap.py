"""SAP, the Separated Attribute Predictability score (Kumar et al. 2018, "Variational Inference of
Disentangled Latent Concepts from Unlabeled Observations", arXiv:1711.00848), as in
disentanglement_lib's ``evaluation/metrics/sap_score.py`` (discrete factors).
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from .matrices import MATRICES_KEY, matrix_record
from .utils import check_split, constant_codes, nan_scores, varying_columns

SAP_KEYS = ("SAP_score",)


def _code_accuracies(code_train, factors_train, code_test, factors_test, seed) -> np.ndarray:
    """Test accuracy of a linear SVM predicting each factor from one code dimension."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    accuracies = np.zeros(factors_train.shape[1])
    for k in range(factors_train.shape[1]):
        # dlib: svm.LinearSVC(C=0.01, class_weight="balanced"); the other values are the
        # scikit-learn defaults of its time (dual=True; sklearn >= 1.3 defaults to "auto").
        model = LinearSVC(
            penalty="l2", loss="squared_hinge", dual=True, tol=1e-4, C=0.01,
            fit_intercept=True, intercept_scaling=1.0, class_weight="balanced",
            max_iter=1000, random_state=seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(code_train[:, None], factors_train[:, k])
        accuracies[k] = np.mean(model.predict(code_test[:, None]) == factors_test[:, k])
    return accuracies


def _code_r2(codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """``R2[j, k]`` = squared Pearson correlation of code j and factor k (ddof 1): the R² of the
    least-squares line predicting factor k from code j; 0 for a code of variance <= 1e-12."""
    codes = codes - codes.mean(axis=0)
    factors = factors - factors.mean(axis=0)
    n = len(codes)
    cov = codes.T @ factors / (n - 1)
    var_code = (codes**2).sum(axis=0) / (n - 1)
    var_factor = (factors**2).sum(axis=0) / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = cov**2 / (var_code[:, None] * var_factor[None, :])
    r2[var_code <= 1e-12] = 0.0
    return r2


def sap(
    factors_train: np.ndarray,
    codes_train: np.ndarray,
    factors_test: np.ndarray,
    codes_test: np.ndarray,
    *,
    seed: int = 0,
    n_jobs: int | None = None,
    continuous_factors: bool = False,
    return_matrices: bool = False,
) -> dict:
    """SAP score; discrete factors by default, ``continuous_factors=True`` for the R² variant.

    ``S[j, k]`` = test accuracy of ``LinearSVC(C=0.01, class_weight="balanced")`` trained on the
    single code dimension j to predict factor k's class; for each factor the gap between the two
    most predictive codes, averaged:

        SAP = 1/K * sum_k ( S_(1)k - S_(2)k ).

    Protocol (unsupervised_study_v1): 10,000 train / 5,000 test points, discrete factors;
    one SVM per (code, factor) pair, codes fitted in parallel (``n_jobs`` processes).
    Factors constant in the training sample are skipped.

    ``continuous_factors=True`` (disentanglement_lib's ``continuous_factors=True`` branch, Kumar
    et al.'s regression form): ``S[j, k]`` = R² of the linear regression of factor k (its value
    index taken as a number) on code j alone, ``cov(z_j, v_k)² / (var z_j var v_k)`` on the
    *training* sample (the test sample is not used), 0 for codes of variance <= 1e-12.

    Returns ``{"SAP_score": float}``; NaN with ``"reason"`` if no factor varies, all codes are
    constant or there are fewer than 2 codes. ``return_matrices=True`` adds ``"matrices":
    {"sap_scores": record}``, the (n_codes, K) matrix S (:func:`~.matrices.matrix_record`).
    """
    from joblib import Parallel, delayed

    factors_train, codes_train, factors_test, codes_test = check_split(
        factors_train, codes_train, factors_test, codes_test
    )
    scored = varying_columns(factors_train)
    if len(scored) == 0:
        return nan_scores(SAP_KEYS, "no varying factor left to score")
    if codes_train.shape[1] < 2:
        return nan_scores(SAP_KEYS, "SAP needs at least 2 code dimensions")
    if constant_codes(codes_train).all():
        return nan_scores(SAP_KEYS, "all code dimensions are constant on the training sample")
    ftr, fte = factors_train[:, scored], factors_test[:, scored]
    if continuous_factors:
        matrix = _code_r2(codes_train, ftr.astype(np.float64))
        return _sap_scores(matrix, scored, return_matrices, "R² of factor k on code j alone")
    n_codes = codes_train.shape[1]
    n_jobs = min(n_jobs or os.cpu_count() or 1, n_codes)
    jobs = (
        delayed(_code_accuracies)(codes_train[:, j], ftr, codes_test[:, j], fte, seed)
        for j in range(n_codes)
    )
    rows = Parallel(n_jobs=n_jobs)(jobs) if n_jobs > 1 else [job[0](*job[1]) for job in jobs]
    matrix = np.stack(rows)  # (n_codes, K)
    return _sap_scores(matrix, scored, return_matrices,
                       "test accuracy of a one-code linear SVM for factor k")


def _sap_scores(matrix: np.ndarray, scored, return_matrices: bool, meaning: str) -> dict:
    top_two = np.sort(matrix, axis=0)[::-1][:2]
    scores: dict = {"SAP_score": float(np.mean(top_two[0] - top_two[1]))}
    if return_matrices:
        scores[MATRICES_KEY] = {"sap_scores": matrix_record(matrix, scored, meaning)}
    return scores
