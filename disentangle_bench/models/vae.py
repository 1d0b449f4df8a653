"""Variational autoencoder (Kingma & Welling 2013, arXiv:1312.6114, Eq. 10 with one sample).

``loss = reconstruction + KL(q(z|x) ‖ N(0, I))``, the negative ELBO.
"""

from __future__ import annotations

from .base import Objective


class VAE(Objective):
    """Plain VAE: the regulariser is the KL term with weight 1."""

    name = "vae"
    defaults = {}

    def regulariser(self, kl, mean, logvar, z, step):
        return kl, {}
