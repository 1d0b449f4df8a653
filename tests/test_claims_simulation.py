"""The claims check's tests on simulated sweeps: size under no effect, power under a real one.

Each simulated sweep draws per-seed scores from a normal model and runs the same test functions
the claims check uses (report.stats, vectorised over sweeps), then Holm's correction over the
sweep's claims and the verdict rule (claims.trend_verdict). Seeded: the numbers never change.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from disentangle_bench.report import claims as cl
from disentangle_bench.report import stats

SWEEPS = 500
PERMUTATIONS = 999  # enough resolution for α = 0.05; keeps the simulation to a few seconds
ALPHA = stats.ALPHA
#: Monte-Carlo slack of a rate estimated from SWEEPS draws: 3 binomial standard errors at α.
SLACK = 3 * math.sqrt(ALPHA * (1 - ALPHA) / SWEEPS)


def simulated_p_values(rng: np.random.Generator, *, seeds: int, effect: float) -> dict:
    """(SWEEPS,) p-values and directions of each claim type; ``effect`` in seed SDs."""
    out = {}
    # greater_than: the claim's model vs another, Welch's t
    a = rng.normal(effect, 1, (SWEEPS, seeds))
    b = rng.normal(0, 1, (SWEEPS, seeds))
    t, _, p = stats.welch_test(a, b)
    out["greater_than"] = (p, t > 0)
    # increases_with: 4 values × seeds, means rising linearly by `effect` from first to last
    x = np.repeat([1.0, 2.0, 4.0, 8.0], seeds)
    y = rng.normal(0, 1, (SWEEPS, len(x))) + np.repeat(np.linspace(0, effect, 4), seeds)
    rho, p, _ = stats.permutation_test(stats.spearman_statistic(x), stats.ranks(y),
                                       count=PERMUTATIONS)
    out["increases_with"] = (p, rho > 0)
    # peaks_inside: 3 values × seeds, the middle one `effect` above the edges
    x = np.repeat([1.0, 4.0, 16.0], seeds)
    y = rng.normal(0, 1, (SWEEPS, len(x))) + np.repeat([0, effect, 0], seeds)
    peak, p, upper = stats.permutation_test(stats.peak_statistic(x), y, count=PERMUTATIONS)
    out["peaks_inside"] = (p, np.where(upper & (peak > 0), True, np.where(upper, np.nan, False)))
    # greater_than_same: two models at 3 shared values, permuted within values
    level = np.tile(np.repeat([0, 1, 2], seeds), 2)
    side = np.repeat([1, 0], 3 * seeds)
    weights = np.where(side == 1, 1, -1) / (3 * seeds)
    y = rng.normal(0, 1, (SWEEPS, len(level))) + effect * side + 0.5 * level
    diff, p, _ = stats.permutation_test(lambda v: v @ weights, y, count=PERMUTATIONS,
                                        strata=level)
    out["greater_than_same"] = (p, diff > 0)
    # rank_correlated: two metrics over 3 · seeds runs
    first = rng.normal(0, 1, (SWEEPS, 3 * seeds))
    second = effect * first / 2 + rng.normal(0, 1, first.shape)
    rho, p = _rank_p(first, second)
    out["rank_correlated"] = (p, rho > 0)
    # tradeoff_better: runs in the (cost, score) plane, the model `effect` SDs better on both
    out["tradeoff_better"] = _tradeoff(rng, seeds, effect)
    return out


def _rank_p(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spearman permutation p per sweep (x differs per sweep, so one call each)."""
    rho, p = np.empty(len(first)), np.empty(len(first))
    for i in range(len(first)):
        r, q, _ = stats.permutation_test(stats.spearman_statistic(first[i]),
                                         stats.ranks(second[i]), count=PERMUTATIONS, seed=i)
        rho[i], p[i] = r, q
    return rho, p


def _tradeoff(rng: np.random.Generator, seeds: int, effect: float):
    n = 2 * seeds
    labels = np.r_[np.ones(seeds), np.zeros(seeds)]
    p, value = np.empty(SWEEPS), np.empty(SWEEPS)
    for i in range(SWEEPS):
        points = np.c_[rng.normal(0, 1, n) - effect * labels,
                       rng.normal(0, 1, n) + effect * labels]
        statistic = stats.dominance_statistic(stats.dominance_matrix(points))
        value[i], p[i], _ = stats.permutation_test(statistic, labels, count=PERMUTATIONS, seed=i)
    return p, value > 0


def verdicts(p_values: dict, *, seeds: int) -> dict[str, np.ndarray]:
    """Per claim type, the (SWEEPS,) verdicts after Holm over the claims of each sweep."""
    names = list(p_values)
    p = np.stack([p_values[name][0] for name in names], axis=1)  # (SWEEPS, claims)
    adjusted = np.stack([stats.holm(row) for row in p])
    judged = seeds >= cl.MIN_SEEDS
    out = {}
    for j, name in enumerate(names):
        direction = p_values[name][1]
        out[name] = np.array([
            cl.trend_verdict(adjusted[i, j], _direction(direction[i]), judged, f"{seeds}")
            for i in range(SWEEPS)])
    return out


def _direction(value) -> bool | None:
    value = float(value)
    return None if math.isnan(value) else bool(value)


@pytest.fixture(scope="module")
def null_verdicts():
    rng = np.random.default_rng(12)
    return verdicts(simulated_p_values(rng, seeds=3, effect=0.0), seeds=3)


def test_without_a_true_effect_verdicts_come_out_at_most_alpha(null_verdicts):
    decided = np.stack([~np.char.startswith(v.astype(str), "inconclusive")
                        for v in null_verdicts.values()], axis=1)  # (SWEEPS, claims)
    # per claim: Holm over the sweep's 6 claims keeps each one well under α
    for name, rate in zip(null_verdicts, decided.mean(axis=0)):
        assert rate <= ALPHA, (name, rate)
    # per report: the chance that any claim gets a verdict (the family-wise error) ≤ α
    assert decided.any(axis=1).mean() <= ALPHA + SLACK


def test_unadjusted_tests_have_their_nominal_size():
    """Each test alone (a family of one) rejects at about α under no effect: the permutation
    tests are exact, Welch's t is close to it under normal seeds."""
    rng = np.random.default_rng(3)
    for name, (p, _) in simulated_p_values(rng, seeds=3, effect=0.0).items():
        rate = float(np.mean(p < ALPHA))
        assert rate <= ALPHA + SLACK, (name, rate)


def test_a_two_sd_effect_with_five_seeds_a_side_is_mostly_detected():
    rng = np.random.default_rng(5)
    found = verdicts(simulated_p_values(rng, seeds=5, effect=2.0), seeds=5)
    for name in ("greater_than", "increases_with", "peaks_inside", "greater_than_same",
                 "tradeoff_better"):
        holds = float(np.mean(found[name] == "holds"))
        assert holds > 0.5, (name, holds)
        assert np.mean(found[name] == "does not hold") <= ALPHA, name


def test_too_few_seeds_never_give_a_verdict():
    rng = np.random.default_rng(7)
    found = verdicts(simulated_p_values(rng, seeds=2, effect=3.0), seeds=2)
    for name, verdict in found.items():
        assert all(v.startswith("inconclusive") for v in verdict), name
