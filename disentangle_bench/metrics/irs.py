"""Interventional Robustness Score (Suter et al. 2019, "Robustly Disentangled Causal Mechanisms:
Validating Deep Representations for Interventional Robustness", ICML 2019, arXiv:1811.00007), as
disentanglement_lib's ``evaluation/metrics/irs.py`` computes it.
"""

from __future__ import annotations

import numpy as np

from .utils import check_factors_codes, constant_codes, histogram_discretize, nan_scores


def irs(
    factors: np.ndarray,
    codes: np.ndarray,
    *,
    diff_quantile: float = 0.99,
    factor_bins: int = 20,
) -> dict:
    """Interventional Robustness Score on i.i.d. samples.

    For code j and factor k, with ``E[z_j | v_k = v]`` the mean code over the sample points
    whose factor k equals v,

        EMPIDA_jk = mean_v  quantile_q( |z_j - E[z_j | v_k = v]|  over points with v_k = v )
        IRS_jk    = 1 - EMPIDA_jk / max_i |z_j,i - mean(z_j)|
        IRS       = sum_j w_j max_k IRS_jk / sum_j w_j,   w_j = max_i |z_j,i - mean(z_j)|.

    ``IRS_jk`` is how little code j moves when every factor but k is changed while k is held
    fixed (k = j's "parent"); the mean over codes is weighted by each code's largest deviation.
    ``diff_quantile = 1`` is the paper's worst case; the reference uses the 0.99 quantile
    (``np.percentile``, linear interpolation) to be robust to outliers.

    Protocol (disentanglement_lib, ``config/sample/irs/irs.gin``; the study's defaults): 10,000
    i.i.d. points (dlib encodes them in batches of 16, which changes nothing), ``diff_quantile``
    0.99, and the *factors* discretised with the 20-bin histogram discretiser before grouping
    (``discretizer.num_bins=20``): a factor with more than 20 values (dSprites' 40 orientations,
    32 positions) is grouped into 20 equal-width bins. ``factor_bins=0`` groups by the exact
    factor value instead (a named deviation). Constant codes are dropped (dlib's
    ``_drop_constant_dims``); constant factors are skipped here (dlib keeps them, where their
    one group makes ``IRS_jk`` small but never the maximum for an informative code).

    Returns ``{"IRS": float, "num_active_dims": float}``; NaN IRS with ``"reason"`` when every
    code is constant (dlib returns 0) or no factor varies.
    """
    factors, codes = check_factors_codes(factors, codes, "irs")
    if not 0.0 < diff_quantile <= 1.0:
        raise ValueError(f"diff_quantile must be in (0, 1], got {diff_quantile}")
    active = ~constant_codes(codes)
    if not active.any():
        result = nan_scores(["IRS"], "all code dimensions are constant on the sample")
        result["num_active_dims"] = 0.0
        return result
    groups = histogram_discretize(factors, factor_bins) if factor_bins > 0 else factors
    varying = [k for k in range(groups.shape[1]) if len(np.unique(groups[:, k])) > 1]
    if not varying:
        result = nan_scores(["IRS"], "no varying factor left to score")
        result["num_active_dims"] = float(active.sum())
        return result
    z = codes[:, active]
    max_deviation = np.max(np.abs(z - z.mean(axis=0)), axis=0)
    empida = np.zeros((z.shape[1], len(varying)))
    for column, k in enumerate(varying):
        values = np.unique(groups[:, k])
        for value in values:
            member = z[groups[:, k] == value]
            deviation = np.abs(member - member.mean(axis=0))
            empida[:, column] += np.percentile(deviation, 100 * diff_quantile, axis=0)
        empida[:, column] /= len(values)
    per_code = (1.0 - empida / max_deviation[:, None]).max(axis=1)
    score = float(np.average(per_code, weights=max_deviation))
    return {"IRS": score, "num_active_dims": float(active.sum())}
