"""Training throughput on shared cores: torch thread count and OpenMP wait policy under load.

    python benchmarks/shared_cores.py [--steps 20] [--loads 0 1 2] [--dataset dsprites-procedural]

A training run's intra-op threads meet at a barrier after every parallel operation. When another
process holds one of the cores, the thread that waits for it spins (OpenMP's default, ACTIVE) or
sleeps (``OMP_WAIT_POLICY=PASSIVE``) until the descheduled one finishes, so each small operation can
cost a scheduler time slice. This script measures, for each number of extra busy processes
(``--loads``, pure-Python spin loops added on top of whatever else runs on the machine), the
training throughput (images/s over ``--steps`` steps after a warm-up step, the smoke preset's model:
beta_vae, batch 32, conv on 64x64 images) of each option, in a fresh process each (the wait policy
is read when OpenMP starts):

* ``all cores``          torch's default thread count (= the cores), ACTIVE wait: the old default;
* ``all cores, passive`` the same with ``OMP_WAIT_POLICY=PASSIVE``;
* ``1 thread``           ``torch.set_num_threads(1)``;
* ``free cores``         ``training.free_cores()`` threads (cores minus the load average), passive:
                         the runner's default.

It prints images/s and the ratio to ``all cores`` under the same load, measured in the same run.
The machine's own load average is printed too: on a shared machine it is part of the setting.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = """
import sys, time, torch
from disentangle_bench.training import TrainConfig, free_cores, time_training_steps
threads = sys.argv[1]
torch.set_num_threads(free_cores() if threads == "free" else int(threads))
config = TrainConfig(model="beta_vae", hparams={"beta": 4.0}, dataset=sys.argv[2], steps=100,
                     batch_size=32, lr=1e-3, seed=0, device="cpu", precision="fp32")
seconds = time_training_steps(config, steps=int(sys.argv[3]))
print(torch.get_num_threads(), config.batch_size / seconds)
"""

OPTIONS = {  # name -> (threads, OMP_WAIT_POLICY or None)
    "all cores": (str(os.cpu_count() or 1), None),
    "all cores, passive": (str(os.cpu_count() or 1), "PASSIVE"),
    "1 thread": ("1", None),
    "free cores": ("free", "PASSIVE"),
}


def spin() -> None:
    while True:
        pass


def measure(threads: str, policy: str | None, dataset: str, steps: int) -> tuple[int, float]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    env["PYTHONPATH"] = str(REPO)
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    done = subprocess.run([sys.executable, "-c", CHILD, threads, dataset, str(steps)], env=env,
                          capture_output=True, text=True, check=True, cwd=REPO)
    used, rate = done.stdout.split()
    return int(used), float(rate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--loads", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--dataset", default="dsprites-procedural")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; load average before: {os.getloadavg()[0]:.1f}")
    print(f"{'extra busy':>10} | {'option':<20} | threads | images/s | vs all cores")
    for load in args.loads:
        spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(load)]
        for process in spinners:
            process.start()
        time.sleep(1.0)
        try:
            results = {name: measure(*option, args.dataset, args.steps)
                       for name, option in OPTIONS.items()}
        finally:
            for process in spinners:
                process.kill()
        base = results["all cores"][1]
        for name, (threads, rate) in results.items():
            print(f"{load:>10} | {name:<20} | {threads:>7} | {rate:8.0f} | {rate / base:11.2f}x",
                  flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
