"""Shared machinery of the metrics: input checks, discretisation, discrete mutual information.

The estimators follow disentanglement_lib's ``evaluation/metrics/utils.py`` (Locatello et al.
2019): codes are discretised per dimension into equal-width histogram bins over the sample, and
mutual information is the plug-in estimate on the contingency table in nats, numerically equal to
``sklearn.metrics.mutual_info_score`` but computed with one ``np.bincount`` per pair.
"""

from __future__ import annotations

import math
import platform
import warnings
from importlib import metadata

import numpy as np

REASON = "reason"  # key of the explanation that accompanies NaN scores


class MetricInputError(ValueError):
    """Arrays handed to a metric have the wrong shape, type or values."""


# ---- input checks ------------------------------------------------------------------------
def check_factors_codes(factors: np.ndarray, codes: np.ndarray, what: str = "") -> tuple:
    """Validate ``factors`` int (n, n_factors) and ``codes`` float (n, n_codes); return them as
    int64 / float64 arrays."""
    factors = np.asarray(factors)
    codes = np.asarray(codes)
    where = f" ({what})" if what else ""
    if factors.ndim != 2 or codes.ndim != 2:
        raise MetricInputError(
            f"factors and codes must be 2-D (n_samples, n_factors) / (n_samples, n_codes){where}, "
            f"got shapes {factors.shape} and {codes.shape}"
        )
    if factors.shape[0] != codes.shape[0]:
        raise MetricInputError(
            f"factors and codes need the same number of samples{where}, "
            f"got {factors.shape[0]} and {codes.shape[0]}"
        )
    if factors.shape[0] < 2:
        raise MetricInputError(f"need at least 2 samples{where}, got {factors.shape[0]}")
    if not np.issubdtype(factors.dtype, np.integer):
        if not np.all(np.equal(np.mod(factors, 1), 0)):
            raise MetricInputError(
                f"factors must be integer class indices{where}; discretise continuous factors first"
            )
    codes = codes.astype(np.float64, copy=False)
    if not np.all(np.isfinite(codes)):
        raise MetricInputError(f"codes contain NaN or infinite values{where}")
    return factors.astype(np.int64, copy=False), codes


def check_split(factors_train: np.ndarray, codes_train: np.ndarray, factors_test: np.ndarray,
                codes_test: np.ndarray) -> tuple:
    """:func:`check_factors_codes` on a train and a test sample, which must also have the same
    numbers of factors and of codes; returns the four arrays (int64 factors, float64 codes)."""
    factors_train, codes_train = check_factors_codes(factors_train, codes_train, "train")
    factors_test, codes_test = check_factors_codes(factors_test, codes_test, "test")
    same_factors = factors_train.shape[1] == factors_test.shape[1]
    if not same_factors or codes_train.shape[1] != codes_test.shape[1]:
        raise MetricInputError(
            "train and test arrays need the same numbers of factors and codes, got "
            f"{factors_train.shape[1]}/{factors_test.shape[1]} factors and "
            f"{codes_train.shape[1]}/{codes_test.shape[1]} codes"
        )
    return factors_train, codes_train, factors_test, codes_test


def varying_columns(factors: np.ndarray) -> np.ndarray:
    """Indices of the factor columns that take more than one value in this sample.

    Constant factors (dSprites' colour, or a factor that happens not to vary) carry no
    information to score and would make entropy normalisers zero, so every metric skips them.
    """
    factors = np.asarray(factors)
    return np.flatnonzero(factors.min(axis=0) != factors.max(axis=0))


def constant_codes(codes: np.ndarray) -> np.ndarray:
    """Boolean mask of code dimensions that are constant over the sample."""
    return codes.min(axis=0) == codes.max(axis=0)


def nan_scores(keys, reason: str) -> dict:
    """An uncomputable result: every score NaN plus the human-readable reason."""
    scores: dict = {key: math.nan for key in keys}
    scores[REASON] = reason
    return scores


