"""``load_results``: the two stores joined into a pandas DataFrame, one row per (model,
evaluation seed).

Which evaluations: the evaluation set of the last sweep (``sweep.json``: each metric with its
full protocol, and the evaluation seeds, as widened by ``run_benchmark.py evaluate``) or, with
no manifest, every stored evaluation (for each metric and seed the newest). Columns (documented
in docs/architecture.md and docs/runner.md):

* identity: ``run_id`` (the trained model's id), ``status`` (finished / failed / incomplete),
  ``error`` (one line, with the file and the reason for a corrupt file), ``label``
  (``beta_vae(beta=4)``; an external encoder's name with its source), ``source``
  (``trained``, ``encoder FILE`` or ``represent MODULE:FUNCTION``), ``preset``, ``version``,
  ``eval_seed``;
* training config: ``model``, ``dataset``, ``seed``, ``steps``, ``batch_size``, ``lr``,
  ``latent_dim``, ``architecture``, ``device``, ``precision``, ... (every TrainConfig field), and
  one ``hparams.<name>`` column per hyperparameter (NaN where a model does not have it);
* headline numbers: ``reconstruction`` (mean Bernoulli NLL, nats per image), ``kl`` (total KL
  to the prior, nats), ``active_units`` (latents with mean KL above 0.01 nats), from the
  ``unsupervised`` metric at this evaluation seed when it ran, else from the model's artifact
  sample (``summary_source`` says which);
* every metric score as ``<metric>.<score>`` (e.g. ``mig.discrete_mig``,
  ``dci.disentanglement``), exactly the names the metric returns; ``<metric>.reason`` says why a
  metric's scores are NaN (undefined), and ``<metric>.dlib_<score>`` columns give
  disentanglement_lib's number where it reports one for such a case (``factor_vae``: 0 with no
  active dimension; see :data:`DLIB_DEGENERATE`);
* ``udr.model_score`` (and ``udr.reason`` when undefined): the model's UDR in its configuration
  group (``sweep/udr.py``), at the evaluation seed it was computed at, when ``sweep.json``'s
  ``udr`` entry names one; it is not part of the evaluation set, so it never makes a row
  incomplete;
* with ``--eval-every``: ``factor_vae.eval_accuracy_drop_over_training`` and
  ``mig.discrete_mig_drop_over_training`` (best checkpoint minus last, from the model's
  eval_log.csv);
* ``<metric>.<score>@lo`` / ``@hi``: the 95 % interval of a score from this evaluation's own
  sample, where one was computed (MIG: a bootstrap of the evaluation rows);
* timings: ``train_seconds`` (the model's), ``metrics_seconds`` (this seed's evaluations),
  ``seconds`` (their sum);
* ``nan_columns``: the value columns computed for this row whose value is NaN (undefined),
  space-separated. A NaN in a column it does not name was not computed for this row (e.g.
  ``udr.model_score`` at the evaluation seeds UDR was not computed at), which
  :func:`model_means` and the summary tables leave out rather than count as undefined.

A row is ``finished`` when the model is trained and every metric of the set is stored for its
seed; a missing one makes it ``incomplete`` (not computed yet) or ``failed`` (its evaluation
failed, or its file is corrupt: ``error`` names the file and the reason).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .spec import EvalSpec, model_label
from .store import EVAL_LOG, RunStatus, RunStore

IDENTITY_COLUMNS = ["run_id", "status", "error", "label", "source", "model", "dataset", "seed",
                    "eval_seed"]
SUMMARY_COLUMNS = ["reconstruction", "reconstruction_posterior_mean", "kl", "active_units"]
#: Names the value columns of a row that were computed and are NaN (see the module docstring).
NAN_COLUMNS = "nan_columns"
REPAIR = "re-run the sweep (or `run_benchmark.py evaluate DIR`) to rewrite it"


def load_results(root: Path | str, run_ids: list[str] | None = None,
                 evaluation: dict[str, Any] | None = None) -> pd.DataFrame:
    """One row per (model, evaluation seed) in the store at ``root`` (or just ``run_ids``), see
    the module docstring. ``evaluation`` (``{"protocol": {metric: protocol}, "eval_seeds":
    [...]}``) overrides the manifest's evaluation set.

    Rows come in the last sweep's order (``sweep.json``), then any other models by id.
    """
    store = RunStore(root)
    store.check_layout()
    manifest = store.read_sweep() or {}
    if run_ids is None:
        present = store.model_ids()
        ids = [r for r in manifest.get("run_ids", []) if r in set(present)]
        ids += [r for r in present if r not in set(ids)]
    else:
        ids = list(run_ids)
    evaluation = evaluation if evaluation is not None else manifest.get("evaluation")
    if evaluation:
        from ..plugins import require_plugins

        require_plugins(evaluation.get("plugins"), f"the evaluations in {root}")
    udr = (manifest.get("udr") or {}).get("evaluations") or {}
    rows = [row for model_id in ids
            for row in _rows(store, model_id, evaluation, udr.get(model_id))]
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


def evaluation_set(specs: list[Any]) -> dict[str, Any]:
    """The evaluation set (manifest form) of a list of RunSpecs."""
    protocol: dict[str, dict[str, Any]] = {}
    seeds: list[int] = []
    for spec in specs:
        for name in spec.metrics:
            protocol.setdefault(name, spec.protocol[name])
        seeds += [s for s in spec.eval_seeds if s not in seeds]
    plugins = specs[0].plugins if specs else {}
    return {"protocol": protocol, "eval_seeds": seeds, **({"plugins": plugins} if plugins else {})}


def model_means(results: pd.DataFrame) -> pd.DataFrame:
    """One row per model: its finished rows' values averaged over evaluation seeds (``n_eval``
    says how many); models without a finished row keep their first row. What the claims and
    the figures use, so that evaluation seeds never count as training seeds. A value undefined
    (NaN) at any evaluation seed makes the model's mean NaN (:func:`seed_values`)."""
    if results.empty or "run_id" not in results:
        return results
    numeric = [c for c in results.columns if c in SUMMARY_COLUMNS or _is_score(c)]
    rows = []
    for _, group in results.groupby("run_id", sort=False):
        done = group[group["status"] == "finished"]
        row = (done if len(done) else group).iloc[0].copy()
        if len(done):
            for column in numeric:
                numbers = pd.to_numeric(done[column], errors="coerce")
                if numbers.notna().any() or done[column].isna().all():  # not a text column
                    row[column] = seed_mean(seed_values(done, column))
            if NAN_COLUMNS in done:
                row[NAN_COLUMNS] = " ".join(sorted(set().union(
                    *(_nan_names(v) for v in done[NAN_COLUMNS]))))
        row["n_eval"] = len(done)
        rows.append(row)
    return pd.DataFrame(rows).reset_index(drop=True)


