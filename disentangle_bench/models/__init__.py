"""Models: VAE-family objectives on shared encoder/decoder architectures (on ``data``)."""

from .architectures import ARCHITECTURES, build_architecture, check_architecture
from .base import ADAM, LossOutput, Objective, OptimizerGroup, bernoulli_nll, gaussian_kl_per_dim
from .registry import (
    check_model_hparams,
    get_model,
    list_models,
    model_class,
    model_defaults,
    register_model,
    unregister_model,
)

__all__ = [
    "ADAM",
    "ARCHITECTURES",
    "LossOutput",
    "Objective",
    "OptimizerGroup",
    "bernoulli_nll",
    "build_architecture",
    "check_architecture",
    "check_model_hparams",
    "gaussian_kl_per_dim",
    "get_model",
    "list_models",
    "model_class",
    "model_defaults",
    "register_model",
    "unregister_model",
]
