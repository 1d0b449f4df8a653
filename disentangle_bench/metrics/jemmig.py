"""JEMMIG (Do & Tran 2020, "Theory and Evaluation Metrics for Learning Disentangled
Representations", ICLR 2020, §4.2): joint entropy minus mutual information gap.
"""

from __future__ import annotations

import math

import numpy as np

from .mig_sup import binned_information
from .utils import discrete_entropy


def jemmig(factors: np.ndarray, codes: np.ndarray, *, num_bins: int = 20) -> dict:
    """JEMMIG, normalised to a higher-is-better score in [0, 1].

    For factor k with ``z*`` and ``z°`` the codes of largest and second-largest MI with it
    (``num_bins``-bin codes, nats),

        JEMMIG_k = H(z*, v_k) - I(z*; v_k) + I(z°; v_k)
        score    = 1 - 1/K * sum_k JEMMIG_k / (H(v_k) + log num_bins).

    ``H(z*, v_k) - I(z*; v_k)`` is 0 only if ``z*`` and ``v_k`` determine each other (the code
    holds the factor and nothing else: it penalises a top code that also carries other
    factors, which MIG does not), and ``I(z°; v_k)`` penalises a second code holding the factor.
    ``H(v_k) + log num_bins`` bounds JEMMIG_k (Do & Tran's normalisation). Protocol: MIG's
    estimator (10,000 i.i.d. points, 20 bins, factors as classes); no disentanglement_lib
    reference exists.

    Returns ``{"jemmig": float}`` (the normalised score) and ``"jemmig_unnormalised"`` (the mean
    of ``JEMMIG_k`` in nats, lower is better); NaN with ``"reason"`` when no factor varies,
    every code is constant or there are fewer than 2 codes.
    """
    info = binned_information(factors, codes, num_bins, "jemmig")
    if isinstance(info, dict):
        return info
    mi, entropy, binned, varying = info
    if mi.shape[0] < 2:
        return {"jemmig": float("nan"), "jemmig_unnormalised": float("nan"),
                "reason": "JEMMIG needs at least 2 code dimensions"}
    order = np.argsort(-mi, axis=0, kind="stable")
    values = np.zeros(mi.shape[1])
    for k in range(mi.shape[1]):
        top, second = order[0, k], order[1, k]
        joint_entropy = discrete_entropy(
            (binned[:, top] * (varying[:, k].max() + 1) + varying[:, k])[:, None]
        )[0]
        values[k] = joint_entropy - mi[top, k] + mi[second, k]
    normalised = values / (entropy + math.log(num_bins))
    return {"jemmig": float(1.0 - normalised.mean()),
            "jemmig_unnormalised": float(values.mean())}
