"""Executor registry: a new executor is one module plus one line in ``EXECUTORS``.

Entries are ``"module:Class"`` strings imported on demand, so an executor with optional
dependencies (dask) costs nothing until selected; its module must import those dependencies
inside methods, not at top level, because ``--help`` imports every registered executor to list
its options.
"""

from __future__ import annotations

from importlib import import_module

from .base import Executor, TaskDone

EXECUTORS: dict[str, str] = {
    "local": "disentangle_bench.sweep.executors.local:LocalExecutor",
    "dask": "disentangle_bench.sweep.executors.dask:DaskExecutor",
}


def list_executors() -> list[str]:
    return sorted(EXECUTORS)


def executor_class(name: str) -> type[Executor]:
    """The executor class registered as ``name``; unknown names raise a one-line ``KeyError``."""
    if name not in EXECUTORS:
        raise KeyError(f"unknown executor {name!r}; known executors: {', '.join(list_executors())}")
    module, attribute = EXECUTORS[name].split(":")
    return getattr(import_module(module), attribute)


__all__ = ["EXECUTORS", "Executor", "TaskDone", "executor_class", "list_executors"]
