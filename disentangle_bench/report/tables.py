"""Summary tables: per model × hyperparameters, the mean, a 95 % interval, the median and n over
training seeds, and the spread over evaluation seeds beside them.

``summary_table(results)`` takes ``sweep.load_results(...)`` (one row per model and evaluation
seed) and returns one row per group (a model with one hyperparameter setting, plus any other
config field that differs between trained models, e.g. ``steps``; external encoders group by
their source). Each model's value is first averaged over its evaluation seeds
(``sweep.results.seed_mean``: NaN when the value is undefined at any of them); then per group:
``n`` (finished models = training seeds), ``failed``, ``seeds``, ``eval_seeds`` (the
evaluation seeds seen), ``n_eval`` (evaluation seeds per model, the fewest any model has) and,
for every value column, over the models' averages: ``<column>.mean``, ``.std`` (ddof 1),
``.lo`` / ``.hi`` (the 95 % Student-t interval of the mean over the training seeds,
:data:`INTERVAL`), ``.median`` and ``.finite`` (how many of the n models have a finite mean: an
undefined (NaN) one is left out of the mean but always counted here); and ``.eval_sd``, the
spread over evaluation seeds: sqrt of the mean over the models with a finite mean of each
model's variance (ddof 1) across its evaluation seeds (NaN with one evaluation seed). Value
columns: ``reconstruction``, ``kl``, ``active_units`` and every ``<metric>.<score>`` column.
``markdown_table`` renders it transposed (one row per value, one column per group) with cells
``mean [lo, hi] (n)``, or ``(k/n)`` when only k of the n models have a finite score, followed
by ``, eval sd X`` when the models have several evaluation seeds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..sweep.results import RUN_INTERVAL_MARK, seed_mean, seed_values
from .stats import t_interval

#: What the interval in every cell is.
INTERVAL = "95 % Student-t interval of the mean over training seeds"

#: Config fields that, when they differ between runs, separate groups (seeds never do).
GROUPING_FIELDS = ("dataset", "steps", "batch_size", "lr", "latent_dim", "architecture",
                   "device", "precision", "preset", "version")
HEADLINE_COLUMNS = ("reconstruction", "reconstruction_posterior_mean", "kl", "active_units")


def _hidden(column: str) -> bool:
    """Score columns left out of tables and plots, as the metric's entry says
    (``MetricSpec.hidden_scores``: e.g. the unsupervised metric's per-dimension KL, drawn as
    bars, and its copies of the headline columns)."""
    from ..metrics import list_metrics, metric_spec

    metric, _, score = column.partition(".")
    return metric in list_metrics() and metric_spec(metric).is_hidden(score)


def value_columns(results: pd.DataFrame) -> list[str]:
    """Headline columns, then every ``<metric>.<score>`` column (metrics in registry order,
    ``metrics.list_metrics()``, then unregistered ones alphabetically; scores alphabetically)."""
    from ..metrics import list_metrics

    headline = [c for c in HEADLINE_COLUMNS if c in results.columns]
    scores = [c for c in results.columns
              if "." in c and not c.startswith("hparams.") and not _hidden(c)
              and RUN_INTERVAL_MARK not in c
              and _is_score(results[c])]
    order_of = {name: rank for rank, name in enumerate(list_metrics())}

    def order(column: str) -> tuple:
        metric = column.partition(".")[0]
        return (order_of.get(metric, len(order_of)), column)

    return headline + sorted(scores, key=order)


def _is_score(column: pd.Series) -> bool:
    """A numeric column, even one whose every value is NaN (an undefined score keeps its
    column, shown as ``0/n`` finite, rather than vanishing from the table); text columns
    such as a score's ``reason`` are not scores."""
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        return True
    return pd.to_numeric(column, errors="coerce").notna().any()


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
            per_model = [seed_values(model, column) for _, model in models]
            means = np.array([seed_mean(m) for m in per_model])
            numbers = means[np.isfinite(means)]
            variances = [m.var(ddof=1) for m in per_model if len(m) > 1 and np.isfinite(m).all()]
            row[f"{column}.mean"] = float(numbers.mean()) if len(numbers) else math.nan
            row[f"{column}.std"] = float(numbers.std(ddof=1)) if len(numbers) > 1 else math.nan
            row[f"{column}.lo"], row[f"{column}.hi"] = t_interval(numbers)
            row[f"{column}.median"] = float(np.median(numbers)) if len(numbers) else math.nan
            row[f"{column}.finite"] = len(numbers)
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


