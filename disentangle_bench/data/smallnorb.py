"""``smallnorb``: SmallNORB (LeCun, Huang & Bottou 2004), as disentanglement_lib builds it.

https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/ publishes six gzipped files (gunzip them):
``smallnorb-5x46789x9x18x6x2x96x96-training-{dat,cat,info}.mat`` and
``smallnorb-5x01235x9x18x6x2x96x96-testing-{dat,cat,info}.mat``. Despite the name they are
NORB binary matrices: an int32 magic number giving the element type (0x1E3D4C55 uint8,
0x1E3D4C54 int32), int32 ``ndim``, then ``max(ndim, 3)`` int32 dimensions, then the data.
``dat`` is uint8 (24300, 2, 96, 96) (two cameras), ``cat`` int32 (24300,) the category,
``info`` int32 (24300, 4): instance, elevation (0-8), azimuth (0, 2, ..., 34), lighting (0-5).

As disentanglement_lib's ``norb.py``: both sets are merged (instances 4, 6-9 train, 0-3, 5 test:
10 per category), camera 0 only, images resized 96 -> 64 with the Lanczos filter, azimuth halved.
The grid is (category 5, instance 10, elevation 9, azimuth 18, lighting 6); the instance is a
nuisance, drawn uniformly for each observation from the ``rng`` and never a factor, so the
factors are category, elevation, azimuth, lighting. Grid sizes are read from the files (a reduced
set in the same format loads) and every combination must occur exactly once, in any row order.
The 48,600 resized images are kept in memory as uint8 (199 MB) and cached next to the files
(``.<dat file>.camera0-64x64.<key>.npy``, rebuilt when a file changes), so only the first load
pays for the resize.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .base import DatasetError, GroundTruthDataset
from .files import (
    FileDataset,
    bad_file_error,
    cached_derived_array,
    data_dirs,
    describe_content,
    folder_provenance,
    missing_file_error,
)
from .resize import resize_uint8

CHUNKS = ("smallnorb-5x46789x9x18x6x2x96x96-training",
          "smallnorb-5x01235x9x18x6x2x96x96-testing")
PARTS = ("dat", "cat", "info")
SUBDIR = "small_norb"
SOURCE = "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/ (the six .mat.gz files, gunzipped)"
MAGIC = {0x1E3D4C55: np.uint8, 0x1E3D4C54: np.int32, 0x1E3D4C51: np.float32,
         0x1E3D4C53: np.float64}
_RESIZE_CHUNK = 2048


def read_norb_header(path: Path) -> tuple[np.dtype, tuple[int, ...], int]:
    """``(dtype, dims, data offset)`` of a NORB binary matrix; raises ``DatasetError``."""
    with open(path, "rb") as handle:
        head = handle.read(512)
        if len(head) < 8:
            raise bad_file_error(path, "SmallNORB", describe_content(head))
        magic, ndim = np.frombuffer(head[:8], "<i4")
        if int(magic) not in MAGIC or not 0 < ndim <= 8:
            raise bad_file_error(path, "SmallNORB", "not a NORB binary matrix (magic "
                                 f"{int(magic) & 0xFFFFFFFF:#x}): {describe_content(head)}")
        stored = max(int(ndim), 3)
        raw = head[8:8 + 4 * stored]
    if len(raw) != 4 * stored:
        raise bad_file_error(path, "SmallNORB", "its header is cut short (truncated)")
    dims = tuple(int(d) for d in np.frombuffer(raw, "<i4")[:ndim])
    dtype = np.dtype(MAGIC[int(magic)]).newbyteorder("<")
    offset = 8 + 4 * stored
    expected = offset + int(np.prod(dims)) * dtype.itemsize
    size = path.stat().st_size
    if size != expected:
        raise bad_file_error(path, "SmallNORB", f"{size} bytes, but its header {dims} "
                             f"{np.dtype(dtype).name} needs {expected} (truncated?)")
    return dtype, dims, offset


class SmallNORB(FileDataset, GroundTruthDataset):
    """SmallNORB from the six NORB files (``path``: their folder, else looked up)."""

    name = "smallnorb"
    file_name = f"{CHUNKS[0]}-dat.mat (+ cat, info and the testing three)"
    file_kind = None
    factor_names = ("category", "elevation", "azimuth", "lighting")
    factor_sizes = (5, 9, 18, 6)
    observation_shape = (1, 64, 64)
    deterministic = False  # the instance is drawn for each observation

    def __init__(self, path: str | Path | None = None) -> None:
        if path is None:
            found = self.locate()
            if found is None:
                raise missing_file_error(self.name, None, file_name=self.file_name,
                                         source=SOURCE)
            path = found.parent
        self.path = Path(path)
        self.files = [self.path / f"{chunk}-{part}.mat" for chunk in CHUNKS for part in PARTS]
        missing = [f.name for f in self.files if not f.is_file()]
        if missing:
            raise DatasetError(f"{self.path}: SmallNORB needs {', '.join(missing)} there too; "
                               f"get them from {SOURCE}")
        images, features = zip(*(self._read_chunk(chunk) for chunk in CHUNKS))
        self._images = np.concatenate(images)
        self._set_grid(np.concatenate(features))

    @classmethod
    def locate(cls) -> Path | None:
        for directory in data_dirs():
            for folder in (directory, directory / SUBDIR):
                if (folder / f"{CHUNKS[0]}-dat.mat").is_file():
                    return folder / f"{CHUNKS[0]}-dat.mat"
        return None

    @classmethod
    def quick_check(cls, path: Path) -> str | None:
        try:
            read_norb_header(path)
        except DatasetError as error:
            return str(error).split(": not a valid SmallNORB file: ")[-1].split("; it is")[0]
        return None

    @property
    def value_names(self) -> dict[str, tuple[str, ...]]:
        """The category names (``cat``: 0 animal, 1 human, 2 airplane, 3 truck, 4 car)."""
        names = ("animal", "human", "airplane", "truck", "car")
        return {"category": names} if self.factor_sizes[0] == len(names) else {}

    def provenance(self) -> dict:
        """The folder and one SHA-256 over its files' SHA-256s (no checksum is published)."""
        return {**folder_provenance(self.path, self.files),
                "nuisance": f"instance ({self._num_instances}) drawn uniformly per observation"}

    def sample_observations_from_factors(
        self, factors: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """float32 (n, 1, 64, 64) in [0, 1]; the instance of each is drawn from ``rng``."""
        factors = self._check_factors(factors)
        instance = rng.integers(self._num_instances, size=len(factors))
        rows = self._row[(*factors[:, :1].T, instance, *factors[:, 1:].T)]
        return self._images[rows][:, None].astype(np.float32) / np.float32(255.0)

    # ---- reading ---------------------------------------------------------------------------
    def _matrix(self, path: Path, dtype: type, ndim: int) -> np.ndarray:
        found, dims, offset = read_norb_header(path)
        if found != np.dtype(dtype) or len(dims) != ndim:
            raise bad_file_error(path, "SmallNORB", f"it holds {found.name} {dims}, expected "
                                 f"{np.dtype(dtype).name} with {ndim} dimensions")
        return np.memmap(path, dtype=found, mode="r", offset=offset, shape=dims)

    def _read_chunk(self, chunk: str) -> tuple[np.ndarray, np.ndarray]:
        dat, cat, info = (self.path / f"{chunk}-{part}.mat" for part in PARTS)
        images = self._matrix(dat, np.uint8, 4)
        category = self._matrix(cat, np.int32, 1)
        details = self._matrix(info, np.int32, 2)
        n = len(images)
        if images.shape[1:] != (2, 96, 96) or category.shape != (n,) or details.shape != (n, 4):
            raise bad_file_error(dat, "SmallNORB", f"dat {images.shape}, cat {category.shape}, "
                                 f"info {details.shape}; expected (N, 2, 96, 96), (N,), (N, 4)")

        def camera_0_resized() -> np.ndarray:
            resized = np.empty((n, 64, 64), dtype=np.uint8)
            for start in range(0, n, _RESIZE_CHUNK):
                resized[start:start + _RESIZE_CHUNK] = resize_uint8(
                    np.asarray(images[start:start + _RESIZE_CHUNK, 0]), 64)
            return resized

        resized = cached_derived_array([dat], f"{dat.name}.camera0-64x64", camera_0_resized,
                                       (n, 64, 64))
        features = np.column_stack([category, details]).astype(np.int64)
        if (features[:, 3] % 2).any():
            raise bad_file_error(info, "SmallNORB", "azimuths must be 0, 2, ..., 34")
        features[:, 3] //= 2
        return resized, features

    def _set_grid(self, features: np.ndarray) -> None:
        """Grid sizes from the files; ``_row[category, instance, elevation, azimuth, lighting]``
        is the image's row. Every combination must occur exactly once."""
        if features.min() < 0:
            raise bad_file_error(self.path, "SmallNORB", "negative category or info values")
        sizes = tuple(int(s) for s in features.max(axis=0) + 1)
        row = np.full(sizes, -1, dtype=np.int64)
        row[tuple(features.T)] = np.arange(len(features))
        if len(features) != row.size or (row < 0).any():
            raise bad_file_error(self.path, "SmallNORB", f"its {len(features)} images do not "
                                 f"cover the grid {sizes} exactly once")
        self._row = row
        self._num_instances = sizes[1]
        self.factor_sizes = (sizes[0], *sizes[2:])
