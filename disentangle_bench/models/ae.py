"""Deterministic autoencoder: the reconstruction loss alone, no KL term.

The code is the encoder's mean head, used deterministically (no sampling); the log-variance head
exists only because the architecture is shared: it receives no gradient and is never used. There
is no posterior, so ``kl`` and ``kl_per_dim`` are exact zeros and ``has_posterior`` is False.
"""

from __future__ import annotations

import torch

from .base import LossOutput, Objective, bernoulli_nll


class AE(Objective):
    """Autoencoder: ``loss = mean_batch sum_pixels BCEWithLogits(decoder(encoder(x)), x)``."""

    name = "ae"
    defaults = {}
    has_posterior = False

    def loss(
        self, x: torch.Tensor, step: int, generator: torch.Generator | None = None
    ) -> LossOutput:
        code = self.posterior(x)[0]
        reconstruction = bernoulli_nll(self.decoder(code), x).mean()
        kl_per_dim = torch.zeros(self.latent_dim, device=x.device)
        return LossOutput(reconstruction, reconstruction, kl_per_dim.sum(), kl_per_dim, {})
