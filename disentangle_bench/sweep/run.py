"""``run_one``: make sure one model is trained and scored; idempotent and resumable.

The two halves are independent. Training (skipped when ``trained.json`` is valid) writes, each
atomically, into ``models/<model_id>/``: config.json → checkpoints (by training, resumable) →
train_log.csv (and eval_log.csv with ``--eval-every``) → artifacts.npz → trained.json, last.
Evaluation then computes only the (metric, protocol, seed) combinations not yet stored, each
written as its own ``evals/<eval_id>.json``. A failure is recorded (error.json for training,
``<eval_id>.error.json`` for an evaluation) with its traceback and does not propagate (the
sweep goes on);
``KeyboardInterrupt`` and ``SystemExit`` do propagate.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomic import write_npz_atomic, write_text_atomic
from .spec import EvalSpec, RunSpec, dataset_file_sha256
from .store import (
    ARTIFACTS,
    CHECKPOINT_DIR,
    EVAL_LOG,
    TRAIN_LOG,
    RunStatus,
    RunStore,
    environment_summary,
)

#: Bootstrap resamples of the evaluation rows behind each run's own intervals (MIG only: the
#: metrics whose bootstrap is cheap; benchmarks/interval_cost.py measures the cost).
RUN_BOOTSTRAP = 200

#: Latents whose mean KL to the prior exceeds this many nats count as active units.
ACTIVE_UNIT_THRESHOLD = 0.01
#: Seed of the figures' arrays: they belong to the trained model, not to an evaluation seed.
ARTIFACT_SEED = 0


@dataclass(frozen=True)
class RunOutcome:
    """What ``run_one`` did: ``action`` is ``cached`` (nothing to do), ``trained`` (from
    scratch), ``resumed`` (from a checkpoint), ``evaluated`` (the model existed; only missing
    evaluations were computed), ``skipped`` (not trained and training not allowed) or
    ``failed``."""

    run_id: str
    status: RunStatus
    action: str
    seconds: float
    error: str | None = None
    evaluated: int = 0


def run_one(spec: RunSpec, store_root: Path | str, *, progress: bool = True,
            train: bool = True) -> RunOutcome:
    """Train ``spec``'s model unless it is stored, then compute the evaluations it asks for that
    are not stored. ``train=False`` only scores (an untrained model is ``skipped``).

    Writes only inside ``store_root/models/<model_id>/``. Safe to call concurrently for the same
    model from several processes (a per-model lock serialises them) and after a crash at any
    point (training resumes from the last checkpoint in ``checkpoint/``).
    """
    store = RunStore(store_root)
    start = time.perf_counter()
    model_id = spec.model_id
    with store.lock(model_id):
        if store.is_finished(spec):
            return RunOutcome(model_id, RunStatus.FINISHED, "cached", 0.0)
        model_dir = store.prepare(spec)  # also repairs a corrupt config.json
        trained = None
        action = "evaluated"
        if not store.is_trained(spec):
            if not train:
                return RunOutcome(model_id, RunStatus.INCOMPLETE, "skipped", 0.0,
                                  error="not trained")
            store.clear_outcome(model_id)
            action = "resumed" if _has_checkpoint(model_dir / CHECKPOINT_DIR) else "trained"
            try:
                trained = _train_and_store(spec, store, model_dir, progress=progress)
            except Exception as error:  # noqa: BLE001 - every failure is recorded, sweep goes on
                store.write_error(model_id, error, phase="training",
                                  traceback_text=traceback.format_exc())
                return RunOutcome(model_id, RunStatus.FAILED, "failed",
                                  time.perf_counter() - start, error=_one_line(error))
        missing = store.missing_evaluations(spec)
        errors: list[str] = []
        if missing:
            try:
                trained = trained or load_trained(model_dir)
                errors = evaluate_missing(store, model_id, spec.dataset,
                                          spec.train.get("dataset_kwargs", {}),
                                          represent_functions(trained), missing,
                                          dataset_sha256=spec.dataset_sha256)
            except Exception as error:  # noqa: BLE001 - e.g. an unloadable model file
                for evaluation in missing:
                    store.write_eval_error(model_id, evaluation, error)
                errors = [_one_line(error)]
    seconds = time.perf_counter() - start
    if errors:
        return RunOutcome(model_id, RunStatus.FAILED, "failed", seconds, error=errors[0],
                          evaluated=len(missing) - len(errors))
    return RunOutcome(model_id, RunStatus.FINISHED, action, seconds, evaluated=len(missing))


def _train_and_store(spec: RunSpec, store: RunStore, model_dir: Path, *, progress: bool) -> Any:
    """Train (or resume), then write train_log.csv, artifacts.npz and, last, trained.json."""
    from ..data import get_dataset
    from ..training import StepCallback, TrainConfig, train
    from .artifacts import compute_artifacts, summarize_artifacts

    start = time.perf_counter()
    dataset = get_dataset(spec.dataset, **spec.train.get("dataset_kwargs", {}))
    check_dataset_file(dataset, spec.dataset_sha256, spec.model_id)  # e.g. another machine's
    callback = (StepCallback(spec.eval_every, _AlongTraining(spec, model_dir))
                if spec.eval_every else None)
    trained = train(TrainConfig.from_dict(spec.train), out_dir=model_dir / CHECKPOINT_DIR,
                    progress=progress, callback=callback, dataset=dataset)
    train_seconds = time.perf_counter() - start
    write_text_atomic(model_dir / TRAIN_LOG, trained.log_csv())
    arrays = compute_artifacts(trained, dataset, seed=ARTIFACT_SEED, settings=spec.artifacts)
    write_npz_atomic(model_dir / ARTIFACTS, **arrays)
    store.write_trained(spec.model_id, spec.config_hash, {
        "dataset": dataset_provenance(dataset),
        "train_seconds": train_seconds,
        "artifact_seconds": time.perf_counter() - start - train_seconds,
        "final_training": trained.log[-1] if trained.log else {},
        "summary": summarize_artifacts(arrays, active_threshold=ACTIVE_UNIT_THRESHOLD),
        "artifacts": spec.artifacts,
        "environment": environment_summary(),
    })
    return trained


#: The cheap subset scored along training (``--eval-every``): sizes of the metrics' smoke
#: protocol for MIG and the FactorVAE score, and KL / reconstruction on ALONG_IMAGES images.
ALONG_METRICS = {"mig": {"num_train": 1000},
                 "factor_vae": {"batch_size": 16, "num_train": 300, "num_eval": 150,
                                "num_variance_estimate": 1000}}
ALONG_IMAGES = 500


def training_scores(dataset: Any, trained: Any, eval_seed: int) -> dict[str, float]:
    """The along-training scores of one checkpoint: ``mig.discrete_mig``,
    ``factor_vae.eval_accuracy``, ``kl`` (total, nats), ``reconstruction`` (the sampled-z term)
    and ``reconstruction_posterior_mean`` (nats/image) on the cheap subset
    (:data:`ALONG_METRICS`, :data:`ALONG_IMAGES`), all at ``eval_seed`` so every checkpoint sees
    the same samples."""
    import numpy as np

    from ..metrics import evaluate, kl_to_standard_normal

    results = evaluate(dataset, trained.encode, list(ALONG_METRICS), seed=eval_seed,
                       overrides=ALONG_METRICS, n_jobs=1)
    row = {"mig.discrete_mig": results["mig"]["scores"]["discrete_mig"],
           "factor_vae.eval_accuracy": results["factor_vae"]["scores"]["eval_accuracy"]}
    images = dataset.sample_observations(ALONG_IMAGES, np.random.default_rng([eval_seed, 7]))
    # the objective's sampled-z term, as in a run's headline; the mean-decoded one beside it
    row["reconstruction"] = float(np.mean(trained.sampled_reconstruction_nll(
        images, seed=int(np.random.SeedSequence([eval_seed, 7, 1]).generate_state(1)[0]))))
    row["reconstruction_posterior_mean"] = float(np.mean(trained.reconstruction_nll(images)))
    if getattr(trained, "has_posterior", True):
        row["kl"] = float(np.sum(kl_to_standard_normal(*trained.posterior(images))))
    return {k: float(v) if v is not None else float("nan") for k, v in row.items()}


class _AlongTraining:
    """The ``--eval-every`` callback: scores the checkpoint and rewrites eval_log.csv (one row
    per step, atomically; rows of a previous, interrupted attempt are kept)."""

    def __init__(self, spec: RunSpec, model_dir: Path):
        self.spec, self.path = spec, model_dir / EVAL_LOG
        self.dataset = None

    def __call__(self, step: int, trained: Any) -> None:
        import pandas as pd

        from ..data import get_dataset

        if self.dataset is None:
            self.dataset = get_dataset(self.spec.dataset, **self.spec.train.get("dataset_kwargs",
                                                                                 {}))
        started = time.perf_counter()
        row = {"step": step, **training_scores(self.dataset, trained, self.spec.eval_seed)}
        row["seconds"] = time.perf_counter() - started
        try:
            rows = pd.read_csv(self.path)
            rows = rows[rows["step"] != step]
        except (OSError, ValueError, pd.errors.EmptyDataError):
            rows = pd.DataFrame()
        table = pd.concat([rows, pd.DataFrame([row])]).sort_values("step")
        write_text_atomic(self.path, table.to_csv(index=False))


def load_trained(model_dir: Path | str) -> Any:
    """The finished model stored in ``model_dir`` (``checkpoint/model.pt``, loaded with
    ``weights_only=True``), on CUDA when present, else the CPU."""
    from ..training import TrainedModel, resolve_device

    return TrainedModel.load(Path(model_dir) / CHECKPOINT_DIR, device=resolve_device("auto"))


def represent_functions(trained: Any) -> dict[str, Callable | None]:
    """``represent`` / ``posterior`` / ``reconstruction_nll`` of a trained model, as the metrics
    take them (no posterior for a deterministic model such as the AE)."""
    has_posterior = getattr(trained, "has_posterior", True)
    return {"represent": trained.encode,
            "posterior": trained.posterior if has_posterior else None,
            "reconstruction_nll": getattr(trained, "reconstruction_nll", None)}


def evaluate_missing(store: RunStore, model_id: str, dataset_name: str,
                     dataset_kwargs: dict[str, Any], functions: dict[str, Callable | None],
                     evaluations: Sequence[EvalSpec], *, n_jobs: int | None = None,
                     dataset_sha256: str = "", dataset: Any = None) -> list[str]:
    """Compute and store ``evaluations`` of one model, one ``metrics.evaluate`` call per seed
    (so metrics at one seed share their samples). A call that raises is retried metric by
    metric so that one failing metric is recorded alone; returns the failures' one-liners.
    ``dataset_sha256``: the data file the model belongs to (``DatasetError`` if the dataset's
    file is now another); ``dataset``: the dataset already constructed, if it is."""
    import torch

    from ..data import get_dataset

    n_jobs = n_jobs or torch.get_num_threads()  # this run's share of the cores
    if dataset is None:
        dataset = get_dataset(dataset_name, **dataset_kwargs)
    check_dataset_file(dataset, dataset_sha256, model_id)
    by_seed: dict[int, list[EvalSpec]] = {}
    for evaluation in evaluations:
        by_seed.setdefault(evaluation.seed, []).append(evaluation)
    errors = []
    for group in by_seed.values():
        try:
            _score_and_store(store, model_id, dataset, functions, group, n_jobs)
        except Exception:  # noqa: BLE001 - isolate the failing metric
            for evaluation in group:
                try:
                    _score_and_store(store, model_id, dataset, functions, [evaluation], n_jobs)
                except Exception as error:  # noqa: BLE001 - recorded, the others go on
                    store.write_eval_error(model_id, evaluation, error)
                    errors.append(f"{evaluation.metric} (seed {evaluation.seed}): "
                                  f"{_one_line(error)}")
    return errors


def _score_and_store(store: RunStore, model_id: str, dataset: Any,
                     functions: dict[str, Callable | None], group: list[EvalSpec],
                     n_jobs: int | None) -> None:
    from ..metrics import evaluate

    results = evaluate(dataset, functions["represent"], [e.metric for e in group],
                       seed=group[0].seed, overrides={e.metric: e.protocol for e in group},
                       posterior=functions.get("posterior"),
                       reconstruction_nll=functions.get("reconstruction_nll"), n_jobs=n_jobs,
                       bootstrap=RUN_BOOTSTRAP)
    environment = {**environment_summary(), **_stringify(results.get("_environment", {}))}
    for evaluation in group:
        store.write_eval(model_id, evaluation, results[evaluation.metric], environment)


def score_model(spec: RunSpec, trained: Any, eval_seed: int, *,
                n_jobs: int | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Score a trained model as the store does: ``(metrics.evaluate results, artifacts)`` for
    ``spec``'s dataset, metrics and resolved protocols at ``eval_seed`` (the artifacts at
    ``ARTIFACT_SEED``, as stored with the model); the results' entry ``"_dataset"`` is the
    dataset's ``provenance()`` (file, SHA-256, release). The regression check rescores through
    it."""
    from ..data import get_dataset
    from ..metrics import evaluate
    from ..plugins import require_plugins
    from .artifacts import compute_artifacts

    require_plugins(spec.plugins, f"model {spec.run_id}")  # e.g. the regression check

    dataset = get_dataset(spec.dataset, **spec.train.get("dataset_kwargs", {}))
    check_dataset_file(dataset, spec.dataset_sha256, spec.run_id)
    functions = represent_functions(trained)
    scores = evaluate(dataset, functions["represent"], list(spec.metrics), seed=eval_seed,
                      overrides=spec.protocol, posterior=functions["posterior"],
                      reconstruction_nll=functions["reconstruction_nll"], n_jobs=n_jobs,
                      bootstrap=RUN_BOOTSTRAP)
    arrays = compute_artifacts(trained, dataset, seed=ARTIFACT_SEED, settings=spec.artifacts)
    scores["_dataset"] = dataset_provenance(dataset)
    return scores, arrays


