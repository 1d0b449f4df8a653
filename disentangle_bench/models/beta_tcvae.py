"""β-TCVAE (Chen et al. 2018, "Isolating sources of disentanglement in VAEs",
arXiv:1802.04942, Eq. 4 with α = γ = 1), as in disentanglement_lib.

The KL term decomposes (Chen et al. Eq. 2) as

    E_x KL(q(z|x) ‖ p(z)) = I_q(x; z)  +  KL(q(z) ‖ Π_j q(z_j))  +  Σ_j KL(q(z_j) ‖ p(z_j))
                            index-code MI   total correlation (TC)     dimension-wise KL

and β-TCVAE penalises only the TC more: ``loss = reconstruction + KL + (β − 1) · TC``.

The TC is estimated on the minibatch with minibatch-weighted sampling (Chen et al. §C.1):
``log q(z) ≈ logsumexp_i log q(z|x_i) − log(N·M)`` for batch size M and dataset size N. The
training loss uses disentanglement_lib's form, which drops the constant ``(d − 1)·log(N·M)``
(no effect on gradients); :func:`kl_decomposition` gives all four terms with the constants.

Hyperparameter ``beta`` ≥ 0 (default 6; study grid {1, 2, 4, 6, 8, 10}).
"""

from __future__ import annotations

import math

import torch

from .base import Objective

_LOG_2PI = math.log(2.0 * math.pi)


def gaussian_log_density(z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Elementwise log N(z; mean, exp(logvar))."""
    return -0.5 * ((z - mean).square() * torch.exp(-logvar) + logvar + _LOG_2PI)


def _pairwise_log_density(z, mean, logvar) -> torch.Tensor:
    """``[j, i, l] = log q(z_jl | x_i)``: every sample against every posterior, (M, M, d)."""
    return gaussian_log_density(z[:, None, :], mean[None, :, :], logvar[None, :, :])


def total_correlation(z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Minibatch-weighted-sampling TC estimate without its constant (disentanglement_lib):
    ``mean_j [logsumexp_i Σ_l log q(z_jl|x_i) − Σ_l logsumexp_i log q(z_jl|x_i)]``."""
    log_q = _pairwise_log_density(z, mean, logvar)
    log_qz = torch.logsumexp(log_q.sum(2), dim=1)
    log_prod_marginals = torch.logsumexp(log_q, dim=1).sum(1)
    return (log_qz - log_prod_marginals).mean()


def kl_decomposition(
    z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor, dataset_size: int
) -> dict[str, torch.Tensor]:
    """Chen et al.'s decomposition of the batch's Monte-Carlo KL estimate (Eq. 2), in nats.

    With ``log q(z)`` and ``log q(z_l)`` from minibatch-weighted sampling, returns
    ``mutual_information = mean[log q(z|x) − log q(z)]``, ``total_correlation =
    mean[log q(z) − Σ_l log q(z_l)]``, ``dimensionwise_kl = mean[Σ_l log q(z_l) − log p(z)]`` and
    ``kl = mean[log q(z|x) − log p(z)]``; the first three sum to ``kl``, which estimates the
    analytic KL of :meth:`Objective.loss`.
    """
    batch = z.shape[0]
    log_norm = math.log(batch * dataset_size)
    log_q = _pairwise_log_density(z, mean, logvar)
    log_q_given_x = gaussian_log_density(z, mean, logvar).sum(1)
    log_qz = torch.logsumexp(log_q.sum(2), dim=1) - log_norm
    log_qz_marginals = (torch.logsumexp(log_q, dim=1) - log_norm).sum(1)
    log_pz = gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z)).sum(1)
    return {
        "mutual_information": (log_q_given_x - log_qz).mean(),
        "total_correlation": (log_qz - log_qz_marginals).mean(),
        "dimensionwise_kl": (log_qz_marginals - log_pz).mean(),
        "kl": (log_q_given_x - log_pz).mean(),
    }


class BetaTCVAE(Objective):
    """β-TCVAE: ``KL + (β − 1)·TC`` with the minibatch-weighted-sampling TC estimate."""

    name = "beta_tcvae"
    defaults = {"beta": 6.0}

    def regulariser(self, kl, mean, logvar, z, step):
        tc = total_correlation(z, mean, logvar)
        return kl + (self.beta - 1.0) * tc, {"tc": tc}
