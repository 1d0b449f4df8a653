"""``local``: runs on this machine, in-process (``--jobs 1``) or in a process pool.

Each run gets ``--threads`` torch threads; by default ``OMP_NUM_THREADS`` when set, else the cores
free when the sweep starts divided among the jobs, ``max(1, free // N)``, so N concurrent runs do
not oversubscribe the cores, and other processes on shared cores do not stall them (see
``training.threads``). With ``--jobs N > 1`` each worker is a fresh *spawned* process (no forked
torch state). The
per-run training bars are shown only in-process (``--jobs 1``): N bars from N processes would
garble the terminal, so pooled runs report through the sweep bar alone.

Ctrl-C (``disentangle_bench.interrupt``): the first one starts no new run, asks every running run to
write a checkpoint and stop after its current step (in a pool the parent forwards the request
to its workers, so ``kill -INT`` on the parent alone works too), waits at most
:data:`STOP_GRACE_SECONDS` for them, and raises ``KeyboardInterrupt``; a second one kills the
workers at once (their runs keep their last checkpoint).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from ... import interrupt
from ..run import execute_task
from ..spec import RunSpec
from .base import Executor, TaskDone

#: After Ctrl-C, how long running pool workers get to checkpoint and stop before being killed.
STOP_GRACE_SECONDS = 20.0


def threads_per_job(jobs: int, cores: int | None = None) -> int:
    """Torch threads for each of ``jobs`` concurrent runs: ``max(1, cores // jobs)``, where
    ``cores`` defaults to the cores free right now (``training.free_cores``: the usable cores
    minus the load average; on busy shared cores extra threads stall each other)."""
    if cores is None:
        from ...training.threads import free_cores

        cores = free_cores()
    return max(1, cores // jobs)


def default_threads(jobs: int) -> int:
    """Torch threads per run when ``--threads`` is not given: ``OMP_NUM_THREADS`` when set, else
    :func:`threads_per_job` (the free cores shared among the jobs)."""
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return threads_per_job(jobs)


def _init_worker(threads: int) -> None:
    import torch

    interrupt.install_for_worker()
    torch.set_num_threads(threads)


class LocalExecutor(Executor):
    name = "local"
    summary = "this machine: in-process for --jobs 1, else a pool of --jobs spawned processes"

    def __init__(self, jobs: int = 1, threads: int | None = None):
        super().__init__(jobs, threads)
        #: torch threads of each run, fixed when the sweep is planned
        self.threads = threads or default_threads(jobs)

    def describe(self) -> str:
        if self.jobs == 1:
            return f"local, in-process, {self.threads} torch thread(s)"
        return f"local, {self.jobs} processes × {self.threads} torch thread(s)"

    def run(self, specs: Sequence[RunSpec], store_root: str, *,
            progress: bool = True) -> Iterator[TaskDone]:
        if self.jobs == 1:
            import torch

            previous = torch.get_num_threads()
            torch.set_num_threads(self.threads)
            try:
                with interrupt.graceful_interrupts():
                    for spec in specs:
                        outcome = execute_task(spec.to_dict(), str(store_root), progress)
                        yield TaskDone(spec.run_id, outcome=outcome)
            finally:
                torch.set_num_threads(previous)
            return
        yield from self._run_pool(specs, str(store_root))

    def _run_pool(self, specs: Sequence[RunSpec], store_root: str) -> Iterator[TaskDone]:
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=context,
                                   initializer=_init_worker, initargs=(self.threads,))
        pending: dict[Future, str] = {}
        try:
            for spec in specs:
                pending[pool.submit(execute_task, spec.to_dict(), store_root, False)] = spec.run_id
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    run_id = pending.pop(future)
                    error = future.exception()
                    if error is None:
                        yield TaskDone(run_id, outcome=future.result())
                    else:
                        yield TaskDone(run_id, crash=f"{type(error).__name__}: {error}")
        except (KeyboardInterrupt, GeneratorExit):
            _stop_pool(pool, pending)
            raise
        pool.shutdown(wait=True)


def _stop_pool(pool: ProcessPoolExecutor, pending: dict[Future, str]) -> None:
    """Ctrl-C: cancel the queue, ask the running workers to checkpoint and stop, wait for them
    (at most :data:`STOP_GRACE_SECONDS`; a second Ctrl-C kills them at once)."""
    processes = list(getattr(pool, "_processes", {}).values())  # no public API for the pids
    pool.shutdown(wait=False, cancel_futures=True)
    if any(not future.done() for future in pending):
        print("\nstopping: no new run starts; running runs checkpoint and stop after their "
              "current step (Ctrl-C again to stop at once)", file=sys.stderr, flush=True)
    for process in processes:
        _ask_to_stop(process)
    second = {"ctrl_c": False}
    previous = signal.signal(signal.SIGINT, lambda *_: second.update(ctrl_c=True))
    try:
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while (any(p.is_alive() for p in processes) and not second["ctrl_c"]
               and time.monotonic() < deadline):
            time.sleep(0.05)
    finally:
        signal.signal(signal.SIGINT, previous)
    for process in processes:
        if process.is_alive():
            process.kill()


def _ask_to_stop(process: multiprocessing.process.BaseProcess) -> None:
    if process.pid is None or not process.is_alive():
        return
    try:
        if interrupt.STOP_SIGNAL is not None:
            os.kill(process.pid, interrupt.STOP_SIGNAL)
        else:  # Windows: Ctrl-C already reached every process of the console
            pass
    except ProcessLookupError:
        pass
