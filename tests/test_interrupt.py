"""Ctrl-C always stops (issue 16) and nothing outlives a run (issue 23), on real processes.

The first SIGINT stops the queue: no new run starts, the running runs write a checkpoint and
stop after their current step, the command exits 130 with the "finished runs are stored" line.
A second SIGINT exits at once. SIGINT to the parent only (``kill -INT PID``) is the harder case
for stopping; a terminal's Ctrl-C (SIGINT to the whole group) must leave no process of the group
behind, pool workers and the multiprocessing resource tracker included. A parent killed with
SIGKILL takes its pool workers with it.

Each command runs in its own process group, killed when the test ends, pass or fail
(``tests/processes.py``). Waits are on files (checkpoints, the stop line) and on exits, bounded
only by a deadline that a loaded machine does not reach.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from processes import (
    alive,
    default_sigint,
    group_members,
    listed,
    needs_proc,
    started,
    wait_for_exit,
    wait_until,
)

from disentangle_bench.cli import EXIT_INTERRUPTED
from disentangle_bench.sweep.store import LOCK

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
#: Five runs far too long to finish, checkpointing often (a checkpoint says training started).
LONG_SWEEP = ["--dataset", "tiny", "--preset", "smoke", "--models", "beta_vae",
              "--betas", "2", "3", "4", "5", "6", "--steps", "10000000",
              "--checkpoint-every", "20", "--metrics", "mig", "--quiet", "--no-report"]
#: The CLI with a stop grace period no test reaches: only a second Ctrl-C ends the wait.
ENDLESS_GRACE = ("import sys; from disentangle_bench.sweep.executors import local; "
                 "local.STOP_GRACE_SECONDS = 1e9; "
                 "from disentangle_bench.cli import main; sys.exit(main(sys.argv[1:]))")
STOP_LINE = "stopping: no new run starts"
POOL_WORKER = "multiprocessing.spawn"


def _command(out: Path, *options: str, entry: tuple[str, ...] = ()) -> list[str]:
    entry = entry or (str(ROOT / "run_benchmark.py"),)
    return [sys.executable, *entry, *LONG_SWEEP, *options, "--out", str(out)]


@contextmanager
def _sweep(out: Path, *options: str,
           entry: tuple[str, ...] = ()) -> Iterator[tuple[subprocess.Popen, Path]]:
    """The long sweep in its own process group, killed on leaving; stderr goes to the log."""
    log = out.parent / "stderr.txt"
    with log.open("w") as stderr, started(_command(out, *options, entry=entry), cwd=ROOT,
                                          env=ENV, stdout=subprocess.DEVNULL, stderr=stderr,
                                          preexec_fn=default_sigint) as process:
        yield process, log


def _started_runs(out: Path) -> list[Path]:
    return sorted(p.parent for p in out.rglob(LOCK))


def _checkpoints(out: Path) -> list[Path]:
    return sorted(out.rglob("checkpoint.pt"))


def _wait_for_training(process: subprocess.Popen, out: Path, count: int) -> None:
    """Until ``count`` runs have written a checkpoint: they are inside the training loop."""
    wait_until(lambda: len(_checkpoints(out)) >= count, f"checkpoint of {count} run(s)", process)


def _checkpoint(path: Path) -> dict:
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def _workers(pgid: int) -> dict[int, str]:
    return {pid: cmd for pid, cmd in group_members(pgid).items() if POOL_WORKER in cmd}


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_first_ctrl_c_stops_the_queue_and_checkpoints_running_runs(jobs, tmp_path):
    out = tmp_path / "out"
    with _sweep(out, "--jobs", jobs) as (process, log):
        _wait_for_training(process, out, int(jobs))
        os.kill(process.pid, signal.SIGINT)
        wait_for_exit(process)
    stderr = log.read_text()
    assert process.returncode == EXIT_INTERRUPTED, stderr
    assert "finished runs are stored" in stderr
    started_runs = _started_runs(out)
    assert len(started_runs) == int(jobs), f"a run started after Ctrl-C: {started_runs}"
    # each running run stopped between two steps and wrote a checkpoint as it stopped
    for path in _checkpoints(out):
        state = _checkpoint(path)
        assert state["interrupted"] is True, (path, state["step"])
        assert state["step"] > 0


@needs_proc
def test_second_ctrl_c_exits_at_once(tmp_path):
    """Workers that cannot stop (SIGSTOP) and a grace period no test reaches: only the second
    Ctrl-C can end the command, and it leaves no process of its group."""
    out = tmp_path / "out"
    with _sweep(out, "--jobs", "2", entry=("-c", ENDLESS_GRACE)) as (process, log):
        _wait_for_training(process, out, 2)
        workers = _workers(process.pid)
        assert len(workers) == 2, workers
        for pid in workers:
            os.kill(pid, signal.SIGSTOP)
        os.kill(process.pid, signal.SIGINT)
        wait_until(lambda: STOP_LINE in log.read_text(), "stop line", process)
        os.kill(process.pid, signal.SIGINT)
        wait_for_exit(process)
        left = group_members(process.pid)
    assert process.returncode == EXIT_INTERRUPTED, log.read_text()
    assert "finished runs are stored" in log.read_text()
    assert left == {}, f"alive after the command exited: {left}"


@needs_proc
def test_ctrl_c_to_the_group_leaves_no_process_of_it(tmp_path):
    """A terminal's Ctrl-C reaches every process of the group: when the command has exited,
    none is left, neither pool workers nor the resource tracker (which exited only after the
    command did before it was stopped explicitly)."""
    out = tmp_path / "out"
    with _sweep(out, "--jobs", "2") as (process, log):
        _wait_for_training(process, out, 2)
        before = group_members(process.pid)
        os.killpg(process.pid, signal.SIGINT)
        wait_for_exit(process)
        left = group_members(process.pid)
        unreaped = {pid for pid in before if listed(pid)} - {process.pid}
    assert process.returncode == EXIT_INTERRUPTED, log.read_text()
    assert sum(POOL_WORKER in cmd for cmd in before.values()) == 2, before
    assert any("resource_tracker" in cmd for cmd in before.values()), before
    assert left == {}, f"alive after the command exited: {left}"
    # not even a zombie waiting for init: the command reaped each of its children itself
    assert unreaped == set(), {pid: before[pid] for pid in unreaped}


@needs_proc
def test_sigkill_of_the_parent_takes_its_workers(tmp_path):
    """The parent of a ``--jobs 2`` sweep gets SIGKILL mid-training: no cleanup code runs in it,
    yet its workers (and then the resource tracker) die with it."""
    out = tmp_path / "out"
    with _sweep(out, "--jobs", "2") as (process, log):
        _wait_for_training(process, out, 2)
        members = set(group_members(process.pid)) - {process.pid}
        assert len(_workers(process.pid)) == 2
        os.kill(process.pid, signal.SIGKILL)
        wait_for_exit(process)
        wait_until(lambda: not alive(members), "exit of the workers")
        assert group_members(process.pid) == {}
    assert process.returncode == -signal.SIGKILL


WATCHED_POOL = """
import multiprocessing, os, signal
from concurrent.futures import ProcessPoolExecutor
from disentangle_bench.sweep.executors.local import _exit_with_parent
pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                           initializer=_exit_with_parent, initargs=(os.getpid(), False))
print(pool.submit(os.getpid).result(), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


@needs_proc
def test_watchdog_alone_ends_a_worker_whose_parent_died():
    """Where no parent-death signal exists the watchdog thread is the fallback: an idle pool
    worker (which otherwise outlives its parent, blocked on its queue) exits by itself."""
    with started([sys.executable, "-c", WATCHED_POOL], cwd=ROOT, env=ENV,
                 stdout=subprocess.PIPE, text=True) as process:
        worker = int(process.stdout.readline())
        assert wait_for_exit(process) == -signal.SIGKILL
        wait_until(lambda: not alive({worker}), "exit of the orphaned worker")


def test_ctrl_c_stops_a_dask_local_cluster_sweep(tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "out"
    with _sweep(out, "--executor", "dask", "--jobs", "2") as (process, log):
        _wait_for_training(process, out, 1)
        os.kill(process.pid, signal.SIGINT)
        wait_for_exit(process)
    stderr = log.read_text()
    assert process.returncode == EXIT_INTERRUPTED, stderr
    assert "cancelling" in stderr and "finished runs are stored" in stderr
    assert len(_started_runs(out)) <= 2, "a queued Dask task started after Ctrl-C"
