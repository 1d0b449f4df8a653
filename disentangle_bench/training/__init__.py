"""Training: ``train(config) -> TrainedModel``, checkpoints, resume (on ``models``)."""

from .config import (
    DEVICES,
    LATER_FIELDS,
    LR_SCHEDULES,
    PRECISIONS,
    TRAINING_NUMERICS_VERSION,
    TrainConfig,
)
from .loop import (
    ConfigMismatch,
    StepCallback,
    TrainingDiverged,
    cpu_has_native_bf16,
    deterministic_torch,
    resolve_device,
    resolve_device_type,
    resolve_precision,
    time_training_steps,
    train,
)
from .threads import free_cores, usable_cores
from .trained_model import TrainedModel, UnsafeFileError, safe_torch_load

__all__ = [
    "DEVICES",
    "PRECISIONS",
    "TRAINING_NUMERICS_VERSION",
    "LATER_FIELDS",
    "LR_SCHEDULES",
    "ConfigMismatch",
    "StepCallback",
    "TrainConfig",
    "TrainedModel",
    "TrainingDiverged",
    "UnsafeFileError",
    "cpu_has_native_bf16",
    "deterministic_torch",
    "free_cores",
    "resolve_device",
    "resolve_device_type",
    "resolve_precision",
    "safe_torch_load",
    "time_training_steps",
    "train",
    "usable_cores",
]
