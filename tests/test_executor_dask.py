"""The Dask executor on a real cluster: a ``dask scheduler`` and two ``dask worker`` processes
started here on 127.0.0.1, the sweep driven through ``run_benchmark.py --executor dask``.

* the table of a sweep on the cluster equals the in-process sweep's;
* a worker SIGKILLed while it trains a run: the run is rescheduled, resumes from its
  checkpoint, and the sweep completes with each run exactly once and the same table;
* a wrong scheduler address: one clear error line within a few seconds, non-zero exit;
* a task that keeps killing its worker is bounded by ``--retries`` and recorded as failed.

Every process started here runs in its own process group, killed when its test (or the
cluster fixture) is done, pass or fail; waits are bounded only by a hang deadline
(``tests/processes.py``).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from processes import HANG_SECONDS, kill_group, run, started, wait_for_exit

pytest.importorskip("distributed", reason="the dask extra is not installed: pip install -e .[dask]")

from distributed import Client  # noqa: E402

from disentangle_bench.sweep import RunStore, load_results  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"
#: vae and beta_vae(beta=4) on the tiny dataset: long enough to be killed mid-training.
BUDGET = ["--dataset", "tiny", "--architecture", "mlp", "--latent-dim", "4", "--preset", "smoke",
          "--precision", "fp32", "--steps", "120", "--checkpoint-every", "20", "--batch-size", "32"]
GRID = [*BUDGET, "--models", "beta_vae", "--betas", "1", "4", "--seeds", "0"]
METRICS = ["--metrics", "mig", "--protocol", "mig.num_train=1000"]
TIMING_COLUMNS = ("seconds", "train_seconds", "metrics_seconds")


# --- helpers --------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def cli_command(out: Path | str, *extra: str, quiet: bool = True) -> list[str]:
    """``python run_benchmark.py GRID METRICS --out OUT EXTRA``."""
    return [sys.executable, str(REPO / "run_benchmark.py"), *GRID, *METRICS, "--out", str(out),
            "--no-report", *(["--quiet"] if quiet else []), *extra]


#: One torch thread per process: on busy shared cores OpenMP threads that wait on each other make
#: training many times slower, and the numbers do not depend on it.
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def run_cli(out: Path | str, *extra: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return run(cli_command(out, *extra), cwd=cwd, env=ENV)


@contextmanager
def start_cli(out: Path, log: Path, *extra: str, quiet: bool = True) -> Iterator[subprocess.Popen]:
    """The sweep in its own process group (killed on leaving), stderr to the file ``log`` (a
    pipe that nobody reads while the test polls could fill and block the sweep)."""
    with log.open("w") as stderr, started(cli_command(out, *extra, quiet=quiet), cwd=REPO,
                                          env=ENV, stdout=subprocess.DEVNULL,
                                          stderr=stderr) as process:
        yield process


def comparable(out: Path) -> pd.DataFrame:
    """The sweep's results table without timings, one row per run, sorted by run id."""
    frame = load_results(out)
    frame = frame.drop(columns=[c for c in TIMING_COLUMNS if c in frame.columns])
    return frame.sort_values("run_id").reset_index(drop=True)


def assert_complete(frame: pd.DataFrame, reference: pd.DataFrame) -> None:
    """Every run of the reference present exactly once, finished, with identical numbers."""
    assert frame["run_id"].is_unique
    assert sorted(frame["run_id"]) == sorted(reference["run_id"])
    assert (frame["status"] == "finished").all(), frame[["run_id", "status", "error"]]
    pd.testing.assert_frame_equal(frame, reference, check_exact=True)


