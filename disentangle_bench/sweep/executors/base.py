"""The executor interface: how a sweep's runs get executed.

An executor receives RunSpecs and the store root, executes ``run.execute_task`` (i.e.
``run_one``) for each, and yields a :class:`TaskDone` as each finishes, in any order. It never
needs to return results: ``run_one`` writes them to the model's directory and the runner reads the
store. A task that dies without ``run_one`` recording anything (a killed worker, a pickling
error) is reported through ``TaskDone.crash`` and the runner records it in error.json.

Adding an executor = one module defining a subclass + one line in ``executors.EXECUTORS``.
A subclass may add its own command-line options with :meth:`add_arguments` (options are
namespaced by convention: ``--scheduler`` for dask, say) and reads them in :meth:`from_args`.
"""

from __future__ import annotations

import argparse
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from ..spec import RunSpec


@dataclass(frozen=True)
class TaskDone:
    """A finished task: the run id, and the crash message when ``run_one`` never returned."""

    run_id: str
    crash: str | None = None
    outcome: dict[str, Any] | None = None


class Executor(ABC):
    """Runs ``run_one`` for each spec; see the module docstring for the contract."""

    name: ClassVar[str]
    #: One line for ``--help``.
    summary: ClassVar[str] = ""

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
        """Add this executor's own options to the CLI parser (default: none)."""
        return None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Executor:
        """Build the executor from parsed CLI arguments (``args.jobs`` is always present,
        ``args.threads`` when the runner's parser made them)."""
        return cls(jobs=args.jobs, threads=getattr(args, "threads", None))

    def __init__(self, jobs: int = 1, threads: int | None = None):
        if jobs < 1:
            raise ValueError(f"--jobs must be at least 1, got {jobs}")
        if threads is not None and threads < 1:
            raise ValueError(f"--threads must be at least 1, got {threads}")
        self.jobs = jobs
        #: torch threads per run as asked for (``None``: the executor's default)
        self.threads = threads

    def describe(self) -> str:
        """One line for the sweep header, e.g. ``local, 2 processes × 1 thread``."""
        return f"{self.name}, {self.jobs} job(s)"

    @abstractmethod
    def run(self, specs: Sequence[RunSpec], store_root: str, *,
            progress: bool = True) -> Iterator[TaskDone]:
        """Execute every spec (``run.execute_task``), yielding each as it finishes."""