def _format_number(value: float, digits: int) -> str:
    if float(value).is_integer() and abs(value) < 1e5:
        return str(int(value))  # counts (active units, n) and exact zeros
    if 1e-3 <= abs(value) < 1e5:
        return f"{value:.{digits}f}" if abs(value) < 100 else f"{value:.1f}"
    return f"{value:.{digits - 1}e}"


def format_interval(mean: float, lo: float, hi: float, finite: int, n: int, *,
                    digits: int = 3) -> str:
    """``0.512 [0.470, 0.554] (3)``; ``(2/3)`` when only 2 of the 3 runs have a finite score;
    no interval with one finite value; ``– (0/3)`` when none has."""
    count = f"({finite})" if finite == n else f"({finite}/{n})"
    if finite == 0 or mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return f"– {count}" if n else "–"
    text = _format_number(mean, digits)
    if lo is not None and math.isfinite(lo) and math.isfinite(hi):
        text += f" [{_format_number(lo, digits)}, {_format_number(hi, digits)}]"
    return f"{text} {count}"


def display_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The transposed, formatted table: rows = values (+ ``n`` and the evaluation seeds per
    model), columns = group labels. A cell is :func:`format_interval` over training seeds,
    followed by ``, eval sd X`` (the spread over evaluation seeds) when a model has several."""
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
            cell = format_interval(row[f"{value}.mean"], row.get(f"{value}.lo"),
                                   row.get(f"{value}.hi"),
                                   int(row.get(f"{value}.finite", row["n"])), int(row["n"]))
            eval_sd = row.get(f"{value}.eval_sd", math.nan)
            if _is_present(eval_sd) and _is_present(row[f"{value}.mean"]):
                cell += f", eval sd {_format_number(float(eval_sd), 3)}"
            cells[value] = cell
        columns[row["label"]] = cells
    frame = pd.DataFrame(columns)
    frame.index.name = "value"
    return frame


#: The scores the seed papers name, in the order the headline table shows them:
#: ``(column, display name)``. Everything else goes to the full table (summary.md/csv).
HEADLINE_SCORES = (
    ("reconstruction", "reconstruction error (nats/image)"),
    ("kl", "KL (nats)"),
    ("active_units", "active units"),
    ("beta_vae.eval_accuracy", "β-VAE score"),
    ("factor_vae.eval_accuracy", "FactorVAE score"),
    ("mig.discrete_mig", "MIG"),
    ("dci.disentanglement", "DCI disentanglement"),
    ("sap.SAP_score", "SAP"),
    ("modularity_explicitness.modularity_score", "modularity"),
)


def headline_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The compact table: rows = the :data:`HEADLINE_SCORES` the sweep scored (display names)
    after ``n (seeds)``, columns = group labels, cells ``mean [95 % interval] (n)``."""
    full = display_table(summary)
    if full.empty:
        return full
    rows = [("n (seeds)", "n (seeds)")] + [(c, name) for c, name in HEADLINE_SCORES
                                             if c in full.index]
    frame = full.loc[[column for column, _ in rows]]
    frame = frame.apply(lambda cells: cells.str.replace(r", eval sd .*$", "", regex=True))
    frame.index = pd.Index([name for _, name in rows], name="score")
    return frame


def headline_markdown(summary: pd.DataFrame, label: Callable[[str], str] = str) -> str:
    """GitHub Markdown of :func:`headline_table`; ``label`` renders the column headers."""
    frame = headline_table(summary)
    if frame.empty:
        return "_no runs_\n"
    lines = ["| score | " + " | ".join(label(c) for c in frame.columns) + " |",
             "|" + "|".join(["---"] + ["---:"] * len(frame.columns)) + "|"]
    lines += ["| " + " | ".join([str(index), *row.astype(str).tolist()]) + " |"
              for index, row in frame.iterrows()]
    return "\n".join(lines) + "\n"