class DaskCluster:
    """A scheduler and named workers as real processes on 127.0.0.1, logs in ``log_dir``."""

    def __init__(self, log_dir: Path, workers: int = 2):
        self.log_dir = log_dir
        self.port = free_port()
        self.address = f"tcp://{LOOPBACK}:{self.port}"
        self.processes: dict[str, subprocess.Popen] = {}
        self.scheduler_file = log_dir / "scheduler.json"
        self._spawn("scheduler", ["scheduler", "--host", LOOPBACK, "--port", str(self.port),
                                  "--no-dashboard", "--scheduler-file", str(self.scheduler_file)])
        for index in range(workers):
            self.start_worker(f"w{index}")

    def _spawn(self, name: str, arguments: list[str]) -> None:
        log = open(self.log_dir / f"{name}.log", "a")  # noqa: SIM115 - closed with the process
        # Workers run in another directory than the client: the store path must be absolute.
        workdir = self.log_dir / f"cwd-{name}"
        workdir.mkdir(exist_ok=True)
        env = {**ENV, "PYTHONPATH": str(REPO)}
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "dask", *arguments], cwd=workdir, env=env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def start_worker(self, name: str) -> None:
        # --no-nanny: the process that runs the task is the one the test kills.
        self._spawn(name, ["worker", self.address, "--name", name, "--nthreads", "1",
                           "--no-nanny", "--no-dashboard", "--host", LOOPBACK,
                           "--local-directory", str(self.log_dir / f"scratch-{name}")])

    def client(self) -> Client:
        return Client(self.address, timeout=HANG_SECONDS)

    def wait_for_workers(self, count: int) -> None:
        with self.client() as client:
            client.wait_for_workers(count, timeout=HANG_SECONDS)

    def kill(self, name: str) -> None:
        """SIGKILL the worker ``name`` and every process of its group."""
        process = self.processes[name]
        kill_group(process.pid)
        wait_for_exit(process)

    def close(self) -> None:
        """Kill every process group of the cluster (a test cluster keeps nothing to save)."""
        for process in self.processes.values():
            kill_group(process.pid)
        for process in self.processes.values():
            wait_for_exit(process)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}"
                         for p in sorted(self.log_dir.glob("*.log")))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cluster = DaskCluster(tmp_path_factory.mktemp("dask-cluster"))
    try:
        cluster.wait_for_workers(2)
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> pd.DataFrame:
    """The grid's table from an in-process sweep (``--executor local --jobs 1``)."""
    out = tmp_path_factory.mktemp("reference")
    result = run_cli(out, "--executor", "local", "--jobs", "1")
    assert result.returncode == 0, result.stderr
    return comparable(out)


# --- tests ----------------------------------------------------------------------------------
def test_help_lists_dask_options_without_importing_dask():
    code = ("import sys; from disentangle_bench.cli import build_parser; "
            "text = build_parser().format_help(); "
            "print('--scheduler' in text, '--retries' in text, 'distributed' in sys.modules)")
    result = run([sys.executable, "-c", code], cwd=REPO)
    assert result.stdout.split() == ["True", "True", "False"], result.stderr


def test_sweep_on_a_real_cluster_gives_the_local_table(cluster, reference, tmp_path):
    # a relative --out: the workers run in other directories, so they must get it made absolute
    result = run_cli("store", "--executor", "dask", "--scheduler", cluster.address, cwd=tmp_path)
    assert result.returncode == 0, result.stderr + cluster.logs()
    assert_complete(comparable(tmp_path / "store"), reference)


def test_scheduler_file_is_accepted_and_a_missing_one_named(cluster, tmp_path):
    from disentangle_bench.sweep.executors.dask import DaskExecutor, SchedulerUnreachable

    DaskExecutor(scheduler=str(cluster.scheduler_file)).check()  # connects through the file
    missing = tmp_path / "scheduler.json"
    with pytest.raises(SchedulerUnreachable, match="no scheduler file"):
        DaskExecutor(scheduler=str(missing)).check()


def run_being_trained(store: RunStore) -> str | None:
    """A run with a checkpoint on disk and no result yet (it is mid-training)."""
    for run_id in store.model_ids():
        checkpoint = store.model_dir(run_id) / "checkpoint"
        if (checkpoint.is_dir() and any(checkpoint.iterdir())
                and store.read_trained(run_id) is None):
            return run_id
    return None


def worker_running(client: Client, run_id: str) -> str | None:
    """The name of the worker whose task is training ``run_id``."""
    workers = client.scheduler_info()["workers"]
    for address, keys in client.processing().items():
        if any(run_id in str(key) for key in keys):
            return workers[address]["name"]
    return None


