"""``run_one``: train one RunSpec, score it, store everything; idempotent and resumable.

Order of writes in the run directory (each atomic): config.json → checkpoints (by training,
resumable) → train_log.csv → artifacts.npz → metrics.json. metrics.json is last, so its valid
presence means every other file is complete. A run that raises is recorded in error.json with
its traceback and does not propagate (the sweep goes on); ``KeyboardInterrupt`` and
``SystemExit`` do propagate.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomic import write_npz_atomic, write_text_atomic
from .spec import RunSpec
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


@dataclass(frozen=True)
class RunOutcome:
    """What ``run_one`` did: ``action`` is ``cached`` (already finished), ``trained`` (from
    scratch), ``resumed`` (from a checkpoint) or ``failed``."""

    run_id: str
    status: RunStatus
    action: str
    seconds: float
    error: str | None = None


def run_one(spec: RunSpec, store_root: Path | str, *, progress: bool = True) -> RunOutcome:
    """Train, evaluate and store one run unless it is already finished (idempotent).

    Writes only inside ``store_root/runs/<run_id>/``. Safe to call concurrently for the same run
    from several processes (a per-run lock serialises them) and after a crash at any point
    (training resumes from the last checkpoint in ``checkpoint/``).
    """
    store = RunStore(store_root)
    start = time.perf_counter()
    with store.lock(spec.run_id):
        if store.is_finished(spec):
            return RunOutcome(spec.run_id, RunStatus.FINISHED, "cached", 0.0)
        run_dir = store.prepare(spec)
        store.clear_outcome(spec.run_id)
        resumed = _has_checkpoint(run_dir / CHECKPOINT_DIR)
        phase = "training"
        try:
            trained = _train(spec, run_dir, progress=progress)
            train_seconds = time.perf_counter() - start
            write_text_atomic(run_dir / TRAIN_LOG, trained.log_csv())
            phase = "evaluation"
            record = _evaluate(spec, trained, run_dir)
            record["train_seconds"] = train_seconds
            record["seconds"] = time.perf_counter() - start
            store.write_metrics(spec, record)
        except Exception as error:  # noqa: BLE001 - every failure is recorded, the sweep goes on
            store.write_error(spec.run_id, error, phase=phase,
                              traceback_text=traceback.format_exc())
            return RunOutcome(spec.run_id, RunStatus.FAILED, "failed",
                              time.perf_counter() - start, error=_one_line(error))
    action = "resumed" if resumed else "trained"
    return RunOutcome(spec.run_id, RunStatus.FINISHED, action, time.perf_counter() - start)


def _train(spec: RunSpec, run_dir: Path, *, progress: bool) -> Any:
    from ..training import StepCallback, TrainConfig, train

    config = TrainConfig.from_dict(spec.train)
    callback = (StepCallback(spec.eval_every, _AlongTraining(spec, run_dir))
                if spec.eval_every else None)
    return train(config, out_dir=run_dir / CHECKPOINT_DIR, progress=progress, callback=callback)


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

    def __init__(self, spec: RunSpec, run_dir: Path):
        self.spec, self.path = spec, run_dir / EVAL_LOG
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


def _evaluate(spec: RunSpec, trained: Any, run_dir: Path) -> dict[str, Any]:
    import torch

    start = time.perf_counter()
    # the metrics' classifier processes get this run's share of the cores (all of them
    # in-process, cores // jobs in a pool worker): never more processes than cores
    scores, arrays = score_model(spec, trained, spec.eval_seed, n_jobs=torch.get_num_threads())
    metrics_seconds = time.perf_counter() - start
    write_npz_atomic(run_dir / ARTIFACTS, **arrays)
    environment = scores.pop("_environment", {})
    dataset = scores.pop("_dataset", {})
    return {
        "dataset": dataset,
        "metrics": scores,
        "summary": headline_numbers(scores, arrays),
        "final_training": trained.log[-1] if trained.log else {},
        "metrics_seconds": metrics_seconds,
        "environment": {**environment_summary(), **_stringify(environment)},
    }


def score_model(spec: RunSpec, trained: Any, eval_seed: int, *,
                n_jobs: int | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Score a trained model exactly as a run does: ``(metrics.evaluate results, artifacts)``
    for ``spec``'s dataset, metrics and resolved protocols at ``eval_seed``; the results' entry
    ``"_dataset"`` is the dataset's ``provenance()`` (file, SHA-256, release). The regression
    check rescores stored models through this same function."""
    from ..data import get_dataset
    from ..metrics import evaluate
    from ..plugins import ensure_plugins
    from .artifacts import compute_artifacts

    ensure_plugins(spec.plugins)  # e.g. the regression check rescoring a plugin's metric

    dataset = get_dataset(spec.dataset, **spec.train.get("dataset_kwargs", {}))
    posterior = trained.posterior if getattr(trained, "has_posterior", True) else None
    scores = evaluate(dataset, trained.encode, list(spec.metrics), seed=eval_seed,
                      overrides=spec.protocol, posterior=posterior,
                      reconstruction_nll=trained.reconstruction_nll, n_jobs=n_jobs,
                      bootstrap=RUN_BOOTSTRAP)
    arrays = compute_artifacts(trained, dataset, seed=eval_seed, settings=spec.artifacts)
    scores["_dataset"] = {"name": dataset.name, "factor_sizes": list(dataset.factor_sizes),
                          **dataset.provenance()}
    return scores, arrays


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


def execute_task(spec_record: dict[str, Any], store_root: str, progress: bool = False) -> dict:
    """Picklable task entry point for executors: a RunSpec dict in, a RunOutcome dict out.
    In a fresh worker process it first loads the plugins the spec names; after a stop request
    (Ctrl-C) it starts nothing and raises ``KeyboardInterrupt``."""
    from ..interrupt import check_not_stopped
    from ..plugins import ensure_plugins

    check_not_stopped()
    ensure_plugins(spec_record.get("plugins"))
    outcome = run_one(RunSpec.from_dict(spec_record), store_root, progress=progress)
    return {"run_id": outcome.run_id, "status": outcome.status.value, "action": outcome.action,
            "seconds": outcome.seconds, "error": outcome.error}
