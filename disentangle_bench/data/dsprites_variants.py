"""dSprites variants of disentanglement_lib (Locatello et al. 2019, ``dsprites.py``).

Ground-truth factors are identical to dSprites; the colour and the noise are nuisance randomness
drawn from the ``rng`` passed in, so the same factors give different observations on each call.

* ``color-dsprites``: the sprite mask on 3 channels, multiplied by one colour per sample drawn
  from U(0.5, 1)³; black background.
* ``noisy-dsprites``: ``min(mask + U(0, 1) noise, 1)`` with i.i.d. noise per pixel and channel:
  a white sprite on a uniform-noise background.

Both work on either dSprites source: ``source="procedural"`` (default, offline) or ``"file"``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import dsprites_spec as spec
from .base import GroundTruthDataset


def dsprites_source(source: str = "procedural", path: str | Path | None = None
                    ) -> spec.BinaryDSprites:
    """The binary dSprites a variant is built on: ``"procedural"`` or the real ``"file"``."""
    if source == "procedural":
        if path is not None:
            raise ValueError("path= only applies to source='file'")
        from .dsprites_procedural import ProceduralDSprites

        return ProceduralDSprites()
    if source == "file":
        from .dsprites_file import DSpritesFile

        return DSpritesFile(path)
    raise ValueError(f"source must be 'procedural' or 'file', got {source!r}")


class _DSpritesVariant(GroundTruthDataset):
    observation_shape = (3, spec.IMAGE_SIZE, spec.IMAGE_SIZE)
    factor_names = spec.FACTOR_NAMES
    factor_sizes = spec.FACTOR_SIZES  # the source's grid replaces it (a reduced file has its own)
    value_names = spec.BinaryDSprites.value_names
    deterministic = False  # colour / noise drawn per sample

    def __init__(self, source: str = "procedural", path: str | Path | None = None) -> None:
        self.source = dsprites_source(source, path)
        self.factor_sizes = self.source.factor_sizes

    @property
    def factor_values(self) -> tuple[np.ndarray, ...]:
        return self.source.factor_values

    def provenance(self) -> dict:
        """The dSprites source's record: the real file's (path, size, SHA-256) with
        ``source="file"``, "generated (no file)" with the procedural source."""
        return self.source.provenance()


class ColorDSprites(_DSpritesVariant):
    """dSprites with the sprite coloured by a random RGB in U(0.5, 1)³ per sample."""

    name = "color-dsprites"

    def sample_observations_from_factors(
        self, factors: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        masks = self.source.masks(factors)
        colors = rng.uniform(0.5, 1.0, size=(len(masks), 3, 1, 1)).astype(np.float32)
        return masks[:, None].astype(np.float32) * colors


class NoisyDSprites(_DSpritesVariant):
    """dSprites as a white sprite on an i.i.d. U(0, 1) noise background (3 channels)."""

    name = "noisy-dsprites"

    def sample_observations_from_factors(
        self, factors: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        masks = self.source.masks(factors)
        noise = rng.random(size=(len(masks), *self.observation_shape), dtype=np.float32)
        return np.minimum(masks[:, None] + noise, np.float32(1.0))
