"""Regression check of metric scores against a committed baseline (docs/regression.md).

A baseline file (JSON, ``results/baselines/*.json``) records a small sweep: every run's full
resolved configuration (``RunSpec``), the scores it produced, the package and library versions,
and a tolerance per score with how it was derived. :func:`check_baseline` re-runs exactly that
configuration through the sweep machinery (fresh, into a temporary or given directory) and
compares every recorded score: it passes when each |now − baseline| ≤ tolerance.

Tolerances are measured, not guessed (:func:`derive_tolerances`):

    tolerance = max(K_EVAL · σ_eval, K_TRAIN · σ_train, FLOOR_ABS + FLOOR_REL · |baseline|)

* σ_eval: standard deviation of the score over evaluation seeds — the same trained model scored
  again with ``eval_seed + 1 ... eval_seed + n`` (the sampling noise of the metric itself);
* σ_train: standard deviation over training seeds (the run retrained with other seeds, scored at
  the baseline's evaluation seed) — the bound on how far another machine's floating-point
  arithmetic can move a trained model; 0 when no extra training seeds were measured;
* the floor absorbs last-digit noise for scores that do not vary with either seed.

On the machine that made the baseline the check reproduces every score exactly (training and
evaluation are deterministic); :class:`CheckResult` counts the exact matches.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FORMAT = "disentangle-bench-baseline/1"
K_EVAL = 3.0     # multiples of the evaluation-seed std
K_TRAIN = 1.0    # multiples of the training-seed std
FLOOR_ABS = 1e-4
FLOOR_REL = 1e-3
DEFAULT_EVAL_SEEDS = 4   # extra evaluation seeds measured for each run
#: Torch threads while making or checking a baseline: one thread makes the floating-point
#: reduction order independent of the core count, so any machine with the same libraries and
#: CPU type can reproduce the numbers exactly (and shared cores don't slow it down).
TORCH_THREADS = 1

#: Scores not recorded in a baseline: the KL of latent dimension j. Which latent ends up coding
#: what (or collapsing) is arbitrary, so per-index numbers swap between training seeds and
#: machines; their sum (``kl``) and the per-factor scores are recorded instead.
UNRECORDED_PREFIXES = ("unsupervised.kl_dim_",)

TABLE_COLUMNS = ["run", "metric", "baseline", "now", "difference", "tolerance", "result"]


class BaselineError(ValueError):
    """A baseline file that is missing, unreadable or not a baseline (one-line message)."""


# --- reading and writing the file -----------------------------------------------------------
def load_baseline(path: Path | str) -> dict[str, Any]:
    """The baseline at ``path``, checked for the fields the check needs."""
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"no baseline file at {path}; create one with `run_benchmark.py "
                            f"check {path} --create -- SWEEP OPTIONS`") from None
    except (OSError, ValueError) as error:
        raise BaselineError(f"cannot read baseline {path}: {error}") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise BaselineError(f"{path} is not a baseline file (expected \"format\": \"{FORMAT}\")")
    for run in record.get("runs") or [None]:
        if not isinstance(run, dict) or not {"label", "config", "scores"} <= set(run):
            raise BaselineError(f"{path}: every entry of \"runs\" needs label, config and scores")
    return record


def write_baseline(path: Path | str, record: dict[str, Any]) -> Path:
    """Write the baseline atomically (the old file stays intact until the new one is whole)."""
    from ..atomic import write_json_atomic

    return write_json_atomic(path, record)


def baseline_specs(record: dict[str, Any]) -> list[Any]:
    """The recorded RunSpecs, re-labelled with the installed package version (recorded with
    each model, not part of its id)."""
    from .. import __version__
    from ..sweep import RunSpec

    return [dataclasses.replace(RunSpec.from_dict(run["config"]), version=__version__)
            for run in record["runs"]]


# --- running a configuration and reading its scores ----------------------------------------
def run_specs(specs: Sequence[Any], out: Path | str, *, progress: bool = False) -> pd.DataFrame:
    """Run ``specs`` from scratch (``force``) into the store at ``out`` in this process, with
    this process's current torch thread count, and return their ``load_results`` rows, in
    ``specs`` order."""
    import torch

    from ..sweep import RunStore, load_results, run_sweep
    from ..sweep.executors.local import LocalExecutor
    from ..sweep.results import evaluation_set

    store = RunStore(out)
    executor = LocalExecutor(jobs=1, threads=torch.get_num_threads())
    run_sweep(list(specs), store, executor, force=True, progress=progress)
    frame = load_results(out, [spec.run_id for spec in specs], evaluation=evaluation_set(specs))
    return frame.set_index("run_id").loc[[spec.run_id for spec in specs]].reset_index()


def scores_of(row: pd.Series) -> dict[str, float]:
    """Every score of one ``load_results`` row: the headline numbers (reconstruction, kl,
    active_units) and each ``<metric>.<score>`` column; NaN kept."""
    from ..sweep.results import RUN_INTERVAL_MARK, SUMMARY_COLUMNS

    scores = {}
    for column, value in row.items():
        column = str(column)
        metric = "." in column and not column.startswith("hparams.")
        is_score = column in SUMMARY_COLUMNS or metric
        interval = RUN_INTERVAL_MARK in column  # a score's own interval bound, not a score
        if (is_score and not interval and _is_number(value)
                and not column.startswith(UNRECORDED_PREFIXES)):
            scores[column] = float(value)
    return scores


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _run_failures(frame: pd.DataFrame) -> dict[str, str]:
    failed = frame[frame["status"] != "finished"]
    return {row["run_id"]: f"{row['status']}: {row.get('error') or 'no result'}"
            for _, row in failed.iterrows()}


# --- the check ------------------------------------------------------------------------------
@dataclass
class CheckResult:
    """The comparison table (:data:`TABLE_COLUMNS`), whether it passed, and how many scores
    were reproduced bit for bit."""

    table: pd.DataFrame
    passed: bool
    exact: int
    seconds: float
    #: key -> (baseline's, now) for every environment entry that differs (versions, platform).
    environment_changes: dict[str, tuple[str, str]] = dataclasses.field(default_factory=dict)

    @property
    def failed_rows(self) -> pd.DataFrame:
        return self.table[self.table["result"] != "pass"]

    def text(self) -> str:
        """The table for the terminal plus a one-line verdict."""
        lines = [format_table(self.table), ""]
        total = len(self.table)
        verdict = "PASSED" if self.passed else f"FAILED ({len(self.failed_rows)} of {total})"
        for key, (then, now) in self.environment_changes.items():
            lines.append(f"environment differs from the baseline's: {key} {then} -> {now}")
        lines.append(f"regression check {verdict}: {total} scores compared, {self.exact} "
                     f"identical to the baseline, {self.seconds:.0f} s")
        return "\n".join(lines)


def compare_scores(record: dict[str, Any], now: dict[str, dict[str, float]],
                   failures: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per recorded score: baseline, now, difference, tolerance, result (``pass`` /
    ``FAIL``); ``now`` maps run label → scores. A missing run or score fails."""
    tolerances = record.get("tolerances", {}).get("per_run", {})
    failures = failures or {}
    rows = []
    for run in record["runs"]:
        label = run["label"]
        current = now.get(label)
        for metric, recorded in run["scores"].items():
            tolerance = _tolerance(tolerances, label, metric, recorded)
            value = math.nan if current is None else current.get(metric, math.nan)
            if current is None:
                result = f"FAIL (run {failures.get(label, 'missing')})"
            elif metric not in current:
                result = "FAIL (score missing)"
            else:
                result = _judge(recorded, value, tolerance)
            rows.append({"run": label, "metric": metric, "baseline": recorded, "now": value,
                         "difference": value - recorded, "tolerance": tolerance,
                         "result": result})
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def _tolerance(tolerances: dict[str, Any], label: str, metric: str, recorded: float) -> float:
    entry = tolerances.get(label, {}).get(metric)
    if entry is None:
        return floor(recorded)
    return float(entry["tolerance"])


