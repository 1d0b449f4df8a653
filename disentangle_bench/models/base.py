"""The shared Gaussian-encoder objective every model in the registry specialises.

All models follow disentanglement_lib's ``BaseVAE`` (``methods/unsupervised/vae.py``):

    z ~ q(z|x) = N(mean(x), diag exp(logvar(x)))       (reparameterised sample)
    reconstruction = mean_batch  sum_pixels BCEWithLogits(decoder(z), x)       (Bernoulli NLL)
    kl             = mean_batch  sum_dims  0.5 (mean² + exp(logvar) − logvar − 1)
    loss           = reconstruction + regulariser(kl, mean, logvar, z, step)

Observations are floats in [0, 1]. The Bernoulli likelihood is used for every dataset, colour
ones included (exactly what disentanglement_lib does with ``bernoulli_loss`` on all its datasets,
with ``subtract_true_image_entropy=False``): for non-binary pixels it is a cross-entropy whose
minimum is the pixels' own entropy, not 0.

Randomness (the reparameterisation noise, FactorVAE's permutation) comes from the
``torch.Generator`` passed to :meth:`Objective.loss`; nothing touches global random state.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from .architectures import Decoder, GaussianEncoder


@dataclass
class LossOutput:
    """One training step's losses (all means over the batch, fp32 tensors).

    ``loss`` is what the encoder/decoder optimiser minimises; ``kl_per_dim`` has shape
    ``(latent_dim,)`` and sums to ``kl``; ``extras`` holds model-specific scalars (tc,
    capacity, discriminator accuracy, ...). ``discriminator_loss`` is set only by models with an
    adversarial part (FactorVAE); ``extra_losses`` holds any other named loss an objective's
    further optimisers minimise. Which optimiser minimises which loss, over which parameters,
    the objective declares (:meth:`Objective.optimizers`).
    """

    loss: torch.Tensor
    reconstruction: torch.Tensor
    kl: torch.Tensor
    kl_per_dim: torch.Tensor
    extras: dict[str, torch.Tensor] = field(default_factory=dict)
    discriminator_loss: torch.Tensor | None = None
    extra_losses: dict[str, torch.Tensor] = field(default_factory=dict)

    def term(self, name: str) -> torch.Tensor:
        """The loss called ``name``: ``"loss"``, ``"discriminator_loss"`` or a key of
        ``extra_losses``."""
        if name in ("loss", "discriminator_loss"):
            value = getattr(self, name)
        else:
            value = self.extra_losses.get(name)
        if value is None:
            raise KeyError(f"the objective's loss() returned no {name!r}, which one of its "
                           "optimisers minimises")
        return value


#: disentanglement_lib's Adam (shared.gin): betas (0.9, 0.999), eps 1e-8; lr is the config's.
ADAM = {"betas": (0.9, 0.999), "eps": 1e-8}


@dataclass
class OptimizerGroup:
    """One optimiser an objective declares: ``optimizer(parameters, **options)`` minimising the
    loss named ``loss`` (see :meth:`LossOutput.term`) over ``parameters`` only.

    The first group of :meth:`Objective.optimizers` is the main one (its loss is ``"loss"``).
    Every step, each further group's gradient is taken first (``torch.autograd.grad``, the
    graph kept), then the main loss is back-propagated and the main optimiser steps, then each
    further group's gradients replace whatever the main loss left on its parameters and it
    steps: all updates use the same batch and the parameters from before the step."""

    name: str
    parameters: list[nn.Parameter]
    loss: str = "loss"
    optimizer: type[torch.optim.Optimizer] = torch.optim.Adam
    options: dict[str, Any] = field(default_factory=dict)

    def build(self) -> torch.optim.Optimizer:
        return self.optimizer(self.parameters, **self.options)


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-image Bernoulli negative log-likelihood in nats: ``sum_pixels BCEWithLogits``, (n,)."""
    per_pixel = F.binary_cross_entropy_with_logits(logits.float(), x.float(), reduction="none")
    return per_pixel.flatten(1).sum(1)


def gaussian_kl_per_dim(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) ‖ N(0, 1)) per example and dimension, (n, d)."""
    return 0.5 * (mean.square() + logvar.exp() - logvar - 1.0)


def sample_gaussian(
    mean: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None
) -> torch.Tensor:
    """Reparameterised sample ``mean + exp(logvar / 2) * eps``, ``eps ~ N(0, I)``."""
    eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
    return mean + torch.exp(0.5 * logvar) * eps


class Objective(nn.Module):
    """A VAE-family objective on a shared encoder/decoder.

    Subclasses set ``name``, ``defaults`` (hyperparameter → default value, documented in their
    docstring), implement :meth:`regulariser` and may override :meth:`check_hparams`.
    """

    name: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}
    #: False for models whose code is not a Gaussian posterior (the AE).
    has_posterior: ClassVar[bool] = True

    def __init__(self, encoder: GaussianEncoder, decoder: Decoder, **hparams: Any):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.latent_dim = encoder.mean.out_features
        self.hparams = {**self.defaults, **hparams}
        for key, value in self.hparams.items():
            setattr(self, key, value)

    @classmethod
    def check_hparams(cls, hparams: dict[str, Any]) -> None:
        """Raise ``ValueError`` (one line) for a bad hyperparameter value; names are checked by
        the registry. Default: every hyperparameter must be a finite number ≥ 0."""
        for key, value in hparams.items():
            _require_number(cls.name, key, value, minimum=0.0)

    def optimizers(self, lr: float) -> list[OptimizerGroup]:
        """The optimisers that train this objective, main one first (see
        :class:`OptimizerGroup`). Default: one Adam (:data:`ADAM`, learning rate ``lr``, the
        config's) over every parameter, minimising ``loss``."""
        return [OptimizerGroup("model", list(self.parameters()), "loss",
                               options={"lr": lr, **ADAM})]

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mean, logvar)`` of q(z|x) in fp32, each (n, latent_dim)."""
        mean, logvar = self.encoder(x)
        return mean.float(), logvar.float()

    def loss(
        self, x: torch.Tensor, step: int, generator: torch.Generator | None = None
    ) -> LossOutput:
        """The training loss on batch ``x`` (n, C, H, W) at training step ``step`` (0-based)."""
        mean, logvar = self.posterior(x)
        z = sample_gaussian(mean, logvar, generator)
        reconstruction = bernoulli_nll(self.decoder(z), x).mean()
        kl_per_dim = gaussian_kl_per_dim(mean, logvar).mean(0)
        kl = kl_per_dim.sum()
        regulariser, extras = self.regulariser(kl, mean, logvar, z, step)
        return LossOutput(reconstruction + regulariser, reconstruction, kl, kl_per_dim, extras)

    def regulariser(
        self,
        kl: torch.Tensor,
        mean: torch.Tensor,
        logvar: torch.Tensor,
        z: torch.Tensor,
        step: int,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The term added to the reconstruction loss, and extras to log."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.hparams.items())


def _require_number(model: str, key: str, value: Any, *, minimum: float, strict: bool = False):
    """Raise a one-line ``ValueError`` unless ``value`` is a finite real ≥ (or >) ``minimum``."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    ok = ok and value == value and abs(value) != float("inf")
    ok = ok and (value > minimum if strict else value >= minimum)
    if not ok:
        relation = ">" if strict else ">="
        raise ValueError(
            f"{model}: hyperparameter {key} must be a finite number {relation} {minimum:g}, "
            f"got {value!r}"
        )
