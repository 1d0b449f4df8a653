"""The run's tested findings: the pre-declared comparisons of a β sweep, over training seeds.

A β sweep (the default run, ``--betas 1 2 4 8``) trains a VAE (β = 1) and β-VAEs at larger β.
Before any result is seen, six comparisons are declared (:data:`PREDECLARED`, chosen by the
design study in docs/recipes.md); each is tested over training seeds, and Holm's correction
runs over exactly the comparisons that could be tested:

* **trends** — Spearman's ρ between β and a score over every VAE/β-VAE run (one value per
  trained model, averaged over its evaluation seeds), two-sided permutation test
  (``stats.permutation_test``, 9,999 permutations); the interval is a percentile bootstrap of
  ρ over runs resampled within each β. Declared for KL (expected to fall), reconstruction error
  (to rise), MIG and the FactorVAE score (to rise; Higgins et al. 2017, Locatello et al. 2019).
* **versus** — the β-VAE at the sweep's largest β against the VAE, difference of means with
  Welch's t (``stats.welch_test``) and its 95 % Welch interval
  ``d ± t_{0.975, ν} · sqrt(s_a²/n_a + s_b²/n_b)``. Declared for MIG and the FactorVAE score.
  The largest β is the best β of the design study (independent seeds), so the choice is made
  before the run, not picked from it.

A finding is **detected** when its Holm-adjusted p is below 0.05 and every β level has at least
:data:`MIN_SEEDS` seeds; otherwise it is reported as not detected (or inconclusive / no test,
with the reason). Nothing is dropped: every pre-declared comparison gets a line. Runs whose
score is undefined (NaN) are left out of that test and the line says how many.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import scipy.stats

from ..sweep.results import model_means
from .stats import (
    ALPHA,
    SEED,
    format_p,
    holm,
    permutation_test,
    ranks,
    spearman_statistic,
    welch_test,
)

#: Seeds per configuration below which no verdict is given (as in the claims' trend tests).
MIN_SEEDS = 3
#: Bootstrap resamples of Spearman's ρ for its interval.
RHO_RESAMPLES = 1000
FINDINGS_HEADING = "Findings: the pre-declared comparisons, tested over training seeds"


@dataclass(frozen=True)
class Comparison:
    """One pre-declared comparison: a trend of ``column`` with β, or the largest β vs the VAE.
    ``expected`` is the direction the literature predicts (+1 rises, −1 falls)."""

    kind: str
    column: str
    label: str
    expected: int
    #: The β compared with the VAE (``versus``), once the sweep has said which is largest.
    beta: float | None = None

    @property
    def name(self) -> str:
        if self.kind == "trend":
            verb = "rises" if self.expected > 0 else "falls"
            return f"{self.label} {verb} with β"
        beta = "largest β" if self.beta is None else f"β = {self.beta:g}"
        return f"β-VAE ({beta}) vs VAE, {self.label}"


PREDECLARED: tuple[Comparison, ...] = (
    Comparison("trend", "kl", "KL", -1),
    Comparison("trend", "reconstruction", "reconstruction error", +1),
    Comparison("trend", "mig.discrete_mig", "MIG", +1),
    Comparison("trend", "factor_vae.eval_accuracy", "FactorVAE score", +1),
    Comparison("versus", "mig.discrete_mig", "MIG", +1),
    Comparison("versus", "factor_vae.eval_accuracy", "FactorVAE score", +1),
)


@dataclass
class Finding:
    """A tested comparison. ``estimate`` is ρ (trend) or the difference of means (versus);
    ``p_holm`` is NaN when the comparison could not be tested (``reason`` says why)."""

    comparison: Comparison
    estimate: float = math.nan
    low: float = math.nan
    high: float = math.nan
    p: float = math.nan
    p_holm: float = math.nan
    n: tuple[int, ...] = ()
    undefined: int = 0
    reason: str = ""
    seeds_per_level: int = 0

    @property
    def verdict(self) -> str:
        if self.reason:
            return self.reason
        if self.seeds_per_level < MIN_SEEDS:
            return (f"inconclusive: {self.seeds_per_level} seed(s) per configuration, a verdict "
                    f"needs {MIN_SEEDS} (--num-seeds {MIN_SEEDS})")
        if not self.p_holm < ALPHA:
            return "not detected at this budget"
        if np.sign(self.estimate) != self.comparison.expected:
            return "detected, opposite to the expected direction"
        return "detected"

    @property
    def detected(self) -> bool:
        return self.verdict.startswith("detected")

    def text(self) -> str:
        """One plain-words line, e.g. ``KL falls with β: Spearman ρ = −0.97 [−0.99, −0.93],
        p < 0.0001 (Holm < 0.0001), n = 12 runs: detected``."""
        c = self.comparison
        if not self.n:
            return f"{c.name}: {self.verdict}"
        if c.kind == "trend":
            stat = f"Spearman ρ = {_num(self.estimate, 2)} [{_num(self.low, 2)}, " \
                   f"{_num(self.high, 2)}]"
            test, size = "permutation p", f"n = {self.n[0]} runs"
        else:
            stat = f"{_signed(self.estimate)} [{_signed(self.low)}, {_signed(self.high)}]"
            test, size = "Welch p", f"n = {self.n[0]} vs {self.n[1]}"
        undefined = f", {self.undefined} undefined run(s) left out" if self.undefined else ""
        return (f"{c.name}: {stat}, {test} {_p(self.p)} (Holm {_p(self.p_holm)}), "
                f"{size}{undefined}: {self.verdict}")


def beta_runs(results: pd.DataFrame) -> pd.DataFrame:
    """One row per finished VAE / β-VAE model (evaluation seeds averaged), with its ``beta``
    (the VAE is β = 1)."""
    means = model_means(results)
    if means.empty or "model" not in means:
        return pd.DataFrame()
    means = means[means["status"] == "finished"]
    beta = pd.to_numeric(means.get("hparams.beta", pd.Series(np.nan, index=means.index)),
                         errors="coerce")
    beta = beta.where(means["model"] == "beta_vae")
    beta = beta.mask(means["model"] == "vae", 1.0)
    runs = means.assign(beta=beta)
    return runs[runs["beta"].notna()].reset_index(drop=True)


def findings(results: pd.DataFrame,
             comparisons: tuple[Comparison, ...] = PREDECLARED) -> list[Finding]:
    """Every comparison in ``comparisons``, tested on ``results`` (``sweep.load_results``),
    Holm-adjusted over those that could be tested."""
    return tested_runs(beta_runs(results), comparisons)


def tested_runs(runs: pd.DataFrame,
                comparisons: tuple[Comparison, ...] = PREDECLARED) -> list[Finding]:
    """:func:`findings` on the rows :func:`beta_runs` already gave."""
    out = [_test(c, runs) for c in comparisons]
    adjusted = holm(np.array([f.p for f in out]))
    for finding, p_holm in zip(out, adjusted):
        finding.p_holm = float(p_holm)
    return out


def mixed_settings(runs: pd.DataFrame) -> list[str]:
    """Settings other than β and the seed that differ between the β runs (e.g. ``steps``, or
    a second hyperparameter): then β is not the only thing compared, and nothing is tested."""
    from .tables import GROUPING_FIELDS

    columns = [c for c in runs.columns if c.startswith("hparams.") and c != "hparams.beta"]
    return [c for c in [*GROUPING_FIELDS, *columns]
            if c in runs and runs[c].astype(str).nunique() > 1]


def _test(comparison: Comparison, runs: pd.DataFrame) -> Finding:
    finding = Finding(comparison)
    levels = sorted(runs["beta"].unique()) if len(runs) else []
    if comparison.column not in runs or len(levels) < 2 or 1.0 not in levels:
        finding.reason = ("no test: needs a VAE (β = 1) and β-VAEs at another β, with "
                          f"{comparison.label} scored")
        return finding
    mixed = mixed_settings(runs)
    if mixed:
        finding.reason = (f"no test: the β runs also differ in {', '.join(mixed)}; compare "
                          "one setting at a time")
        return finding
    if comparison.kind == "versus":
        runs = runs[runs["beta"].isin([1.0, levels[-1]])]
        finding.comparison = replace(comparison, beta=float(levels[-1]))
    finding.seeds_per_level = int(runs.groupby("beta").size().min())
    values = pd.to_numeric(runs[comparison.column], errors="coerce").to_numpy(float)
    finite = np.isfinite(values)
    finding.undefined = int((~finite).sum())
    beta, values = runs["beta"].to_numpy(float)[finite], values[finite]
    if finding.seeds_per_level < 2:
        finding.reason = "one seed: no test (--num-seeds 3 gives one)"
        return finding
    if comparison.kind == "trend":
        _trend(finding, beta, values)
    else:
        _versus(finding, values[beta == levels[-1]], values[beta == 1.0])
    return finding


def _trend(finding: Finding, beta: np.ndarray, values: np.ndarray) -> None:
    finding.n = (len(values),)
    if len(values) < 3 or np.ptp(values) == 0:
        finding.reason = "no test: fewer than 3 runs with a defined, varying score"
        return
    rho, p, _ = permutation_test(spearman_statistic(beta), ranks(values))
    finding.estimate, finding.p = float(rho), float(p)
    finding.low, finding.high = rho_interval(beta, values)


def rho_interval(beta: np.ndarray, values: np.ndarray, *, resamples: int = RHO_RESAMPLES,
                 seed: int = SEED) -> tuple[float, float]:
    """95 % percentile bootstrap interval of Spearman's ρ between ``beta`` and ``values``, runs
    resampled within each β level (every resample keeps the design's levels and counts)."""
    rng = np.random.default_rng(seed)
    levels = [np.flatnonzero(beta == level) for level in np.unique(beta)]
    index = np.concatenate([members[rng.integers(0, len(members), (resamples, len(members)))]
                            for members in levels], axis=1)
    rho = spearman_statistic(np.concatenate([beta[m] for m in levels]))(ranks(values[index]))
    rho = rho[np.isfinite(rho)]
    if len(rho) == 0:
        return math.nan, math.nan
    low, high = np.quantile(rho, [0.025, 0.975])
    return float(low), float(high)


def _versus(finding: Finding, treated: np.ndarray, control: np.ndarray) -> None:
    finding.n = (len(treated), len(control))
    _, df, p = welch_test(treated, control)
    if not np.isfinite(p):
        finding.reason = "no test: a side has fewer than 2 defined runs or no spread"
        return
    diff = float(treated.mean() - control.mean())
    se = math.sqrt(treated.var(ddof=1) / len(treated) + control.var(ddof=1) / len(control))
    half = float(scipy.stats.t.ppf(0.975, df)) * se
    finding.estimate, finding.p = diff, float(p)
    finding.low, finding.high = diff - half, diff + half


def findings_lines(items: list[Finding]) -> list[str]:
    """The findings as plain lines, followed by what was tested (for the terminal and
    report.md)."""
    lines = [f.text() for f in items]
    tested = sum(1 for f in items if np.isfinite(f.p))
    lines.append(f"(Holm over the {tested} pre-declared comparisons that could be tested; "
                 f"detected = Holm p < {ALPHA:g} with ≥ {MIN_SEEDS} seeds per configuration.)")
    return lines


def _num(value: float, digits: int) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.{digits}f}".replace("-", "−")


def _signed(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:+.3f}".replace("-", "−")


def _p(p: float) -> str:
    text = format_p(p)
    return text if text.startswith(("<", "n/a")) else f"= {text}"
