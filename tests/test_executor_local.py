"""The local executor's parallel path: ``--jobs N`` runs N spawned processes with
``cores // N`` torch threads each and gives the same table as the in-process ``--jobs 1``."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from processes import HANG_SECONDS, run

from disentangle_bench.sweep import load_results
from disentangle_bench.sweep.executors import executor_class
from disentangle_bench.sweep.executors.local import _init_worker, threads_per_job

REPO = Path(__file__).resolve().parents[1]
#: vae and beta_vae(beta=4) on the tiny dataset, one cheap metric.
GRID = ["--dataset", "tiny", "--architecture", "mlp", "--latent-dim", "4", "--preset", "smoke",
        "--models", "beta_vae", "--betas", "1", "4", "--seeds", "0",
        "--precision", "fp32", "--steps", "60", "--batch-size", "32",
        "--metrics", "mig", "--protocol", "mig.num_train=1000"]
TIMING_COLUMNS = ("seconds", "train_seconds", "metrics_seconds")


def run_cli(out: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(REPO / "run_benchmark.py"), *GRID, "--out", str(out),
               "--no-report", "--quiet", *extra]
    # both paths get the same thread count (OMP_NUM_THREADS is every run's count when set): the
    # thread count changes the last digits
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return run(command, cwd=REPO, env=env)


def comparable(out: Path) -> pd.DataFrame:
    frame = load_results(out)
    frame = frame.drop(columns=[c for c in TIMING_COLUMNS if c in frame.columns])
    return frame.sort_values("run_id").reset_index(drop=True)


@pytest.mark.parametrize(("jobs", "cores", "expected"),
                         [(1, 8, 8), (2, 8, 4), (3, 8, 2), (2, 2, 1), (16, 2, 1), (1, 1, 1)])
def test_threads_per_job_divides_the_cores(jobs, cores, expected):
    assert threads_per_job(jobs, cores=cores) == expected


def test_pool_workers_are_limited_to_their_share_of_threads():
    """The initializer the pool uses really limits torch in each spawned worker."""
    threads = threads_per_job(2, cores=4)
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_init_worker, initargs=(threads,)) as pool:
        seen = set(pool.map(_torch_threads, range(4), timeout=HANG_SECONDS))
    assert seen == {2}


def _torch_threads(_: int) -> int:
    import torch

    return torch.get_num_threads()


def test_describe_states_processes_and_threads():
    local = executor_class("local")
    assert local(jobs=1, threads=3).describe() == "local, in-process, 3 torch thread(s)"
    assert local(jobs=2, threads=1).describe() == "local, 2 processes × 1 torch thread(s)"
    with pytest.raises(ValueError, match="--jobs must be at least 1"):
        local(jobs=0)


def test_jobs_2_gives_the_same_table_as_jobs_1(tmp_path):
    serial, parallel = tmp_path / "jobs1", tmp_path / "jobs2"
    first = run_cli(serial, "--jobs", "1")
    assert first.returncode == 0, first.stderr
    second = run_cli(parallel, "--jobs", "2")
    assert second.returncode == 0, second.stderr
    assert "2 processes" in second.stdout  # the pool ran, not the in-process path
    expected, actual = comparable(serial), comparable(parallel)
    assert len(expected) == 2 and (expected["status"] == "finished").all()
    assert expected["mig.discrete_mig"].notna().all()
    pd.testing.assert_frame_equal(actual, expected, check_exact=True)
