"""FactorVAE (Kim & Mnih 2018, "Disentangling by factorising", arXiv:1802.05983, Eq. 2 and
Algorithm 2), as in disentanglement_lib.

    loss = reconstruction + KL + γ · TC,   TC ≈ mean_batch [D(z)_0 − D(z)_1]

where ``D`` is a discriminator (6 × 1000 leaky-ReLU MLP, 2 logits) trained to tell samples of
q(z) (class 0) from samples of the product of its marginals (class 1), the latter made by
permuting every latent dimension independently across the **same** batch ("permute-dims").
The difference of its logits estimates the density ratio, hence the total correlation.

The discriminator minimises ``−[½ mean log D(z)_0 + ½ mean log D(perm(z))_1]`` with the
probabilities clipped to [1e-6, 1 − 1e-6]; the gradient of ``discriminator_loss`` is taken with
respect to the discriminator's parameters only, which are in turn left out of the VAE update.
It has its own Adam optimiser (lr 1e-4, betas (0.5, 0.9), ``DISCRIMINATOR_ADAM``). Both updates
use the same batch and the parameters from before the step, like disentanglement_lib's grouped
train ops. (disentanglement_lib's two train ops both increment ``global_step``, so its FactorVAE
runs see half as many batches as the step count says; here one step is one batch.)

Hyperparameters: ``gamma`` ≥ 0 (default 40; study grid {10, 20, 30, 40, 50, 100});
``discriminator_width`` and ``discriminator_depth`` (defaults 1000 and 6, the paper's and
disentanglement_lib's; smaller values only to make tests fast).
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F

from .architectures import fc_discriminator
from .base import ADAM, LossOutput, Objective, OptimizerGroup, _require_number

DISCRIMINATOR_ADAM = {"lr": 1e-4, "betas": (0.5, 0.9), "eps": 1e-8}
_LOG_CLIP = (math.log(1e-6), math.log1p(-1e-6))


def permute_dims(z: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Shuffle each latent dimension independently across the batch (Kim & Mnih, Alg. 1)."""
    n, d = z.shape
    keys = torch.rand((n, d), generator=generator, device=z.device)
    return torch.gather(z, 0, keys.argsort(dim=0))


class FactorVAE(Objective):
    """KL + γ·TC, the TC estimated by an adversarially trained discriminator."""

    name = "factor_vae"
    defaults = {"gamma": 40.0, "discriminator_width": 1000, "discriminator_depth": 6}

    def __init__(self, encoder, decoder, **hparams):
        super().__init__(encoder, decoder, **hparams)
        self.discriminator = fc_discriminator(
            self.latent_dim, width=self.discriminator_width, depth=self.discriminator_depth
        )

    @classmethod
    def check_hparams(cls, hparams):
        for key, value in hparams.items():
            if key == "gamma":
                _require_number(cls.name, key, value, minimum=0.0)
            elif isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{cls.name}: {key} must be an integer >= 1, got {value!r}")

    def optimizers(self, lr: float) -> list[OptimizerGroup]:
        """The VAE's Adam (the config's lr) over everything but the discriminator, minimising
        ``loss``; the discriminator's own Adam (:data:`DISCRIMINATOR_ADAM`) minimising
        ``discriminator_loss``."""
        discriminator = list(self.discriminator.parameters())
        ids = {id(p) for p in discriminator}
        vae = [p for p in self.parameters() if id(p) not in ids]
        return [OptimizerGroup("model", vae, "loss", options={"lr": lr, **ADAM}),
                OptimizerGroup("discriminator", discriminator, "discriminator_loss",
                               options=dict(DISCRIMINATOR_ADAM))]

    def loss(
        self, x: torch.Tensor, step: int, generator: torch.Generator | None = None
    ) -> LossOutput:
        out = super().loss(x, step, generator)
        z = out.extras.pop("_z")
        permuted = permute_dims(z.detach(), generator)
        logits = self.discriminator(torch.cat([z, permuted])).float()
        real, fake = logits[: len(z)], logits[len(z) :]
        tc = (real[:, 0] - real[:, 1]).mean()
        log_p_real = F.log_softmax(real, 1)[:, 0].clamp(*_LOG_CLIP)
        log_p_fake = F.log_softmax(fake, 1)[:, 1].clamp(*_LOG_CLIP)
        out.discriminator_loss = -0.5 * (log_p_real.mean() + log_p_fake.mean())
        hits = torch.cat([real.argmax(1) == 0, fake.argmax(1) == 1]).float()
        accuracy = hits.mean()  # balanced: as many permuted as real samples
        out.loss = out.loss + self.gamma * tc
        out.extras.update(
            tc=tc.detach(),
            discriminator_loss=out.discriminator_loss.detach(),
            discriminator_accuracy=accuracy,
        )
        return out

    def regulariser(self, kl, mean, logvar, z, step):
        # The γ·TC term needs the discriminator; it is added in ``loss``.
        return kl, {"_z": z}
