"""β-VAE (Higgins et al. 2017, "β-VAE: Learning basic visual concepts with a constrained
variational framework", ICLR, Eq. 4).

``loss = reconstruction + β · KL(q(z|x) ‖ N(0, I))``. Hyperparameter ``beta`` ≥ 0 (default 4,
Higgins et al.'s dSprites value; disentanglement_lib's study grid is β ∈ {1, 2, 4, 6, 8, 16}).
"""

from __future__ import annotations

from .base import Objective


class BetaVAE(Objective):
    """β-VAE: the KL term weighted by ``beta``."""

    name = "beta_vae"
    defaults = {"beta": 4.0}

    def regulariser(self, kl, mean, logvar, z, step):
        return self.beta * kl, {}
