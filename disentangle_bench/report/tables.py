"""Summary tables: mean ± std (sample std, ddof = 1) and n over training seeds, per model ×
hyperparameters, with the spread over evaluation seeds beside it.

``summary_table(results)`` takes ``sweep.load_results(...)`` (one row per model and evaluation
seed) and returns one row per group (a model with one hyperparameter setting, plus any other
config field that differs between trained models, e.g. ``steps``; external encoders group by
their source). Each model's value is first averaged over its evaluation seeds; then per group:
``n`` (finished models = training seeds), ``failed``, ``seeds``, ``eval_seeds`` (the
evaluation seeds seen), ``n_eval`` (evaluation seeds per model, the fewest any model has) and,
for every value column, ``<column>.mean`` and ``<column>.std`` over the models' averages and
``<column>.eval_sd``, the spread over evaluation seeds: sqrt of the mean over models of each
model's variance (ddof = 1) across its evaluation seeds (NaN with one evaluation seed).
``markdown_table`` renders it transposed (one row per value, one column per group).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

#: Config fields that, when they differ between runs, separate groups (seeds never do).
GROUPING_FIELDS = ("dataset", "steps", "batch_size", "lr", "latent_dim", "architecture",
                   "device", "precision", "preset", "version")
HEADLINE_COLUMNS = ("reconstruction", "kl", "active_units")
#: Score columns left out of tables and plots: the per-dimension KL (drawn as bars) and the
#: unsupervised metric's copies of the headline columns.
_NOT_VALUES = re.compile(r"^unsupervised\.(kl_dim_\d+|kl_total|active_units|reconstruction_nll)$")


#: Metrics in the order of the literature's tables; others follow alphabetically.
METRIC_ORDER = ("beta_vae", "factor_vae", "mig", "dci", "sap", "modularity_explicitness",
                "unsupervised")


def value_columns(results: pd.DataFrame) -> list[str]:
    """Headline columns, then every ``<metric>.<score>`` column (metrics in
    :data:`METRIC_ORDER`, scores alphabetically)."""
    headline = [c for c in HEADLINE_COLUMNS if c in results.columns]
    scores = [c for c in results.columns
              if "." in c and not c.startswith("hparams.") and not _NOT_VALUES.match(c)
              and pd.to_numeric(results[c], errors="coerce").notna().any()]

    def order(column: str) -> tuple:
        metric = column.partition(".")[0]
        rank = METRIC_ORDER.index(metric) if metric in METRIC_ORDER else len(METRIC_ORDER)
        return (rank, column)

    return headline + sorted(scores, key=order)


def group_columns(results: pd.DataFrame) -> list[str]:
    """``model``, its hyperparameter columns, and the config fields that vary."""
    hparams = sorted(c for c in results.columns if c.startswith("hparams."))
    trained = results
    if "source" in results.columns:  # external encoders have no training config to compare
        trained = results[results["source"].fillna("trained") == "trained"]
    varying = [c for c in GROUPING_FIELDS
               if c in trained.columns and trained[c].astype(str).nunique() > 1]
    source = ["source"] if "source" in results.columns and results["source"].nunique() > 1 \
        else []
    return ["model", *hparams, *varying, *source]


def summary_table(results: pd.DataFrame) -> pd.DataFrame:
    """Mean ± std and n over training seeds, spread over evaluation seeds, per group; see the
    module docstring."""
    if results.empty:
        return pd.DataFrame(columns=["label", "model", "n", "failed"])
    keys = group_columns(results)
    values = value_columns(results)
    finished = results["status"] == "finished"
    rows = []
    for _, group in results.groupby(keys, dropna=False, sort=False):
        done = group[finished.loc[group.index]]
        models = list(done.groupby("run_id", sort=False)) if len(done) else []
        row: dict[str, Any] = {"label": _group_label(group, keys), **group.iloc[0][keys].to_dict()}
        row["n"] = len(models)
        failed_ids = set(group.loc[group["status"] == "failed", "run_id"])
        row["failed"] = len(failed_ids - {model_id for model_id, _ in models})
        seeds = [model.iloc[0]["seed"] for _, model in models]
        row["seeds"] = " ".join(str(s) for s in sorted(s for s in seeds if _is_present(s)))
        eval_seeds = sorted({s for s in done.get("eval_seed", pd.Series(dtype=float))
                             if _is_present(s)})
        row["eval_seeds"] = " ".join(str(int(s)) for s in eval_seeds)
        row["n_eval"] = min((len(model) for _, model in models), default=0)
        for column in values:
            per_model = [pd.to_numeric(model[column], errors="coerce").dropna().to_numpy(float)
                         for _, model in models]
            means = np.array([m.mean() for m in per_model if len(m)])
            variances = [m.var(ddof=1) for m in per_model if len(m) > 1]
            row[f"{column}.mean"] = float(means.mean()) if len(means) else math.nan
            row[f"{column}.std"] = float(means.std(ddof=1)) if len(means) > 1 else math.nan
            row[f"{column}.eval_sd"] = float(np.sqrt(np.mean(variances))) if variances \
                else math.nan
        rows.append(row)
    table = pd.DataFrame(rows)
    return table.iloc[_group_order(table, keys)].reset_index(drop=True)


def _is_present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _group_label(group: pd.DataFrame, keys: list[str]) -> str:
    label = str(group["label"].iloc[0])
    extra = [k for k in keys if k not in ("model", "source") and not k.startswith("hparams.")
             and _is_present(group[k].iloc[0])]
    if extra:
        label += " [" + ", ".join(f"{k}={group[k].iloc[0]}" for k in extra) + "]"
    return label


def _group_order(table: pd.DataFrame, keys: list[str]) -> list[int]:
    """Models in order of first appearance, then hyperparameters ascending."""
    first = {m: i for i, m in reversed(list(enumerate(table["model"])))}

    def sort_key(i: int) -> tuple:
        row = table.iloc[i]
        rest = tuple(_sortable(row[k]) for k in keys if k != "model")
        return (first[row["model"]], *rest)

    return sorted(range(len(table)), key=sort_key)


def _sortable(value: Any) -> tuple:
    if isinstance(value, (int, float, np.number)) and not (isinstance(value, float)
                                                           and math.isnan(value)):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def format_mean_std(mean: float, std: float, *, digits: int = 3) -> str:
    """``0.512 ± 0.031``; just the mean when std is undefined (one seed); ``–`` for no value."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    text = _format_number(mean, digits)
    if std is None or (isinstance(std, float) and math.isnan(std)):
        return text
    return f"{text} ± {_format_number(std, digits)}"


