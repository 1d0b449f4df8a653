"""Ctrl-C always stops (issue 16), tested on real processes with bounded time.

The first SIGINT stops the queue: no new run starts, the running runs write a checkpoint and
stop after their current step, the command exits 130 with the "finished runs are stored" line.
A second SIGINT exits at once. SIGINT goes to the parent only (``kill -INT PID``), the harder
case: a terminal's Ctrl-C also reaches the workers themselves.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from disentangle_bench.cli import EXIT_INTERRUPTED
from disentangle_bench.sweep.store import LOCK

ROOT = Path(__file__).resolve().parents[1]
#: Five runs far too long to finish, checkpointing often (a checkpoint says training started).
LONG_SWEEP = ["--dataset", "tiny", "--preset", "smoke", "--models", "beta_vae",
              "--betas", "2", "3", "4", "5", "6", "--steps", "10000000",
              "--checkpoint-every", "20", "--metrics", "mig", "--quiet", "--no-report"]


def _start(out: Path, *options: str) -> tuple[subprocess.Popen, Path]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    log = out.parent / "stderr.txt"
    process = subprocess.Popen([sys.executable, str(ROOT / "run_benchmark.py"), *LONG_SWEEP,
                                *options, "--out", str(out)], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=log.open("w"))
    return process, log


def _started_runs(out: Path) -> list[Path]:
    return sorted(p.parent for p in out.rglob(LOCK))


def _wait_for_training(process: subprocess.Popen, out: Path, count: int,
                       timeout: float) -> None:
    """Until ``count`` runs have written a checkpoint: they are inside the training loop."""
    deadline = time.monotonic() + timeout
    while len(_checkpoints(out)) < count:
        assert process.poll() is None, "the sweep ended before its runs trained"
        assert time.monotonic() < deadline, f"{count} runs did not train within {timeout} s"
        time.sleep(0.1)


def _finish(process: subprocess.Popen, within: float) -> float:
    start = time.monotonic()
    try:
        process.wait(timeout=within)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"still running {within} s after SIGINT")
    return time.monotonic() - start


def _checkpoints(out: Path) -> list[Path]:
    return sorted(out.rglob("checkpoint.pt"))


def _checkpoint(path: Path) -> dict:
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_first_ctrl_c_stops_the_queue_and_checkpoints_running_runs(jobs, tmp_path):
    out = tmp_path / "out"
    process, log = _start(out, "--jobs", jobs)
    _wait_for_training(process, out, int(jobs), timeout=90)
    os.kill(process.pid, signal.SIGINT)
    _finish(process, within=15)
    stderr = log.read_text()
    assert process.returncode == EXIT_INTERRUPTED, stderr
    assert "finished runs are stored" in stderr
    started = _started_runs(out)
    assert len(started) == int(jobs), f"a run started after Ctrl-C: {started}"
    # each running run stopped between two steps and wrote a checkpoint as it stopped
    for path in _checkpoints(out):
        state = _checkpoint(path)
        assert state["interrupted"] is True, (path, state["step"])
        assert state["step"] > 0


def test_second_ctrl_c_exits_at_once(tmp_path):
    out = tmp_path / "out"
    process, log = _start(out, "--jobs", "2")
    _wait_for_training(process, out, 2, timeout=90)
    os.kill(process.pid, signal.SIGINT)
    time.sleep(0.3)
    os.kill(process.pid, signal.SIGINT)
    _finish(process, within=5)
    assert process.returncode == EXIT_INTERRUPTED, log.read_text()
    assert "finished runs are stored" in log.read_text()


def test_ctrl_c_stops_a_dask_local_cluster_sweep(tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "out"
    process, log = _start(out, "--executor", "dask", "--jobs", "2")
    _wait_for_training(process, out, 1, timeout=90)
    os.kill(process.pid, signal.SIGINT)
    _finish(process, within=20)
    stderr = log.read_text()
    assert process.returncode == EXIT_INTERRUPTED, stderr
    assert "cancelling" in stderr and "finished runs are stored" in stderr
    assert len(_started_runs(out)) <= 2, "a queued Dask task started after Ctrl-C"