def seed_values(rows: pd.DataFrame, column: str) -> np.ndarray:
    """One model's values of ``column`` over its evaluation-seed ``rows``, NaN where computed
    and undefined; rows that did not compute the column (a NaN that their ``nan_columns`` does
    not name, e.g. UDR at another evaluation seed) are left out. A frame without
    ``nan_columns`` counts every NaN as undefined."""
    numbers = pd.to_numeric(rows[column], errors="coerce").to_numpy(float)
    if NAN_COLUMNS not in rows:
        return numbers
    named = np.array([column in _nan_names(v) for v in rows[NAN_COLUMNS]], dtype=bool)
    return numbers[~np.isnan(numbers) | named]


def seed_mean(values: np.ndarray) -> float:
    """The mean of :func:`seed_values`: NaN when any is NaN (an undefined score never vanishes
    from the average) or when there is none."""
    return float(np.mean(values)) if len(values) else math.nan


def _nan_names(value: Any) -> set[str]:
    return set(value.split()) if isinstance(value, str) else set()


def metric_columns(frame: pd.DataFrame) -> list[str]:
    """The ``<metric>.<score>`` columns of a results frame."""
    return [c for c in frame.columns if _is_score(c)]


def _is_score(column: str) -> bool:
    return "." in column and not column.startswith("hparams.")


