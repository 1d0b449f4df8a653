"""``load_results``: the store as a pandas DataFrame, one row per run.

Columns (documented in docs/runner.md):

* identity: ``run_id``, ``status`` (finished / failed / incomplete), ``error`` (one line, failed
  runs), ``label`` (``beta_vae(beta=4)``), ``preset``, ``version``, ``eval_seed``;
* training config: ``model``, ``dataset``, ``seed``, ``steps``, ``batch_size``, ``lr``,
  ``latent_dim``, ``architecture``, ``precision``, ... (every TrainConfig field), and one
  ``hparams.<name>`` column per hyperparameter (NaN where a model does not have it);
* headline numbers: ``reconstruction`` (mean Bernoulli NLL, nats per image), ``kl`` (total KL
  to the prior, nats), ``active_units`` (latents with mean KL above 0.01 nats), taken from the
  ``unsupervised`` metric when it ran, else from the run's artifact sample
  (``summary_source`` says which);
* every metric score as ``<metric>.<score>`` (e.g. ``mig.discrete_mig``,
  ``dci.disentanglement``), exactly the names the metric returns; ``<metric>.reason`` says why a
  metric's scores are NaN (undefined), and ``<metric>.dlib_<score>`` columns give
  disentanglement_lib's number where it reports one for such a case (``factor_vae``: 0 with no
  active dimension; see :data:`DLIB_DEGENERATE`);
* with ``--eval-every``: ``factor_vae.eval_accuracy_drop_over_training`` and
  ``mig.discrete_mig_drop_over_training`` (best checkpoint minus last, from eval_log.csv);
* ``<metric>.<score>@lo`` / ``@hi``: the run's 95 % interval of a score from its own
  evaluation sample, where one was computed (MIG: a bootstrap of the evaluation rows);
* timings: ``train_seconds``, ``metrics_seconds``, ``seconds`` (whole run).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from .spec import model_label
from .store import EVAL_LOG, RunStatus, RunStore

IDENTITY_COLUMNS = ["run_id", "status", "error", "label", "model", "dataset", "seed"]
SUMMARY_COLUMNS = ["reconstruction", "reconstruction_posterior_mean", "kl", "active_units"]


def load_results(root: Path | str, run_ids: list[str] | None = None) -> pd.DataFrame:
    """One row per run in the store at ``root`` (or just ``run_ids``), see module docstring.

    Rows come in the last sweep's grid order (``sweep.json``), then any other runs by id.
    """
    store = RunStore(root)
    if run_ids is None:
        manifest = (store.read_sweep() or {}).get("run_ids", [])
        present = store.run_ids()
        ids = [r for r in manifest if r in set(present)]
        ids += [r for r in present if r not in set(ids)]
    else:
        ids = list(run_ids)
    rows = [_row(store, run_id) for run_id in ids]
    rows = [row for row in rows if row is not None]
    if not rows:
        return pd.DataFrame(columns=IDENTITY_COLUMNS)
    frame = pd.DataFrame(rows)
    _add_labels(frame)
    front = [c for c in IDENTITY_COLUMNS if c in frame.columns]
    hparams = sorted(c for c in frame.columns if c.startswith("hparams."))
    summary = [c for c in SUMMARY_COLUMNS if c in frame.columns]
    metrics = sorted(c for c in frame.columns if "." in c and not c.startswith("hparams."))
    rest = [c for c in frame.columns if c not in {*front, *hparams, *summary, *metrics}]
    return frame[front + hparams + rest + summary + metrics].reset_index(drop=True)


def metric_columns(frame: pd.DataFrame) -> list[str]:
    """The ``<metric>.<score>`` columns of a results frame."""
    return [c for c in frame.columns if "." in c and not c.startswith("hparams.")]


def hparam_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith("hparams.")]


def _row(store: RunStore, run_id: str) -> dict[str, Any] | None:
    config = store.read_config(run_id)
    if config is None:
        return None
    train = dict(config.get("train", {}))
    hparams = train.pop("hparams", {}) or {}
    row: dict[str, Any] = {"run_id": run_id, "preset": config.get("preset"),
                           "version": config.get("version"), "eval_seed": config.get("eval_seed")}
    row.update({k: v for k, v in train.items() if not isinstance(v, (dict, list))})
    row.update({f"hparams.{k}": v for k, v in hparams.items()})
    status = store.status(run_id)
    row["status"] = status.value
    row["error"] = None
    if status is RunStatus.FINISHED:
        record = store.read_metrics(run_id) or {}
        row.update(record.get("summary", {}))
        row.update(flatten_scores(record.get("metrics", {})))
        row.update(undefined_scores(record.get("metrics", {})))
        row.update(run_intervals(record.get("metrics", {})))
        row.update(along_training_columns(store.run_dir(run_id) / EVAL_LOG))
        for key in ("train_seconds", "metrics_seconds", "seconds"):
            row[key] = record.get(key)
    elif status is RunStatus.FAILED:
        error = store.read_error(run_id) or {}
        row["error"] = f"{error.get('error_type', 'Error')}: {error.get('message', '')}"
    return row


def flatten_scores(metrics: dict[str, Any]) -> dict[str, float]:
    """``{"mig": {"scores": {"discrete_mig": 0.3}}}`` → ``{"mig.discrete_mig": 0.3}``; non-numeric
    scores are skipped, ``None`` becomes NaN."""
    flat: dict[str, float] = {}
    for name, result in metrics.items():
        if name.startswith("_") or not isinstance(result, dict):
            continue
        scores = result.get("scores", result)
        for key, value in scores.items():
            if isinstance(value, bool) or not isinstance(value, (int, float, type(None))):
                continue
            flat[f"{name}.{key}"] = math.nan if value is None else float(value)
    return flat


#: disentanglement_lib's value where a score is undefined here: ``(metric, score, reason
#: fragment) -> value``. Only cases where dlib returns a number are listed: its FactorVAE score
#: returns 0 accuracies when no dimension is active. (Its β-VAE score on constant features fits
#: the classifier anyway and reports the majority-class share, which the stored row cannot
#: reproduce, so no dlib column is made for it.)
DLIB_DEGENERATE = {("factor_vae", "train_accuracy", "no active dimension"): 0.0,
                   ("factor_vae", "eval_accuracy", "no active dimension"): 0.0}


def undefined_scores(metrics: dict[str, Any]) -> dict[str, Any]:
    """``<metric>.reason`` (why a score is NaN, one line) for each metric that gave one, and the
    disentanglement_lib-compatible columns ``<metric>.dlib_<score>``: the score itself, or
    dlib's number for its degenerate cases (:data:`DLIB_DEGENERATE`)."""
    out: dict[str, Any] = {}
    for name, result in metrics.items():
        if name.startswith("_") or not isinstance(result, dict):
            continue
        scores = result.get("scores", result)
        reason = scores.get("reason")
        if isinstance(reason, str) and reason:
            out[f"{name}.reason"] = reason
        for (metric, score, fragment), value in DLIB_DEGENERATE.items():
            if metric != name or score not in scores:
                continue
            ours = scores[score]
            undefined = ours is None or (isinstance(ours, float) and math.isnan(ours))
            degenerate = undefined and fragment in str(reason or "")
            out[f"{name}.dlib_{score}"] = value if degenerate else (
                math.nan if undefined else float(ours))
    return out


