"""Which factor each latent carries: read off the stored mutual-information matrix.

``I(z_j; v_k) / H(v_k)`` (the normalised MI of MIG, Chen et al. 2018) says what share of factor
k's entropy code j carries. Each latent is named by the factor with the largest share, with the
gap to its second-largest share (how exclusively it carries that one factor), the way Higgins
et al. 2017 read their traversal figures: ``z3 → posX (MI 0.61, gap 0.42)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Below this normalised MI a latent is said to carry no factor.
CARRIES_NOTHING = 0.05


@dataclass(frozen=True)
class LatentName:
    latent: int
    factor: str | None  # None: no factor above CARRIES_NOTHING
    mi: float           # normalised MI with that factor
    gap: float          # minus the latent's second-largest normalised MI

    def __str__(self) -> str:
        if self.factor is None:
            return f"z{self.latent} → none (MI {self.mi:.2f})"
        return f"z{self.latent} → {self.factor} (MI {self.mi:.2f}, gap {self.gap:.2f})"


def normalised_mi(record: dict) -> np.ndarray:
    """(codes, factors) MI divided by each factor's entropy (a stored ``mutual_information``
    record of :func:`disentangle_bench.metrics.mig`)."""
    mi = np.asarray(record["values"], dtype=float)
    entropy = np.asarray(record.get("entropy", np.ones(mi.shape[1])), dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(entropy > 0, mi / np.where(entropy > 0, entropy, 1), 0.0)


def name_latents(record: dict) -> list[LatentName]:
    """One :class:`LatentName` per code dimension of a ``mutual_information`` record."""
    share = normalised_mi(record)
    names = record.get("factor_names") or [str(k) for k in record["factors"]]
    out = []
    for j, row in enumerate(share):
        order = np.argsort(row)[::-1]
        best = float(row[order[0]])
        second = float(row[order[1]]) if len(order) > 1 else 0.0
        factor = names[order[0]] if best >= CARRIES_NOTHING else None
        out.append(LatentName(j, factor, best, best - second))
    return out
