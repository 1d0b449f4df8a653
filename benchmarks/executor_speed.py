"""Wall time of one fixed small sweep through each executor, as speed-ups over ``--jobs 1``.

    python benchmarks/executor_speed.py [--steps 600] [--seeds 4]

Runs the same grid (``ae`` and ``beta_vae(beta=4)`` × seeds on the tiny dataset, mlp, MIG) four
times in fresh results directories, each through ``run_benchmark.py`` in a subprocess so the
wall time includes everything a user waits for (imports, process or cluster start-up, tables):

* ``local --jobs 1``  in-process, the baseline;
* ``local --jobs 2``  a pool of 2 spawned processes;
* ``dask --jobs 2``   a Dask LocalCluster of 2 worker processes started by the command;
* ``dask --scheduler`` 2 ``dask worker`` processes already running (start-up not counted).

CPU seconds (the command and the processes it reaped; not the external workers') show the cost
of the parallel paths independently of other load on the machine. All must give the same table
(checked). Speed-up = baseline wall time / wall time; on N free
cores the ideal for 2 jobs is 2×, less the start-up cost and whatever other load the cores carry.

Every run gets one torch thread (``OMP_NUM_THREADS=1`` for the in-process baseline too), so the
ratios measure running runs in parallel, not torch's intra-op threads; ``--default-threads``
leaves the baseline at torch's default (all cores), which is what a plain ``--jobs 1`` uses.
On busy shared cores that default can be many times slower (OpenMP threads waiting on each
other), which would inflate the speed-ups.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from disentangle_bench.sweep import load_results  # noqa: E402

TIMING_COLUMNS = ["seconds", "train_seconds", "metrics_seconds"]


def grid(steps: int, seeds: int) -> list[str]:
    return ["--dataset", "tiny", "--architecture", "mlp", "--latent-dim", "4",
            "--preset", "smoke", "--models", "ae", "beta_vae", "--betas", "4",
            "--num-seeds", str(seeds), "--steps", str(steps), "--batch-size", "64",
            "--precision", "fp32",
            "--metrics", "mig", "--protocol", "mig.num_train=2000",
            "--no-report", "--quiet"]


def timed_sweep(arguments: list[str], out: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and every process it started and reaped)."""
    command = [sys.executable, str(REPO / "run_benchmark.py"), *arguments, "--out", str(out)]
    before = _children_cpu()
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"sweep failed ({' '.join(arguments[-4:])}):\n{result.stderr}")
    return seconds, _children_cpu() - before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def table(out: Path):
    frame = load_results(out).drop(columns=TIMING_COLUMNS, errors="ignore")
    return frame.sort_values("run_id").reset_index(drop=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_dask_cluster(log_dir: Path, workers: int,
                       env: dict[str, str]) -> tuple[str, list[subprocess.Popen]]:
    """A scheduler and ``workers`` single-threaded workers on 127.0.0.1, ready to use."""
    from distributed import Client

    address = f"tcp://127.0.0.1:{free_port()}"
    port = address.rsplit(":", 1)[1]
    commands = [["scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"]]
    commands += [["worker", address, "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1",
                  "--local-directory", str(log_dir / f"w{i}")] for i in range(workers)]
    processes = []
    for index, arguments in enumerate(commands):
        log = open(log_dir / f"dask-{index}.log", "w")  # noqa: SIM115 - lives with the process
        processes.append(subprocess.Popen([sys.executable, "-m", "dask", *arguments], env=env,
                                          stdout=log, stderr=subprocess.STDOUT))
    with Client(address, timeout=60) as client:
        client.wait_for_workers(workers, timeout=120)
    return address, processes


def stop(processes: list[subprocess.Popen]) -> None:
    for process in reversed(processes):
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400, help="training steps per run")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per model (runs = 2 × this)")
    parser.add_argument("--default-threads", action="store_true",
                        help="leave torch's thread count at its default (see the docstring)")
    args = parser.parse_args()
    env = dict(os.environ)
    if not args.default_threads:
        env["OMP_NUM_THREADS"] = "1"
    arguments = grid(args.steps, args.seeds)
    print(f"grid: 2 models x {args.seeds} seeds = {2 * args.seeds} runs, {args.steps} steps each,"
          f" tiny dataset, mlp, fp32, MIG; {os.cpu_count()} cores visible; torch threads per run: "
          f"{'default' if args.default_threads else 1}")
    cases = [("local --jobs 1", ["--executor", "local", "--jobs", "1"]),
             ("local --jobs 2", ["--executor", "local", "--jobs", "2"]),
             ("dask LocalCluster, 2 workers", ["--executor", "dask", "--jobs", "2"])]
    seconds: dict[str, float] = {}
    tables = {}
    with tempfile.TemporaryDirectory(prefix="executor-speed-") as tmp:
        root = Path(tmp)
        for label, extra in cases:
            out = root / label.split(",")[0].replace(" ", "_").replace("-", "")
            seconds[label], cpu = timed_sweep(arguments + extra, out, env)
            tables[label] = table(out)
            print(f"  {label:<36} {seconds[label]:7.1f} s wall {cpu:7.1f} s CPU", flush=True)
        address, processes = start_dask_cluster(root, workers=2, env=env)
        try:
            label = "dask --scheduler, 2 running workers"
            out = root / "dask_scheduler"
            seconds[label], _ = timed_sweep(arguments + ["--executor", "dask", "--scheduler",
                                                         address], out, env)
            tables[label] = table(out)
            print(f"  {label:<36} {seconds[label]:7.1f} s wall  (CPU in the workers)", flush=True)
        finally:
            stop(processes)
    baseline_label = cases[0][0]
    baseline = seconds[baseline_label]
    same = all(t.equals(tables[baseline_label]) for t in tables.values())
    print(f"tables identical across executors: {same}")
    print("speed-up over local --jobs 1 (wall time ratio, higher is faster):")
    for label, value in seconds.items():
        print(f"  {label:<36} {baseline / value:5.2f}x")
    if not same:
        raise SystemExit("the executors disagree on the numbers: see the tables in the store")


if __name__ == "__main__":
    main()
