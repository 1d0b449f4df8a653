"""``dask``: each run is one task on a Dask distributed cluster (optional extra ``.[dask]``).

``--scheduler tcp://HOST:PORT`` (or the path of a scheduler file, as written by
``dask scheduler --scheduler-file``) connects to an existing cluster: a ``dask scheduler`` with
``dask worker`` processes, or one started by ``dask-jobqueue`` on Slurm/PBS. Without
``--scheduler`` a ``LocalCluster`` of ``--jobs`` worker processes × 1 thread is started.

Why this is safe to retry and scale (the contract of ``run.run_one``):

* a task writes only its own model directory (``models/<model_id>/``, with its evaluations) in
  the shared store, so the store path must be the same absolute path on every worker (a shared
  filesystem on a real cluster);
* a trained model is not retrained and a stored evaluation is not recomputed, an unfinished
  model resumes from its checkpoint, and a per-model lock stops two workers from training or
  scoring the same model at once, so a task that runs twice — a worker died and Dask
  rescheduled it, or two sweeps overlap — leaves the model present exactly once;
* the runner reads every outcome from the store, not from the task's return value.

Failures are bounded: a task that raises is retried ``--retries`` times (Dask's ``retries=``);
a task whose worker dies is rescheduled by the scheduler until it has killed
``distributed.scheduler.allowed-failures`` + 1 workers (this executor sets that to
``--retries`` for its own ``LocalCluster``; an external scheduler uses its own setting, default 3),
after which it is reported as a crash and recorded in the run's error.json.

Dask is imported inside methods only: ``--help`` imports every registered executor.
"""

from __future__ import annotations

import argparse
import os
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..run import execute_task
from ..spec import RunSpec
from .base import Executor, TaskDone
from .local import threads_per_job

#: Seconds to wait for the scheduler before giving up with :class:`SchedulerUnreachable`.
DEFAULT_CONNECT_TIMEOUT = 5.0
#: Re-runs of a task after an exception or a dead worker (see the module docstring).
DEFAULT_RETRIES = 2


class SchedulerUnreachable(ValueError):
    """``--scheduler`` names no reachable Dask scheduler; the message is one line saying what to
    do. A ``ValueError`` because it is a bad option value: the CLI prints it as one line."""


class DaskMissing(ValueError):
    """``--executor dask`` without ``dask.distributed`` installed; the message says how to
    install it (a ``ValueError`` for the same reason as :class:`SchedulerUnreachable`)."""


def run_task(spec_record: dict[str, Any], store_root: str, torch_threads: int | None) -> dict:
    """The task each worker runs: ``run.execute_task`` with a bounded number of torch threads.

    Threads are set inside the task because Dask runs tasks in its own worker threads and
    OpenMP's thread count is per calling thread. ``torch_threads=None`` keeps the worker's
    environment (``OMP_NUM_THREADS``, which Dask's nanny sets to 1) or uses 1 thread.
    """
    import torch

    threads = torch_threads or int(os.environ.get("OMP_NUM_THREADS") or 0) or 1
    torch.set_num_threads(threads)
    return execute_task(spec_record, store_root, False)


