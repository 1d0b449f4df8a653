"""Plugins: a user's package that registers models, metrics or datasets without touching ours.

A plugin is a module (``mypkg.bench``) whose import calls ``register_model``,
``register_metric`` or ``register_dataset``, or ``module:function`` whose function does (it is
called once, without arguments). The CLI loads each ``--plugin NAME`` and every entry point of
the group ``disentangle_bench.plugins`` (``[project.entry-points."disentangle_bench.plugins"]``
in the plugin's pyproject.toml, value ``NAME``). docs/extending.md shows one.

Every run records :func:`plugin_record` (each loaded plugin with its version), which is part
of its id: a changed plugin gets new ids. Workers of another process (``--jobs N``, Dask) load
the plugins their task names before running it, and refuse a plugin whose version differs
from the one the sweep was planned with.

Below every layer: imports nothing of the package at import time.
"""

from __future__ import annotations

import hashlib
import importlib
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

ENTRY_POINT_GROUP = "disentangle_bench.plugins"

#: name -> its record (``{"version": ...}`` or ``{"source_sha256": ...}``), in load order.
_LOADED: dict[str, dict[str, str]] = {}


class PluginError(RuntimeError):
    """A plugin cannot be imported or registered (one line: which, and why)."""


def entry_point_names() -> list[str]:
    """The values of the installed entry points of :data:`ENTRY_POINT_GROUP`."""
    return [entry.value for entry in metadata.entry_points(group=ENTRY_POINT_GROUP)]


def load_plugins(names: Iterable[str] = (), *, entry_points: bool = False) -> list[str]:
    """Import (and, for ``module:function``, call) each plugin once; with ``entry_points``,
    the installed entry points first. Returns the names loaded so far. A plugin that fails to
    import or register raises :class:`PluginError` with one line."""
    wanted = [*(entry_point_names() if entry_points else []), *names]
    for name in dict.fromkeys(wanted):
        if name not in _LOADED:
            _LOADED[name] = _load(name)
    return list(_LOADED)


def _load(name: str) -> dict[str, str]:
    module_name, _, function = name.partition(":")
    try:
        module = importlib.import_module(module_name)
        if function:
            getattr(module, function)()
    except Exception as error:  # noqa: BLE001 - any failure of user code becomes one line
        text = str(error).strip().splitlines()
        raise PluginError(f"plugin {name!r} failed to load: {type(error).__name__}: "
                          f"{text[0] if text else ''}; check that it is importable "
                          "(on PYTHONPATH / installed) and registers valid entries") from error
    return _version_record(module)


def _version_record(module: ModuleType) -> dict[str, str]:
    """``{"version": ...}`` from ``__version__`` or the installed distribution; a module with
    neither is identified by the SHA-256 of its source file, so any edit changes run ids."""
    version = getattr(module, "__version__", None)
    if version is None:
        top = module.__name__.partition(".")[0]
        for distribution in metadata.packages_distributions().get(top, []):
            try:
                version = metadata.version(distribution)
                break
            except metadata.PackageNotFoundError:
                continue
    if version is not None:
        return {"version": str(version)}
    source = getattr(module, "__file__", None)
    digest = hashlib.sha256(Path(source).read_bytes()).hexdigest() if source else "unknown"
    return {"source_sha256": digest}


def plugin_record() -> dict[str, dict[str, str]]:
    """Each loaded plugin and its version (``{name: {"version": v}}`` or, for an unversioned
    module, ``{name: {"source_sha256": h}}``), sorted by name: part of every run's identity."""
    return {name: dict(_LOADED[name]) for name in sorted(_LOADED)}


def ensure_plugins(record: dict[str, Any] | None) -> None:
    """Load the plugins a task's ``record`` (a :func:`plugin_record`) names, in a worker, and
    check each is the version the task was planned with."""
    if not record:
        return
    load_plugins(record)
    for name, wanted in record.items():
        if _LOADED[name] != wanted:
            raise PluginError(f"plugin {name!r} here is {_LOADED[name]}, but the sweep was "
                              f"planned with {wanted}; install the same version on every "
                              "worker")


def require_plugins(record: dict[str, Any] | None, what: str) -> None:
    """Raise :class:`PluginError` (one line) unless every plugin of ``record`` is loaded at the
    recorded version. For records read from files (config.json, sweep.json): a file never
    decides which code is imported, the user does, with ``--plugin``."""
    for name, wanted in (record or {}).items():
        if name not in _LOADED:
            raise PluginError(f"{what} used plugin {name!r} ({_describe(wanted)}), which is not "
                              f"loaded: add --plugin {name}")
        if _LOADED[name] != wanted:
            raise PluginError(f"{what} used plugin {name!r} ({_describe(wanted)}); the loaded "
                              f"one is {_describe(_LOADED[name])}")


def _describe(record: dict[str, str]) -> str:
    if "version" in record:
        return f"version {record['version']}"
    return f"source sha256 {str(record.get('source_sha256', '?'))[:12]}"


def _forget(name: str) -> None:
    """Tests only: unload a plugin record (its registrations stay)."""
    _LOADED.pop(name, None)
    sys.modules.pop(name.partition(":")[0], None)
