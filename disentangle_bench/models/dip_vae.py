"""DIP-VAE-I and DIP-VAE-II (Kumar et al. 2018, "Variational inference of disentangled latent
concepts from unlabeled observations", arXiv:1711.00848, Eqs. 6 and 7), as in
disentanglement_lib.

Both add to the VAE loss a penalty pushing a covariance matrix towards the identity:

    loss = reconstruction + KL + λ_od Σ_{i≠j} Cov_ij² + λ_d Σ_i (Cov_ii − 1)²

- DIP-VAE-I: ``Cov = Cov_batch[mean(x)]``, the covariance of the posterior means;
- DIP-VAE-II: ``Cov = E_batch[diag exp(logvar(x))] + Cov_batch[mean(x)]``, the covariance of
  the aggregate posterior q(z).

Hyperparameters ``lambda_od`` ≥ 0 and ``lambda_d`` ≥ 0. disentanglement_lib parameterises
``lambda_d = lambda_d_factor · lambda_od`` with factor 10 (DIP-I) and 1 (DIP-II) and sweeps
``lambda_od`` ∈ {1, 2, 5, 10, 20, 50}; the defaults here are ``lambda_od = 10`` with those
factors (DIP-I: ``lambda_d = 100``; DIP-II: ``lambda_d = 10``).
"""

from __future__ import annotations

import torch

from .base import Objective


def covariance(mean: torch.Tensor) -> torch.Tensor:
    """Biased batch covariance ``E[μ μᵀ] − E[μ] E[μ]ᵀ`` of the rows of ``mean``, (d, d)."""
    centred = mean - mean.mean(0, keepdim=True)
    return centred.T @ centred / mean.shape[0]


def dip_penalty(cov: torch.Tensor, lambda_od: float, lambda_d: float) -> torch.Tensor:
    """``λ_od Σ_{i≠j} cov_ij² + λ_d Σ_i (cov_ii − 1)²``."""
    diagonal = torch.diagonal(cov)
    off_diagonal = cov - torch.diag(diagonal)
    return lambda_od * off_diagonal.square().sum() + lambda_d * (diagonal - 1.0).square().sum()


class DIPVAEI(Objective):
    """DIP-VAE-I: penalise the covariance of the posterior means (Eq. 6)."""

    name = "dip_vae_i"
    defaults = {"lambda_od": 10.0, "lambda_d": 100.0}

    def dip_covariance(self, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return covariance(mean)

    def regulariser(self, kl, mean, logvar, z, step):
        penalty = dip_penalty(self.dip_covariance(mean, logvar), self.lambda_od, self.lambda_d)
        return kl + penalty, {"dip_penalty": penalty}


class DIPVAEII(DIPVAEI):
    """DIP-VAE-II: penalise the covariance of the aggregate posterior (Eq. 7)."""

    name = "dip_vae_ii"
    defaults = {"lambda_od": 10.0, "lambda_d": 10.0}

    def dip_covariance(self, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return torch.diag(logvar.exp().mean(0)) + covariance(mean)
