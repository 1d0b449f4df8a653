"""Atomic file writes: a reader sees the old file, the new file, or no file, never half of one.

Shared by every layer that writes results (training checkpoints, the run store, reports).

Every write goes to a temporary file in the same directory, is flushed and ``fsync``-ed, then
renamed over the target with :func:`os.replace` (atomic on POSIX and Windows within one file
system). A process killed at any moment leaves at most a stray ``.tmp-*`` file, which no reader
ever opens.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

TEMP_PREFIX = ".tmp-"


def write_atomic(path: Path, write: Callable[[IO[bytes]], None]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX + path.name + ".", dir=path.parent)
    try:
        os.chmod(temp_name, 0o644)  # mkstemp creates 0600; results are meant to be shared
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path


def write_bytes_atomic(path: Path | str, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return write_atomic(Path(path), lambda file: file.write(data))


def write_text_atomic(path: Path | str, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path | str, obj: Any) -> Path:
    """Write ``obj`` as indented JSON atomically (NaN/inf written as JSON ``NaN``/``Infinity``)."""
    return write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default)
                             + "\n")


def write_npz_atomic(path: Path | str, **arrays: Any) -> Path:
    """Write numpy arrays as a compressed ``.npz`` atomically."""
    import numpy as np

    return write_atomic(Path(path), lambda file: np.savez_compressed(file, **arrays))


class NotWritable(ValueError):
    """A results location that cannot be written; the message is one line naming the path, the
    reason and what to do (a ``ValueError``: it is a bad option value, exit code 2 in the CLI)."""


def check_writable_dir(path: Path | str, *, option: str = "--out") -> Path:
    """Make sure directory ``path`` exists or can be created, and that files can be created in
    it, by creating (and removing) a probe; raises :class:`NotWritable` otherwise: ``path`` or
    one of its parents is a regular file, permission is denied, or the file system is read-only.
    Creates nothing that it does not remove, and no missing parent directory. Returns ``path``.
    """
    path = Path(path)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        where = "is" if existing == path else f"is inside {existing}, which is"
        raise NotWritable(f"{option} {path} {where} a file, not a directory; pass a directory "
                          "path")
    try:
        _probe_write(existing)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise NotWritable(f"{option} {path}: cannot write in {existing} ({reason}); pass a "
                          "writable directory") from None
    return path


def _probe_write(directory: Path) -> None:
    """Create and remove a directory and a file in ``directory`` (what a results store does)."""
    probe = tempfile.mkdtemp(prefix=TEMP_PREFIX + "probe.", dir=directory)
    try:
        handle, name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=probe)
        os.close(handle)
        os.unlink(name)
    finally:
        os.rmdir(probe)


def read_json(path: Path | str) -> Any | None:
    """The parsed JSON in ``path``, or ``None`` when the file is missing or does not parse."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _json_default(value: Any) -> Any:
    """numpy scalars/arrays and paths, which ``json`` does not know."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
