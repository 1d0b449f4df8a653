"""Where dataset files live, how they are checked, and the explicit download helper.

Checked: a file's first bytes against its format's signature (so an HTML error page, a text
file or an empty file gets one clear ``DatasetError``), published checksums, and the SHA-256 of
every file a run uses (``file_provenance``, cached next to the file).

Files are looked up, in order, in the directory named by ``DISENTANGLE_BENCH_DATA`` (if set), the
repository's ``datasets/`` folder (found relative to this package's source) and ``./datasets``.
Nothing in the package downloads implicitly: :func:`download` is only ever called by a user.
"""

from __future__ import annotations

import fnmatch
import gzip
import hashlib
import json
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import write_atomic, write_text_atomic
from . import dsprites_spec
from .base import DatasetError

ENV_VAR = "DISENTANGLE_BENCH_DATA"
REPO_DATASETS = Path(__file__).resolve().parents[2] / "datasets"


@dataclass(frozen=True)
class RemoteFile:
    """A dataset file's public location. ``algorithm``/``digest``: the checksum its publisher
    gives, or ``None`` when none is published (the download then records the SHA-256 it got)."""

    file_name: str
    url: str
    algorithm: str | None  # hashlib name
    digest: str | None
    homepage: str
    # how the download becomes ``file_name``: None (as is), "gunzip", or "tar:<pattern>" (the
    # archive's regular files whose path matches the glob pattern, into the folder file_name)
    unpack: str | None = None


REMOTE_FILES: dict[str, RemoteFile] = {
    "dsprites": RemoteFile(
        dsprites_spec.FILE_NAME, dsprites_spec.FILE_URL, "md5", dsprites_spec.FILE_MD5,
        "https://github.com/deepmind/dsprites-dataset",
    ),
    "shapes3d": RemoteFile(
        "3dshapes.h5", "https://storage.googleapis.com/3d-shapes/3dshapes.h5", "sha256",
        "0a0f6ed98baff276a50f3a081a7434d788da63cb135a98189b2a5b5769be1785",
        "https://github.com/deepmind/3d-shapes",
    ),
    "scream-dsprites": RemoteFile(  # the painting; no checksum published
        "scream.jpg", "https://upload.wikimedia.org/wikipedia/commons/f/f4/The_Scream.jpg",
        None, None, "https://commons.wikimedia.org/wiki/File:The_Scream.jpg",
    ),
    # MPI3D: the authors publish no checksum; runs record the SHA-256 of the file used
    **{f"mpi3d-{variant}": RemoteFile(
        f"mpi3d_{variant}.npz",
        f"https://storage.googleapis.com/disentanglement_dataset/Final_Dataset/mpi3d_{variant}.npz",
        None, None, "https://github.com/rr-learning/disentanglement_dataset",
    ) for variant in ("toy", "realistic", "real")},
}


_NORB = "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/"
# datasets made of several files or of an archive's members (no checksums are published)
REMOTE_SETS: dict[str, tuple[RemoteFile, ...]] = {
    "smallnorb": tuple(
        RemoteFile(f"{chunk}-{part}.mat", f"{_NORB}{chunk}-{part}.mat.gz", None, None, _NORB,
                   unpack="gunzip")
        for chunk in ("smallnorb-5x46789x9x18x6x2x96x96-training",
                      "smallnorb-5x01235x9x18x6x2x96x96-testing")
        for part in ("dat", "cat", "info")),
    "cars3d": (RemoteFile("cars", "http://www.scottreed.info/files/nips2015-analogy-data.tar.gz",
                          None, None, "http://www.scottreed.info",
                          unpack="tar:data/cars/car_*_mesh.mat"),),
}


def downloadable() -> list[str]:
    """Names ``download`` accepts."""
    return sorted({*REMOTE_FILES, *REMOTE_SETS})


def remote_files(name: str) -> tuple[RemoteFile, ...]:
    """The files ``download(name)`` fetches; unknown names raise a one-line ``KeyError``."""
    if name in REMOTE_FILES:
        return (REMOTE_FILES[name],)
    if name in REMOTE_SETS:
        return REMOTE_SETS[name]
    raise KeyError(f"no download for {name!r}; downloadable: {', '.join(downloadable())}")


def data_dirs() -> list[Path]:
    """Directories searched for dataset files, in order, without duplicates."""
    candidates = []
    if os.environ.get(ENV_VAR):
        candidates.append(Path(os.environ[ENV_VAR]).expanduser())
    candidates += [REPO_DATASETS, Path.cwd() / "datasets"]
    unique: list[Path] = []
    for directory in candidates:
        if directory.resolve() not in [d.resolve() for d in unique]:
            unique.append(directory)
    return unique


