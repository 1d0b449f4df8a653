"""``local``: runs on this machine, in-process (``--jobs 1``) or in a process pool.

With ``--jobs N > 1`` each worker is a fresh *spawned* process (no forked torch state) limited to
``max(1, cores // N)`` torch threads, so N concurrent runs do not oversubscribe the cores. The
per-run training bars are shown only in-process (``--jobs 1``): N bars from N processes would
garble the terminal, so pooled runs report through the sweep bar alone.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from ..run import execute_task
from ..spec import RunSpec
from .base import Executor, TaskDone


def threads_per_job(jobs: int, cores: int | None = None) -> int:
    """Torch threads for each of ``jobs`` concurrent runs: ``max(1, cores // jobs)``."""
    return max(1, (cores or os.cpu_count() or 1) // jobs)


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


class LocalExecutor(Executor):
    name = "local"
    summary = "this machine: in-process for --jobs 1, else a pool of --jobs spawned processes"

    def describe(self) -> str:
        if self.jobs == 1:
            return "local, in-process"
        return f"local, {self.jobs} processes × {threads_per_job(self.jobs)} torch thread(s)"

    def run(self, specs: Sequence[RunSpec], store_root: str, *,
            progress: bool = True) -> Iterator[TaskDone]:
        if self.jobs == 1:
            for spec in specs:
                outcome = execute_task(spec.to_dict(), str(store_root), progress)
                yield TaskDone(spec.run_id, outcome=outcome)
            return
        yield from self._run_pool(specs, str(store_root))

    def _run_pool(self, specs: Sequence[RunSpec], store_root: str) -> Iterator[TaskDone]:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=self.jobs, mp_context=context,
                                 initializer=_init_worker,
                                 initargs=(threads_per_job(self.jobs),)) as pool:
            pending: dict[Future, str] = {
                pool.submit(execute_task, spec.to_dict(), store_root, False): spec.run_id
                for spec in specs
            }
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    run_id = pending.pop(future)
                    error = future.exception()
                    if error is None:
                        yield TaskDone(run_id, outcome=future.result())
                    else:
                        yield TaskDone(run_id, crash=f"{type(error).__name__}: {error}")