def _judge(recorded: float, value: float, tolerance: float) -> str:
    if math.isnan(recorded) and math.isnan(value):
        return "pass"
    if math.isnan(recorded) != math.isnan(value):
        return "FAIL (NaN)"
    return "pass" if abs(value - recorded) <= tolerance else "FAIL"


def check_baseline(path: Path | str, out: Path | str | None = None, *,
                   progress: bool = False) -> CheckResult:
    """Re-run the baseline's configuration (fresh, into ``out`` or a temporary directory) and
    compare every recorded score with its tolerance."""
    record = load_baseline(path)
    start = time.perf_counter()
    threads = int(record.get("torch_threads", TORCH_THREADS))
    with _work_dir(out) as work, torch_threads(threads):
        now, failures, environment = _scores_by_label(record, work, progress=progress)
    table = compare_scores(record, now, failures)
    passed = bool(len(table)) and bool((table["result"] == "pass").all())
    exact = int(sum(_identical(b, n) for b, n in zip(table["baseline"], table["now"])))
    then = record.get("environment", {})
    # keys a baseline does not record (made before they were) say nothing about a change
    changes = {key: (str(then[key]), str(value)) for key, value in environment.items()
               if key in then and str(then[key]) != str(value)}
    return CheckResult(table, passed, exact, time.perf_counter() - start, changes)


