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

Nothing outlives the sweep: a worker dies with its parent, whether the parent exits, is killed or
gets SIGKILL (:func:`_exit_with_parent`: Linux's parent-death signal, elsewhere a watchdog thread),
the parent reaps its workers, and as the process exits it stops the multiprocessing resource
tracker that the pool's queues started, which would otherwise exit only after the command had
(:func:`_stop_resource_tracker_at_exit`).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.resource_tracker
import multiprocessing.util
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from ... import interrupt
from ..run import execute_task
from ..spec import RunSpec
from .base import Executor, TaskDone

#: After Ctrl-C, how long running pool workers get to checkpoint and stop before being killed.
STOP_GRACE_SECONDS = 20.0
#: ``prctl(2)`` option: the signal a process gets when its parent dies (``<linux/prctl.h>``).
PR_SET_PDEATHSIG = 1
#: How often a worker's watchdog looks for its parent where no parent-death signal exists.
WATCHDOG_SECONDS = 1.0
#: At exit, how long the resource tracker gets to finish after its pipe is closed before it is
#: killed (it needs milliseconds; only a process still holding its pipe would make it wait).
TRACKER_EXIT_SECONDS = 10.0
#: Exit priority of the tracker's stop among multiprocessing's finalizers: after every other one,
#: since each semaphore's finalizer (priority 0) tells the tracker, and would restart a stopped one.
TRACKER_STOP_PRIORITY = -100


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


def _init_worker(threads: int, parent_pid: int | None = None) -> None:
    """A pool worker's start: die with the parent (``parent_pid``), Ctrl-C handlers, threads."""
    if parent_pid is not None:
        _exit_with_parent(parent_pid)
    import torch

    interrupt.install_for_worker()
    torch.set_num_threads(threads)


def _exit_with_parent(parent_pid: int, death_signal: bool = True) -> None:
    """Make this process die when its parent ``parent_pid`` does: Linux's parent-death signal
    (SIGKILL), else (or with ``death_signal=False``) a daemon watchdog thread; exit at once if
    the parent is already gone.

    The parent-death signal fires when the *thread* that started this process ends: the pool
    starts its workers from the thread that runs the sweep, which outlives them."""
    if not (death_signal and _set_parent_death_signal()):
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True,
                         name="parent-watchdog").start()
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)


def _set_parent_death_signal() -> bool:
    """``prctl(PR_SET_PDEATHSIG, SIGKILL)``; False where it is unavailable (not Linux)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent_pid: int) -> None:
    """Exit this process once its parent is gone: it was re-parented (POSIX) or the parent's
    sentinel closed (every platform; ``multiprocessing.parent_process``)."""
    parent = multiprocessing.parent_process()
    while os.getppid() == parent_pid and (parent is None or parent.is_alive()):
        if parent is None:
            time.sleep(WATCHDOG_SECONDS)
        else:
            parent.join(WATCHDOG_SECONDS)
    os._exit(1)


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
        _stop_resource_tracker_at_exit()
        pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=context,
                                   initializer=_init_worker, initargs=(self.threads, os.getpid()))
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
            pool.shutdown(wait=True)
        except BaseException:  # Ctrl-C, an abandoned generator, any failure here
            _stop_pool(pool, pending)
            raise


def _stop_pool(pool: ProcessPoolExecutor, pending: dict[Future, str]) -> None:
    """Ctrl-C: cancel the queue, ask the running workers to checkpoint and stop, wait for them
    (at most :data:`STOP_GRACE_SECONDS`; a second Ctrl-C kills them at once), and reap them.
    The stop line is printed once a second Ctrl-C would be handled."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # no public API
    pool.shutdown(wait=False, cancel_futures=True)
    second = {"ctrl_c": False}
    previous = signal.signal(signal.SIGINT, lambda *_: second.update(ctrl_c=True))
    try:
        if any(not future.done() for future in pending):
            print("\nstopping: no new run starts; running runs checkpoint and stop after their "
                  "current step (Ctrl-C again to stop at once)", file=sys.stderr, flush=True)
        for process in processes:
            _ask_to_stop(process)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while (any(p.is_alive() for p in processes) and not second["ctrl_c"]
               and time.monotonic() < deadline):
            time.sleep(0.05)
    finally:
        signal.signal(signal.SIGINT, previous)
    for process in processes:
        if process.is_alive():
            process.kill()
    for process in processes:
        process.join()


def _stop_resource_tracker_at_exit() -> None:
    """Have this process stop multiprocessing's resource tracker as it exits (once registered,
    later calls do nothing). The tracker exits by itself only once every process holding its
    pipe has, so after the command: init reaped it. Stopping it earlier would not do: each
    semaphore's exit finalizer tells the tracker, and a stopped one would be started again."""
    if not _TRACKER_STOP["registered"]:
        _TRACKER_STOP["registered"] = True
        multiprocessing.util.Finalize(None, _stop_resource_tracker,
                                      exitpriority=TRACKER_STOP_PRIORITY)


_TRACKER_STOP = {"registered": False}


def _stop_resource_tracker() -> None:
    """Close the tracker's pipe and reap it, killing it if it is not done within
    :data:`TRACKER_EXIT_SECONDS` (ResourceTracker's attributes are private; Python 3.10-3.14)."""
    tracker = getattr(multiprocessing.resource_tracker, "_resource_tracker", None)
    lock = getattr(tracker, "_lock", None)
    if lock is None:
        return
    with lock:
        fd, pid = getattr(tracker, "_fd", None), getattr(tracker, "_pid", None)
        if fd is None or pid is None:
            return
        tracker._fd = tracker._pid = None
        os.close(fd)
        deadline = time.monotonic() + TRACKER_EXIT_SECONDS
        try:
            while os.waitpid(pid, os.WNOHANG) == (0, 0):
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    return
                time.sleep(0.01)
        except ChildProcessError:  # reaped elsewhere
            pass


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
