"""Training: ``train(config) -> TrainedModel``, checkpoints, resume (on ``models``)."""

from .config import DEVICES, PRECISIONS, TrainConfig
from .loop import (
    ConfigMismatch,
    StepCallback,
    TrainingDiverged,
    cpu_has_native_bf16,
    deterministic_torch,
    resolve_device,
    resolve_precision,
    time_training_steps,
    train,
)
from .threads import free_cores, usable_cores
from .trained_model import TrainedModel

__all__ = [
    "DEVICES",
    "PRECISIONS",
    "ConfigMismatch",
    "StepCallback",
    "TrainConfig",
    "TrainedModel",
    "TrainingDiverged",
    "cpu_has_native_bf16",
    "deterministic_torch",
    "free_cores",
    "resolve_device",
    "resolve_precision",
    "time_training_steps",
    "train",
    "usable_cores",
]
