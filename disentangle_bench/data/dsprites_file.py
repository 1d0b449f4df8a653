"""``dsprites``: the real dSprites file (Matthey et al. 2017, deepmind/dsprites-dataset).

``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` holds ``imgs`` uint8 (N, 64, 64) with values
0/1, ``latents_values`` float64 (N, 6), ``latents_classes`` int64 (N, 6) and ``metadata``, a
Python-2 pickle (dict with ``latents_sizes``, ``latents_names``, ``latents_possible_values``).
The grid is read from the metadata, so a reduced file in the same format loads too. The metadata
is unpickled by an unpickler that accepts only numpy arrays, dtypes and plain Python containers:
loading the file never runs code from it (and a file that is not a zip archive is refused before
anything is parsed).

The 737,280 images would take 3 GB as uint8 (12 GB as float32); they are decompressed from the
archive in chunks and kept as packed bits (377 MB), unpacked to float32 per batch.
The packed bits are cached next to the file (``.<file name>.<size>-<mtime>-<crc32>.packed.npy``,
377 MB), so later loads take about a second; ``cache=False`` turns this off.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from . import dsprites_spec as spec
from .base import DatasetError
from .files import (
    FileDataset,
    bad_file_error,
    check_signature,
    file_provenance,
    missing_file_error,
    read_npy_header,
)

_REQUIRED_KEYS = ("imgs", "latents_values", "latents_classes", "metadata")
_CHUNK_IMAGES = 8192


class DSpritesFile(FileDataset, spec.BinaryDSprites):
    """dSprites loaded from the real ``.npz`` file (``path``, else looked up in the data dirs)."""

    name = "dsprites"
    file_name = spec.FILE_NAME
    file_subdir = "dsprites"
    file_kind = "zip"

    def __init__(self, path: str | Path | None = None, cache: bool = True) -> None:
        if path is None:
            path = self.locate()
            if path is None:
                raise missing_file_error("dsprites", offline_alternative="dsprites-procedural")
        self.path = Path(path)
        self.cache = cache
        if not self.path.is_file():
            raise DatasetError(f"dSprites file {self.path} does not exist")
        try:
            self._load()
        except DatasetError:
            raise
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile,
                pickle.UnpicklingError) as error:
            raise bad_file_error(self.path, "dSprites",
                                 f"cannot read it ({type(error).__name__}: {error})") from error

    @property
    def factor_values(self) -> tuple[np.ndarray, ...]:
        return self._factor_values

    def provenance(self) -> dict:
        """The file every run records: path, size, SHA-256, published MD5 check."""
        return file_provenance(self.path, "dsprites")

    def masks(self, factors: np.ndarray) -> np.ndarray:
        rows = self.index_of(factors)
        bits = np.unpackbits(self._packed[rows], axis=1, count=spec.IMAGE_SIZE**2)
        return bits.reshape(len(rows), spec.IMAGE_SIZE, spec.IMAGE_SIZE)

    # ---- loading and validation ----------------------------------------------------------
    def _fail(self, what: str) -> DatasetError:
        return bad_file_error(self.path, "dSprites", what)

    def _load(self) -> None:
        check_signature(self.path, "zip", "dSprites")
        with zipfile.ZipFile(self.path) as archive:
            members = {name.removesuffix(".npy") for name in archive.namelist()}
            missing = [key for key in _REQUIRED_KEYS if key not in members]
            if missing:
                raise self._fail(f"missing key(s) {missing} (has {sorted(members)})")
            with archive.open("metadata.npy") as stream:
                self._read_metadata(_read_object_array(stream))
            n = len(self)
            classes = self._checked(_read_plain_array(archive, "latents_classes.npy"),
                                    "latents_classes", np.int64, (n, 6))
            self._checked(_read_plain_array(archive, "latents_values.npy"), "latents_values",
                          np.float64, (n, 6))
        if not np.array_equal(classes, self.factors_of(np.arange(n))):
            raise self._fail("latents_classes are not in row-major order (posY fastest)")
        self._packed = self._load_packed_cache(n) if self.cache else None
        if self._packed is None:
            self._packed = self._read_packed_images(n)
            if self.cache:
                self._save_packed_cache()

    # ---- packed-bit cache: decompressing the 3 GB of images takes ~10-30 s, reading 377 MB of
    # packed bits well under a second. Keyed on the archive's size and mtime, checked by CRC-32.
    def _cache_prefix(self) -> str:
        stat = self.path.stat()
        return f".{self.path.name}.{stat.st_size}-{stat.st_mtime_ns}-"

    def _load_packed_cache(self, n: int) -> np.ndarray | None:
        for candidate in self.path.parent.glob(self._cache_prefix() + "*.packed.npy"):
            expected_crc = candidate.name[len(self._cache_prefix()):].split(".")[0]
            try:
                packed = np.load(candidate)
                valid = packed.shape == (n, spec.IMAGE_SIZE**2 // 8) and packed.dtype == np.uint8
                valid = valid and f"{zlib.crc32(packed):08x}" == expected_crc
            except (OSError, ValueError):
                valid = False
            if valid:
                return packed
            candidate.unlink(missing_ok=True)  # corrupt or stale: rebuilt from the archive
        return None

    def _save_packed_cache(self) -> None:
        for stale in self.path.parent.glob(f".{self.path.name}.*.packed.npy"):
            stale.unlink(missing_ok=True)
        crc = f"{zlib.crc32(self._packed):08x}"
        target = self.path.parent / f"{self._cache_prefix()}{crc}.packed.npy"
        try:
            handle, partial = tempfile.mkstemp(dir=self.path.parent, suffix=".partial")
        except OSError:
            return  # read-only data directory: work without a cache
        try:
            with os.fdopen(handle, "wb") as out:
                np.save(out, self._packed)
            os.replace(partial, target)
        except OSError:
            pass  # e.g. disk full: the cache is an optimisation only
        finally:
            if os.path.exists(partial):
                os.remove(partial)

    def _read_metadata(self, metadata: np.ndarray) -> None:
        metadata = metadata[()] if isinstance(metadata, np.ndarray) else metadata
        if not isinstance(metadata, dict) or not {
            "latents_sizes", "latents_names", "latents_possible_values"
        } <= set(metadata):
            raise self._fail(
                "metadata must be a dict with latents_sizes, latents_names, latents_possible_values"
            )
        names = tuple(str(name) for name in metadata["latents_names"])
        if names != spec.FACTOR_NAMES:
            raise self._fail(f"latents_names {names}, expected {spec.FACTOR_NAMES}")
        self.factor_sizes = tuple(int(size) for size in metadata["latents_sizes"])
        values = metadata["latents_possible_values"]
        self._factor_values = tuple(np.asarray(values[name], dtype=float) for name in names)
        if tuple(len(v) for v in self._factor_values) != self.factor_sizes:
            raise self._fail("latents_possible_values do not match latents_sizes")

    def _checked(self, array: np.ndarray, key: str, dtype: type, shape: tuple) -> np.ndarray:
        if array.dtype != dtype or array.shape != shape:
            raise self._fail(
                f"{key} is {array.dtype} {array.shape}, expected {np.dtype(dtype)} {shape}"
            )
        return array

    def _read_packed_images(self, n: int) -> np.ndarray:
        """Stream ``imgs`` out of the archive chunk by chunk into packed bits (n, 512)."""
        pixels = spec.IMAGE_SIZE**2
        packed = np.empty((n, pixels // 8), dtype=np.uint8)
        with zipfile.ZipFile(self.path) as archive, archive.open("imgs.npy") as stream:
            shape, fortran, dtype = read_npy_header(stream)
            expected = (n, spec.IMAGE_SIZE, spec.IMAGE_SIZE)
            if dtype != np.uint8 or shape != expected or fortran:
                raise self._fail(f"imgs is {dtype} {shape}, expected uint8 {expected} (C order)")
            for start in range(0, n, _CHUNK_IMAGES):
                count = min(_CHUNK_IMAGES, n - start)
                buffer = stream.read(count * pixels)
                if len(buffer) != count * pixels:
                    raise self._fail(f"imgs ends after {start + len(buffer) // pixels} images")
                chunk = np.frombuffer(buffer, dtype=np.uint8).reshape(count, pixels)
                if chunk.max(initial=0) > 1:
                    raise self._fail("imgs must hold 0/1 values")
                packed[start:start + count] = np.packbits(chunk, axis=1)
        return packed


def _read_plain_array(archive: zipfile.ZipFile, member: str) -> np.ndarray:
    with archive.open(member) as stream:
        return np.lib.format.read_array(stream, allow_pickle=False)


class _DataOnlyUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays, dtypes and plain containers only; any other global (a function
    or class that unpickling would call) is refused, so a crafted file cannot run code."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refused to load {module}.{name} from the pickle")
        return super().find_class(module, name)


def _read_object_array(stream) -> np.ndarray:
    """An object-dtype ``.npy`` member (the pickled metadata) through the data-only unpickler;
    Python-2 strings are decoded as latin-1, as ``np.load(..., encoding="latin1")`` does."""
    shape, _, dtype = read_npy_header(stream)
    if dtype != np.dtype(object):
        raise ValueError(f"metadata is {dtype} {shape}, expected a pickled object array")
    value = _DataOnlyUnpickler(stream, encoding="latin1").load()
    return np.asarray(value, dtype=object) if not isinstance(value, np.ndarray) else value
