"""Per-run intervals of sample-based scores: a bootstrap of the evaluation rows.

Only where it is cheap. MIG's bootstrap reuses the run's one discretisation (the 20-bin edges
of the full sample are kept: the interval is conditional on them) and recomputes every
contingency table from bootstrap multiplicities with one weighted ``bincount`` per
(code, factor) pair for all resamples at once. Scores that refit classifiers per resample (DCI,
SAP, explicitness) would cost B times the metric and are not bootstrapped.

``percentile interval``: the (2.5 %, 97.5 %) quantiles of the B resampled scores (Efron &
Tibshirani 1993, ch. 13). Default B = :data:`DEFAULT_RESAMPLES`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from .utils import histogram_discretize

DEFAULT_RESAMPLES = 200
INTERVAL_KEY = "interval"


def multiplicities(n: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n) bootstrap multiplicities: how often each row is drawn in each resample
    (n draws with replacement), from ``default_rng([seed, 3])``."""
    rng = np.random.default_rng([int(seed), 3])
    return rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(np.float64)


def _weighted_mi(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Plug-in mutual information (nats) of discrete ``x``, ``y`` (n,) under each row of
    ``weights`` (B, n): ``Σ p(x,y) log p(x,y) / (p(x) p(y))``."""
    _, xi = np.unique(x, return_inverse=True)
    _, yi = np.unique(y, return_inverse=True)
    nx, ny = xi.max() + 1, yi.max() + 1
    resamples = weights.shape[0]
    joint_index = (np.arange(resamples)[:, None] * (nx * ny) + xi * ny + yi).ravel()
    joint = np.bincount(joint_index, weights=weights.ravel(),
                        minlength=resamples * nx * ny).reshape(resamples, nx, ny)
    joint /= joint.sum(axis=(1, 2), keepdims=True)
    px, py = joint.sum(axis=2, keepdims=True), joint.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(joint > 0, joint * np.log(joint / (px * py)), 0.0)
    return terms.sum(axis=(1, 2))


def mig_resamples(factors: np.ndarray, codes: np.ndarray, scored: list[int], *,
                  num_bins: int = 20, weights: np.ndarray) -> np.ndarray:
    """MIG (mean normalised top-two gap over the ``scored`` factor columns) under each row of
    bootstrap ``weights`` (B, n); with all-ones weights it is :func:`~.mig.mig` exactly."""
    binned = histogram_discretize(codes, num_bins)
    gaps = []
    for k in scored:
        entropy = _weighted_mi(factors[:, k], factors[:, k], weights)
        mi = np.stack([_weighted_mi(binned[:, j], factors[:, k], weights)
                       for j in range(binned.shape[1])], axis=1)  # (B, codes)
        top = np.sort(mi, axis=1)[:, ::-1]
        gaps.append((top[:, 0] - top[:, 1]) / entropy)
    return np.mean(gaps, axis=0)


def percentile_interval(values: np.ndarray, level: float = 0.95) -> list[float]:
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return [float("nan"), float("nan")]
    return [float(v) for v in np.quantile(values, [0.5 - level / 2, 0.5 + level / 2])]


def _mig_interval(draw: dict, protocol: dict, result: dict, resamples: int) -> dict | None:
    record = result.get("matrices", {}).get("mutual_information")
    if record is None:  # no score (NaN with a reason): nothing to bootstrap
        return None
    factors, codes = draw["factors"], draw["codes"]
    weights = multiplicities(len(codes), resamples, protocol["seed"])
    values = mig_resamples(factors, codes, record["factors"], num_bins=protocol["num_bins"],
                           weights=weights)
    return {"discrete_mig": percentile_interval(values)}


#: metric -> (function(draw, protocol, result, B) -> {score: [lo, hi]}, which draw it needs)
BOOTSTRAPS: dict[str, tuple[Callable[..., dict | None], str]] = {"mig": (_mig_interval, "train")}


def bootstrap_result(name: str, result: dict, protocol: dict, samples: Callable[..., dict],
                     resamples: int = DEFAULT_RESAMPLES) -> dict | None:
    """``{"scores": {score: [lo, hi]}, "method", "resamples", "seconds"}`` for a metric in
    :data:`BOOTSTRAPS` (None for the others): ``samples(split, n, seed)`` gives the very draw
    the metric was computed on."""
    if name not in BOOTSTRAPS or resamples < 1:
        return None
    function, split = BOOTSTRAPS[name]
    started = time.perf_counter()
    draw = samples(split, protocol["num_train"], protocol["seed"])
    scores = function(draw, protocol, result, resamples)
    if scores is None:
        return None
    return {"scores": scores, "resamples": int(resamples),
            "method": "95 % percentile bootstrap of the evaluation rows (bins fixed)",
            "seconds": time.perf_counter() - started}
