"""AnnealedVAE: β-VAE with a controlled capacity increase (Burgess et al. 2018, "Understanding
disentangling in β-VAE", arXiv:1804.03599, Eq. 8), as in disentanglement_lib.

``loss = reconstruction + γ · |KL − C(step)|``, with the capacity
``C(step) = min(c_max, c_max · step / iteration_threshold)`` growing linearly from 0.

Hyperparameters: ``gamma`` ≥ 0 (default 1000), ``c_max`` ≥ 0 nats (default 25; study grid
{5, 10, 25, 50, 75, 100}), ``iteration_threshold`` > 0 steps to reach ``c_max`` (default 100000).

The study's threshold is 100,000 of its 300,000 steps. A sweep with another step budget scales
it (:func:`scaled_iteration_threshold`): the capacity reaches ``c_max`` after the same third of
the run. Unscaled, a 1,500-step run would end at C = 0.4 nats and collapse every latent.
"""

from __future__ import annotations

import torch

from .base import Objective, _require_number

#: disentanglement_lib's study: the capacity reaches c_max at 100,000 of 300,000 steps.
STUDY_ITERATION_THRESHOLD = 100_000
STUDY_STEPS = 300_000


def scaled_iteration_threshold(steps: int) -> int:
    """The study's capacity schedule scaled to a run of ``steps`` steps:
    ``max(1, round(steps · 100,000 / 300,000))``, so C reaches ``c_max`` a third of the way
    through, as in the study (300,000 steps give its 100,000 exactly)."""
    return max(1, round(int(steps) * STUDY_ITERATION_THRESHOLD / STUDY_STEPS))


def capacity(c_max: float, step: int, iteration_threshold: float) -> float:
    """Burgess et al.'s linearly annealed capacity ``min(c_max, c_max · step / threshold)``."""
    return min(float(c_max), float(c_max) * step / float(iteration_threshold))


class AnnealedVAE(Objective):
    """γ·|KL − C| with C annealed linearly from 0 to ``c_max`` over ``iteration_threshold``."""

    name = "annealed_vae"
    defaults = {"gamma": 1000.0, "c_max": 25.0, "iteration_threshold": 100000}

    @classmethod
    def check_hparams(cls, hparams):
        for key, value in hparams.items():
            strict = key == "iteration_threshold"
            _require_number(cls.name, key, value, minimum=0.0, strict=strict)

    def regulariser(self, kl, mean, logvar, z, step):
        c = capacity(self.c_max, step, self.iteration_threshold)
        return self.gamma * (kl - c).abs(), {"capacity": torch.tensor(c, device=kl.device)}