# ---- discretisation and discrete information ---------------------------------------------
def histogram_discretize(codes: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """Discretise each code dimension into ``num_bins`` equal-width bins over its sample range.

    Exactly disentanglement_lib's ``_histogram_discretize``: per column,
    ``np.digitize(x, np.histogram(x, num_bins)[1][:-1])``, labels ``1..num_bins`` (the maximum
    falls in bin ``num_bins``). Returns int64 (n, n_codes). Example: ``[.1 .. .6]`` with 3 bins
    gives ``[1, 1, 2, 2, 3, 3]``.
    """
    codes = np.asarray(codes, dtype=np.float64)
    if num_bins < 1:
        raise MetricInputError(f"num_bins must be >= 1, got {num_bins}")
    out = np.empty(codes.shape, dtype=np.int64)
    for j in range(codes.shape[1]):
        edges = np.histogram_bin_edges(codes[:, j], bins=num_bins)
        out[:, j] = np.digitize(codes[:, j], edges[:-1])
    return out


def _relabel(labels: np.ndarray) -> tuple[np.ndarray, int]:
    values, inverse = np.unique(labels, return_inverse=True)
    return inverse.reshape(-1), len(values)


def _mutual_info_from_counts(joint: np.ndarray) -> float:
    """Plug-in MI (nats) of a contingency table, same arithmetic as sklearn's mutual_info_score."""
    rows = joint.sum(axis=1)
    cols = joint.sum(axis=0)
    if np.count_nonzero(rows) <= 1 or np.count_nonzero(cols) <= 1:
        return 0.0
    total = joint.sum()
    nzx, nzy = np.nonzero(joint)
    counts = joint[nzx, nzy]
    p = counts / total
    outer = rows[nzx].astype(np.int64) * cols[nzy].astype(np.int64)
    log_outer = -np.log(outer) + math.log(rows.sum()) + math.log(cols.sum())
    terms = p * (np.log(counts) - math.log(total)) + p * log_outer
    terms = np.where(np.abs(terms) < np.finfo(terms.dtype).eps, 0.0, terms)
    return float(np.clip(terms.sum(), 0.0, None))


def discrete_mutual_info(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Matrix ``m[i, j] = I(a[:, i]; b[:, j])`` in nats for discrete label columns.

    ``a`` (n, p) and ``b`` (n, q) hold integer labels (e.g. binned codes and factor classes).
    Each entry equals ``sklearn.metrics.mutual_info_score(b[:, j], a[:, i])`` (disentanglement_lib's
    ``discrete_mutual_info``, transposed to samples-first), computed from a contingency table built
    with one ``np.bincount``.
    """
    a = np.asarray(a)
    b = np.asarray(b)
    relabelled_a = [_relabel(a[:, i]) for i in range(a.shape[1])]
    relabelled_b = [_relabel(b[:, j]) for j in range(b.shape[1])]
    m = np.zeros((a.shape[1], b.shape[1]))
    for i, (x, kx) in enumerate(relabelled_a):
        for j, (y, ky) in enumerate(relabelled_b):
            joint = np.bincount(x * ky + y, minlength=kx * ky).reshape(kx, ky)
            m[i, j] = _mutual_info_from_counts(joint)
    return m


def discrete_entropy(labels: np.ndarray) -> np.ndarray:
    """Empirical entropy (nats) of each label column: ``h[j] = I(y_j; y_j)``.

    As in disentanglement_lib this is the plug-in entropy of the *sample*, not ``log |V_j|``.
    """
    labels = np.asarray(labels)
    h = np.zeros(labels.shape[1])
    for j in range(labels.shape[1]):
        _, counts = np.unique(labels[:, j], return_counts=True)
        if len(counts) > 1:
            p = counts / counts.sum()
            h[j] = float(-(p * np.log(p)).sum())
    return h


# ---- classifiers -------------------------------------------------------------------------
LOGISTIC_VARIANTS = ("liblinear_ovr", "lbfgs_multinomial")


def logistic_regression(variant: str, seed: int):
    """The untuned logistic regression of disentanglement_lib, with every parameter explicit.

    disentanglement_lib calls ``LogisticRegression()`` with library defaults, which changed:
    - ``"liblinear_ovr"``: scikit-learn < 0.22 defaults, in force when the unsupervised study
      (Locatello et al. 2019) was run: liblinear, one-vs-rest, C=1, tol=1e-4, max_iter=100,
      intercept_scaling=1.
    - ``"lbfgs_multinomial"``: scikit-learn >= 0.22 defaults (what dlib's code gives today):
      lbfgs, multinomial softmax, C=1, tol=1e-4, max_iter=100.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    common = dict(C=1.0, tol=1e-4, max_iter=100, fit_intercept=True, random_state=seed)
    if variant == "liblinear_ovr":
        return OneVsRestClassifier(
            LogisticRegression(solver="liblinear", intercept_scaling=1.0, **common)
        )
    if variant == "lbfgs_multinomial":
        return LogisticRegression(solver="lbfgs", **common)
    raise MetricInputError(
        f"unknown logistic regression variant {variant!r}; use one of {LOGISTIC_VARIANTS}"
    )


def fit_quietly(model, x: np.ndarray, y: np.ndarray) -> tuple[object, bool]:
    """Fit ``model``; return it and whether it converged (no ConvergenceWarning raised)."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(x, y)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return model, converged


# ---- environment -------------------------------------------------------------------------
def environment() -> dict:
    """Versions of the libraries a score depends on (torch read from its metadata, not imported)."""
    env = {"python": platform.python_version()}
    for name in ("numpy", "scipy", "scikit-learn", "joblib", "torch"):
        try:
            env[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            env[name] = None
    return env


# ---- representation calls ------------------------------------------------------------------
def encode(represent, observations: np.ndarray, num_codes: int | None = None) -> np.ndarray:
    """``represent(observations)`` checked: float64 (n, n_codes), finite, one row per image."""
    codes = np.asarray(represent(observations))
    if codes.ndim == 1:
        codes = codes[:, None]
    if codes.ndim != 2 or codes.shape[0] != len(observations):
        raise MetricInputError(
            f"represent must return one code row per observation: got shape {codes.shape} "
            f"for {len(observations)} observations"
        )
    if num_codes is not None and codes.shape[1] != num_codes:
        raise MetricInputError(
            f"represent returned {codes.shape[1]} code dimensions, earlier calls {num_codes}"
        )
    codes = codes.astype(np.float64, copy=False)
    if not np.all(np.isfinite(codes)):
        raise MetricInputError("represent returned NaN or infinite codes")
    return codes


def binned_mutual_information(codes: np.ndarray, factors: np.ndarray, num_bins: int,
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """disentanglement_lib's MIG estimator: ``(binned, mi, entropy)`` with ``binned`` the
    ``num_bins``-bin equal-width codes, ``mi[j, k]`` the plug-in MI (nats) of binned code j and
    factor column k, and ``entropy[k]`` the factor's empirical entropy. Shared by MIG and the
    MI-gap metrics (MIG-sup, DCIMIG, JEMMIG)."""
    binned = histogram_discretize(codes, num_bins)
    return binned, discrete_mutual_info(binned, factors), discrete_entropy(factors)
