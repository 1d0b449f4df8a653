"""``TrainConfig``: everything that determines a training run."""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..data import check_dataset_name
from ..models import ARCHITECTURES, check_model_hparams, model_defaults

DEVICES = ("auto", "cpu", "cuda")

#: Bump when a change makes training produce different numbers for the same config (the loop,
#: an objective, an architecture, the initialisation, batch sampling). A trained model's id in
#: the results store hashes this, not the package version: a release that leaves training's
#: numbers alone reuses every trained model.
TRAINING_NUMERICS_VERSION = 1
PRECISIONS = ("auto", "bf16", "fp32")
LR_SCHEDULES = ("constant", "cosine")
_INT_FIELDS = ("steps", "batch_size", "seed", "latent_dim", "checkpoint_every", "log_every",
               "warmup_steps", "kl_warmup_steps")

#: Fields added after the first release, with the value that reproduces training before them. A
#: config holding exactly that value hashes as if the field did not exist (``sweep.spec``), so
#: models trained before the field was added keep their ids.
LATER_FIELDS: dict[str, Any] = {"lr_schedule": "constant", "warmup_steps": 0,
                                "kl_warmup_steps": 0}


@dataclass
class TrainConfig:
    """A training run. Defaults are the Locatello et al. 2019 / disentanglement_lib protocol
    (Adam lr 1e-4, batch 64, 300,000 steps, 10 latents, the ``conv`` network).

    - ``model``/``hparams``: a registered model and its hyperparameters (unset ones take
      :func:`~disentangle_bench.models.model_defaults`).
    - ``dataset``/``dataset_kwargs``: a registered dataset and its constructor arguments.
    - ``seed``: drives the weight initialisation, the training batches and the sampling noise.
    - ``device``: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
    - ``precision``: ``"fp32"``; ``"bf16"`` (bf16 autocast for convolutions and matrix products,
      losses and optimiser state in fp32); ``"auto"`` picks bf16 on CUDA GPUs that support it
      and on CPUs with native bf16 instructions (AVX512-BF16/AMX), fp32 otherwise.
    - ``checkpoint_every``: steps between checkpoints (0: only at the end; needs ``out_dir``).
    - ``log_every``: steps per training-log row (each row averages its window of steps).
    - ``lr_schedule``/``warmup_steps``: the main optimiser's learning rate at step t (0-based)
      is ``lr * min(1, (t + 1) / warmup_steps) * decay(t)``, with ``decay = 1`` for
      ``"constant"`` and ``0.5 (1 + cos(pi t / steps))`` for ``"cosine"`` (Loshchilov & Hutter
      2017, without restarts); an objective's further optimisers (FactorVAE's discriminator)
      keep their own rate.
    - ``kl_warmup_steps``: the regulariser (everything the objective adds to the
      reconstruction loss) is multiplied by ``min(1, t / kl_warmup_steps)`` (Bowman et al.
      2016's KL annealing, linear); 0 switches it off.
    """

    model: str = "beta_vae"
    dataset: str = "tiny"
    hparams: dict[str, Any] = field(default_factory=dict)
    dataset_kwargs: dict[str, Any] = field(default_factory=dict)
    steps: int = 300_000
    batch_size: int = 64
    lr: float = 1e-4
    seed: int = 0
    latent_dim: int = 10
    architecture: str = "conv"
    device: str = "auto"
    precision: str = "auto"
    checkpoint_every: int = 10_000
    log_every: int = 100
    lr_schedule: str = "constant"
    warmup_steps: int = 0
    kl_warmup_steps: int = 0

    def __post_init__(self) -> None:
        # numpy scalars (e.g. from a sweep grid) -> plain Python numbers, so to_dict is JSON-safe
        self.hparams = {k: _plain(v) for k, v in dict(self.hparams).items()}
        self.dataset_kwargs = {k: _plain(v) for k, v in dict(self.dataset_kwargs).items()}
        for name in _INT_FIELDS:
            setattr(self, name, _plain(getattr(self, name)))
        self.lr = _plain(self.lr)

    def validate(self) -> TrainConfig:
        """Raise a one-line ``ValueError`` describing the first invalid field; return self."""
        check_model_hparams(self.model, self.hparams)
        try:
            check_dataset_name(self.dataset)
        except KeyError as error:
            raise ValueError(error.args[0]) from None
        for name in ("steps", "batch_size", "latent_dim", "log_every"):
            _require_int(name, getattr(self, name), minimum=1)
        _require_int("seed", self.seed, minimum=0)
        for name in ("checkpoint_every", "warmup_steps", "kl_warmup_steps"):
            _require_int(name, getattr(self, name), minimum=0)
        if not isinstance(self.lr, numbers.Real) or not 0 < self.lr < float("inf"):
            raise ValueError(f"lr must be a positive finite number, got {self.lr!r}")
        _require_choice("architecture", self.architecture, ARCHITECTURES)
        _require_choice("device", self.device, DEVICES)
        _require_choice("precision", self.precision, PRECISIONS)
        _require_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        return self

    def learning_rate(self, step: int) -> float:
        """The main optimiser's learning rate at ``step`` (0-based; see the class docstring)."""
        rate = self.lr
        if self.warmup_steps:
            rate *= min(1.0, (step + 1) / self.warmup_steps)
        if self.lr_schedule == "cosine":
            rate *= 0.5 * (1.0 + math.cos(math.pi * step / self.steps))
        return rate

    def regulariser_weight(self, step: int) -> float:
        """The KL warm-up factor at ``step`` (1 when ``kl_warmup_steps`` is 0)."""
        return min(1.0, step / self.kl_warmup_steps) if self.kl_warmup_steps else 1.0

    def resolved_hparams(self) -> dict[str, Any]:
        """The model's full hyperparameters: defaults overridden by ``hparams``."""
        return {**model_defaults(self.model), **self.hparams}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict; ``TrainConfig.from_dict(c.to_dict()) == c``."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError`` listing valid ones."""
        valid = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - valid)
        if unknown:
            known = ", ".join(sorted(valid))
            raise ValueError(f"unknown TrainConfig field(s) {', '.join(unknown)}; valid: {known}")
        return cls(**data)


def _plain(value: Any) -> Any:
    """A numpy scalar as the equivalent Python scalar; anything else unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def _require_int(name: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _require_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