def markdown_table(summary: pd.DataFrame, command: str | None = None) -> str:
    """GitHub Markdown of :func:`display_table`, followed by :func:`table_notes`."""
    frame = display_table(summary)
    if frame.empty:
        return "_no runs_\n"
    header = ["value", *frame.columns]
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] + ["---:"] * len(frame.columns)) + "|"]
    for index, row in frame.iterrows():
        lines.append("| " + " | ".join([str(index), *row.astype(str).tolist()]) + " |")
    return "\n".join(lines) + "\n\n" + "\n\n".join(table_notes(summary, command)) + "\n"


def table_notes(summary: pd.DataFrame, command: str | None = None) -> list[str]:
    """What the cells mean, and, when a configuration has one seed, that it has no interval
    and the command that gives one."""
    notes = [f"Cells: mean [{INTERVAL}] (n seeds); (k/n): only k of the n runs have a finite "
             "score, the others are undefined (NaN, the reason is in results.csv) and are not "
             "in the mean."]
    if "n_eval" in summary.columns and (summary["n_eval"] > 1).any():
        notes.append("Each model's score is first averaged over its evaluation seeds (the "
                     "metric's own sampling); eval sd: the standard deviation over evaluation "
                     "seeds within a model (pooled over the models), beside the interval over "
                     "training seeds.")
    if not summary.empty and (summary["n"] == 1).any():
        single = ", ".join(str(label) for label in summary.loc[summary["n"] == 1, "label"])
        notes.append(f"**No interval**: {single} had one seed, and one seed gives no interval "
                     f"and no test. For intervals run `{more_seeds_command(command)}`.")
    return notes


def more_seeds_command(command: str | None, seeds: int = 3) -> str:
    """``command`` with ``--num-seeds N`` (replacing any ``--seeds`` / ``--num-seeds``)."""
    import shlex

    words = shlex.split(command) if command else ["run_benchmark.py"]
    kept, skip = [], False
    for word in words:
        if skip and not word.startswith("-"):
            continue
        skip = word in ("--seeds", "--num-seeds")
        if not skip and not word.startswith(("--seeds=", "--num-seeds=")):
            kept.append(word)
    if kept and kept[0].endswith(".py"):
        kept.insert(0, "python")
    return shlex.join([*kept, "--num-seeds", str(seeds)])


def text_table(summary: pd.DataFrame, label: Callable[[str], str] = str) -> str:
    """Plain-text rendering of :func:`headline_table` for the terminal (the full table is in
    summary.md); ``label`` renders the column headers."""
    frame = headline_table(summary)
    if frame.empty:
        return "(no runs)"
    frame.columns = [label(c) for c in frame.columns]
    return frame.to_string()


def evaluation_noise(results: pd.DataFrame) -> pd.DataFrame:
    """For each score with per-run intervals (``<score>@lo`` / ``@hi``, a bootstrap of each
    run's evaluation rows): the median half-width of those intervals over the finished runs,
    next to the seed standard deviation pooled over configurations (training noise)."""
    done = results[results["status"] == "finished"] if "status" in results else results
    rows = []
    for low in (c for c in done.columns if c.endswith(f"{RUN_INTERVAL_MARK}lo")):
        score = low.removesuffix(f"{RUN_INTERVAL_MARK}lo")
        high = f"{score}{RUN_INTERVAL_MARK}hi"
        half = ((pd.to_numeric(done[high], errors="coerce")
                 - pd.to_numeric(done[low], errors="coerce")) / 2).dropna()
        if half.empty or score not in done:
            continue
        keys = group_columns(done)
        values = pd.to_numeric(done[score], errors="coerce")
        groups = [g.dropna().to_numpy(float) for _, g in values.groupby(
            [done[k].astype(str) for k in keys])]
        dof = sum(len(g) - 1 for g in groups if len(g) > 1)
        pooled = (math.sqrt(sum(((g - g.mean()) ** 2).sum() for g in groups if len(g) > 1)
                            / dof) if dof else math.nan)
        rows.append({"score": score, "runs": len(half),
                     "evaluation half-width (median)": float(half.median()),
                     "seed std (pooled)": pooled})
    return pd.DataFrame(rows, columns=["score", "runs", "evaluation half-width (median)",
                                       "seed std (pooled)"])

