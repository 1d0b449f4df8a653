"""``mpi3d-toy``, ``mpi3d-realistic``, ``mpi3d-real``: MPI3D (Gondal et al., NeurIPS 2019).

https://github.com/rr-learning/disentanglement_dataset: ``mpi3d_{toy,realistic,real}.npz`` each
hold one array, ``images`` uint8 (N, 64, 64, 3), ordered row-major over the factors with the last
one fastest. Two releases exist, told apart by N:

* 1,036,800 images (the published ``Final_Dataset`` files): object_color 6, object_shape 6,
  object_size 2, camera_height 3, background_color 3, horizontal_axis 40, vertical_axis 40;
* 460,800 images (the first release, still the grid of disentanglement_lib's ``mpi3d.py`` for
  toy and realistic): the same factors with 4 object colours and 4 shapes.

The full array is 12.7 GB (5.7 GB for the first release), so it is never loaded: an archive
member stored uncompressed (``np.savez``) is memory-mapped in place; a compressed member is
extracted once, in chunks, to ``.<file name>.<size>-<mtime>.images.npy`` next to the archive and
that is memory-mapped. A batch reads only its own images. A file with an extra int64 member
``factor_sizes`` declares a grid of its own (the reduced files the tests write; the published
files have only ``images``).
"""

from __future__ import annotations

import mmap
import os
import struct
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .base import DatasetError, GroundTruthDataset
from .files import (
    FileDataset,
    bad_file_error,
    check_signature,
    file_provenance,
    missing_file_error,
    read_npy_header,
)

FACTOR_NAMES = ("object_color", "object_shape", "object_size", "camera_height",
                "background_color", "horizontal_axis", "vertical_axis")
# number of images -> (release name, factor sizes, value names)
RELEASES: dict[int, tuple[str, tuple[int, ...], dict[str, tuple[str, ...]]]] = {
    1_036_800: ("final (1,036,800 images, 6x6 colours x shapes)", (6, 6, 2, 3, 3, 40, 40), {
        "object_color": ("white", "green", "red", "blue", "brown", "olive"),
        "object_shape": ("cone", "cube", "cylinder", "hexagonal", "pyramid", "sphere"),
    }),
    460_800: ("first (460,800 images, 4x4 colours x shapes)", (4, 4, 2, 3, 3, 40, 40), {
        "object_color": ("green", "red", "blue", "brown"),
        "object_shape": ("cone", "cube", "hexagonal prism", "sphere"),
    }),
}
_COMMON_VALUE_NAMES = {"object_size": ("small", "large"),
                       "camera_height": ("top", "center", "bottom"),
                       "background_color": ("purple", "sea green", "salmon")}
IMAGE_SHAPE = (64, 64, 3)
_EXTRACT_CHUNK = 4096  # images per chunk when extracting a compressed member (48 MB)