class DaskExecutor(Executor):
    name = "dask"
    summary = ("a Dask cluster: --scheduler tcp://HOST:PORT (or a scheduler file), "
               "else a LocalCluster of --jobs processes")
    #: The function each task runs on a worker (``run_task``'s signature); must be importable
    #: on the workers.
    task = staticmethod(run_task)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
        parser.add_argument(
            "--scheduler", default=None, metavar="ADDRESS",
            help="dask executor: the scheduler's address (tcp://HOST:PORT) or scheduler-file "
                 "path; the results directory must be visible at the same absolute path on every "
                 "worker. Default: start a LocalCluster of --jobs processes on this machine")
        parser.add_argument(
            "--retries", type=int, default=DEFAULT_RETRIES, metavar="N",
            help="dask executor: re-run a task at most N times after it raised or its worker "
                 f"died (default {DEFAULT_RETRIES}); finished work is kept, runs resume from "
                 "their checkpoint")
        parser.add_argument(
            "--scheduler-timeout", type=float, default=DEFAULT_CONNECT_TIMEOUT, metavar="SECONDS",
            help="dask executor: give up connecting to --scheduler after this many seconds "
                 f"(default {DEFAULT_CONNECT_TIMEOUT:g})")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> DaskExecutor:
        """The executor, checked before anything is written or trained: dask is installed and
        ``--scheduler`` (when given) answers within ``--scheduler-timeout``."""
        executor = cls(jobs=args.jobs, threads=getattr(args, "threads", None),
                       scheduler=getattr(args, "scheduler", None),
                       retries=getattr(args, "retries", DEFAULT_RETRIES),
                       connect_timeout=getattr(args, "scheduler_timeout",
                                               DEFAULT_CONNECT_TIMEOUT))
        executor.check()
        return executor

    def __init__(self, jobs: int = 1, *, threads: int | None = None,
                 scheduler: str | None = None, retries: int = DEFAULT_RETRIES,
                 connect_timeout: float = DEFAULT_CONNECT_TIMEOUT):
        super().__init__(jobs, threads)
        if retries < 0:
            raise ValueError(f"--retries must be 0 or more, got {retries}")
        if connect_timeout <= 0:
            raise ValueError(f"--scheduler-timeout must be positive, got {connect_timeout}")
        self.scheduler = scheduler
        self.retries = retries
        self.connect_timeout = connect_timeout

    def check(self) -> None:
        """Raise :class:`DaskMissing` or :class:`SchedulerUnreachable` now rather than mid-sweep."""
        distributed = _import_distributed()
        if self.scheduler:
            self._connect_to_scheduler(distributed).close()

    def describe(self) -> str:
        if self.scheduler:
            return f"dask, scheduler {self.scheduler}"
        return (f"dask, LocalCluster of {self.jobs} processes × "
                f"{self._torch_threads()} torch thread(s)")

    def _torch_threads(self) -> int | None:
        """Threads per task: ``--threads``, else (own LocalCluster) the free cores shared among
        the jobs, else (external workers) ``None``: each worker's own setting."""
        if self.threads:
            return self.threads
        if self.scheduler:
            return None
        if not hasattr(self, "_default_threads"):
            self._default_threads = threads_per_job(self.jobs)
        return self._default_threads

    def run(self, specs: Sequence[RunSpec], store_root: str, *,
            progress: bool = True) -> Iterator[TaskDone]:
        if not specs:
            return
        # Workers may run in another directory: hand them an absolute path.
        root = str(Path(store_root).resolve())
        torch_threads = self._torch_threads()
        with self._connect() as client:
            yield from self._submit_and_collect(client, specs, root, torch_threads)

    # --- internals ----------------------------------------------------------------------------
    def _connect(self) -> Any:
        """A ``Client`` for ``--scheduler``, or one owning a fresh ``LocalCluster``."""
        distributed = _import_distributed()
        if self.scheduler:
            return self._connect_to_scheduler(distributed)
        return self._start_local_cluster(distributed)

    def _connect_to_scheduler(self, distributed: Any) -> Any:
        target = self.scheduler
        by_file = Path(target).is_file()
        if not by_file and "://" not in target and target.endswith((".json", ".yaml")):
            raise SchedulerUnreachable(f"--scheduler: no scheduler file {target!r}; pass the "
                                       "file `dask scheduler --scheduler-file` wrote, or its "
                                       "tcp://HOST:PORT")
        try:
            if by_file:
                return distributed.Client(scheduler_file=target, timeout=self.connect_timeout,
                                          set_as_default=False)
            return distributed.Client(target, timeout=self.connect_timeout, set_as_default=False)
        except Exception as error:  # noqa: BLE001 - any failure here means "no usable scheduler"
            raise SchedulerUnreachable(
                f"cannot connect to the Dask scheduler {target!r}: {_first_line(error)}; "
                "start one with `dask scheduler` and pass the tcp://HOST:PORT it prints "
                "to --scheduler") from None

    def _start_local_cluster(self, distributed: Any) -> Any:
        import logging

        import dask

        # A LocalCluster's scheduler lives in this process, so its retry bound is ours to set.
        # Dask's statistical profiler wakes every 10 ms in each worker and takes the GIL from
        # the training thread; runs are long single tasks, so it buys nothing here.
        with dask.config.set({"distributed.scheduler.allowed-failures": self.retries,
                              "distributed.worker.profile.enabled": False}):
            cluster = distributed.LocalCluster(
                n_workers=self.jobs, threads_per_worker=1, processes=True,
                dashboard_address=None, silence_logs=logging.CRITICAL,
                # the scheduler's HTTP endpoints (health, metrics) on any free loopback port:
                # the default 8787 clashes with any other cluster on this machine
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
        try:
            client = distributed.Client(cluster, set_as_default=False)
        except BaseException:
            cluster.close()
            raise
        return _ClusterClient(client, cluster)

    def _submit_and_collect(self, client: Any, specs: Sequence[RunSpec], root: str,
                            torch_threads: int | None) -> Iterator[TaskDone]:
        from distributed import as_completed

        sweep_token = uuid.uuid4().hex[:8]
        futures = {}
        for spec in specs:
            future = client.submit(self.task, spec.to_dict(), root, torch_threads,
                                   key=f"run-{spec.run_id}-{sweep_token}", pure=False,
                                   retries=self.retries)
            futures[future] = spec.run_id
        try:
            for future in as_completed(futures, loop=client.loop):
                run_id = futures[future]
                yield _task_done(run_id, future)
                future.release()
        except (KeyboardInterrupt, GeneratorExit):
            _cancel(client, futures)
            raise


def _cancel(client: Any, futures: dict[Any, str]) -> None:
    """Ctrl-C: cancel every unfinished task of this sweep (queued ones never start). A task
    already running on an external cluster's worker cannot be stopped from here and finishes
    its run; a LocalCluster's workers are shut down with the cluster right after this."""
    import sys

    unfinished = [future for future in futures if not future.done()]
    if unfinished:
        print(f"\nstopping: cancelling {len(unfinished)} unfinished Dask task(s)",
              file=sys.stderr, flush=True)
        try:
            client.cancel(unfinished, force=True)
        except Exception:  # noqa: BLE001 - a lost connection: nothing left to cancel from here
            pass


def _task_done(run_id: str, future: Any) -> TaskDone:
    """A finished future as a TaskDone; a killed/cancelled/raising task becomes a crash line."""
    if future.status == "finished":
        return TaskDone(run_id, outcome=future.result())
    if future.status == "cancelled":
        return TaskDone(run_id, crash="the Dask scheduler cancelled the task (scheduler "
                                      "restarted, or this client lost its connection)")
    error = future.exception()
    name = type(error).__name__
    if name == "KilledWorker":
        attempts = _first_line(error).split(". ")[0]
        return TaskDone(run_id, crash=f"KilledWorker: {attempts}; rerun the sweep to resume "
                                      "the run from its checkpoint")
    return TaskDone(run_id, crash=f"{name}: {_first_line(error)}")


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise DaskMissing('the dask executor needs dask.distributed: pip install -e ".[dask]"'
                          ) from None
    return distributed


class _ClusterClient:
    """Context manager closing a client and then the LocalCluster it was started with."""

    def __init__(self, client: Any, cluster: Any):
        self.client, self.cluster = client, cluster

    def __enter__(self) -> Any:
        return self.client

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.client.close()
        finally:
            self.cluster.close()
