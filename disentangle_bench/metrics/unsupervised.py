"""Unsupervised scores of a representation: per-dimension KL to the prior, active units,
Gaussian total correlation and Wasserstein correlation, mean pairwise mutual information of
the codes (disentanglement_lib's ``evaluation/metrics/unsupervised_metrics.py``, Locatello et al.
2019 §5.1), and reconstruction error.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from .utils import (
    MetricInputError,
    constant_codes,
    discrete_mutual_info,
    histogram_discretize,
    nan_scores,
)

ACTIVE_KL_THRESHOLD = 0.01  # nats: a dimension whose average KL to N(0, 1) exceeds this is used
ACTIVE_VARIANCE_THRESHOLD = 0.01  # Burda et al. 2016: Var_x[E_q(z|x) z_u] > 0.01


def gaussian_total_correlation(cov: np.ndarray) -> float:
    """KL between N(0, cov) and the product of its marginals:
    ``0.5 * (sum_j log cov_jj - log det cov)`` (nats)."""
    return float(0.5 * (np.sum(np.log(np.diag(cov))) - np.linalg.slogdet(cov)[1]))


def gaussian_wasserstein_correlation(cov: np.ndarray) -> float:
    """Squared 2-Wasserstein distance between N(0, cov) and N(0, diag cov):
    ``2 tr cov - 2 tr sqrtm(cov * diag(cov)[:, None])`` (disentanglement_lib's form)."""
    root = scipy.linalg.sqrtm(cov * np.diag(cov)[:, None])
    return float(2 * np.trace(cov) - 2 * np.real(np.trace(root)))


def kl_to_standard_normal(means: np.ndarray, logvars: np.ndarray) -> np.ndarray:
    """Per-dimension KL(N(mu, exp(logvar)) || N(0, 1)) averaged over samples:
    ``0.5 * mean(mu^2 + exp(logvar) - logvar - 1)`` (nats), shape (n_codes,)."""
    means = np.asarray(means, dtype=np.float64)
    logvars = np.asarray(logvars, dtype=np.float64)
    if means.shape != logvars.shape or means.ndim != 2:
        raise MetricInputError(
            f"means and logvars must both be (n_samples, n_codes), got {means.shape} and "
            f"{logvars.shape}"
        )
    return 0.5 * np.mean(means**2 + np.exp(logvars) - logvars - 1.0, axis=0)


def unsupervised(
    codes: np.ndarray,
    *,
    means: np.ndarray | None = None,
    logvars: np.ndarray | None = None,
    reconstruction_nll: np.ndarray | None = None,
    num_bins: int = 20,
) -> dict:
    """Unsupervised scores of sampled codes (n_samples, n_codes).

    - ``gaussian_total_correlation``, ``gaussian_wasserstein_correlation`` (and ``_norm``, divided
      by tr cov) of the codes' sample covariance (ddof=1), over the non-constant dimensions;
    - ``mutual_info_score``: mean over ordered pairs j != l of the discrete MI between the
      ``num_bins``-bin histogram-discretised codes (nats);
    - ``active_units_variance``: dims whose posterior mean (``means``, else the codes) varies
      across samples with variance > 0.01 (Burda et al. 2016);
    - with ``means`` and ``logvars`` of the Gaussian posterior: ``kl_dim_<j>`` (mean KL to
      N(0, 1) per dimension), ``kl_total`` and ``active_units`` (dims with KL > 0.01 nats);
    - with ``reconstruction_nll`` (nats per image): its mean ``reconstruction_nll``.

    Protocol (unsupervised_study_v1): 10,000 points, 20 bins. Constant code dimensions are
    left out of the Gaussian scores (their log-variance is -inf); if every code is constant
    those scores are NaN with a ``"reason"``.
    """
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2 or codes.shape[0] < 2:
        raise MetricInputError(f"codes must be (n_samples >= 2, n_codes), got {codes.shape}")
    scores: dict = {}
    live = ~constant_codes(codes)
    gaussian_keys = [
        "gaussian_total_correlation",
        "gaussian_wasserstein_correlation",
        "gaussian_wasserstein_correlation_norm",
        "mutual_info_score",
    ]
    if not live.any():
        scores.update(nan_scores(gaussian_keys, "all code dimensions are constant on the sample"))
    else:
        cov = np.atleast_2d(np.cov(codes[:, live], rowvar=False))
        scores["gaussian_total_correlation"] = gaussian_total_correlation(cov)
        wasserstein = gaussian_wasserstein_correlation(cov)
        scores["gaussian_wasserstein_correlation"] = wasserstein
        scores["gaussian_wasserstein_correlation_norm"] = wasserstein / float(np.trace(cov))
        n_codes = codes.shape[1]
        if n_codes > 1:
            binned = histogram_discretize(codes, num_bins)
            mi = discrete_mutual_info(binned, binned)
            np.fill_diagonal(mi, 0.0)
            scores["mutual_info_score"] = float(mi.sum() / (n_codes**2 - n_codes))
        else:
            scores["mutual_info_score"] = float("nan")
            scores["reason"] = "mutual_info_score needs at least 2 code dimensions"
    scores["num_constant_codes"] = float(np.sum(~live))
    if (means is None) != (logvars is None):
        raise MetricInputError("pass both means and logvars (the Gaussian posterior) or neither")
    posterior_means = codes if means is None else np.asarray(means, dtype=np.float64)
    scores["active_units_variance"] = float(
        np.sum(posterior_means.var(axis=0, ddof=1) > ACTIVE_VARIANCE_THRESHOLD)
    )
    if means is not None:
        kl = kl_to_standard_normal(means, logvars)
        for j, value in enumerate(kl):
            scores[f"kl_dim_{j}"] = float(value)
        scores["kl_total"] = float(kl.sum())
        scores["active_units"] = float(np.sum(kl > ACTIVE_KL_THRESHOLD))
    if reconstruction_nll is not None:
        nll = np.asarray(reconstruction_nll, dtype=np.float64).reshape(-1)
        scores["reconstruction_nll"] = float(nll.mean())
    return scores


unsupervised_scores = unsupervised
