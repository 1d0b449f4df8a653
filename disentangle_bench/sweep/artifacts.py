"""Arrays a run stores for the report: per-dimension KL, traversals and reconstructions.

Computed once at the end of a run from the trained model, so that the report depends on the
store alone (no model loading, no torch) and can be rebuilt anywhere.

* ``kl_per_dim`` (d,): mean over ``eval_images`` fresh images of
  KL(q(z_j|x) || N(0, 1)) = 0.5 (μ_j² + σ_j² − log σ_j² − 1) (Kingma & Welling 2013, App. B),
  zero for a deterministic encoder.
* ``code_mean``/``code_std`` (d,): mean and standard deviation of the posterior means over the
  same images.
* ``traversal_order`` (d,): latent indices sorted by KL, largest first (by ``code_std`` when the
  model has no KL, e.g. the AE).
* ``traversals`` uint8 (bases, d, steps, C, H, W), rows in ``traversal_order``: the base images'
  codes with latent j replaced by each of ``steps`` values in ``traversal_values[j]`` — the prior
  range ±``span`` for a VAE-type model, the fitted range mean ± ``span``·std for a model without KL.
* ``inputs``/``reconstructions`` uint8 (n, C, H, W): test images and the decoder's mean output.
* ``reconstruction_nll_sampled`` (eval_images,): the objective's reconstruction term per image,
  z sampled from q(z|x) (the headline ``reconstruction``, as disentanglement_lib reports it);
  ``reconstruction_nll`` (eval_images,): decoded from the posterior mean instead.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

#: Default sizes (recorded in every RunSpec's ``artifacts`` field, hence in its id).
DEFAULT_ARTIFACTS: dict[str, Any] = {
    "eval_images": 1000,
    "base_images": 3,
    "traversal_steps": 9,
    "traversal_span": 2.0,
    "reconstructions": 8,
}


class Decodable(Protocol):
    latent_dim: int
    has_posterior: bool

    def encode(self, observations: np.ndarray) -> np.ndarray: ...
    def posterior(self, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...
    def decode(self, codes: np.ndarray) -> np.ndarray: ...
    def reconstruction_nll(self, observations: np.ndarray) -> np.ndarray: ...
    def sampled_reconstruction_nll(self, observations: np.ndarray, seed: int) -> np.ndarray: ...


def gaussian_kl_per_dim(mean: np.ndarray, logvar: np.ndarray | None) -> np.ndarray:
    """Mean over samples of KL(N(mean, exp(logvar)) || N(0, 1)) per dimension, in nats
    (``metrics.kl_to_standard_normal``); zeros for a deterministic encoder (no ``logvar``)."""
    from ..metrics import kl_to_standard_normal

    if logvar is None:
        return np.zeros(np.shape(mean)[1])
    return kl_to_standard_normal(mean, logvar)


def to_uint8(images: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.asarray(images, np.float64) * 255.0), 0, 255).astype(np.uint8)


def compute_artifacts(model: Decodable, dataset: Any, *, seed: int,
                      settings: dict[str, Any] | None = None) -> dict[str, np.ndarray]:
    """The report's arrays for one trained model (see the module docstring)."""
    settings = {**DEFAULT_ARTIFACTS, **(settings or {})}
    rng = np.random.default_rng([int(seed), 7919])  # fixed stream, independent of metric seeds
    observations = dataset.sample_observations(int(settings["eval_images"]), rng)
    mean, logvar = _posterior(model, observations)
    kl = gaussian_kl_per_dim(mean, logvar)
    code_mean, code_std = mean.mean(axis=0), mean.std(axis=0)
    has_kl = logvar is not None and float(kl.sum()) > 0.0
    order = np.argsort(-(kl if has_kl else code_std), kind="stable")

    span, steps = float(settings["traversal_span"]), int(settings["traversal_steps"])
    offsets = np.linspace(-span, span, steps)
    if has_kl:
        values = np.broadcast_to(offsets, (mean.shape[1], steps)).copy()
    else:
        values = code_mean[:, None] + code_std[:, None] * offsets[None, :]

    bases = mean[: int(settings["base_images"])]
    traversals = np.stack([_traverse(model, base, order, values) for base in bases])

    n_recon = int(settings["reconstructions"])
    inputs = observations[:n_recon]
    reconstructions = model.decode(mean[:n_recon])
    nll = np.asarray(model.reconstruction_nll(observations), np.float64)
    # the objective's sampled-z term, on the same images, from its own fixed noise stream
    sampled = np.asarray(model.sampled_reconstruction_nll(
        observations, seed=int(np.random.SeedSequence([int(seed), 7919, 1]).generate_state(1)[0])),
        np.float64)
    return {
        "kl_per_dim": kl,
        "code_mean": code_mean,
        "code_std": code_std,
        "traversal_order": order,
        "traversal_values": values[order],
        "traversals": to_uint8(traversals),
        "base_inputs": to_uint8(observations[: len(bases)]),
        "inputs": to_uint8(inputs),
        "reconstructions": to_uint8(reconstructions),
        "reconstruction_nll": nll,
        "reconstruction_nll_sampled": sampled,
        "prior_range": np.asarray(has_kl),
    }


def summarize_artifacts(arrays: dict[str, np.ndarray], *, active_threshold: float) -> dict:
    """The headline numbers of a run from its artifacts (nats per image, mean over the
    ``eval_images``): ``reconstruction``, the objective's reconstruction term with z sampled
    from q(z|x) as disentanglement_lib reports it (NaN for artifacts written before it was
    stored), and ``reconstruction_posterior_mean``, decoded from the posterior mean; total KL
    (nats), and active units (latents whose mean KL exceeds ``active_threshold``).
    KL and active units are NaN for a model without a posterior (the AE): undefined, not 0."""
    kl = np.asarray(arrays["kl_per_dim"], np.float64)
    has_posterior = bool(arrays["prior_range"])
    sampled = arrays.get("reconstruction_nll_sampled")
    return {
        "reconstruction": float(np.mean(sampled)) if sampled is not None else float("nan"),
        "reconstruction_posterior_mean": float(np.mean(arrays["reconstruction_nll"])),
        "kl": float(kl.sum()) if has_posterior else float("nan"),
        "active_units": int((kl > active_threshold).sum()) if has_posterior else float("nan"),
    }


def _posterior(model: Decodable, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    if not getattr(model, "has_posterior", True):  # the AE: a deterministic code, no KL
        return np.asarray(model.encode(observations), np.float64), None
    mean, logvar = model.posterior(observations)
    mean = np.asarray(mean, np.float64)
    if logvar is None:
        return mean, None
    return mean, np.asarray(logvar, np.float64)


def _traverse(model: Decodable, base: np.ndarray, order: np.ndarray,
              values: np.ndarray) -> np.ndarray:
    """Decoded images (d, steps, C, H, W): row r sweeps latent ``order[r]`` over its values."""
    steps = values.shape[1]
    codes = np.repeat(np.asarray(base, np.float64)[None, None, :], len(order), axis=0)
    codes = np.repeat(codes, steps, axis=1)  # (d, steps, d)
    for row, dim in enumerate(order):
        codes[row, :, dim] = values[dim]
    images = model.decode(codes.reshape(-1, codes.shape[-1]).astype(np.float32))
    return np.asarray(images).reshape(len(order), steps, *np.asarray(images).shape[1:])
