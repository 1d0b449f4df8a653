"""InfoMEC: InfoM (modularity), InfoE (explicitness), InfoC (compactness) (Hsu, Dorrell,
Whittington, Wu & Finn 2023, "Disentanglement via Latent Quantization", NeurIPS 2023, §5), as
their reference code ``disentangle/metrics/infomec.py`` (github.com/kylehkhsu/latent_quantization)
computes it for continuous latents.
"""

from __future__ import annotations

import warnings

import numpy as np

from .utils import check_factors_codes, constant_codes, discrete_entropy, nan_scores

INFOMEC_KEYS = ("infom", "infoe", "infoc", "num_active_latents")


def continuous_discrete_nmi(factors: np.ndarray, codes: np.ndarray, *, n_neighbors: int = 10,
                            seed: int = 0) -> np.ndarray:
    """``nmi[j, k] = I(z_j; v_k) / H(v_k)`` with InfoMEC's estimator.

    Each code is standardised; ``I`` is the k-nearest-neighbour estimate for a continuous
    variable and a discrete one (Ross 2014, "Mutual information between discrete and continuous
    data sets"; ``sklearn.feature_selection.mutual_info_classif`` with ``n_neighbors=10``, which
    adds noise of relative size 1e-10 to break ties, seeded here, and clips negative estimates
    to 0); ``H(v_k)`` is the factor's plug-in entropy (nats). Returns (n_codes, n_factors).
    """
    from sklearn.feature_selection import mutual_info_classif

    std = codes.std(axis=0)
    standardised = (codes - codes.mean(axis=0)) / np.where(std > 0, std, 1.0)
    entropy = discrete_entropy(factors)
    nmi = np.zeros((codes.shape[1], factors.shape[1]))
    for k in range(factors.shape[1]):
        mi = mutual_info_classif(standardised, factors[:, k], discrete_features=False,
                                 n_neighbors=n_neighbors, random_state=seed)
        nmi[:, k] = mi / entropy[k]
    return nmi


def _cross_entropy(x: np.ndarray, y: np.ndarray) -> float:
    """Training log loss of InfoMEC's probe: unpenalised multinomial logistic regression with
    balanced class weights (lbfgs, tol 1e-4, 100 iterations), fitted and scored on the sample."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    model = LogisticRegression(C=np.inf, class_weight="balanced", solver="lbfgs", tol=1e-4,
                               max_iter=100, fit_intercept=True)
    with warnings.catch_warnings():  # lbfgs stopping at 100 iterations, as the reference
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x, y)
    return float(log_loss(y, model.predict_proba(x), labels=model.classes_))


def info_explicitness(factors: np.ndarray, codes: np.ndarray) -> float:
    """InfoE = mean_k (CE_k(null) - CE_k(z)) / CE_k(null): the share of a factor's entropy a
    linear (logistic) read-out of all standardised codes removes; ``CE_k(null)`` is the same
    probe on all-zero inputs (the marginal's cross-entropy)."""
    std = codes.std(axis=0)
    standardised = (codes - codes.mean(axis=0)) / np.where(std > 0, std, 1.0)
    null = np.zeros_like(standardised)
    shares = []
    for k in range(factors.shape[1]):
        marginal = _cross_entropy(null, factors[:, k])
        shares.append((marginal - _cross_entropy(standardised, factors[:, k])) / marginal)
    return float(np.mean(shares))


def info_ratios(nmi: np.ndarray, n_factors: int) -> tuple[dict, list[str]]:
    """``{"infom", "infoc"}`` of an (active codes × factors) NMI matrix, and the reasons for any
    NaN (see :func:`infomec`)."""
    n_active = nmi.shape[0]
    totals = nmi.sum(axis=1)
    informative = totals > 0
    scores, reasons = {}, []
    if informative.any():
        preference = nmi[informative].max(axis=1) / totals[informative]
        scores["infom"] = float((preference.mean() - 1 / n_factors) / (1 - 1 / n_factors))
    else:
        scores["infom"] = float("nan")
    if not informative.all():
        reasons.append(f"{int((~informative).sum())} active code(s) carry no information, "
                       "left out of InfoM")
    per_factor = nmi.sum(axis=0)
    if n_active < 2:
        scores["infoc"] = float("nan")
        reasons.append("InfoC needs at least 2 active codes")
    elif (per_factor == 0).any():
        scores["infoc"] = float("nan")
        reasons.append("a factor has no information in any active code (InfoC is 0/0)")
    else:
        share = nmi.max(axis=0) / per_factor
        scores["infoc"] = float((share.mean() - 1 / n_active) / (1 - 1 / n_active))
    return scores, reasons


def infomec(
    factors: np.ndarray,
    codes: np.ndarray,
    *,
    n_neighbors: int = 10,
    prune_ratio: float = 20.0,
    seed: int = 0,
    return_nmi: bool = False,
) -> dict:
    """InfoM, InfoE and InfoC of continuous codes.

    With ``NMI[j, k]`` from :func:`continuous_discrete_nmi`, the *active* codes are those whose
    sample range exceeds ``max_j range_j / prune_ratio`` (the reference's pruning rule, ratio 20);
    over the J active codes and the K factors

        InfoM = ( mean_j max_k NMI_jk / sum_k NMI_jk  - 1/K ) / (1 - 1/K)
        InfoC = ( mean_k max_j NMI_jk / sum_j NMI_jk  - 1/J ) / (1 - 1/J)
        InfoE = :func:`info_explicitness` (all codes, pruning not applied, as the reference).

    InfoM is 1 when every active code informs about one factor only, InfoC when every factor is
    captured by one active code only, InfoE when a linear read-out recovers every factor.

    Protocol (reference code): the evaluation sample itself (the paper uses 10,000 points;
    here the i.i.d. draw shared with MIG), 10 neighbours, ratio 20, no train/test split for
    InfoE. An active code with zero NMI to every factor gives 0/0 in InfoM: it is left out of
    the mean and counted in ``reason`` (as the reference's later ``compute_mutual_information_
    ratio`` does; its ``infomec.py`` lets the NaN through). A factor with zero NMI to every
    active code makes InfoC NaN, with a reason.

    Returns ``{"infom", "infoe", "infoc", "num_active_latents"}``; NaN with ``"reason"`` when
    fewer than 2 factors vary, every code is constant, or fewer than 2 codes are active (InfoC).
    ``return_nmi=True`` adds ``"nmi"``, the (n_codes, K) matrix, for experiments.
    """
    factors, codes = check_factors_codes(factors, codes, "infomec")
    varying = [k for k in range(factors.shape[1]) if len(np.unique(factors[:, k])) > 1]
    if len(varying) < 2:
        return nan_scores(INFOMEC_KEYS, "InfoMEC needs at least 2 varying factors")
    if constant_codes(codes).all():
        return nan_scores(INFOMEC_KEYS, "all code dimensions are constant on the sample")
    factors = factors[:, varying]
    nmi = continuous_discrete_nmi(factors, codes, n_neighbors=n_neighbors, seed=seed)
    ranges = codes.max(axis=0) - codes.min(axis=0)
    active = ranges > ranges.max() / prune_ratio
    scores, reasons = info_ratios(nmi[active], factors.shape[1])
    scores["infoe"] = info_explicitness(factors, codes)
    scores["num_active_latents"] = float(active.sum())
    if reasons:
        scores["reason"] = "; ".join(reasons)
    if return_nmi:
        scores["nmi"] = nmi
    return scores
