"""Wall time of the default run, end to end, against the design it replaced (issue 21).

    python benchmarks/default_run.py              # the default run alone
    python benchmarks/default_run.py --baseline   # + the old default in the same session
    python benchmarks/default_run.py --smoke      # + the smoke first look (target: 60 s)

Runs ``python run_benchmark.py --betas 1 2 4 8`` (the cpu preset: 4 seeds × 250 steps, one run
per free core) into a fresh temporary results directory and prints its wall time, the CPU
(model, vector extension), the load average before and after, and the findings it printed.
With ``--baseline`` it then runs the default of issue 13 (1 seed × 1,250 steps, in-process,
``--jobs 1``; the FactorVAE sizes are today's) and prints the ratio of the two wall times.
Run it alone on the machine: parallel work makes the wall times meaningless.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from learning_curves import cpu_name  # noqa: E402

DEFAULT = ["--betas", "1", "2", "4", "8"]
#: The default run before issue 21: one seed of 1,250 steps, one run at a time.
OLD_DEFAULT = [*DEFAULT, "--num-seeds", "1", "--steps", "1250", "--jobs", "1"]
SMOKE = [*DEFAULT, "--preset", "smoke"]


def timed_run(arguments: list[str], out: Path) -> tuple[float, str]:
    """Wall seconds of one run_benchmark.py call and its standard output."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(REPO / "run_benchmark.py"), *arguments,
                           "--out", str(out)], capture_output=True, text=True, check=True)
    return time.perf_counter() - started, done.stdout


def findings(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Findings")), None)
    return [] if start is None else lines[start:start + 8]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", action="store_true",
                        help="also time the old default (1 seed x 1,250 steps, --jobs 1)")
    parser.add_argument("--smoke", action="store_true", help="also time --preset smoke")
    args = parser.parse_args(argv)
    print(f"CPU: {cpu_name()}; load average before: {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        if args.smoke:
            smoke, _ = timed_run(SMOKE, Path(tmp) / "smoke")
            print(f"smoke first look ({' '.join(SMOKE)}): {smoke:.0f} s; load average after: "
                  f"{os.getloadavg()[0]:.2f}", flush=True)
        seconds, stdout = timed_run(DEFAULT, Path(tmp) / "default")
        print(f"default run ({' '.join(DEFAULT)}): {seconds:.0f} s = {seconds / 60:.1f} min; "
              f"load average after: {os.getloadavg()[0]:.2f}", flush=True)
        print("\n".join(findings(stdout)), flush=True)
        if args.baseline:
            old, _ = timed_run(OLD_DEFAULT, Path(tmp) / "old")
            print(f"old default ({' '.join(OLD_DEFAULT)}): {old:.0f} s = {old / 60:.1f} min; "
                  f"ratio new / old {seconds / old:.2f}; load average after: "
                  f"{os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
