"""UDR per configuration: the agreement between models trained with different seeds (Duan et
al. 2020, "Unsupervised Model Selection for Variational Disentangled Representation Learning",
ICLR 2020; disentanglement_lib ``evaluation/udr``).

UDR scores a *group* of trained models, so it lives here, above the store, not in ``metrics``
(which never sees a model): ``metrics.udr`` is the function on arrays.

* A **group** is the trained models (``source`` trained, ``trained.json`` valid) of one
  configuration: the same model id identity (``config.json``'s ``identity``: TrainConfig,
  device, precision, numerics version, plugins) except the training ``seed``. Groups of one
  model get no UDR: it needs ``--num-seeds`` >= 2.
* **Protocol** (dlib ``config/tests/methods/udr/udr.gin``, ``compute_udr_sklearn``): draw
  ``num_train`` observations once (``sample_observations`` with ``default_rng(eval_seed)``),
  encode them with every member in batches of ``batch_size``: posterior means as codes and the
  mean KL per latent ``0.5 * mean(mu² + exp(logvar) - logvar - 1)`` to pick active latents;
  then ``metrics.udr`` (lasso, alpha 0.1; KL threshold 0.01). dlib draws a fresh batch of 10
  per step from one RandomState; we draw the same number of points in one call (the points
  differ, the protocol does not).
* **Stored** as one evaluation per member, ``models/<id>/evals/udr-s<seed>-<hash>.json``,
  metric ``udr``, score ``model_score`` (the median of the member's pairwise scores; the table
  column ``udr.model_score``). Its protocol records the group (``members``: the sorted model
  ids) and is hashed into the evaluation id, so a group is recomputed exactly when its
  membership (or the protocol, or :data:`UDR_VERSION`) changes; otherwise nothing is computed.
  The result also keeps the pairwise matrix and the member's index in it.
* A model without a posterior (the deterministic AE) has no KL per latent: its group's records
  are written with ``model_score`` NaN and a ``reason`` (the table counts it as undefined).
  So is a degenerate member (no active latent, constant or non-finite codes; ``metrics.udr``
  says which), and a member whose every other seed is degenerate; the group's other members
  take the median over their defined pairs (``pairwise`` holds null for an undefined pair).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .spec import EvalSpec, content_hash
from .store import RunStatus, RunStore, environment_summary

METRIC = "udr"
#: Bump when the computation below changes its numbers (hashed into every UDR evaluation id).
UDR_VERSION = 1
#: dlib's udr.gin: 1,000 points in batches of 10, lasso, KL threshold 0.01.
REFERENCE_PROTOCOL = {"num_train": 1000, "batch_size": 10, "correlation": "lasso",
                      "kl_threshold": 0.01}
#: Points per preset (the smoke sweep's tiny budget uses fewer; every other preset dlib's).
NUM_TRAIN = {"smoke": 300}

Posterior = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def udr_protocol(preset: str | None = None) -> dict[str, Any]:
    """The UDR protocol of a preset: :data:`REFERENCE_PROTOCOL` with ``num_train`` from
    :data:`NUM_TRAIN` (``batch_size`` only bounds memory: encoding is deterministic)."""
    return {**REFERENCE_PROTOCOL, "num_train": NUM_TRAIN.get(str(preset),
                                                              REFERENCE_PROTOCOL["num_train"])}


def configuration_key(config: dict[str, Any]) -> str | None:
    """The hash of a trained model's identity without its seed (None for external entries):
    models with equal keys differ only in the training seed."""
    if (config.get("source") or {}).get("kind", "trained") != "trained":
        return None
    identity = dict(config.get("identity") or {})
    if not identity:
        return None
    identity.pop("seed", None)
    return content_hash(identity)


def configuration_groups(store: RunStore, model_ids: Sequence[str]) -> dict[str, list[str]]:
    """``{configuration key: sorted ids of its trained models}`` among ``model_ids``."""
    groups: dict[str, list[str]] = {}
    for model_id in model_ids:
        if store.config_problem(model_id) or store.status(model_id) is not RunStatus.FINISHED:
            continue
        key = configuration_key(store.read_config(model_id) or {})
        if key is not None:
            groups.setdefault(key, []).append(model_id)
    return {key: sorted(ids) for key, ids in groups.items()}


def group_evaluation(members: Sequence[str], protocol: dict[str, Any], seed: int) -> EvalSpec:
    """The evaluation every member of a group stores: the protocol with the group's sorted
    ``members`` (so the id changes with the membership)."""
    return EvalSpec(METRIC, {**protocol, "members": sorted(members)}, int(seed), UDR_VERSION)


def group_udr(dataset: Any, posteriors: Sequence[Posterior], *, seed: int = 0,
              num_train: int = 1000, batch_size: int = 10, correlation: str = "lasso",
              kl_threshold: float = 0.01) -> dict[str, Any]:
    """UDR of a group given each member's ``posterior(observations) -> (mean, logvar)``: every
    member encodes the same ``num_train`` observations of ``dataset`` (drawn with
    ``default_rng(seed)``); returns ``metrics.udr``'s ``{"model_scores", "pairwise",
    "reasons"}`` plus ``"kl"`` (each member's KL per latent)."""
    from ..metrics import kl_to_standard_normal, udr

    observations = dataset.sample_observations(int(num_train), np.random.default_rng(seed))
    codes, kls = [], []
    for posterior in posteriors:
        parts = [posterior(observations[i:i + batch_size])
                 for i in range(0, len(observations), int(batch_size))]
        means = np.concatenate([np.asarray(m) for m, _ in parts])
        logvars = np.concatenate([np.asarray(v) for _, v in parts])
        codes.append(means)
        kls.append(kl_to_standard_normal(means, logvars))  # dlib's compute_gaussian_kl
    result = udr(codes, kls, correlation=correlation, kl_threshold=kl_threshold, seed=seed)
    return {**result, "kl": [k.tolist() for k in kls]}


@dataclass
class UDRSummary:
    """What :func:`compute_store_udr` did: groups ``computed`` / ``cached``, ``singletons``
    (configurations with one trained model), ``failures`` (one line per group)."""

    computed: int = 0
    cached: int = 0
    singletons: int = 0
    failures: list[str] = field(default_factory=list)
    undefined: dict[str, int] = field(default_factory=dict)  # reason -> models with a NaN UDR
    evaluations: dict[str, str] = field(default_factory=dict)  # model id -> UDR eval id
    seconds: float = 0.0

    def lines(self) -> list[str]:
        if not (self.computed or self.cached):
            lines = ["UDR: no configuration has 2 trained seeds; UDR needs --num-seeds >= 2"]
        else:
            lines = [f"UDR: {self.computed + self.cached} configuration group(s) "
                     f"({self.computed} computed, {self.cached} cached) in {self.seconds:.0f} s"
                     + (f"; {self.singletons} with one seed skipped" if self.singletons else "")]
        if self.undefined:
            count = sum(self.undefined.values())
            lines.append(f"UDR undefined (NaN) for {count} model(s): " + "; ".join(
                f"{reason} ({n})" for reason, n in self.undefined.items()))
        return lines + [f"FAILED UDR {line}" for line in self.failures]


def compute_store_udr(store: RunStore, model_ids: Sequence[str], *, preset: str | None = None,
                      seed: int = 0, protocol: dict[str, Any] | None = None,
                      load: Callable[[str], Any] | None = None) -> UDRSummary:
    """Compute and store the UDR of every configuration group of ``model_ids`` with >= 2
    trained models, unless each member already stores the group's evaluation (idempotent).
    ``load(model_id)`` returns the trained model (default: ``run.load_trained``); a group's
    failure is recorded as an evaluation error of each member and reported, never raised."""
    from .run import load_trained

    start = time.perf_counter()
    load = load or (lambda model_id: load_trained(store.model_dir(model_id)))
    protocol = dict(protocol or udr_protocol(preset))
    summary = UDRSummary()
    for members in configuration_groups(store, model_ids).values():
        if len(members) < 2:
            summary.singletons += 1
            continue
        evaluation = group_evaluation(members, protocol, seed)
        summary.evaluations.update({m: evaluation.eval_id for m in members})
        records = [store.read_eval(m, evaluation) for m in members]
        if all(record is not None for record in records):
            summary.cached += 1
            _count_undefined(summary, records)
            continue
        try:
            _compute_group(store, members, evaluation, protocol, seed, load)
            summary.computed += 1
            _count_undefined(summary, [store.read_eval(m, evaluation) for m in members])
        except Exception as error:  # noqa: BLE001 - recorded per member, the sweep goes on
            for member in members:
                store.write_eval_error(member, evaluation, error)
            summary.failures.append(f"{members[0]} (+{len(members) - 1}): "
                                    f"{type(error).__name__}: {error}".splitlines()[0])
    summary.seconds = time.perf_counter() - start
    return summary


def _count_undefined(summary: UDRSummary, records: Sequence[dict[str, Any] | None]) -> None:
    """Add the stored members' reasons for a NaN UDR to ``summary.undefined``."""
    for record in records:
        reason = (((record or {}).get("result") or {}).get("scores") or {}).get("reason")
        if reason:
            summary.undefined[reason] = summary.undefined.get(reason, 0) + 1


def _compute_group(store: RunStore, members: list[str], evaluation: EvalSpec,
                   protocol: dict[str, Any], seed: int, load: Callable[[str], Any]) -> None:
    from ..data import get_dataset

    started = time.perf_counter()
    train = (store.read_config(members[0]) or {})["train"]
    models = [load(m) for m in members]
    if not all(getattr(m, "has_posterior", True) for m in models):
        scores: list[float] = [math.nan] * len(members)
        reasons = ["no posterior (KL per latent undefined): UDR needs a VAE"] * len(members)
        pairwise = None
    else:
        dataset = get_dataset(train["dataset"], **train.get("dataset_kwargs", {}))
        result = group_udr(dataset, [m.posterior for m in models], seed=seed, **protocol)
        scores, reasons = result["model_scores"], result["reasons"]
        pairwise = [[None if math.isnan(v) else v for v in row] for row in result["pairwise"]]
    seconds = time.perf_counter() - started
    environment = environment_summary()
    for index, member in enumerate(members):
        score, reason = scores[index], reasons[index]
        record = {"scores": {"model_score": None if math.isnan(score) else float(score),
                             **({"reason": reason} if reason else {})},
                  "protocol": evaluation.protocol, "seconds": seconds / len(members),
                  "group": {"members": members, "index": index, "pairwise": pairwise}}
        store.write_eval(member, evaluation, record, environment)


def update_store_udr(store: RunStore, model_ids: Sequence[str] | None = None) -> UDRSummary:
    """:func:`compute_store_udr` for the last sweep's models (or ``model_ids``) at its first
    evaluation seed with its preset's protocol, then record in ``sweep.json`` under ``udr``
    the protocol and each model's UDR evaluation id (what ``load_results`` shows)."""
    manifest = store.read_sweep() or {}
    ids = list(model_ids if model_ids is not None else manifest.get("run_ids") or
               store.model_ids())
    seeds = (manifest.get("evaluation") or {}).get("eval_seeds") or [0]
    protocol = udr_protocol(manifest.get("preset"))
    summary = compute_store_udr(store, ids, seed=int(seeds[0]), protocol=protocol)
    store.write_sweep({**(store.read_sweep() or manifest), "udr": {
        "protocol": protocol, "eval_seed": int(seeds[0]), "version": UDR_VERSION,
        "evaluations": summary.evaluations}})
    return summary
