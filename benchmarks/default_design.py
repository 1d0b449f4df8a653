"""Which default-run design detects the most: seeds × images per model (issue 21).

    python benchmarks/default_design.py --study results/study21 --runs docs/design_runs.csv
    python benchmarks/default_design.py --runs docs/design_runs.csv          # from the CSV

The study stores are sweeps of the cpu preset at several budgets (``--steps``), one
subdirectory each (e.g. ``s400`` = 400 steps × batch 256 = 102,400 images), trained with
several seeds per configuration:

    python run_benchmark.py --betas 1 2 4 8 --seeds 0 1 2 3 4 --steps 400 --precision fp32 \\
        --metrics mig factor_vae beta_vae unsupervised --out results/study21/s400

Their per-run scores (KL, reconstruction, MIG, FactorVAE score; one row per trained model) are
collected into ``--runs`` (a CSV, so the power figures can be recomputed without the stores).
For each design (a budget and a number of seeds per configuration) the script then simulates
``--sims`` default runs: every run's four scores are drawn from a normal distribution with its
configuration's measured means and standard deviations and the pooled within-configuration
correlation of the four scores; each simulated run is tested exactly as the report's findings
are (``disentangle_bench.report.findings``: Spearman permutation trends and Welch β_max vs VAE,
Holm over the six pre-declared comparisons, a verdict only with ≥ 3 seeds per configuration),
with 999 permutations instead of 9,999 (p resolves to 0.001, well below Holm's thresholds).
The power of a comparison is the share of simulated runs in which it is detected. The columns
marked ``raw`` ignore the ≥ 3 seeds rule, to show what two seeds would buy without it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from disentangle_bench.report.findings import (  # noqa: E402
    MIN_SEEDS,
    PREDECLARED,
    beta_runs,
)
from disentangle_bench.report.stats import (  # noqa: E402
    ALPHA,
    holm,
    permutation_test,
    ranks,
    spearman_statistic,
    welch_test,
)
from disentangle_bench.sweep.results import load_results  # noqa: E402

SCORES = list(dict.fromkeys(c.column for c in PREDECLARED))
#: Designs (steps per model, seeds per configuration) simulated when their budget was measured.
DESIGNS = ((250, 3), (250, 4), (250, 5), (400, 2), (400, 3), (400, 4), (625, 2), (625, 3),
           (1250, 1), (1250, 2))
PERMUTATIONS = 999


def collect(study: Path) -> pd.DataFrame:
    """One row per finished VAE/β-VAE run of every ``s<steps>`` store under ``study``."""
    frames = []
    for store in sorted(p for p in study.iterdir() if p.is_dir()):
        runs = beta_runs(load_results(store))
        if len(runs):
            frames.append(runs[["steps", "beta", "seed", *SCORES]])
    return pd.concat(frames, ignore_index=True)


def moments(runs: pd.DataFrame) -> tuple[dict[float, np.ndarray], dict[float, np.ndarray],
                                         np.ndarray]:
    """Per β: the scores' means and standard deviations (ddof 1); and the pooled
    within-configuration correlation matrix of the scores."""
    means, sds, centred = {}, {}, []
    for beta, group in runs.groupby("beta"):
        values = group[SCORES].to_numpy(float)
        means[beta], sds[beta] = values.mean(axis=0), values.std(axis=0, ddof=1)
        centred.append((values - means[beta]) / np.where(sds[beta] > 0, sds[beta], 1))
    pooled = np.concatenate(centred)
    return means, sds, np.corrcoef(pooled, rowvar=False)


def simulate(runs: pd.DataFrame, seeds: int, sims: int, rng: np.random.Generator,
             ) -> dict[str, np.ndarray]:
    """``{comparison name: detected (sims,) bool}`` and the same with ``raw`` (no seed rule)."""
    means, sds, corr = moments(runs)
    betas = np.array(sorted(means))
    draws = rng.multivariate_normal(np.zeros(len(SCORES)), corr,
                                    size=(sims, len(betas), seeds))  # (sims, levels, seeds, k)
    values = (np.stack([means[b] for b in betas])[None, :, None, :]
              + np.stack([sds[b] for b in betas])[None, :, None, :] * draws)
    beta_of_run = np.repeat(betas, seeds)
    pvalues, estimates = [], []
    for comparison in PREDECLARED:
        k = SCORES.index(comparison.column)
        if comparison.kind == "trend":
            y = values[..., k].reshape(sims, -1)
            rho, p, _ = permutation_test(spearman_statistic(beta_of_run), ranks(y),
                                         count=PERMUTATIONS)
            pvalues.append(p)
            estimates.append(rho)
        else:
            treated, control = values[:, -1, :, k], values[:, 0, :, k]
            _, _, p = welch_test(treated, control)
            pvalues.append(p)
            estimates.append(treated.mean(axis=1) - control.mean(axis=1))
    pvalues, estimates = np.stack(pvalues, axis=1), np.stack(estimates, axis=1)
    adjusted = np.stack([holm(row) for row in pvalues])
    expected = np.array([c.expected for c in PREDECLARED])
    raw = (adjusted < ALPHA) & (np.sign(estimates) == expected)
    detected = raw & (seeds >= MIN_SEEDS)
    out = {}
    for i, comparison in enumerate(PREDECLARED):
        out[comparison.name] = detected[:, i]
        out[f"raw: {comparison.name}"] = raw[:, i]
    disentanglement = [i for i, c in enumerate(PREDECLARED) if c.column not in ("kl",
                                                                                 "reconstruction")]
    out["any disentanglement finding"] = detected[:, disentanglement].any(axis=1)
    return out


def power_table(runs: pd.DataFrame, sims: int, seed: int) -> pd.DataFrame:
    """Power of each comparison for every design whose budget has measured runs."""
    rows = []
    for steps, seeds in DESIGNS:
        measured = runs[runs["steps"] == steps]
        if measured["beta"].nunique() < 2 or measured.groupby("beta").size().min() < 2:
            continue
        rng = np.random.default_rng(seed)
        result = simulate(measured, seeds, sims, rng)
        row = {"steps": steps, "images": steps * 256, "seeds": seeds,
               "measured seeds": int(measured.groupby("beta").size().min())}
        row.update({name: float(hits.mean()) for name, hits in result.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def measured_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sd (n) of each score per budget and β, as measured."""
    rows = []
    for (steps, beta), group in runs.groupby(["steps", "beta"]):
        row = {"steps": steps, "beta": beta, "n": len(group)}
        for column in SCORES:
            values = group[column].to_numpy(float)
            row[column] = f"{values.mean():.3f} ± {values.std(ddof=1):.3f}"
        rows.append(row)
    return pd.DataFrame(rows)


def markdown(frame: pd.DataFrame) -> str:
    """A pipe table (no extra dependency)."""
    def cell(value) -> str:
        return f"{value:.2f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |",
             "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |"
              for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", type=Path, help="a folder of s<steps> result stores")
    parser.add_argument("--runs", type=Path, required=True,
                        help="per-run CSV: written from --study, else read")
    parser.add_argument("--sims", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.study:
        runs = collect(args.study)
        runs.to_csv(args.runs, index=False)
    else:
        runs = pd.read_csv(args.runs)
    print(markdown(measured_table(runs)))
    print()
    table = power_table(runs, args.sims, args.seed)
    shown = [c for c in table.columns if not c.startswith("raw: ")]
    print(markdown(table[shown]))
    print()
    raw = ["steps", "seeds", *[c for c in table.columns if c.startswith("raw: ")]]
    print(markdown(table[raw]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
