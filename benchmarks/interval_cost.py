"""Cost of the per-run intervals: the metric suite at the cpu preset's sizes with and without
the bootstrap of the evaluation rows, as a ratio measured in one run.

The dataset is dSprites' factor grid with a cheap linear representation (metrics_speed.py),
so the encoder's cost is not counted: in a real run, where encoding the samples dominates, the
bootstrap's share is smaller than the ratio printed here. CPU seconds of this process
(``n_jobs=1``), which a loaded machine disturbs less than wall time.

    python benchmarks/interval_cost.py [--resamples 200] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

from disentangle_bench.metrics import evaluate
from disentangle_bench.metrics.bootstrap import BOOTSTRAPS, DEFAULT_RESAMPLES

try:  # the synthetic grid lives next to this script
    from metrics_speed import FactorVectors, cheap_representation
except ImportError:  # run from the repository root as a module path
    from benchmarks.metrics_speed import FactorVectors, cheap_representation


def suite_seconds(dataset, represent, resamples: int) -> tuple[float, dict]:
    started = time.process_time()
    result = evaluate(dataset, represent, preset="cpu", n_jobs=1, bootstrap=resamples)
    return time.process_time() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resamples", type=int, default=DEFAULT_RESAMPLES)
    parser.add_argument("--repeats", type=int, default=3, help="best of N for each variant")
    args = parser.parse_args()
    dataset, represent = FactorVectors(), cheap_representation()
    plain = min(suite_seconds(dataset, represent, 0)[0] for _ in range(args.repeats))
    runs = [suite_seconds(dataset, represent, args.resamples) for _ in range(args.repeats)]
    with_intervals, result = min(runs, key=lambda run: run[0])
    print(f"metric suite, cpu preset sizes, n_jobs=1 (CPU s, best of {args.repeats}):")
    label = f"with B={args.resamples} bootstrap ({', '.join(BOOTSTRAPS)})"
    print(f"  {'without intervals':<34}{plain:8.2f}")
    print(f"  {label:<34}{with_intervals:8.2f}")
    print(f"  {'ratio':<34}{with_intervals / plain:8.2f}x")
    for name in BOOTSTRAPS:
        interval = result[name].get("interval")
        if interval:
            print(f"  {name}: interval {interval['scores']} in {interval['seconds']:.2f} s wall "
                  f"(the metric itself {result[name]['seconds']:.2f} s)")


if __name__ == "__main__":
    main()
