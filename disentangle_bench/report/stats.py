"""The statistics behind the report: tests over training seeds, Holm's correction, intervals.

Every test here is vectorised over leading axes (``values`` of shape ``(..., n)``) so that the
simulation tests can run hundreds of synthetic sweeps in one call, and every random draw comes
from ``numpy.random.default_rng(seed)`` (same inputs, same p-value).

* :func:`welch_test` — Welch's unequal-variance t-test of a difference of two means
  (Welch 1947); two-sided p from Student's t with the Welch–Satterthwaite degrees of freedom.
* :func:`permutation_test` — a Monte-Carlo permutation test of any statistic:
  ``p_greater = (1 + #{T* ≥ T}) / (B + 1)`` and ``p_less`` likewise over ``B`` random
  permutations (optionally within strata); the two-sided ``p = min(1, 2 min(p_greater, p_less))``.
  Adding the observed labelling to the count makes the test exact at every B (Phipson & Smyth
  2010): under exchangeability P(p ≤ α) ≤ α.
* :func:`holm` — Holm's (1979) step-down adjustment: sorted p_(1) ≤ … ≤ p_(m),
  ``p̃_(i) = max_{j ≤ i} min(1, (m − j + 1) p_(j))``; rejecting p̃ < α keeps the family-wise
  error at α.
* :func:`t_interval`, :func:`bootstrap_interval` — 95 % intervals of a mean.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import scipy.stats

ALPHA = 0.05
#: Random permutations per permutation test (p-values resolve to 1 / 10,000).
PERMUTATIONS = 9999
#: Seed of the permutations and bootstrap resamples: the same data always give the same p.
SEED = 0


def welch_test(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Welch's t-test of mean(a) − mean(b) along the last axis: ``(t, df, p)`` (two-sided).

    ``t = (ā − b̄) / sqrt(s_a²/n_a + s_b²/n_b)``, ``df = (s_a²/n_a + s_b²/n_b)² /
    ((s_a²/n_a)²/(n_a − 1) + (s_b²/n_b)²/(n_b − 1))``. NaN where a side has fewer than 2 values
    or neither side has any spread (the test is undefined).
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    na, nb = a.shape[-1], b.shape[-1]
    if na < 2 or nb < 2:
        shape = np.broadcast_shapes(a.shape[:-1], b.shape[:-1])
        nan = np.full(shape, np.nan)
        return nan, nan.copy(), nan.copy()
    va, vb = a.var(axis=-1, ddof=1) / na, b.var(axis=-1, ddof=1) / nb
    se2 = va + vb
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (a.mean(axis=-1) - b.mean(axis=-1)) / np.sqrt(se2)
        df = se2 ** 2 / (va ** 2 / (na - 1) + vb ** 2 / (nb - 1))
        p = 2.0 * scipy.stats.t.sf(np.abs(t), df)
    undefined = se2 <= 0
    return (np.where(undefined, np.nan, t), np.where(undefined, np.nan, df),
            np.where(undefined, np.nan, p))


def permutations(n: int, count: int = PERMUTATIONS, *, seed: int = SEED,
                 strata: np.ndarray | None = None) -> np.ndarray:
    """``count`` random permutations of ``range(n)`` as an int array ``(count, n)``; with
    ``strata`` (one label per position) every permutation only moves positions within a
    stratum."""
    rng = np.random.default_rng(seed)
    if strata is None:
        return rng.permuted(np.tile(np.arange(n), (count, 1)), axis=1)
    strata = np.asarray(strata)
    out = np.tile(np.arange(n), (count, 1))
    for label in np.unique(strata):
        index = np.flatnonzero(strata == label)
        out[:, index] = index[rng.permuted(np.tile(np.arange(len(index)), (count, 1)), axis=1)]
    return out


def permutation_test(statistic: Callable[[np.ndarray], np.ndarray], values: np.ndarray, *,
                     count: int = PERMUTATIONS, seed: int = SEED,
                     strata: np.ndarray | None = None,
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Permutation test of ``statistic`` under exchangeable ``values`` (last axis = units).

    ``statistic`` maps ``(..., n)`` to ``(...)``; it is called once on the data and once on all
    permuted copies ``(..., count, n)``. Returns ``(T, p, upper)``: the observed statistic, the
    two-sided p-value and whether T lies in the upper tail (p_greater ≤ p_less).
    """
    values = np.asarray(values, float)
    observed = statistic(values)
    perms = permutations(values.shape[-1], count, seed=seed, strata=strata)
    permuted = statistic(values[..., perms])  # (..., count)
    greater = (1 + (permuted >= observed[..., None] - 1e-12).sum(axis=-1)) / (count + 1)
    less = (1 + (permuted <= observed[..., None] + 1e-12).sum(axis=-1)) / (count + 1)
    p = np.where(np.isfinite(observed), np.minimum(1.0, 2 * np.minimum(greater, less)), np.nan)
    return observed, p, greater <= less


def ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (ties share their mean rank) along the last axis."""
    return scipy.stats.rankdata(values, axis=-1)


def spearman_statistic(x: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Spearman ρ between fixed ``x`` (n,) and y, as a statistic of **the ranks of y** along the
    last axis (pass ``ranks(y)``: permuting ranks is ranking the permuted values, so the ranks
    are computed once). Average ranks for ties; NaN when y is constant."""
    rx = ranks(np.asarray(x, float))
    rx = rx - rx.mean()
    norm_x = np.sqrt((rx ** 2).sum())

    def rho(ry: np.ndarray) -> np.ndarray:
        ry = ry - ry.mean(axis=-1, keepdims=True)
        norm = norm_x * np.sqrt((ry ** 2).sum(axis=-1))
        with np.errstate(divide="ignore", invalid="ignore"):
            return (ry * rx).sum(axis=-1) / norm

    return rho


def group_means_matrix(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(levels, M)``: the sorted distinct ``groups`` and the (n, L) matrix M with
    ``y @ M`` = the mean of y within each level."""
    levels, index = np.unique(np.asarray(groups), return_inverse=True)
    onehot = np.zeros((len(index), len(levels)))
    onehot[np.arange(len(index)), index] = 1.0
    return levels, onehot / onehot.sum(axis=0)


def peak_statistic(groups: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """T(y) = max of the interior level means − max of the two edge level means (levels sorted;
    > 0 when the largest mean is strictly inside the range)."""
    _, means = group_means_matrix(groups)

    def peak(y: np.ndarray) -> np.ndarray:
        m = y @ means
        return m[..., 1:-1].max(axis=-1) - np.maximum(m[..., 0], m[..., -1])

    return peak


def dominance_matrix(points: np.ndarray) -> np.ndarray:
    """D[i, j] = 1 when point i = (cost, score) dominates point j: lower-or-equal cost and
    higher-or-equal score, one of them strictly."""
    cost, score = np.asarray(points, float)[:, 0], np.asarray(points, float)[:, 1]
    no_worse = (cost[:, None] <= cost[None, :]) & (score[:, None] >= score[None, :])
    better = (cost[:, None] < cost[None, :]) | (score[:, None] > score[None, :])
    return (no_worse & better).astype(float)


def dominance_statistic(dominance: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """T(labels) = P(a point labelled 1 dominates one labelled 0) − P(the reverse), for 0/1
    labels along the last axis (the points' dominance matrix fixed)."""
    def statistic(label: np.ndarray) -> np.ndarray:
        ones = label.sum(axis=-1)
        pairs = ones * (label.shape[-1] - ones)
        first = ((1 - label) * (label @ dominance)).sum(axis=-1)
        second = (label * ((1 - label) @ dominance)).sum(axis=-1)
        return (first - second) / pairs

    return statistic


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values (see the module docstring); NaN entries stay NaN and are not
    counted in the family."""
    p = np.asarray(pvalues, float)
    adjusted = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    m = len(finite)
    if m == 0:
        return adjusted
    order = finite[np.argsort(p[finite], kind="stable")]
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted


# --- intervals ----------------------------------------------------------------------------
def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Student-t interval of the mean: ``x̄ ± t_{n−1, (1+level)/2} · s / sqrt(n)`` over the
    finite values; (NaN, NaN) with fewer than 2."""
    x = np.asarray(values, float)
    x = x[np.isfinite(x)]
    if len(x) < 2:
        return math.nan, math.nan
    half = scipy.stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    return float(x.mean() - half), float(x.mean() + half)


def bootstrap_interval(statistic: Callable[[np.ndarray], np.ndarray], rows: np.ndarray, *,
                       resamples: int = 200, level: float = 0.95,
                       seed: int = SEED) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over resampled rows (first axis):
    ``statistic`` is called on each resample; quantiles (1 ± level)/2 of the finite results."""
    rows = np.asarray(rows)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(rows), size=(resamples, len(rows)))
    values = np.array([statistic(rows[index]) for index in draws], float)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return math.nan, math.nan
    low, high = np.quantile(values, [0.5 - level / 2, 0.5 + level / 2])
    return float(low), float(high)


def format_p(p: float) -> str:
    """``0.032``, ``< 0.0001``, ``n/a`` (no test possible)."""
    if p is None or not math.isfinite(p):
        return "n/a"
    if p < 1e-4:
        return "< 0.0001"
    return f"{p:.2g}"


# --- seed spread vs hyperparameter spread -------------------------------------------------
def spread_ratio(groups: list[np.ndarray], *, resamples: int | None = None,
                 seed: int = SEED) -> np.ndarray:
    """r = pooled within-group std / std (ddof 1) of the group means, for groups of ≥ 2 values
    (e.g. the seeds of each β). With ``resamples`` = B: the (B,) ratios of a stratified
    bootstrap (values resampled within each group), else the observed ratio (0-d)."""
    rng = np.random.default_rng(seed)
    means, variances, dof = [], [], 0
    for values in groups:
        values = np.asarray(values, float)
        if resamples is not None:
            values = values[rng.integers(0, len(values), size=(resamples, len(values)))]
        means.append(values.mean(axis=-1))
        variances.append(values.var(axis=-1, ddof=1) * (values.shape[-1] - 1))
        dof += values.shape[-1] - 1
    pooled = np.sqrt(np.sum(variances, axis=0) / dof)
    between = np.std(np.stack(means), axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(between > 0, pooled / np.where(between > 0, between, 1), np.inf)

