"""Mutual Information Gap (Chen et al. 2018, "Isolating Sources of Disentanglement in VAEs",
arXiv:1802.04942), with disentanglement_lib's discrete estimator (``evaluation/metrics/mig.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .matrices import MATRICES_KEY, matrix_record
from .utils import (
    binned_mutual_information,
    check_factors_codes,
    constant_codes,
    nan_scores,
    varying_columns,
)


def _resolve_excluded(
    exclude_factors: Sequence[int | str], factor_names: Sequence[str] | None, n_factors: int
) -> set[int]:
    excluded = set()
    for item in exclude_factors:
        if isinstance(item, str):
            if factor_names is None:
                raise ValueError(
                    f"exclude_factors names {item!r} but no factor_names were given; "
                    "pass factor_names=dataset.factor_names or use column indices"
                )
            if item not in factor_names:
                continue  # e.g. "shape" on a dataset without shape: nothing to exclude
            excluded.add(list(factor_names).index(item))
        else:
            if not 0 <= int(item) < n_factors:
                raise ValueError(f"exclude_factors index {item} out of range [0, {n_factors})")
            excluded.add(int(item))
    return excluded


def mig(
    factors: np.ndarray,
    codes: np.ndarray,
    *,
    num_bins: int = 20,
    exclude_factors: Sequence[int | str] = (),
    factor_names: Sequence[str] | None = None,
    return_matrices: bool = False,
) -> dict:
    """Mutual Information Gap.

    Each code dimension is discretised into ``num_bins`` equal-width bins over the sample;
    with ``I`` the plug-in mutual information (nats) between binned code ``z_j`` and factor ``v_k``
    and ``H(v_k)`` the factor's empirical entropy,

        MIG = 1/K * sum_k ( I(z_(1); v_k) - I(z_(2); v_k) ) / H(v_k),

    where ``z_(1)``, ``z_(2)`` are the codes with the largest and second-largest MI with ``v_k``
    and the mean runs over the K scored factors.

    Protocol (disentanglement_lib, unsupervised_study_v1): 10,000 i.i.d. uniform points,
    20 bins, every factor scored (shape included). Chen et al.'s original excludes dSprites'
    shape: pass ``exclude_factors=("shape",), factor_names=dataset.factor_names``.
    Factors constant in the sample are skipped (their entropy is 0).

    Args:
        factors: int (n_samples, n_factors) factor class indices.
        codes: float (n_samples, n_codes) representations.
        num_bins: histogram bins per code dimension.
        exclude_factors: factor names (needs ``factor_names``) or column indices to leave out.
        factor_names: names of the factor columns, used for exclusion and the per-factor keys.
        return_matrices: also return ``"matrices": {"mutual_information": record}``, the
            (n_codes, K) plug-in MI in nats with each scored factor's entropy
            (:func:`~.matrices.matrix_record`); the scores are the same either way.

    Returns:
        ``{"discrete_mig": float, "gap_<factor>": float per scored factor}``; NaN with a
        ``"reason"`` when nothing can be scored (no varying factor, all codes constant,
        fewer than two codes).
    """
    factors, codes = check_factors_codes(factors, codes, "mig")
    names = list(factor_names) if factor_names is not None else None
    if names is not None and len(names) != factors.shape[1]:
        raise ValueError(f"factor_names has {len(names)} names for {factors.shape[1]} factors")
    excluded = _resolve_excluded(exclude_factors, names, factors.shape[1])
    scored = [k for k in varying_columns(factors) if k not in excluded]
    if not scored:
        return nan_scores(["discrete_mig"], "no varying factor left to score")
    if codes.shape[1] < 2:
        return nan_scores(["discrete_mig"], "MIG needs at least 2 code dimensions")
    if constant_codes(codes).all():
        return nan_scores(["discrete_mig"], "all code dimensions are constant on the sample")

    _, mi, entropy = binned_mutual_information(codes, factors[:, scored], num_bins)  # (codes, K)
    top_two = np.sort(mi, axis=0)[::-1][:2]
    gaps = (top_two[0] - top_two[1]) / entropy
    scores = {"discrete_mig": float(np.mean(gaps))}
    for k, gap in zip(scored, gaps):
        label = names[k] if names is not None else str(k)
        scores[f"gap_{label}"] = float(gap)
    if return_matrices:
        scores[MATRICES_KEY] = {"mutual_information": matrix_record(
            mi, scored, f"I(z_j; v_k) in nats, {num_bins}-bin histogram codes",
            entropy=entropy)}
    return scores
