"""A tiny synthetic ground-truth dataset for fast tests.

Binary 1×16×16 images of a filled square: factors ``size`` (3 values: side 3, 5, 7 pixels),
``posX`` and ``posY`` (8 values each, the square's top-left corner spread evenly so the square
never leaves the frame), and a constant ``color`` factor (1 value) so that code paths that must
skip constant factors are exercised, like dSprites' colour. 192 observations in total.
"""

from __future__ import annotations

import numpy as np

from .base import GroundTruthDataset

_SIDES = (3, 5, 7)
_POSITIONS = 8
_IMAGE = 16


class TinySquares(GroundTruthDataset):
    name = "tiny"
    factor_names = ("color", "size", "posX", "posY")
    factor_sizes = (1, len(_SIDES), _POSITIONS, _POSITIONS)
    observation_shape = (1, _IMAGE, _IMAGE)
    deterministic = True

    def sample_observations_from_factors(
        self, factors: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        factors = self._check_factors(factors)
        side = np.asarray(_SIDES)[factors[:, 1]]
        span = _IMAGE - side  # largest top-left coordinate that keeps the square inside
        x0 = np.rint(factors[:, 2] * span / (_POSITIONS - 1)).astype(np.int64)
        y0 = np.rint(factors[:, 3] * span / (_POSITIONS - 1)).astype(np.int64)
        grid = np.arange(_IMAGE)
        in_x = (grid[None, :] >= x0[:, None]) & (grid[None, :] < (x0 + side)[:, None])
        in_y = (grid[None, :] >= y0[:, None]) & (grid[None, :] < (y0 + side)[:, None])
        images = in_y[:, :, None] & in_x[:, None, :]  # (n, H=y, W=x)
        return images[:, None].astype(np.float32)
