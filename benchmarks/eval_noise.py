"""What each metric's preset sizes cost: seconds per model and noise against the seed spread.

    cp -r results/study21/s400 /tmp/noise     # a sweep with several training seeds
    python run_benchmark.py evaluate /tmp/noise --eval-seeds 0 1 2 --metrics beta_vae \\
        factor_vae mig dci sap modularity_explicitness unsupervised irs mig_sup dcimig \\
        jemmig sap_continuous downstream_gbt
    python benchmarks/eval_noise.py /tmp/noise

For every score of the report's headline table, from the store's evaluations:

* ``eval sd`` — the spread over evaluation seeds within a model (the metric's own sampling at
  these sizes), pooled over the models: sqrt(mean over models of the variance, ddof 1);
* ``seed sd`` — the spread over training seeds within a configuration, of the models' means
  over their evaluation seeds, pooled over configurations;
* ``ratio`` — eval sd / seed sd. Below 1/3, the evaluation adds under 6 % to the standard
  deviation a comparison over seeds sees (sqrt(1 + 1/9) = 1.054);
* and per metric the median seconds one evaluation took (as recorded at run time, so on a
  shared machine read them as relative costs).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from disentangle_bench.report.tables import HEADLINE_SCORES  # noqa: E402
from disentangle_bench.sweep.results import load_results  # noqa: E402


def pooled_sd(groups: list[np.ndarray]) -> float:
    """sqrt(Σ within-group squared deviations / Σ (n − 1)) over groups of ≥ 2 finite values."""
    groups = [g[np.isfinite(g)] for g in groups]
    groups = [g for g in groups if len(g) > 1]
    dof = sum(len(g) - 1 for g in groups)
    if not dof:
        return math.nan
    return math.sqrt(sum(((g - g.mean()) ** 2).sum() for g in groups) / dof)


def noise_table(results: pd.DataFrame, columns: list[tuple[str, str]]) -> pd.DataFrame:
    """Per score: eval sd, seed sd and their ratio over the models scored at the most
    evaluation seeds (models evaluated at fewer are left out of both)."""
    done = results[results["status"] == "finished"]
    counts = done.groupby("run_id").size()
    done = done[done["run_id"].isin(counts.index[counts == counts.max()])]
    rows = []
    for column, name in columns:
        if column not in done:
            continue
        values = pd.to_numeric(done[column], errors="coerce")
        eval_sd = pooled_sd([g.to_numpy(float) for _, g in values.groupby(done["run_id"])])
        means = values.groupby(done["run_id"]).mean()
        labels = done.groupby("run_id")["label"].first()
        seed_sd = pooled_sd([means[labels == label].to_numpy(float)
                             for label in labels.unique()])
        rows.append({"score": name, "eval sd": eval_sd, "seed sd": seed_sd,
                     "ratio": eval_sd / seed_sd if seed_sd else math.nan,
                     "eval seeds": int(done.groupby("run_id").size().min()),
                     "models": int(done["run_id"].nunique())})
    return pd.DataFrame(rows)


def metric_seconds(root: Path) -> pd.DataFrame:
    """Median recorded seconds of one evaluation per metric (and how many were timed)."""
    seconds: dict[str, list[float]] = {}
    for path in root.glob("models/*/evals/*.json"):
        record = json.loads(path.read_text())
        value = (record.get("result") or {}).get("seconds")
        if value is not None:
            seconds.setdefault(record["metric"], []).append(float(value))
    rows = [{"metric": m, "median s": float(np.median(v)), "evaluations": len(v)}
            for m, v in sorted(seconds.items(), key=lambda kv: -np.median(kv[1]))]
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="a results directory with several eval seeds")
    args = parser.parse_args(argv)
    results = load_results(args.root)
    with pd.option_context("display.width", 200, "display.float_format", "{:.4g}".format):
        print(noise_table(results, list(HEADLINE_SCORES)).to_string(index=False))
        print()
        table = metric_seconds(args.root)
        print(table.to_string(index=False))
        print(f"total: {table['median s'].sum():.1f} s per model and evaluation seed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