def hparam_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith("hparams.")]


def _rows(store: RunStore, model_id: str, evaluation: dict[str, Any] | None,
          udr_eval: str | None = None) -> list[dict]:
    problem = store.config_problem(model_id)
    config = store.read_config(model_id) if problem is None else None
    if config is None:
        problem = problem or f"{store.model_dir(model_id) / 'config.json'}: missing"
        return [{"run_id": model_id, "model": model_id.rpartition("-")[0] or model_id,
                 "status": RunStatus.FAILED.value,
                 "error": f"{problem}; re-run the sweep to rewrite it",
                 "source": "trained"}]
    base = _base_row(model_id, config)
    status = store.status(model_id)
    if status is RunStatus.FAILED:
        error = store.read_error(model_id) or {}
        return [{**base, "status": "failed",
                 "error": f"{error.get('error_type', 'Error')}: {error.get('message', '')}"}]
    if status is not RunStatus.FINISHED:
        problem = store.trained_problem(model_id)
        reason = f"{problem}; {REPAIR}" if problem else "not trained yet"
        return [{**base, "status": status.value, "error": reason}]
    trained = store.read_trained(model_id) or {}
    base["train_seconds"] = trained.get("train_seconds")
    base.update(along_training_columns(store.model_dir(model_id) / EVAL_LOG))
    if evaluation is not None:
        return _expected_rows(store, model_id, base, trained, evaluation, udr_eval)
    return _stored_rows(store, model_id, base, trained)


def _base_row(model_id: str, config: dict[str, Any]) -> dict[str, Any]:
    source = config.get("source") or {"kind": "trained"}
    row: dict[str, Any] = {"run_id": model_id, "preset": config.get("preset"),
                           "version": config.get("version"), "source": source_text(source)}
    if source.get("kind", "trained") == "trained":
        train = dict(config.get("train", {}))
        hparams = train.pop("hparams", {}) or {}
        row.update({k: v for k, v in train.items() if not isinstance(v, (dict, list))})
        row.update({f"hparams.{k}": v for k, v in hparams.items()})
    else:
        row.update(model=config.get("model") or config.get("name", "external"),
                   dataset=config.get("dataset"), seed=math.nan,
                   label=f"{config.get('name', 'external')} [{source_text(source)}]")
        row.update({f"hparams.{k}": v for k, v in (config.get("hparams") or {}).items()})
    return row


def source_text(source: dict[str, Any]) -> str:
    """``trained``, ``encoder FILE`` or ``represent MODULE:FUNCTION``."""
    kind = source.get("kind", "trained")
    if kind == "encoder":
        return f"encoder {Path(str(source.get('file', '?'))).name}"
    if kind == "represent":
        return f"represent {source.get('target', '?')}"
    return str(kind)


def _expected_rows(store: RunStore, model_id: str, base: dict[str, Any],
                   trained: dict[str, Any], evaluation: dict[str, Any],
                   udr_eval: str | None = None) -> list[dict]:
    protocol = evaluation.get("protocol") or {}
    udr = _udr_record(store, model_id, udr_eval) if udr_eval else None
    rows = []
    for seed in evaluation.get("eval_seeds") or [0]:
        records, missing, failed = {}, [], []
        for metric, params in protocol.items():
            wanted = EvalSpec.of(metric, params, int(seed), evaluation.get("plugins") or {})
            record = store.read_eval(model_id, wanted)
            if record is not None:
                records[metric] = record
                continue
            missing.append(metric)
            problem = store.eval_problem(model_id, wanted)
            if problem:
                failed.append(f"{metric}: {problem}")
        if udr is not None and udr.get("eval_seed") == int(seed):
            records["udr"] = udr  # computed per configuration group (sweep/udr.py)
        row = _scored_row(base, trained, int(seed), records)
        if failed:
            row.update(status="failed", error="; ".join(failed) + f" ({REPAIR})")
        elif missing:
            row.update(status="incomplete", error=f"not evaluated yet: {', '.join(missing)} "
                                                  f"(run `run_benchmark.py evaluate DIR`)")
        rows.append(row)
    return rows