def find_data_file(file_name: str, subdir: str | None = None) -> Path | None:
    """The first existing ``file_name`` in :func:`data_dirs`, or in their ``subdir`` (the layout
    of a disentanglement_lib data directory, e.g. ``mpi3d_toy/mpi3d_toy.npz``), or ``None``."""
    for directory in data_dirs():
        for candidate in [directory / file_name] + ([directory / subdir / file_name]
                                                     if subdir else []):
            if candidate.is_file():
                return candidate
    return None


def find_data_dir(dir_name: str) -> Path | None:
    """The first existing directory ``dir_name`` in :func:`data_dirs`, or ``None``."""
    for directory in data_dirs():
        if (directory / dir_name).is_dir():
            return directory / dir_name
    return None


def missing_file_error(name: str, offline_alternative: str | None, *,
                       file_name: str | None = None, source: str | None = None) -> DatasetError:
    """The error for a dataset whose file is not found: where we looked, and what to do.
    ``file_name``/``source`` default to the dataset's entry in :data:`REMOTE_FILES`."""
    remote = REMOTE_FILES.get(name)
    file_name = file_name or remote.file_name
    source = source or f"{remote.homepage} ({remote.url})"
    looked = ", ".join(str(d) for d in data_dirs())
    message = (
        f"dataset {name!r} needs {file_name}, not found in: {looked}. "
        f"Get it from {source} and put it in one of these directories (or set {ENV_VAR})"
    )
    offer_download = name in REMOTE_FILES or name in REMOTE_SETS
    message += f", or run: python run_benchmark.py download {name}." if offer_download else "."
    if offline_alternative:
        message += f" The dataset {offline_alternative!r} works offline without any file."
    return DatasetError(message)


# ---- telling a data file from garbage (an HTML error page, a text file, zero bytes) -----------
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "zip": (b"PK\x03\x04", b"PK\x05\x06"),  # .npz; the second is an empty archive
    "hdf5": (b"\x89HDF\r\n\x1a\n",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpeg": (b"\xff\xd8\xff",),
    "mat5": (b"MATLAB 5.0 MAT-file",),  # MATLAB v5-v7 .mat (Cars3D)
}


def describe_content(head: bytes) -> str:
    """What a file that is not the expected format looks like, from its first bytes."""
    if not head:
        return "the file is empty (0 bytes)"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head")):
        return "it is an HTML/XML page (an error or login page saved by a failed download?)"
    try:
        first_line = head.decode("utf-8").strip().splitlines()[0][:60]
    except (UnicodeDecodeError, IndexError):
        return f"it starts with the bytes {head[:8].hex(' ')}"
    return f"it is a text file starting {first_line!r}"


def signature_problem(path: str | Path, kind: str) -> str | None:
    """``None`` if ``path`` starts with the signature of ``kind`` (a key of
    :data:`SIGNATURES`), else what it looks like instead. Reads 512 bytes."""
    with open(path, "rb") as handle:
        head = handle.read(512)
    if head.startswith(SIGNATURES[kind]):
        return None
    return f"not a {kind} file: {describe_content(head)}"