class MPI3D(FileDataset, GroundTruthDataset):
    """One MPI3D variant from its ``.npz`` (``path``, else looked up in the data dirs)."""

    variant: str  # toy | realistic | real
    factor_names = FACTOR_NAMES
    factor_sizes = RELEASES[1_036_800][1]
    observation_shape = (3, 64, 64)
    file_kind = "zip"
    deterministic = True

    def __init__(self, path: str | Path | None = None) -> None:
        if path is None:
            path = self.locate()
            if path is None:
                raise missing_file_error(self.name, offline_alternative=None)
        self.path = Path(path)
        if not self.path.is_file():
            raise DatasetError(f"MPI3D file {self.path} does not exist")
        check_signature(self.path, "zip", "MPI3D")
        try:
            self._images = self._open_images()
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, struct.error) as error:
            raise self._fail(f"cannot read it ({type(error).__name__}: {error})") from error

    @property
    def value_names(self) -> dict[str, tuple[str, ...]]:
        """Names of the classes of the categorical factors (of the file's release)."""
        for _, sizes, names in RELEASES.values():
            if sizes == self.factor_sizes:
                return {**_COMMON_VALUE_NAMES, **names}
        return {}

    def provenance(self) -> dict:
        """File path, size, SHA-256 (no checksum is published) and which release it is."""
        return {**file_provenance(self.path, self.name), "release": self.release,
                "images": f"{self._source}, memory-mapped"}

    def sample_observations_from_factors(
        self, factors: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """float32 (n, 3, 64, 64) in [0, 1]; deterministic, ``rng`` is unused."""
        rows = self.index_of(factors)
        images = self._images[rows]  # reads these rows of the map only
        return images.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255.0)

    def __getstate__(self) -> dict:
        """Picklable for process pools without copying the images: the map is reopened."""
        state = dict(self.__dict__)
        state.pop("_images")
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._images = self._map(*state["_mapping"])

    # ---- opening the images without reading them ----------------------------------------
    def _fail(self, what: str) -> DatasetError:
        return bad_file_error(self.path, "MPI3D", what)

    def _open_images(self) -> np.ndarray:
        with zipfile.ZipFile(self.path) as archive:
            members = archive.namelist()
            if "images.npy" not in members:
                raise self._fail(f"missing key 'images' (has {sorted(members)})")
            declared = None
            if "factor_sizes.npy" in members:
                with archive.open("factor_sizes.npy") as stream:
                    declared = np.lib.format.read_array(stream, allow_pickle=False)
            info = archive.getinfo("images.npy")
            if info.compress_type == zipfile.ZIP_STORED:
                offset, shape = self._stored_offset(info)
                self._source = "stored uncompressed in the archive"
                self._mapping = (self.path, offset, shape)
            else:
                self._mapping = self._extracted(archive, info)
                self._source = f"extracted once to {self._mapping[0].name}"
        self._set_grid(self._mapping[2][0], declared)
        return self._map(*self._mapping)

    @staticmethod
    def _map(path: Path, offset: int, shape: tuple[int, ...]) -> np.ndarray:
        """A read-only uint8 array over the file's bytes at ``offset``. The map is advised as
        random access: a batch touches scattered images, and the kernel's default read-ahead
        around each one made sampling ~140x slower (measured on a sparse file)."""
        start = offset - offset % mmap.ALLOCATIONGRANULARITY
        length = offset - start + int(np.prod(shape))
        with open(path, "rb") as handle:
            mapped = mmap.mmap(handle.fileno(), length, access=mmap.ACCESS_READ, offset=start)
        if hasattr(mapped, "madvise") and hasattr(mmap, "MADV_RANDOM"):
            mapped.madvise(mmap.MADV_RANDOM)
        return np.frombuffer(mapped, np.uint8, int(np.prod(shape)), offset - start).reshape(shape)

    def _check_header(self, shape: tuple, fortran: bool, dtype: np.dtype) -> tuple[int, ...]:
        if dtype != np.uint8 or fortran or len(shape) != 4 or tuple(shape[1:]) != IMAGE_SHAPE:
            raise self._fail(f"images is {dtype} {shape}{' (Fortran order)' if fortran else ''}, "
                             f"expected uint8 (N, 64, 64, 3) in C order")
        return tuple(int(d) for d in shape)

    def _stored_offset(self, info: zipfile.ZipInfo) -> tuple[int, tuple[int, ...]]:
        """Byte offset and shape of an uncompressed ``images.npy`` inside the archive."""
        with open(self.path, "rb") as handle:
            handle.seek(info.header_offset)
            local = handle.read(30)
            if len(local) != 30 or local[:4] != b"PK\x03\x04":
                raise self._fail("the zip entry of images.npy is damaged")
            name_length, extra_length = struct.unpack("<HH", local[26:30])
            handle.seek(info.header_offset + 30 + name_length + extra_length)
            shape, fortran, dtype = read_npy_header(handle)
            offset = handle.tell()
        shape = self._check_header(shape, fortran, dtype)
        size = self.path.stat().st_size
        if offset + int(np.prod(shape)) > size:
            raise self._fail(f"images ends after {(size - offset) // (64 * 64 * 3)} of "
                             f"{shape[0]} images (truncated)")
        return offset, shape

    def _extracted(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo
                   ) -> tuple[Path, int, tuple[int, ...]]:
        """A compressed ``images.npy`` decompressed once, in chunks, to a ``.npy`` next to the
        archive (reused while the archive's size and mtime are unchanged)."""
        stat = self.path.stat()
        key = f"{stat.st_size}-{stat.st_mtime_ns}"
        target = self.path.parent / f".{self.path.name}.{key}.images.npy"
        if not target.is_file():
            for stale in self.path.parent.glob(f".{self.path.name}.*.images.npy"):
                stale.unlink(missing_ok=True)
            self._extract(archive, info, target)
        with open(target, "rb") as handle:
            shape, fortran, dtype = read_npy_header(handle)
            offset = handle.tell()
        return target, offset, self._check_header(shape, fortran, dtype)

    def _extract(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
        try:
            handle, partial = tempfile.mkstemp(dir=self.path.parent, suffix=".partial")
        except OSError as error:
            raise DatasetError(
                f"{self.path}: its images are compressed and must be extracted once next to it "
                f"({info.file_size / 1e9:.1f} GB), but {self.path.parent} is not writable "
                f"({error}); copy the file to a writable data directory") from error
        os.close(handle)
        try:
            with archive.open(info) as stream:
                shape = self._check_header(*read_npy_header(stream))
                out = np.lib.format.open_memmap(partial, mode="w+", dtype=np.uint8, shape=shape)
                per_image = int(np.prod(IMAGE_SHAPE))
                for start in range(0, shape[0], _EXTRACT_CHUNK):
                    count = min(_EXTRACT_CHUNK, shape[0] - start)
                    buffer = stream.read(count * per_image)
                    if len(buffer) != count * per_image:
                        raise self._fail(f"images ends after {start + len(buffer) // per_image} "
                                         f"of {shape[0]} images (truncated)")
                    out[start:start + count] = np.frombuffer(buffer, np.uint8).reshape(
                        count, *IMAGE_SHAPE)
                out.flush()
                del out
            os.replace(partial, target)
        finally:
            if os.path.exists(partial):
                os.remove(partial)

    def _set_grid(self, n: int, declared: np.ndarray | None) -> None:
        if declared is not None:
            sizes = tuple(int(s) for s in np.ravel(declared))
            if len(sizes) != 7 or int(np.prod(sizes)) != n:
                raise self._fail(f"factor_sizes {sizes} do not give its {n} images")
            self.factor_sizes, self.release = sizes, f"custom grid {sizes}"
            return
        if n not in RELEASES:
            known = " or ".join(f"{k:,}" for k in RELEASES)
            raise self._fail(f"it has {n:,} images; the MPI3D releases have {known}")
        self.release, self.factor_sizes, _ = RELEASES[n]


class MPI3DToy(MPI3D):
    name = "mpi3d-toy"
    variant = "toy"
    file_name = "mpi3d_toy.npz"
    file_subdir = "mpi3d_toy"


class MPI3DRealistic(MPI3D):
    name = "mpi3d-realistic"
    variant = "realistic"
    file_name = "mpi3d_realistic.npz"
    file_subdir = "mpi3d_realistic"


class MPI3DReal(MPI3D):
    name = "mpi3d-real"
    variant = "real"
    file_name = "mpi3d_real.npz"
    file_subdir = "mpi3d_real"
