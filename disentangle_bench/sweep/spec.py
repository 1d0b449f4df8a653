"""What a sweep asks for, and the content-addressed ids of its two stores.

A :class:`RunSpec` is one trained model plus the evaluations asked of it: the training
configuration (``training.TrainConfig`` as a plain dict, hyperparameters fully resolved), the
metric names with their full resolved protocols, the evaluation seeds, the preset it came from
and the package version.

The results directory holds two stores with two kinds of id:

* **trained models**, ``model_id`` = ``<model>-<12 hex>`` of the hash of exactly what determines
  the weights: the training config without execution-only fields (``checkpoint_every``), the
  device resolved to its type (``cpu``/``cuda``, never ``auto``: a CPU and a CUDA run give
  different numbers, and a checkpoint of one must never resume on the other), the resolved
  precision, and ``training.TRAINING_NUMERICS_VERSION``. A field added later
  (``training.LATER_FIELDS``) is left out while it holds the value that trains as before, so
  older models keep their ids. Not the package version, not the
  metrics, not the evaluation seed: changing those never retrains.
* **evaluations** (:class:`EvalSpec`), ``eval_id`` = ``<metric>-s<seed>-<10 hex>`` of the
  metric, its full resolved protocol, the evaluation seed and that metric's own code version
  (``metrics.metric_version``), stored under the model they score.
* both hash the loaded plugins (``plugins.plugin_record()``) when there are any, so a changed
  plugin gets new models and new evaluations.
* a model trained on a data file also hashes the file's identity, ``dataset_sha256``
  (``GroundTruthDataset.file_sha256()``: the SHA-256 of the file actually read, resolved while
  planning), so a model trained on a reduced test file is never reused for the real file of
  the same dataset name. A generated dataset has none and adds nothing (ids as before). Its
  evaluations are computed on the model's dataset and stored under the model, so they inherit
  it.

``run_id`` is the model id (one row of a sweep is one trained model).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from .. import __version__

#: TrainConfig fields recorded in config.json but left out of the model id (see module docstring).
EXECUTION_FIELDS = ("checkpoint_every",)


def model_identity(train: dict[str, Any]) -> dict[str, Any]:
    """The hashed part of a training config (see the module docstring)."""
    from ..training import (
        LATER_FIELDS,
        TRAINING_NUMERICS_VERSION,
        resolve_device_type,
        resolve_precision,
    )

    identity = {k: v for k, v in train.items() if k not in EXECUTION_FIELDS
                and not (k in LATER_FIELDS and v == LATER_FIELDS[k])}
    device = str(train.get("device", "auto"))
    device = resolve_device_type(device) if device == "auto" else device
    precision = str(train.get("precision", "auto"))
    if precision == "auto":
        import torch

        precision = resolve_precision(precision, torch.device(device))
    identity.update(device=device, precision=precision,
                    training_numerics=TRAINING_NUMERICS_VERSION)
    return identity


def dataset_file_sha256(dataset: Any) -> str:
    """The data file identity a model id hashes: ``dataset.file_sha256()`` (the SHA-256 of the
    file(s) the dataset reads, from the digest cache after the first time), ``""`` for a
    generated dataset or an object without the method (e.g. a plugin's own class)."""
    method = getattr(dataset, "file_sha256", None)
    return (method() if callable(method) else None) or ""


def content_hash(obj: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of ``obj``."""
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class EvalSpec:
    """One evaluation of a stored model: ``metric`` with its full ``protocol`` at ``seed``."""

    metric: str
    protocol: dict[str, Any]
    seed: int
    version: int
    #: ``plugins.plugin_record()`` of the evaluation (a plugin may add or replace a metric).
    plugins: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, metric: str, protocol: dict[str, Any], seed: int,
           plugins: dict[str, dict[str, str]] | None = None) -> EvalSpec:
        """The evaluation of ``metric`` at ``seed`` with the metric's current code version;
        ``plugins`` defaults to the plugins loaded now."""
        from ..metrics import metric_version
        from ..plugins import plugin_record

        plugins = plugin_record() if plugins is None else plugins
        return cls(metric, dict(protocol), int(seed), metric_version(metric), dict(plugins))

    def identity(self) -> dict[str, Any]:
        """The hashed part: metric, protocol, seed, metric version, and the plugins when there
        are any (a changed plugin is a new evaluation; without plugins ids are as before)."""
        identity = {"metric": self.metric, "protocol": self.protocol, "seed": self.seed,
                    "metric_version": self.version}
        return {**identity, "plugins": self.plugins} if self.plugins else identity

    @property
    def eval_hash(self) -> str:
        return content_hash(self.identity())

    @property
    def eval_id(self) -> str:
        return f"{self.metric}-s{self.seed}-{self.eval_hash[:10]}"


@dataclass(frozen=True)
class RunSpec:
    """One trained model of the sweep and the evaluations asked of it.

    ``train`` holds the keyword arguments of ``training.TrainConfig`` (``model``, ``hparams``,
    ``dataset``, ``steps``, ``batch_size``, ``lr``, ``seed``, ``latent_dim``, ``architecture``,
    ``device``, ``precision``, ...); ``protocol`` maps each metric name to its full parameter
    dict; ``eval_seeds`` are the evaluation seeds (``eval_seed`` is the first).
    """

    train: dict[str, Any]
    metrics: tuple[str, ...]
    protocol: dict[str, dict[str, Any]]
    eval_seeds: tuple[int, ...] = (0,)
    preset: str = "custom"
    version: str = __version__
    artifacts: dict[str, Any] = field(default_factory=dict)
    #: ``plugins.plugin_record()`` when planned: each loaded plugin and its version.
    plugins: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Score checkpoints every this many training steps on a cheap subset (0: never).
    eval_every: int = 0
    #: ``file_sha256()`` of the dataset when planned: the data file's identity ("" for a
    #: generated dataset).
    dataset_sha256: str = ""

    # --- identity -------------------------------------------------------------------------
    def identity(self) -> dict[str, Any]:
        """The hashed part of the trained model (:func:`model_identity`), with the loaded
        plugins when there are any (a plugin may add or replace a model, metric or dataset, so
        a changed plugin is a new model), ``eval_every`` when set (scoring along training
        adds an output, eval_log.csv, to the model) and the data file's ``dataset_sha256``
        when the dataset reads one; without them the ids are as before."""
        identity = model_identity(self.train)
        extra = {"plugins": self.plugins} if self.plugins else {}
        extra.update({"eval_every": self.eval_every} if self.eval_every else {})
        extra.update({"dataset_sha256": self.dataset_sha256} if self.dataset_sha256 else {})
        return {**identity, **extra}

    @property
    def config_hash(self) -> str:
        """SHA-256 (hex) of the canonical JSON of :meth:`identity`: the trained model's hash."""
        return content_hash(self.identity())

    @property
    def model_id(self) -> str:
        """``<model>-<first 12 hex digits of the model hash>``: readable and unique."""
        return f"{self.model}-{self.config_hash[:12]}"

    @property
    def run_id(self) -> str:
        """The trained model's id (a sweep's row is one trained model)."""
        return self.model_id

    def evaluations(self) -> list[EvalSpec]:
        """Every (metric, protocol, seed) asked of this model, seeds outermost."""
        return [EvalSpec.of(name, self.protocol[name], seed, self.plugins)
                for seed in self.eval_seeds for name in self.metrics]

    # --- convenience ----------------------------------------------------------------------
    @property
    def eval_seed(self) -> int:
        return int(self.eval_seeds[0])

    @property
    def model(self) -> str:
        return str(self.train["model"])

    @property
    def hparams(self) -> dict[str, Any]:
        return dict(self.train.get("hparams", {}))

    @property
    def seed(self) -> int:
        return int(self.train["seed"])

    @property
    def dataset(self) -> str:
        return str(self.train["dataset"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, with the model id and hash (``eval_seed`` too, for older readers)."""
        record = asdict(self)
        record["metrics"] = list(self.metrics)
        record["eval_seeds"] = list(self.eval_seeds)
        record["eval_seed"] = self.eval_seed
        record["run_id"] = self.run_id
        record["config_hash"] = self.config_hash
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> RunSpec:
        """Inverse of :meth:`to_dict` (ids and hashes are recomputed, not trusted); reads the
        single ``eval_seed`` of records written before ``eval_seeds``."""
        seeds = record.get("eval_seeds") or [record.get("eval_seed", 0)]
        return cls(
            train=dict(record["train"]),
            metrics=tuple(record["metrics"]),
            protocol={k: dict(v) for k, v in record["protocol"].items()},
            eval_seeds=tuple(int(s) for s in seeds),
            preset=str(record.get("preset", "custom")),
            version=str(record.get("version", __version__)),
            artifacts=dict(record.get("artifacts", {})),
            plugins={k: dict(v) for k, v in record.get("plugins", {}).items()},
            eval_every=int(record.get("eval_every", 0)),
            dataset_sha256=str(record.get("dataset_sha256") or ""),
        )

    def label(self) -> str:
        """Short human label, e.g. ``beta_vae(beta=4) seed 0``."""
        return f"{model_label(self.model, self.hparams)} seed {self.seed}"


def model_label(model: str, hparams: dict[str, Any], varied: tuple[str, ...] | None = None) -> str:
    """``beta_vae(beta=4)``: the model with its (varied, if given) hyperparameters."""
    shown = {k: v for k, v in sorted(hparams.items()) if varied is None or k in varied}
    if not shown:
        return model
    return f"{model}({', '.join(f'{k}={format_value(v)}' for k, v in shown.items())})"


def format_value(value: Any) -> str:
    """``4.0`` → ``4``, ``0.0001`` → ``0.0001``: the shortest faithful form for labels."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def canonical_json(obj: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, floats in ``repr`` form, integral floats
    written as floats (``4.0``) so that ``4`` and ``4.0`` hash alike only after normalisation
    by the grid (which casts every hyperparameter to its default's type)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_default)


def _default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"cannot hash a value of type {type(value).__name__}: {value!r}")