def test_killed_worker_run_resumes_and_sweep_completes(cluster, reference, tmp_path):
    out, log = tmp_path / "store", tmp_path / "sweep.log"
    store = RunStore(out)
    killed = victim = None
    deadline = time.monotonic() + HANG_SECONDS
    with start_cli(out, log, "--executor", "dask", "--scheduler", cluster.address,
                   quiet=False) as sweep:
        try:
            with cluster.client() as client:
                while killed is None and sweep.poll() is None and time.monotonic() < deadline:
                    victim = run_being_trained(store)
                    name = worker_running(client, victim) if victim else None
                    if name is not None:
                        cluster.kill(name)
                        killed = name
                    time.sleep(0.05)
            wait_for_exit(sweep)
        finally:
            if killed is not None:  # leave the shared cluster as it was
                cluster.start_worker(killed)
    stderr = log.read_text()
    assert killed is not None, "no run was seen mid-training: the runs finished too fast"
    assert sweep.returncode == 0, stderr + cluster.logs()
    assert_complete(comparable(out), reference)
    actions = json.loads((out / "sweep.json").read_text())["summary"]["actions"]
    assert sorted(actions) == sorted(reference["run_id"])
    # the sweep bar counted each run once, whichever worker (or how many) ran it
    bar = re.findall(r"sweep:.*?(\d+)/(\d+)", stderr)
    counts = [(int(done), int(total)) for done, total in bar]
    assert counts and {total for _, total in counts} == {len(reference)}
    assert [done for done, _ in counts] == sorted(done for done, _ in counts)
    assert counts[-1][0] == len(reference)
    assert actions[victim] == "resumed", actions  # it went on from its checkpoint
    assert sorted(actions.values()).count("resumed") == 1


def test_unreachable_scheduler_is_one_clear_line(tmp_path):
    address = f"tcp://{LOOPBACK}:{free_port()}"  # nothing listens there
    result = run_cli(tmp_path, "--executor", "dask", "--scheduler", address,
                     "--scheduler-timeout", "2")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: cannot connect to the Dask scheduler")
    assert address in lines[0]
    # Dask's own connect timeout is 30 s; the executor gives up after --scheduler-timeout
    assert "after 2 s" in lines[0]
    assert not (tmp_path / "models").exists()  # checked before anything was written


def beta_vae_kills_its_worker(spec_record: dict, store_root: str,
                              torch_threads: int | None) -> dict:
    """The executor's task, except that a beta_vae run kills the worker running it (after
    noting the attempt): a run that keeps failing in a way ``run_one`` cannot record."""
    from disentangle_bench.sweep.executors.dask import run_task

    if spec_record["train"]["model"] != "beta_vae":
        return run_task(spec_record, store_root, torch_threads)
    with open(Path(store_root) / "attempts.txt", "a") as handle:
        handle.write(f"{spec_record['run_id']}\n")
    os._exit(1)


def test_local_cluster_runs_the_grid_and_bounds_a_run_that_kills_workers(reference, tmp_path):
    """``--executor dask`` without ``--scheduler`` (a LocalCluster of 2 processes): the healthy
    run gives the reference numbers; the doomed one is tried 1 + --retries times, then recorded
    as failed with its error, and the sweep still ends."""
    import cloudpickle

    from disentangle_bench.cli import build_parser, build_request
    from disentangle_bench.sweep import expand, run_sweep
    from disentangle_bench.sweep.executors.dask import DaskExecutor

    # the LocalCluster's workers cannot import this test module: ship the task by value
    cloudpickle.register_pickle_by_value(sys.modules[__name__])

    class Doomed(DaskExecutor):
        task = staticmethod(beta_vae_kills_its_worker)

    specs = expand(build_request(build_parser().parse_args([*GRID, *METRICS])))
    doomed = next(spec.run_id for spec in specs if spec.model == "beta_vae")
    store = RunStore(tmp_path)
    summary = run_sweep(specs, store, Doomed(jobs=2, retries=1), progress=False)

    assert (tmp_path / "attempts.txt").read_text().split() == [doomed, doomed]
    assert list(summary.failures) == [doomed]
    error = store.read_error(doomed)
    assert error["phase"] == "executor" and "KilledWorker" in error["message"]
    table = comparable(tmp_path)
    assert table.set_index("run_id").loc[doomed, "status"] == "failed"
    healthy = table[table["run_id"] != doomed].dropna(axis=1, how="all")
    expected = reference[reference["run_id"] != doomed][healthy.columns]
    # (the failed row's NaNs turn integer columns into floats: compare values, not dtypes)
    pd.testing.assert_frame_equal(healthy.reset_index(drop=True),
                                  expected.reset_index(drop=True), check_exact=True,
                                  check_dtype=False)


def test_missing_dask_extra_is_one_clear_line(tmp_path):
    code = ("import sys; sys.modules['distributed'] = None; "  # as if the extra were not installed
            "from disentangle_bench.cli import main; sys.exit(main(sys.argv[1:]))")
    command = [sys.executable, "-c", code, *GRID, *METRICS, "--out", str(tmp_path), "--quiet",
               "--executor", "dask"]
    result = run(command, cwd=REPO, env=ENV)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        'error: the dask executor needs dask.distributed: pip install -e ".[dask]"']
    assert not (tmp_path / "models").exists()
