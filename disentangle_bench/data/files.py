"""Where dataset files live, how they are checked, and the explicit download helper.

Files are looked up, in order, in the directory named by ``DISENTANGLE_BENCH_DATA`` (if set), the
repository's ``datasets/`` folder (found relative to this package's source) and ``./datasets``.
Nothing in the package downloads implicitly: :func:`download` is only ever called by a user.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from . import dsprites_spec
from .base import DatasetError

ENV_VAR = "DISENTANGLE_BENCH_DATA"
REPO_DATASETS = Path(__file__).resolve().parents[2] / "datasets"


@dataclass(frozen=True)
class RemoteFile:
    file_name: str
    url: str
    algorithm: str  # hashlib name
    digest: str
    homepage: str


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
}


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


def find_data_file(file_name: str) -> Path | None:
    """The first existing ``file_name`` in :func:`data_dirs`, or ``None``."""
    for directory in data_dirs():
        if (directory / file_name).is_file():
            return directory / file_name
    return None


def missing_file_error(name: str, offline_alternative: str | None) -> DatasetError:
    """The error for a dataset whose file is not found: where we looked, and what to do."""
    remote = REMOTE_FILES[name]
    looked = ", ".join(str(d) for d in data_dirs())
    message = (
        f"dataset {name!r} needs the file {remote.file_name}, not found in: {looked}. "
        f"Get it from {remote.homepage} ({remote.url}) and put it in one of these directories "
        f"(or set {ENV_VAR}), or run: python run_benchmark.py download {name}."
    )
    if offline_alternative:
        message += f" The dataset {offline_alternative!r} works offline without any file."
    return DatasetError(message)


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


def fetch_verified(url: str, dest: str | Path, algorithm: str, expected: str) -> Path:
    """Stream ``url`` to ``dest`` atomically, keeping it only if its checksum matches. On any
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
        verify_checksum(partial, algorithm, expected)
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
    """Download dataset file ``name`` ("dsprites" or "shapes3d") into ``dest_dir`` (default: the
    repository's ``datasets/``), verify the published checksum and return its path.

    Explicit only: nothing in the package calls this. An existing file that passes the checksum
    is kept as is.
    """
    if name not in REMOTE_FILES:
        raise KeyError(f"no download for {name!r}; downloadable: {', '.join(REMOTE_FILES)}")
    remote = REMOTE_FILES[name]
    dest = Path(dest_dir if dest_dir is not None else REPO_DATASETS) / remote.file_name
    if dest.is_file():
        verify_checksum(dest, remote.algorithm, remote.digest)
        return dest
    print(f"downloading {remote.url} -> {dest}")
    return fetch_verified(remote.url, dest, remote.algorithm, remote.digest)
