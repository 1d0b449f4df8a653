"""The dSprites factor grid, exactly as in the real file's metadata (Matthey et al. 2017).

``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz``: factors color(1), shape(3: square, ellipse,
heart), scale(6: linspace(0.5, 1, 6)), orientation(40: linspace(0, 2π, 40), so classes 0 and 39
are the same angle), posX(32) and posY(32) (linspace(0, 1, 32)); posY varies fastest. Shared by
the real-file loader, the procedural replica and the colour/noise variants.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np

from .base import GroundTruthDataset

FACTOR_NAMES: tuple[str, ...] = ("color", "shape", "scale", "orientation", "posX", "posY")
FACTOR_SIZES: tuple[int, ...] = (1, 3, 6, 40, 32, 32)
SHAPE_NAMES: tuple[str, ...] = ("square", "ellipse", "heart")
IMAGE_SIZE = 64
FILE_NAME = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
FILE_URL = (
    "https://github.com/deepmind/dsprites-dataset/raw/master/"
    "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
)
FILE_MD5 = "7da33b31b13a06f4b04a70402ce90c2e"


def factor_values() -> tuple[np.ndarray, ...]:
    """The float values of every factor class, as ``latents_possible_values`` in the file."""
    return (
        np.array([1.0]),
        np.array([1.0, 2.0, 3.0]),
        np.linspace(0.5, 1.0, 6),
        np.linspace(0.0, 2.0 * np.pi, 40),
        np.linspace(0.0, 1.0, 32),
        np.linspace(0.0, 1.0, 32),
    )


class BinaryDSprites(GroundTruthDataset):
    """A dSprites source: binary 1×64×64 masks on the dSprites factor grid.

    Subclasses implement :meth:`masks` (the file loader reads its grid from the file, so a reduced
    grid written by tests works; the procedural replica always has the full grid). The colour and
    noise variants are built on :meth:`masks`.
    """

    factor_names: tuple[str, ...] = FACTOR_NAMES
    factor_sizes: tuple[int, ...] = FACTOR_SIZES
    observation_shape = (1, IMAGE_SIZE, IMAGE_SIZE)
    value_names = {"shape": SHAPE_NAMES}
    deterministic = True  # the file and the procedural replica: one mask per factor tuple

    @property
    def factor_values(self) -> tuple[np.ndarray, ...]:
        """Float value of each class of each factor (``latents_possible_values``)."""
        return factor_values()

    @abstractmethod
    def masks(self, factors: np.ndarray) -> np.ndarray:
        """uint8 (n, 64, 64) images with values 0/1 for int factor classes (n, 6)."""

    def sample_observations_from_factors(
        self, factors: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """float32 (n, 1, 64, 64) in {0, 1}; deterministic, ``rng`` is unused."""
        return self.masks(factors)[:, None].astype(np.float32)
