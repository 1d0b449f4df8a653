"""``cars3d``: Cars3D (Reed, Zhang, Zhang & Lee, "Deep Visual Analogy-Making", NeurIPS 2015).

The ``cars/`` folder of ``nips2015-analogy-data.tar.gz`` (http://www.scottreed.info) holds one
MATLAB file per car, ``car_*_mesh.mat``, whose ``im`` is uint8 (128, 128, 3, 24, 4): height,
width, RGB, azimuth (24), elevation (4). Each image is resized to 64×64 with the Lanczos filter
(disentanglement_lib's ``thumbnail(..., ANTIALIAS)``). Factors: elevation 4, azimuth 24, object
(one per file, 183 in the published folder), object fastest. Objects are numbered by sorted file
name (disentanglement_lib numbers them in directory-listing order, which differs between file
systems). The number of cars is read from the folder, so a reduced folder loads too. All
17,568 resized images are kept in memory as uint8 (216 MB) and cached in the folder
(``.cars3d-64x64.<key>.npy``, rebuilt when any car file changes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io

from .base import DatasetError, GroundTruthDataset
from .files import (
    FileDataset,
    bad_file_error,
    cached_derived_array,
    find_data_dir,
    folder_provenance,
    missing_file_error,
    signature_problem,
)
from .resize import resize_uint8

DIR_NAME = "cars"
PATTERN = "car_*_mesh.mat"
MESH_SHAPE = (128, 128, 3, 24, 4)
SOURCE = ("http://www.scottreed.info/files/nips2015-analogy-data.tar.gz (unpack it and keep "
          "its data/cars folder)")


class Cars3D(FileDataset, GroundTruthDataset):
    """Cars3D from a ``cars/`` folder of ``car_*_mesh.mat`` files (``path``, else looked up)."""

    name = "cars3d"
    file_name = f"{DIR_NAME}/ (folder of {PATTERN})"
    file_kind = "mat5"
    factor_names = ("elevation", "azimuth", "object")
    factor_sizes = (4, 24, 183)
    observation_shape = (3, 64, 64)
    deterministic = True

    def __init__(self, path: str | Path | None = None) -> None:
        if path is None:
            path = self.locate()
            if path is None:
                raise missing_file_error(self.name, None, file_name=self.file_name,
                                         source=SOURCE)
        self.path = Path(path)
        if not self.path.is_dir():
            raise DatasetError(f"Cars3D folder {self.path} does not exist")
        self.files = sorted(self.path.glob(PATTERN), key=lambda p: p.name)
        if not self.files:
            raise DatasetError(f"{self.path}: no {PATTERN} files in it; put the cars/ folder of "
                               f"{SOURCE} there")
        self.factor_sizes = (4, 24, len(self.files))
        self._images = cached_derived_array(self.files, "cars3d-64x64", self._read_all,
                                            (len(self), 64, 64, 3))

    def _read_all(self) -> np.ndarray:
        images = np.empty((len(self), 64, 64, 3), dtype=np.uint8)
        for car, mesh_file in enumerate(self.files):
            views = self._read_mesh(mesh_file)  # (elevation, azimuth, 64, 64, 3)
            images[car::len(self.files)] = views.reshape(-1, 64, 64, 3)
        return images

    @classmethod
    def locate(cls) -> Path | None:
        return find_data_dir(DIR_NAME)

    @classmethod
    def quick_check(cls, path: Path) -> str | None:
        found = sorted(Path(path).glob(PATTERN))
        if not found:
            return f"no {PATTERN} files in it"
        return signature_problem(found[0], "mat5")

    def provenance(self) -> dict:
        """The folder, its number of car files, and one SHA-256 over the files' SHA-256s (no
        checksum is published)."""
        return {**folder_provenance(self.path, self.files), "object_order": "sorted file names"}

    def sample_observations_from_factors(
        self, factors: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """float32 (n, 3, 64, 64) in [0, 1]; deterministic, ``rng`` is unused."""
        images = self._images[self.index_of(factors)]
        return images.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255.0)

    def _read_mesh(self, mesh_file: Path) -> np.ndarray:
        """uint8 (4 elevations, 24 azimuths, 64, 64, 3) from one car's ``im``."""
        problem = signature_problem(mesh_file, "mat5")
        if problem:
            raise bad_file_error(mesh_file, "Cars3D", problem)
        try:
            mesh = scipy.io.loadmat(mesh_file, variable_names=["im"]).get("im")
        except (OSError, ValueError, TypeError, EOFError, NotImplementedError) as error:
            raise bad_file_error(mesh_file, "Cars3D",
                                 f"cannot read it ({type(error).__name__}: {error})") from error
        if mesh is None or not isinstance(mesh, np.ndarray):
            raise bad_file_error(mesh_file, "Cars3D", "it has no variable 'im'")
        if mesh.dtype != np.uint8 or mesh.shape != MESH_SHAPE:
            raise bad_file_error(mesh_file, "Cars3D", f"im is {mesh.dtype} {mesh.shape}, "
                                 f"expected uint8 {MESH_SHAPE}")
        views = np.ascontiguousarray(mesh.transpose(4, 3, 0, 1, 2))  # elevation, azimuth, H, W, C
        return resize_uint8(views.reshape(-1, 128, 128, 3), 64).reshape(4, 24, 64, 64, 3)