#: Marks the per-run interval columns ``<metric>.<score>@lo`` / ``@hi`` (not scores).
RUN_INTERVAL_MARK = "@"


def run_intervals(metrics: dict[str, Any]) -> dict[str, float]:
    """``<metric>.<score>@lo`` / ``@hi``: the run's own interval of a score from its
    evaluation sample (``metrics.evaluate(..., bootstrap=B)``: a bootstrap of the evaluation
    rows), where the metric stored one."""
    out: dict[str, float] = {}
    for name, result in metrics.items():
        if name.startswith("_") or not isinstance(result, dict):
            continue
        for score, bounds in (result.get("interval") or {}).get("scores", {}).items():
            low, high = (math.nan if v is None else float(v) for v in bounds)
            out[f"{name}.{score}{RUN_INTERVAL_MARK}lo"] = low
            out[f"{name}.{score}{RUN_INTERVAL_MARK}hi"] = high
    return out


#: Scores of eval_log.csv (``--eval-every``) summarised per run; higher is better for each.
ALONG_TRAINING_SCORES = ("factor_vae.eval_accuracy", "mig.discrete_mig")


def along_training_columns(path: Path) -> dict[str, float]:
    """``<score>_drop_over_training`` for each of :data:`ALONG_TRAINING_SCORES` in a run's
    eval_log.csv: the best checkpoint's score minus the last one's (0 = never worse than at
    its best; large = training longer lost what it had). NaN with fewer than 2 checkpoints;
    nothing when the run has no eval_log.csv."""
    try:
        log = pd.read_csv(path).sort_values("step")
    except (OSError, ValueError, pd.errors.EmptyDataError):
        return {}
    out = {}
    for score in ALONG_TRAINING_SCORES:
        values = pd.to_numeric(log.get(score), errors="coerce") if score in log else None
        if values is None:
            continue
        finite = values.dropna()
        enough = len(finite) >= 2 and math.isfinite(values.iloc[-1])
        out[f"{score}_drop_over_training"] = (float(finite.max() - values.iloc[-1]) if enough
                                              else math.nan)
    return out


def _add_labels(frame: pd.DataFrame) -> None:
    """``label``: the model with its hyperparameters, one rule for every model: those that vary
    among the model's runs in this frame, or all of them when none varies (``ae``, ``vae``:
    none). So ``beta_vae(beta=2)``, ``beta_vae(beta=4)`` in a β sweep, and
    ``factor_vae(discriminator_depth=6, discriminator_width=1000, gamma=40)`` alone."""
    hp_cols = hparam_columns(frame)
    labels = []
    for _, row in frame.iterrows():
        same_model = frame[frame["model"] == row["model"]]
        varied = tuple(c.removeprefix("hparams.") for c in hp_cols
                       if same_model[c].nunique(dropna=True) > 1)
        hparams = {c.removeprefix("hparams."): row[c] for c in hp_cols if _present(row[c])}
        labels.append(model_label(row["model"], hparams, varied or None))
    frame["label"] = labels


def _present(value: Any) -> bool:
    return not (isinstance(value, float) and math.isnan(value))
