"""Locatello et al. 2019's analyses over a whole results store.

* :func:`variance_decomposition` — how much of each score's variance across runs the objective,
  its hyperparameters and the random seed explain. Nested sums of squares over the finished
  runs with a finite score (the runs of one configuration differ only in the seed):

      SS_total = Σ (y − ȳ)²
      SS_objective = Σ_models n_m (ȳ_m − ȳ)²
      SS_hyperparameters = Σ_configs n_c (ȳ_c − ȳ_m(c))²        (configurations within a model)
      SS_seed = Σ (y − ȳ_c(y))²                                    (within a configuration)

  and each share is SS / SS_total (they sum to 1). Locatello et al. (Sec. 5.3, Fig. 7) found the
  seed and the hyperparameters move the scores as much as the objective does.
* :func:`rank_correlations` — Spearman's ρ between every pair of scores over the runs that have
  both (Locatello et al. Sec. 5.2, Fig. 3: all metrics but modularity are correlated).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .tables import group_columns, value_columns

SHARE_COLUMNS = ["objective", "hyperparameters", "seed"]
#: Runs a pair of scores needs before its rank correlation is shown.
MIN_PAIRED_RUNS = 3


def _finished(results: pd.DataFrame) -> pd.DataFrame:
    return results[results["status"] == "finished"] if "status" in results else results


def _as_keys(frame: pd.DataFrame) -> pd.Series:
    return frame.map(str).agg("|".join, axis=1)


def variance_decomposition(results: pd.DataFrame,
                           columns: list[str] | None = None) -> pd.DataFrame:
    """One row per score column: the shares of its variance explained by the objective, the
    hyperparameters (configurations within an objective) and the seed, with ``runs``,
    ``objectives`` and ``configurations`` counted (see the module docstring). NaN shares when
    the score does not vary."""
    runs = _finished(results)
    columns = value_columns(runs) if columns is None else columns
    config = _as_keys(runs[group_columns(runs)]) if len(runs) else pd.Series(dtype=str)
    rows = []
    for column in columns:
        y = pd.to_numeric(runs[column], errors="coerce")
        keep = np.isfinite(y.to_numpy(float))
        y, model, group = y[keep], runs["model"][keep].astype(str), config[keep]
        total = float(((y - y.mean()) ** 2).sum())
        model_mean = y.groupby(model).transform("mean")
        config_mean = y.groupby(group).transform("mean")
        shares = {"objective": float(((model_mean - y.mean()) ** 2).sum()),
                  "hyperparameters": float(((config_mean - model_mean) ** 2).sum()),
                  "seed": float(((y - config_mean) ** 2).sum())}
        row = {"score": column, "runs": int(keep.sum()), "objectives": model.nunique(),
               "configurations": group.nunique()}
        row.update({k: (v / total if total > 0 else math.nan) for k, v in shares.items()})
        rows.append(row)
    return pd.DataFrame(rows, columns=["score", *SHARE_COLUMNS, "runs", "objectives",
                                       "configurations"])


def rank_correlations(results: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """Spearman ρ (average ranks) between every pair of ``columns`` over the finished runs
    with both finite; NaN with fewer than :data:`MIN_PAIRED_RUNS` such runs or a constant
    side. A square DataFrame indexed by column."""
    runs = _finished(results)
    columns = value_columns(runs) if columns is None else columns
    values = runs[columns].apply(pd.to_numeric, errors="coerce")
    matrix = pd.DataFrame(np.nan, index=columns, columns=columns)
    for i, a in enumerate(columns):
        for b in columns[i:]:
            pair = values[[a, b]].dropna() if a != b else values[[a]].dropna()
            if len(pair) < MIN_PAIRED_RUNS:
                continue
            ra = pair[a].rank()
            rb = pair[b].rank() if a != b else ra
            if ra.nunique() < 2 or rb.nunique() < 2:
                continue
            matrix.loc[a, b] = matrix.loc[b, a] = float(np.corrcoef(ra, rb)[0, 1])
    return matrix


def variance_markdown(table: pd.DataFrame) -> str:
    """The decomposition as a Markdown table (shares in %)."""
    if table.empty:
        return "_no scores_"
    lines = ["| score | objective | hyperparameters | seed | runs |", "|---|---:|---:|---:|---:|"]
    for _, row in table.iterrows():
        shares = " | ".join("–" if not math.isfinite(row[c]) else f"{row[c]:.0%}"
                            for c in SHARE_COLUMNS)
        lines.append(f"| {row['score']} | {shares} | {row['runs']} |")
    return "\n".join(lines)
