"""Model registry: a new objective is one module plus one line in ``_MODELS`` (ours) or one
:func:`register_model` call (a user's package; docs/extending.md)."""

from __future__ import annotations

from importlib import import_module
from typing import Any

import torch

from ..data import UnknownNameError
from .architectures import ARCHITECTURES, build_architecture, glorot_init_
from .base import Objective

# name -> "module:class" (imported lazily) or the class itself.
_MODELS: dict[str, str | type[Objective]] = {
    "ae": "disentangle_bench.models.ae:AE",
    "vae": "disentangle_bench.models.vae:VAE",
    "beta_vae": "disentangle_bench.models.beta_vae:BetaVAE",
    "annealed_vae": "disentangle_bench.models.annealed_vae:AnnealedVAE",
    "beta_tcvae": "disentangle_bench.models.beta_tcvae:BetaTCVAE",
    "factor_vae": "disentangle_bench.models.factor_vae:FactorVAE",
    "dip_vae_i": "disentangle_bench.models.dip_vae:DIPVAEI",
    "dip_vae_ii": "disentangle_bench.models.dip_vae:DIPVAEII",
}


def register_model(name: str, objective: str | type[Objective], *,
                   replace: bool = False) -> None:
    """Register ``objective`` (an :class:`Objective` subclass, or ``"module:Class"`` imported
    when first used) as model ``name``. A name already registered raises ``ValueError`` unless
    ``replace``."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"a model name is a Python identifier (letters, digits, _), "
                         f"got {name!r}")
    if name in _MODELS and not replace:
        raise ValueError(f"model {name!r} is already registered; pick another name "
                         "(or pass replace=True to override it on purpose)")
    if isinstance(objective, str):
        if objective.count(":") != 1:
            raise ValueError(f"register_model({name!r}, ...): expected 'module:Class', "
                             f"got {objective!r}")
    elif not (isinstance(objective, type) and issubclass(objective, Objective)):
        raise TypeError(f"register_model({name!r}, ...) takes an Objective subclass or "
                        f"'module:Class', got {objective!r}")
    _MODELS[name] = objective


def unregister_model(name: str) -> None:
    """Remove a registered model (tests)."""
    model_class(name)
    del _MODELS[name]


def list_models() -> list[str]:
    """Names accepted by :func:`get_model`, sorted."""
    return sorted(_MODELS)


def model_class(name: str) -> type[Objective]:
    """The :class:`Objective` subclass registered as ``name``; an unknown name raises a
    one-line ``UnknownNameError`` (a ``ValueError`` and a ``KeyError``, as for datasets and
    metrics) listing the known ones."""
    if name not in _MODELS:
        raise UnknownNameError(f"unknown model {name!r}; known models: {', '.join(list_models())}")
    target = _MODELS[name]
    if not isinstance(target, str):
        return target
    module, attribute = target.split(":")
    return getattr(import_module(module), attribute)


def model_defaults(name: str) -> dict[str, Any]:
    """The model's hyperparameters and their default values (a fresh dict)."""
    return dict(model_class(name).defaults)


def check_model_hparams(name: str, hparams: dict[str, Any]) -> None:
    """Raise a one-line ``ValueError`` for an unknown model, unknown hyperparameter names, or
    bad values (negative β, non-finite numbers, ...)."""
    cls = model_class(name)
    unknown = sorted(set(hparams) - set(cls.defaults))
    if unknown:
        valid = ", ".join(sorted(cls.defaults)) or "none"
        raise ValueError(
            f"unknown hyperparameter(s) {', '.join(unknown)} for model {name!r}; valid: {valid}"
        )
    cls.check_hparams(dict(hparams))


def get_model(
    name: str,
    *,
    observation_shape: tuple[int, int, int],
    latent_dim: int = 10,
    architecture: str = "conv",
    seed: int = 0,
    **hparams: Any,
) -> Objective:
    """Build model ``name`` on ``architecture`` for images of ``observation_shape`` (C, H, W).

    Weights are Glorot-uniform with zero biases (TF1 ``tf.layers`` defaults), drawn from a
    ``torch.Generator`` seeded with ``seed``: the same arguments give identical weights.
    Unset hyperparameters take :func:`model_defaults`.
    """
    check_model_hparams(name, hparams)
    if architecture not in ARCHITECTURES:
        known = ", ".join(ARCHITECTURES)
        raise ValueError(f"unknown architecture {architecture!r}; known architectures: {known}")
    # PyTorch's layer constructors draw a default initialisation from the global generator;
    # fork_rng puts the global state back, so building a model leaves it untouched.
    with torch.random.fork_rng(devices=[]):
        encoder, decoder = build_architecture(architecture, observation_shape, int(latent_dim))
        model = model_class(name)(encoder, decoder, **hparams)
    glorot_init_(model, torch.Generator().manual_seed(int(seed)))
    return model