def check_dataset_file(dataset: Any, expected: str, model_id: str) -> None:
    """``DatasetError`` (one line) unless ``dataset`` reads the data file ``expected`` (a
    model's ``dataset_sha256``; ``""``: nothing to check). Uses the digest cache."""
    if not expected:
        return
    actual = dataset_file_sha256(dataset)
    if actual != expected:
        from ..data import DatasetError

        found = f"SHA-256 {actual}" if actual else "no file"
        raise DatasetError(
            f"model {model_id} belongs to the {dataset.name!r} file with SHA-256 {expected}, "
            f"but the dataset found now has {found}: put that file back (or point "
            "DISENTANGLE_BENCH_DATA at it), or re-run the sweep to train a model on this file")


def dataset_provenance(dataset: Any) -> dict[str, Any]:
    """Name, factor sizes and ``provenance()`` (file, SHA-256, release) of a dataset."""
    return {"name": dataset.name, "factor_sizes": list(dataset.factor_sizes),
            **dataset.provenance()}


def headline_numbers(scores: dict[str, Any], arrays: dict[str, Any]) -> dict[str, Any]:
    """``reconstruction`` (the objective's sampled-z term, as disentanglement_lib reports it)
    and ``reconstruction_posterior_mean`` (nats/image), both on the artifacts' ``eval_images``
    sample; ``kl`` (nats) and ``active_units``: from the ``unsupervised`` metric when it ran
    (its protocol's sample), else from the artifacts; ``summary_source`` says which."""
    from .artifacts import summarize_artifacts

    summary = summarize_artifacts(arrays, active_threshold=ACTIVE_UNIT_THRESHOLD)
    summary["summary_source"] = "artifacts"
    unsupervised = scores.get("unsupervised", {}).get("scores", {})
    for ours, theirs in (("kl", "kl_total"), ("active_units", "active_units")):
        if isinstance(unsupervised.get(theirs), (int, float)):
            summary[ours] = unsupervised[theirs]
            summary["summary_source"] = "unsupervised"
    return summary


def _has_checkpoint(checkpoint_dir: Path) -> bool:
    return checkpoint_dir.is_dir() and any(checkpoint_dir.iterdir())


def _stringify(mapping: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in mapping.items()} if isinstance(mapping, dict) else {}


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")


def execute_task(spec_record: dict[str, Any], store_root: str, progress: bool = False,
                 train: bool = True) -> dict:
    """Picklable task entry point for executors: a RunSpec dict in, a RunOutcome dict out.
    In a fresh worker process it first loads the plugins the spec names; after a stop request
    (Ctrl-C) it starts nothing and raises ``KeyboardInterrupt``."""
    from ..interrupt import check_not_stopped
    from ..plugins import ensure_plugins

    check_not_stopped()
    ensure_plugins(spec_record.get("plugins"))
    outcome = run_one(RunSpec.from_dict(spec_record), store_root, progress=progress, train=train)
    return {"run_id": outcome.run_id, "status": outcome.status.value, "action": outcome.action,
            "seconds": outcome.seconds, "error": outcome.error, "evaluated": outcome.evaluated}
