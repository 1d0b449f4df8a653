"""``scream-dsprites``: dSprites over a patch of *The Scream* (Locatello et al. 2019,
disentanglement_lib's ``ScreamDSprites``).

For each observation a 64×64 patch is cut at a uniformly drawn position from the painting
(shrunk, keeping its aspect, to fit 350 × 274 pixels as disentanglement_lib's ``thumbnail``
does), its colours are shifted: ``(patch + c) / 2`` with ``c ~ U(0, 1)³`` drawn per observation,
and the sprite's pixels are inverted: ``1 - background``. Ground-truth factors are dSprites'
(on either source: ``source="procedural"``, the default, or the real ``"file"``); the patch and
the colour shift are nuisance randomness from the ``rng``.

The painting is an image file the user provides: ``scream.jpg`` (disentanglement_lib downloads
https://upload.wikimedia.org/wikipedia/commons/f/f4/The_Scream.jpg), in a data directory or its
``scream/`` folder. Pixels differ slightly from disentanglement_lib's: PIL decodes a large JPEG
at a reduced scale before its thumbnail, this loader decodes it whole and resizes with
:mod:`.resize`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .base import DatasetError
from .dsprites_variants import _DSpritesVariant
from .files import (
    FileDataset,
    bad_file_error,
    check_signature,
    file_provenance,
    missing_file_error,
)
from .resize import resize_uint8

THUMBNAIL = (274, 350)  # (height, width) bound of disentanglement_lib's thumbnail
PATCH = 64


def thumbnail_size(height: int, width: int) -> tuple[int, int]:
    """The size that fits ``THUMBNAIL`` keeping the aspect ratio (unchanged if it fits)."""
    scale = min(THUMBNAIL[0] / height, THUMBNAIL[1] / width)
    if scale >= 1:
        return height, width
    return max(1, round(height * scale)), max(1, round(width * scale))


class ScreamDSprites(FileDataset, _DSpritesVariant):
    """dSprites drawn over a random, colour-shifted patch of *The Scream* (3×64×64)."""

    name = "scream-dsprites"
    file_name = "scream.jpg"
    file_subdir = "scream"
    file_kind = "jpeg"
    deterministic = False  # the patch and its colour shift are drawn for each observation

    def __init__(self, source: str = "procedural", path: str | Path | None = None,
                 painting: str | Path | None = None) -> None:
        if painting is None:
            painting = self.locate()
            if painting is None:
                raise missing_file_error(self.name, None)
        self.painting_path = Path(painting)
        if not self.painting_path.is_file():
            raise DatasetError(f"painting file {self.painting_path} does not exist")
        self.painting = self._read_painting()
        super().__init__(source, path)

    def provenance(self) -> dict:
        """The painting file (SHA-256, none published) and the dSprites source's record."""
        return {"painting": file_provenance(self.painting_path, self.name),
                "painting_pixels": list(self.painting.shape[:2]),
                "dsprites": self.source.provenance()}

    def sample_observations_from_factors(
        self, factors: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """float32 (n, 3, 64, 64) in [0, 1]; patch position and colour shift drawn from ``rng``."""
        masks = self.source.masks(factors).astype(bool)
        n = len(masks)
        height, width = self.painting.shape[:2]
        top = rng.integers(0, height - PATCH, size=n)  # exclusive bound, as numpy's randint
        left = rng.integers(0, width - PATCH, size=n)
        shift = rng.uniform(0.0, 1.0, size=(n, 1, 1, 3)).astype(np.float32)
        rows = top[:, None] + np.arange(PATCH)
        columns = left[:, None] + np.arange(PATCH)
        patches = self.painting[rows[:, :, None], columns[:, None, :]]  # (n, 64, 64, 3)
        background = (patches + shift) / np.float32(2.0)
        observations = np.where(masks[..., None], np.float32(1.0) - background, background)
        return observations.transpose(0, 3, 1, 2).astype(np.float32)

    def _read_painting(self) -> np.ndarray:
        """float32 (H, W, 3) in [0, 1], shrunk to fit 350 × 274."""
        check_signature(self.painting_path, "jpeg", "painting (JPEG)")
        import matplotlib.image

        try:
            image = np.asarray(matplotlib.image.imread(self.painting_path, format="jpeg"))
        except (OSError, ValueError, SyntaxError) as error:
            raise bad_file_error(self.painting_path, "painting (JPEG)",
                                 f"cannot decode it ({type(error).__name__}: {error})") from error
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise bad_file_error(self.painting_path, "painting (JPEG)",
                                 f"it decodes to {image.dtype} {image.shape}, expected RGB")
        size = thumbnail_size(*image.shape[:2])
        if min(size) <= PATCH:
            raise bad_file_error(self.painting_path, "painting (JPEG)", f"it is {size[0]}×"
                                 f"{size[1]} pixels; a 64×64 patch needs more")
        if size != image.shape[:2]:
            image = resize_uint8(image[None], size)[0]
        return image.astype(np.float32) / np.float32(255.0)