def _format_number(value: float, digits: int) -> str:
    if float(value).is_integer() and abs(value) < 1e5:
        return str(int(value))  # counts (active units, n) and exact zeros
    if 1e-3 <= abs(value) < 1e5:
        return f"{value:.{digits}f}" if abs(value) < 100 else f"{value:.1f}"
    return f"{value:.{digits - 1}e}"


def display_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The transposed, formatted table: rows = values (+ ``n`` and the evaluation seeds per
    model), columns = group labels. A cell is ``mean ± std`` over training seeds, followed by
    ``[eval ± sd]`` (the spread over evaluation seeds) when a model has several."""
    if summary.empty:
        return pd.DataFrame()
    values = [c.removesuffix(".mean") for c in summary.columns if c.endswith(".mean")]
    columns = {}
    for _, row in summary.iterrows():
        cells = {"n (seeds)": f"{row['n']}" + (f" ({row['failed']} failed)" if row["failed"]
                                                else "")}
        if "n_eval" in summary.columns:
            cells["eval seeds per model"] = str(int(row["n_eval"]))
        for value in values:
            cell = format_mean_std(row[f"{value}.mean"], row[f"{value}.std"])
            eval_sd = row.get(f"{value}.eval_sd", math.nan)
            if cell != "–" and _is_present(eval_sd):
                cell += f" [eval ± {_format_number(float(eval_sd), 3)}]"
            cells[value] = cell
        columns[row["label"]] = cells
    frame = pd.DataFrame(columns)
    frame.index.name = "value"
    return frame


def markdown_table(summary: pd.DataFrame) -> str:
    """GitHub Markdown of :func:`display_table`."""
    frame = display_table(summary)
    if frame.empty:
        return "_no runs_\n"
    header = ["value", *frame.columns]
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] + ["---:"] * len(frame.columns)) + "|"]
    for index, row in frame.iterrows():
        lines.append("| " + " | ".join([str(index), *row.astype(str).tolist()]) + " |")
    return "\n".join(lines) + "\n"


def text_table(summary: pd.DataFrame) -> str:
    """Plain-text rendering for the terminal."""
    frame = display_table(summary)
    return frame.to_string() if not frame.empty else "(no runs)"