def _udr_record(store: RunStore, model_id: str, eval_id: str) -> dict[str, Any] | None:
    """The model's UDR evaluation named by the manifest (its configuration group's), if valid;
    UDR is not part of the evaluation set, so a missing one never makes a row incomplete."""
    from .store import read_json_checked

    record, _ = read_json_checked(store.eval_path(model_id, eval_id))
    if (record is None or record.get("model_id") != model_id or record.get("eval_id") != eval_id
            or not isinstance(record.get("result"), dict)):
        return None
    return record


def _stored_rows(store: RunStore, model_id: str, base: dict[str, Any],
                 trained: dict[str, Any]) -> list[dict]:
    records, problems = store.list_evals(model_id)
    by_seed: dict[int, dict[str, dict]] = {}
    for record in sorted(records, key=lambda r: str(r.get("created", ""))):
        by_seed.setdefault(int(record["eval_seed"]), {})[str(record["metric"])] = record
    rows = [_scored_row(base, trained, seed, found) for seed, found in sorted(by_seed.items())]
    if not rows and not problems:
        rows = [_scored_row(base, trained, math.nan, {})]
    if problems:
        rows.append({**base, "status": "failed", "error": "; ".join(problems) + f" ({REPAIR})"})
    return rows


def _scored_row(base: dict[str, Any], trained: dict[str, Any], seed: float,
                records: dict[str, dict]) -> dict[str, Any]:
    row = {**base, "eval_seed": seed, "status": "finished", "error": None}
    results = {metric: record["result"] for metric, record in records.items()}
    row.update(trained.get("summary", {}))
    row["summary_source"] = "artifacts" if trained.get("summary") else None
    unsupervised = results.get("unsupervised", {}).get("scores", {})
    # reconstruction stays the model's (sampled-z, as disentanglement_lib reports it)
    for ours, theirs in (("kl", "kl_total"), ("active_units", "active_units")):
        if isinstance(unsupervised.get(theirs), (int, float)):
            row[ours] = unsupervised[theirs]
            row["summary_source"] = "unsupervised"
    row.update(flatten_scores(results))
    row.update(undefined_scores(results))
    row.update(run_intervals(results))
    metrics_seconds = sum(float(r.get("seconds") or 0.0) for r in results.values())
    row["metrics_seconds"] = metrics_seconds
    row["seconds"] = float(base.get("train_seconds") or 0.0) + metrics_seconds
    row[NAN_COLUMNS] = " ".join(sorted(
        k for k, v in row.items() if (k in SUMMARY_COLUMNS or _is_score(k))
        and isinstance(v, float) and math.isnan(v)))
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
    ``factor_vae(discriminator_depth=6, discriminator_width=1000, gamma=40)`` alone. External
    entries keep their name and source."""
    hp_cols = hparam_columns(frame)
    labels = []
    given = frame["label"] if "label" in frame else pd.Series(None, index=frame.index)
    for index, row in frame.iterrows():
        if isinstance(given[index], str):
            labels.append(given[index])
            continue
        same_model = frame[frame["model"] == row["model"]]
        varied = tuple(c.removeprefix("hparams.") for c in hp_cols
                       if same_model[c].nunique(dropna=True) > 1)
        hparams = {c.removeprefix("hparams."): row[c] for c in hp_cols if _present(row[c])}
        labels.append(model_label(row["model"], hparams, varied or None))
    frame["label"] = labels


def _present(value: Any) -> bool:
    return not (isinstance(value, float) and math.isnan(value))
