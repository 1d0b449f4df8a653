"""A run specification and its content-addressed id.

A :class:`RunSpec` is everything that determines a run's numbers: the training configuration
(``training.TrainConfig`` as a plain dict, hyperparameters fully resolved), the metric names with
their full resolved protocols, the evaluation seed, the preset it came from and the package
version. Its ``run_id`` is a hash of exactly that, so the same command always finds the same run
directory, and changing anything that could change a number (a step count, a protocol size, the
package version) gives a new one.

``checkpoint_every`` is recorded but not hashed: checkpointing more or less often does not change
a number (training resumes bitwise-exactly), so it is still the same run. The device *is* hashed
(a GPU run's numbers differ from a CPU run's, and training refuses to resume across devices).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from .. import __version__

#: TrainConfig fields recorded in config.json but left out of the run id (see module docstring).
EXECUTION_FIELDS = ("checkpoint_every",)


@dataclass(frozen=True)
class RunSpec:
    """One run of the sweep: train ``train`` then score it with ``metrics``.

    ``train`` holds the keyword arguments of ``training.TrainConfig`` (``model``, ``hparams``,
    ``dataset``, ``steps``, ``batch_size``, ``lr``, ``seed``, ``latent_dim``, ``architecture``,
    ``precision``, ...); ``protocol`` maps each metric name to its full parameter dict.
    """

    train: dict[str, Any]
    metrics: tuple[str, ...]
    protocol: dict[str, dict[str, Any]]
    eval_seed: int = 0
    preset: str = "custom"
    version: str = __version__
    artifacts: dict[str, Any] = field(default_factory=dict)
    #: ``plugins.plugin_record()`` when planned: each loaded plugin and its version.
    plugins: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Score checkpoints every this many training steps on a cheap subset (0: never).
    eval_every: int = 0

    # --- identity -------------------------------------------------------------------------
    def identity(self) -> dict[str, Any]:
        """The hashed part of the config: everything except the execution-only fields."""
        train = {k: v for k, v in self.train.items() if k not in EXECUTION_FIELDS}
        return {
            "train": train,
            "metrics": sorted(self.metrics),
            "protocol": {name: self.protocol[name] for name in sorted(self.metrics)},
            "eval_seed": self.eval_seed,
            "preset": self.preset,
            "version": self.version,
            "artifacts": self.artifacts,
            # a changed plugin (it may add or replace a model, metric or dataset) is a new run;
            # runs without plugins keep the ids they had before plugins existed
            **({"plugins": self.plugins} if self.plugins else {}),
            # scoring along training adds an output; runs without it keep their ids
            **({"eval_every": self.eval_every} if self.eval_every else {}),
        }

    @property
    def config_hash(self) -> str:
        """SHA-256 (hex) of the canonical JSON of :meth:`identity`."""
        return hashlib.sha256(canonical_json(self.identity()).encode("utf-8")).hexdigest()

    @property
    def run_id(self) -> str:
        """``<model>-<first 12 hex digits of the config hash>``: readable and unique."""
        return f"{self.model}-{self.config_hash[:12]}"

    # --- convenience ----------------------------------------------------------------------
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
        """JSON-ready dict (written as config.json, with the run id and hash)."""
        record = asdict(self)
        record["metrics"] = list(self.metrics)
        record["run_id"] = self.run_id
        record["config_hash"] = self.config_hash
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> RunSpec:
        """Inverse of :meth:`to_dict` (``run_id``/``config_hash`` are recomputed, not trusted)."""
        return cls(
            train=dict(record["train"]),
            metrics=tuple(record["metrics"]),
            protocol={k: dict(v) for k, v in record["protocol"].items()},
            eval_seed=int(record.get("eval_seed", 0)),
            preset=str(record.get("preset", "custom")),
            version=str(record.get("version", __version__)),
            artifacts=dict(record.get("artifacts", {})),
            plugins={k: dict(v) for k, v in record.get("plugins", {}).items()},
            eval_every=int(record.get("eval_every", 0)),
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
