"""``shapes3d``: the real 3D Shapes file (Burgess & Kim 2018, deepmind/3d-shapes).

``3dshapes.h5`` holds ``images`` uint8 (N, 64, 64, 3) and ``labels`` float64 (N, 6) with the factor
*values* (not class indices) of floor_hue(10), wall_hue(10), object_hue(10), scale(8),
shape(4), orientation(15), orientation varying fastest. Classes are recovered by ranking each
column's distinct values; the sizes are read from the file, so a reduced file in the same format
loads too. Images are read lazily from the HDF5 file (``in_memory=True`` loads all of them:
5.9 GB for the real file); observations are float32 (n, 3, 64, 64) in [0, 1].
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from .base import DatasetError, GroundTruthDataset
from .files import FileDataset, bad_file_error, check_signature, file_provenance, missing_file_error

FILE_NAME = "3dshapes.h5"
FACTOR_NAMES = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
FACTOR_SIZES = (10, 10, 10, 8, 4, 15)


class Shapes3D(FileDataset, GroundTruthDataset):
    """3D Shapes from ``3dshapes.h5`` (``path``, else looked up in the data dirs)."""

    name = "shapes3d"
    file_name = FILE_NAME
    file_subdir = "3dshapes"
    file_kind = "hdf5"
    deterministic = True
    factor_names = FACTOR_NAMES
    factor_sizes = FACTOR_SIZES
    observation_shape = (3, 64, 64)

    def __init__(self, path: str | Path | None = None, in_memory: bool = False) -> None:
        if path is None:
            path = self.locate()
            if path is None:
                raise missing_file_error("shapes3d", offline_alternative=None)
        self.path = Path(path)
        if not self.path.is_file():
            raise DatasetError(f"3D Shapes file {self.path} does not exist")
        check_signature(self.path, "hdf5", "3D Shapes")
        try:
            self._file = h5py.File(self.path, "r")
        except OSError as error:
            raise self._fail(f"HDF5 cannot open it ({error})") from error
        self._images = self._validate()
        if in_memory:
            self._images = self._read(self._images, slice(None))

    def __getstate__(self) -> dict:
        """Picklable (for process pools): the lazy HDF5 handle is reopened on unpickling."""
        state = dict(self.__dict__)
        state.pop("_file")
        if not isinstance(self._images, np.ndarray):
            state.pop("_images")
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._file = h5py.File(self.path, "r")
        if "_images" not in state:
            self._images = self._file["images"]

    @property
    def factor_values(self) -> tuple[np.ndarray, ...]:
        return self._factor_values

    def provenance(self) -> dict:
        """The file every run records: path, size, SHA-256, published SHA-256 check."""
        return file_provenance(self.path, "shapes3d")

    def sample_observations_from_factors(
        self, factors: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """float32 (n, 3, 64, 64) in [0, 1]; deterministic, ``rng`` is unused."""
        rows = self.index_of(factors)
        # h5py fancy indexing needs increasing, unique indices: read those, then expand.
        unique, inverse = np.unique(rows, return_inverse=True)
        if isinstance(self._images, np.ndarray):
            images = self._images[rows]
        else:
            images = self._read(self._images, unique)[inverse]
        return images.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255.0)

    # ---- validation ----------------------------------------------------------------------
    def _fail(self, what: str) -> DatasetError:
        return bad_file_error(self.path, "3D Shapes", what)

    def _read(self, dataset: h5py.Dataset, selection) -> np.ndarray:
        try:
            return dataset[selection]
        except OSError as error:  # truncated or corrupt chunks surface only when read
            raise self._fail(f"cannot read images ({error})") from error

    def _validate(self) -> h5py.Dataset:
        for key in ("images", "labels"):
            if not isinstance(self._file.get(key), h5py.Dataset):
                raise self._fail(f"missing key {key!r} (has {sorted(self._file.keys())})")
        images, labels = self._file["images"], self._file["labels"]
        if labels.dtype != np.float64 or labels.ndim != 2 or labels.shape[1] != 6:
            raise self._fail(f"labels is {labels.dtype} {labels.shape}, expected float64 (N, 6)")
        try:
            values = labels[()]
        except OSError as error:
            raise self._fail(f"cannot read labels ({error})") from error
        self._factor_values = tuple(np.unique(column) for column in values.T)
        self.factor_sizes = tuple(len(v) for v in self._factor_values)
        n = len(self)
        if images.dtype != np.uint8 or images.shape != (n, 64, 64, 3) or len(values) != n:
            raise self._fail(
                f"images is {images.dtype} {images.shape} and labels has {len(values)} rows; "
                f"expected uint8 ({n}, 64, 64, 3) and {n} rows for factor sizes {self.factor_sizes}"
            )
        classes = np.stack(
            [np.searchsorted(v, column) for v, column in zip(self._factor_values, values.T)],
            axis=1,
        )
        if not np.array_equal(classes, self.factors_of(np.arange(n))):
            raise self._fail("labels are not in row-major order (orientation fastest)")
        return images
