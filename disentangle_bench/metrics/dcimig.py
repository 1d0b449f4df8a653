"""DCIMIG (Sepliarskaia, Kiseleva & de Rijke 2019, "How to Not Measure Disentanglement",
arXiv:1910.05587, §4): MIG gaps taken per code, then the best code per factor.
"""

from __future__ import annotations

import numpy as np

from .mig_sup import binned_information


def dcimig(factors: np.ndarray, codes: np.ndarray, *, num_bins: int = 20) -> dict:
    """DCIMIG.

    For code j let ``k_j`` be the factor with the largest MI with it and
    ``R_j = I(z_j; v_(1)) - I(z_j; v_(2))`` the gap to the second factor (nats). Each factor k
    keeps the largest gap among the codes that chose it, ``S_k = max_{j: k_j = k} R_j``
    (0 if no code chose it), and

        DCIMIG = sum_k S_k / sum_k H(v_k).

    It is 1 only if every factor has a code that holds it fully and nothing else
    (disentanglement, completeness and informativeness at once). Ties in ``k_j`` go to the
    first factor. MI: MIG's estimator (``num_bins`` equal-width bins, factors as classes; 10,000
    i.i.d. points by default); no disentanglement_lib reference exists.

    Returns ``{"dcimig": float}``; NaN with ``"reason"`` when fewer than 2 factors vary or every
    code is constant.
    """
    info = binned_information(factors, codes, num_bins, "dcimig")
    if isinstance(info, dict):
        return info
    mi, entropy, _, _ = info
    if mi.shape[1] < 2:
        return {"dcimig": float("nan"), "reason": "DCIMIG needs at least 2 varying factors"}
    ordered = np.sort(mi, axis=1)
    gaps = ordered[:, -1] - ordered[:, -2]
    chosen = np.argmax(mi, axis=1)
    best = np.zeros(mi.shape[1])
    np.maximum.at(best, chosen, gaps)
    return {"dcimig": float(best.sum() / entropy.sum())}