def _scores_by_label(record: dict[str, Any], work: Path, *, progress: bool,
                     ) -> tuple[dict[str, dict[str, float]], dict[str, str], dict[str, str]]:
    """Scores of the re-run by baseline label, failures by label, and the environment."""
    from ..sweep.store import environment_summary

    specs = baseline_specs(record)
    frame = run_specs(specs, work, progress=progress)
    labels = [run["label"] for run in record["runs"]]
    failed = _run_failures(frame)
    now, failures = {}, {}
    for label, (_, row) in zip(labels, frame.iterrows()):
        if row["run_id"] in failed:
            failures[label] = f"failed: {failed[row['run_id']]}"
        else:
            now[label] = scores_of(row)
    return now, failures, {**environment_summary(), **_metric_environment(work, frame)}


def _identical(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` torch threads, restoring the previous number after."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class _work_dir:  # noqa: N801 - used as a context manager, reads like one
    """``out`` itself, or a temporary directory removed afterwards."""

    def __init__(self, out: Path | str | None):
        self.out = out
        self._temp: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> Path:
        if self.out is not None:
            return Path(self.out)
        self._temp = tempfile.TemporaryDirectory(prefix="disentangle-bench-check-")
        return Path(self._temp.name)

    def __exit__(self, *exc: object) -> None:
        if self._temp is not None:
            self._temp.cleanup()


# --- making a baseline and deriving its tolerances -----------------------------------------
def floor(value: float) -> float:
    """The smallest tolerance: FLOOR_ABS + FLOOR_REL · |value| (float noise in the last digits)."""
    return FLOOR_ABS + FLOOR_REL * (abs(value) if math.isfinite(value) else 0.0)


def make_baseline(specs: Sequence[Any], out: Path | str, *, command: str = "",
                  description: str = "", eval_seeds: int = DEFAULT_EVAL_SEEDS,
                  train_seeds: Sequence[int] = (), progress: bool = False) -> dict[str, Any]:
    """Run ``specs`` into ``out``, derive tolerances, and return the baseline record."""
    from ..sweep.store import environment_summary

    start = time.perf_counter()
    with torch_threads(TORCH_THREADS):
        frame = run_specs(specs, out, progress=progress)
        failed = _run_failures(frame)
        if failed:
            run_id, reason = next(iter(failed.items()))
            raise RuntimeError(f"baseline run {run_id} did not finish ({reason}); fix it first")
        labels = _unique_labels(specs)
        runs = [{"label": label, "run_id": spec.run_id, "config": spec.to_dict(),
                 "scores": scores_of(row)}
                for label, spec, (_, row) in zip(labels, specs, frame.iterrows())]
        tolerances = derive_tolerances(specs, labels, runs, out, eval_seeds=eval_seeds,
                                       train_seeds=train_seeds, progress=progress)
    return {
        "format": FORMAT,
        "description": description,
        "command": command,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "environment": {**environment_summary(), **_metric_environment(out, frame)},
        "torch_threads": TORCH_THREADS,
        "seconds_to_run": round(float(frame["seconds"].sum()), 1),
        "seconds_to_make": round(time.perf_counter() - start, 1),
        "runs": runs,
        "tolerances": tolerances,
    }


def update_baseline(path: Path | str, out: Path | str | None = None, *,
                    eval_seeds: int | None = None, train_seeds: Sequence[int] | None = None,
                    progress: bool = False) -> dict[str, Any]:
    """Re-make the baseline at ``path`` from its own recorded configuration (new scores,
    environment and tolerances) and rewrite the file atomically."""
    old = load_baseline(path)
    derived = old.get("tolerances", {})
    eval_seeds = len(derived.get("eval_seeds", [])) - 1 if eval_seeds is None else eval_seeds
    if train_seeds is None:
        train_seeds = [s for s in derived.get("train_seeds", []) if s not in
                       {int(r["config"]["train"]["seed"]) for r in old["runs"]}]
    with _work_dir(out) as work:
        record = make_baseline(baseline_specs(old), work, command=old.get("command", ""),
                               description=old.get("description", ""),
                               eval_seeds=max(eval_seeds, 0), train_seeds=train_seeds,
                               progress=progress)
    write_baseline(path, record)
    return record


def make_baseline_file(path: Path | str, specs: Sequence[Any], *, out: Path | str | None = None,
                       command: str = "", description: str = "", eval_seeds: int | None = None,
                       train_seeds: Sequence[int] = (), progress: bool = False) -> dict[str, Any]:
    """:func:`make_baseline` into ``out`` (or a temporary directory), written to ``path``."""
    with _work_dir(out) as work:
        record = make_baseline(specs, work, command=command, description=description,
                               eval_seeds=DEFAULT_EVAL_SEEDS if eval_seeds is None else eval_seeds,
                               train_seeds=train_seeds, progress=progress)
    write_baseline(path, record)
    return record


def describe_baseline(record: dict[str, Any], path: Path | str) -> str:
    """What a baseline holds: each score with its tolerance and where the tolerance came from."""
    rows = []
    for run in record["runs"]:
        entries = record["tolerances"]["per_run"][run["label"]]
        for metric, value in run["scores"].items():
            entry = entries[metric]
            rows.append([run["label"], metric, _fmt(value), _fmt(entry["tolerance"]),
                         entry["from"], _fmt(entry["eval_std"]), _fmt(entry["train_std"])])
    header = ["run", "metric", "baseline", "tolerance", "from", "eval std", "train std"]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip()
             for r in [header, *rows]]
    tolerances = record["tolerances"]
    lines += ["", f"wrote {path}: {len(record['runs'])} run(s), {len(rows)} scores; evaluation "
              f"seeds {tolerances['eval_seeds']}, training seeds {tolerances['train_seeds']}; "
              f"the runs take {record['seconds_to_run']:.0f} s here"]
    return "\n".join(lines)


def _unique_labels(specs: Sequence[Any]) -> list[str]:
    labels = [spec.label() for spec in specs]
    if len(set(labels)) != len(labels):
        return [f"{spec.label()} [{spec.run_id}]" for spec in specs]
    return labels


def _metric_environment(out: Path | str, frame: pd.DataFrame) -> dict[str, str]:
    """The library versions the metrics layer recorded with the first run."""
    from ..sweep import RunStore

    return RunStore(out).read_environment(frame["run_id"].iloc[0])


def derive_tolerances(specs: Sequence[Any], labels: Sequence[str], runs: list[dict[str, Any]],
                      out: Path | str, *, eval_seeds: int = DEFAULT_EVAL_SEEDS,
                      train_seeds: Sequence[int] = (), progress: bool = False) -> dict[str, Any]:
    """Per run and score: σ over evaluation seeds (the stored model rescored), σ over training
    seeds (retrained, when ``train_seeds`` are given) and the tolerance from them (module
    docstring)."""
    per_run = {}
    first_seed = specs[0].eval_seed
    for spec, label, run in zip(specs, labels, runs):
        rescored = rescore(spec, out, [spec.eval_seed + i for i in range(eval_seeds + 1)])
        _check_same_scores(run["scores"], rescored[0], label)
        eval_scores = [run["scores"]] + rescored[1:]
        train_scores = [run["scores"]] + retrain_scores(spec, out, train_seeds,
                                                        progress=progress)
        per_run[label] = {metric: _tolerance_entry(value, eval_scores, train_scores, metric)
                          for metric, value in run["scores"].items()}
    return {
        "method": (f"tolerance = max({K_EVAL:g} * std over evaluation seeds, {K_TRAIN:g} * std "
                   f"over training seeds, {FLOOR_ABS:g} + {FLOOR_REL:g} * |baseline|); std with "
                   "ddof=1 over the baseline's own seed and the extra seeds; see "
                   "docs/regression.md"),
        "k_eval": K_EVAL, "k_train": K_TRAIN, "floor_abs": FLOOR_ABS, "floor_rel": FLOOR_REL,
        "eval_seeds": [first_seed + i for i in range(eval_seeds + 1)],
        "train_seeds": sorted({int(s.seed) for s in specs} | {int(s) for s in train_seeds}),
        "per_run": per_run,
    }


def _check_same_scores(stored: dict[str, float], rescored: dict[str, float], label: str) -> None:
    """Rescoring the stored model at its own evaluation seed must reproduce the run's scores
    exactly, otherwise the spread measured by rescoring is not the spread of these scores."""
    differ = sorted(k for k, v in stored.items() if not _identical(v, rescored.get(k, math.nan)))
    if differ:
        raise RuntimeError(f"{label}: rescoring the stored model at its evaluation seed changed "
                           f"{', '.join(differ[:5])}; evaluation is not deterministic here")


def _tolerance_entry(value: float, eval_scores: list[dict[str, float]],
                     train_scores: list[dict[str, float]], metric: str) -> dict[str, Any]:
    eval_std = _std([scores.get(metric, math.nan) for scores in eval_scores])
    train_std = _std([scores.get(metric, math.nan) for scores in train_scores])
    candidates = {"eval": K_EVAL * eval_std, "train": K_TRAIN * train_std, "floor": floor(value)}
    source = max(candidates, key=lambda k: candidates[k])
    return {"tolerance": candidates[source], "from": source, "eval_std": eval_std,
            "train_std": train_std, "n_eval": len(eval_scores), "n_train": len(train_scores)}


def _std(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0


def rescore(spec: Any, out: Path | str, eval_seeds: Sequence[int]) -> list[dict[str, float]]:
    """The stored model of ``spec`` (finished in the store at ``out``) scored again with each
    evaluation seed, exactly as ``run_one`` scores it (metrics + headline numbers)."""
    if not eval_seeds:
        return []
    trained = _load_trained(spec, out)
    return [evaluate_scores(spec, trained, seed) for seed in eval_seeds]


def _load_trained(spec: Any, out: Path | str) -> Any:
    """The finished model: ``train`` resumes from the final checkpoint without training."""
    from ..sweep import RunStore
    from ..sweep.store import CHECKPOINT_DIR
    from ..training import TrainConfig, train

    model_dir = RunStore(out).model_dir(spec.model_id)
    return train(TrainConfig.from_dict(spec.train), out_dir=model_dir / CHECKPOINT_DIR,
                 progress=False)


def evaluate_scores(spec: Any, trained: Any, eval_seed: int) -> dict[str, float]:
    """Metrics and headline numbers of a trained model at ``eval_seed``, flattened like
    ``load_results`` columns, through the same ``sweep.run.score_model`` that ``run_one`` uses
    (derivation checks that both agree at the run's own seed)."""
    from ..sweep import flatten_scores
    from ..sweep.run import headline_numbers, score_model

    results, arrays = score_model(spec, trained, eval_seed)
    summary = headline_numbers(results, arrays)
    scores = {k: float(v) for k, v in summary.items() if _is_number(v)}
    scores.update(flatten_scores(results))
    return scores


def retrain_scores(spec: Any, out: Path | str, seeds: Sequence[int], *,
                   progress: bool = False) -> list[dict[str, float]]:
    """``spec`` retrained with each training seed in ``seeds`` (into ``out``), scored at the
    baseline's evaluation seed."""
    seeds = [int(s) for s in seeds if int(s) != spec.seed]
    if not seeds:
        return []
    others = [dataclasses.replace(spec, train={**spec.train, "seed": s}) for s in seeds]
    frame = run_specs(others, out, progress=progress)
    failed = _run_failures(frame)
    if failed:
        run_id, reason = next(iter(failed.items()))
        raise RuntimeError(f"training-seed run {run_id} did not finish ({reason})")
    return [scores_of(row) for _, row in frame.iterrows()]


# --- output ---------------------------------------------------------------------------------
def format_table(table: pd.DataFrame) -> str:
    """The comparison as aligned plain text, failing rows marked in the last column."""
    if table.empty:
        return "(no scores recorded)"
    cells = [TABLE_COLUMNS]
    for row in table.itertuples(index=False):
        cells.append([row.run, row.metric, _fmt(row.baseline), _fmt(row.now),
                      _fmt(row.difference, signed=True), _fmt(row.tolerance), row.result])
    widths = [max(len(str(r[i])) for r in cells) for i in range(len(TABLE_COLUMNS))]
    numeric = {2, 3, 4, 5}
    return "\n".join("  ".join(str(v).rjust(w) if i in numeric else str(v).ljust(w)
                               for i, (v, w) in enumerate(zip(r, widths))).rstrip()
                     for r in cells)


def _fmt(value: float, *, signed: bool = False) -> str:
    if not math.isfinite(value):
        return str(value)
    return f"{value:+.6g}" if signed else f"{value:.6g}"