def read_npy_header(stream) -> tuple[tuple[int, ...], bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` of the ``.npy`` data at the stream's position, leaving
    the stream at the first data byte (never unpickles anything)."""
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(stream)
    return np.lib.format.read_array_header_2_0(stream)


def bad_file_error(path: str | Path, what: str, reason: str) -> DatasetError:
    """The one error for an unusable data file: which file, what is wrong, what to do."""
    return DatasetError(f"{path}: not a valid {what} file: {reason}; it is corrupt, truncated or "
                        "not the dataset: delete it and download it again")


def check_signature(path: str | Path, kind: str, what: str) -> None:
    """Raise :func:`bad_file_error` unless the file starts with ``kind``'s signature."""
    problem = signature_problem(path, kind)
    if problem is not None:
        raise bad_file_error(path, what, problem)


def file_digest(path: str | Path, algorithm: str) -> str:
    """Hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_checksum(path: str | Path, algorithm: str, expected: str) -> None:
    """Raise :class:`DatasetError` unless the file's ``algorithm`` digest equals ``expected``."""
    actual = file_digest(path, algorithm)
    if actual != expected.lower():
        raise DatasetError(
            f"{path}: {algorithm} checksum {actual} does not match the published {expected}; "
            "the file is corrupt or incomplete: delete it and download it again"
        )


def _digest_caches(path: Path) -> list[Path]:
    """Where a file's digests are cached, in order: next to it, else (read-only data folder) in
    the user's cache folder under a name derived from the file's absolute path."""
    stat = path.stat()
    key = f"{stat.st_size}-{stat.st_mtime_ns}"
    user_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    where = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    return [path.parent / f".{path.name}.{key}.digests.json",
            user_cache / "disentangle_bench" / "digests" / f"{path.name}.{where}.{key}.json"]


#: Files at least this big get one line on stderr when they are hashed (not yet cached).
BIG_FILE_BYTES = 1 << 30
#: Rate behind the printed estimate: SHA-256 of a page-cached file through file_digests,
#: 0.55 GB/s on a loaded 2-core AMD EPYC with SHA-NI (benchmarks/digest_cost.py); disk extra.
HASH_BYTES_PER_SECOND = 5e8


def file_digests(path: str | Path, algorithms: tuple[str, ...] = ("sha256",)) -> dict[str, str]:
    """Hex digests of a file, computed once and cached (keyed on its size and modification
    time) next to it in ``.<name>.<size>-<mtime_ns>.digests.json``, or in
    ``~/.cache/disentangle_bench/digests/`` when its folder is read-only: a 12.7 GB file is read
    once, not once per run. Hashing a file of :data:`BIG_FILE_BYTES` or more prints one line
    (stderr) saying so."""
    path = Path(path)
    caches = _digest_caches(path)
    cached: dict = {}
    for cache in caches:
        try:
            cached = json.loads(cache.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(cached, dict):
            break
        cached = {}
    missing = [a for a in algorithms if not isinstance(cached.get(a), str)]
    if missing and path.stat().st_size >= BIG_FILE_BYTES:
        print(f"hashing {path} ({path.stat().st_size / 1e9:.1f} GB) once for its "
              f"{'/'.join(a.upper() for a in missing)}: about "
              f"{path.stat().st_size / HASH_BYTES_PER_SECOND:.0f} s or more (disk speed); the "
              "result is cached, later runs read the cache", file=sys.stderr, flush=True)
    if missing:
        hashers = {a: hashlib.new(a) for a in missing}
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                for hasher in hashers.values():
                    hasher.update(block)
        cached.update({a: h.hexdigest() for a, h in hashers.items()})
        for stale in path.parent.glob(f".{path.name}.*.digests.json"):  # of older versions
            try:
                stale.unlink()
            except OSError:
                break
        for cache in caches:
            try:
                write_text_atomic(cache, json.dumps(cached))
                break
            except OSError:
                continue
    return {a: cached[a] for a in algorithms}


def file_provenance(path: str | Path, name: str | None = None) -> dict:
    """What a run records about one data file: its path, size and SHA-256, and, where the
    publisher gives a checksum (``REMOTE_FILES[name]``), whether the file matches it."""
    path = Path(path)
    remote = REMOTE_FILES.get(name) if name else None
    algorithms = ("sha256",)
    if remote and remote.algorithm and remote.algorithm != "sha256":
        algorithms += (remote.algorithm,)
    digests = file_digests(path, algorithms)
    record = {"path": str(path), "bytes": path.stat().st_size, "sha256": digests["sha256"]}
    if remote and remote.digest:
        matches = digests[remote.algorithm] == remote.digest.lower()
        record["published_checksum"] = (f"{remote.algorithm} {remote.digest} "
                                        f"{'matches' if matches else 'DOES NOT MATCH'}")
    else:
        record["published_checksum"] = "none published"
    return record


def folder_provenance(path: str | Path, files: list[Path]) -> dict:
    """What a run records about a dataset stored as a folder of files with no published
    checksum: the folder, the number of files and one SHA-256 over the lines
    ``"<file's SHA-256>  <file name>"`` in ``files``' order."""
    lines = "".join(f"{file_provenance(f)['sha256']}  {Path(f).name}\n" for f in files)
    return {"path": str(path), "files": len(files),
            "sha256_of_file_sha256s": hashlib.sha256(lines.encode()).hexdigest(),
            "published_checksum": "none published"}


def fetch_verified(url: str, dest: str | Path, algorithm: str | None,
                   expected: str | None) -> Path:
    """Stream ``url`` to ``dest`` atomically, keeping it only if its checksum matches (with no
    published checksum, ``algorithm=None``, the file is kept and its SHA-256 printed). On any
    failure nothing is left behind: neither a partial file nor the folders made for it."""
    dest = Path(dest)
    created = [d for d in (dest.parent, *dest.parent.parents) if not d.exists()]
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = None
    try:
        handle, partial = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.",
                                           suffix=".part")
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url) as response:
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
        if algorithm is not None:
            verify_checksum(partial, algorithm, expected)
        else:
            print(f"no checksum is published for {dest.name}; its SHA-256 is "
                  f"{file_digest(partial, 'sha256')} (runs record it)")
        os.replace(partial, dest)
    except BaseException:
        if partial is not None and os.path.exists(partial):
            os.remove(partial)
        for folder in created:  # deepest first; stop at one that is not empty
            try:
                folder.rmdir()
            except OSError:
                break
        raise
    return dest


def download(name: str, dest_dir: str | Path | None = None) -> Path:
    """Download dataset ``name`` (see :func:`downloadable`) into ``dest_dir`` (default: the
    repository's ``datasets/``), verify the published checksum where there is one, unpack what
    comes gzipped or archived, and return the path of its (last) file or folder.

    Explicit only: nothing in the package calls this. An existing file that passes the checksum
    (or, with none published, any existing file or folder) is kept as is.
    """
    folder = Path(dest_dir if dest_dir is not None else REPO_DATASETS)
    existed = folder.exists()
    try:
        return _download_into(folder, remote_files(name))
    except BaseException:
        if not existed and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()  # a failed download leaves no folder it made behind
        raise


def _download_into(folder: Path, remotes: tuple[RemoteFile, ...]) -> Path:
    dest = folder
    for remote in remotes:
        dest = folder / remote.file_name
        if dest.exists():
            if remote.algorithm is not None and remote.unpack is None:
                verify_checksum(dest, remote.algorithm, remote.digest)
            continue
        print(f"downloading {remote.url} -> {dest}")
        if remote.unpack is None:
            fetch_verified(remote.url, dest, remote.algorithm, remote.digest)
            continue
        packed = folder / f".{remote.file_name}.download"
        fetch_verified(remote.url, packed, remote.algorithm, remote.digest)
        try:
            if remote.unpack == "gunzip":
                with gzip.open(packed, "rb") as stream:
                    write_atomic(dest, lambda out, source=stream: shutil.copyfileobj(
                        source, out, 1 << 20))
            else:
                _extract_members(packed, remote.unpack.removeprefix("tar:"), dest)
        except (EOFError, tarfile.TarError, zlib.error, gzip.BadGzipFile) as error:
            raise DatasetError(f"{remote.url}: the download is not a valid "
                               f"{'gzip file' if remote.unpack == 'gunzip' else 'tar archive'} "
                               f"({type(error).__name__}: {error}); nothing was kept, try "
                               "again") from error
        finally:
            packed.unlink(missing_ok=True)
    return dest


def _extract_members(archive: Path, pattern: str, dest: Path) -> None:
    """The regular files of a tar archive whose path matches ``pattern``, written flat (by
    base name, never a path from the archive) into a new folder ``dest``, made atomically."""
    partial = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}."))
    try:
        with tarfile.open(archive, "r|*") as tar:
            for member in tar:
                if member.isfile() and fnmatch.fnmatchcase(member.name, pattern):
                    source = tar.extractfile(member)
                    with open(partial / Path(member.name).name, "wb") as out:
                        shutil.copyfileobj(source, out, 1 << 20)
        if not any(partial.iterdir()):
            raise DatasetError(f"{archive.name}: no member matches {pattern}; the archive is "
                               "not the expected one")
        os.replace(partial, dest)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


class FileDataset:
    """Mixin of the datasets read from files: where the file is looked for, and a cheap check
    (its first bytes) that ``run_benchmark.py datasets`` runs without loading anything."""

    file_name: str  # shown by `datasets` and in the missing-file error
    file_subdir: str | None = None  # disentanglement_lib's sub-folder for it, also searched
    file_kind: str | None = None  # a key of SIGNATURES

    @classmethod
    def locate(cls) -> Path | None:
        """The data file (or folder) found in the data directories, or ``None``."""
        return find_data_file(cls.file_name, cls.file_subdir)

    @classmethod
    def quick_check(cls, path: Path) -> str | None:
        """``None`` if ``path`` looks like the data (first bytes only), else what is wrong."""
        return signature_problem(path, cls.file_kind) if cls.file_kind else None


def cached_derived_array(inputs: list[Path], tag: str, build, shape: tuple[int, ...]
                         ) -> np.ndarray:
    """``build()`` (a uint8 array of ``shape`` derived from the files ``inputs``, e.g. resized
    images), cached as ``.<tag>.<key>.npy`` in the first input's folder, ``key`` hashing the
    inputs' names, sizes and modification times: rebuilt when any input changes, and when the
    cache is unreadable or of the wrong shape. An unwritable folder only means no cache."""
    identity = "".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}\n" for p in inputs)
    key = hashlib.sha256(identity.encode()).hexdigest()[:16]
    folder = inputs[0].parent
    target = folder / f".{tag}.{key}.npy"
    try:
        cached = np.load(target, allow_pickle=False)
        if cached.shape == tuple(shape) and cached.dtype == np.uint8:
            return cached
    except (OSError, ValueError, EOFError):
        pass
    array = build()
    for stale in folder.glob(f".{tag}.*.npy"):
        stale.unlink(missing_ok=True)
    try:
        write_atomic(target, lambda handle: np.save(handle, array))
    except OSError:
        pass
    return array
