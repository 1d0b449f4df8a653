"""``run_sweep``: execute a list of RunSpecs through an executor, collecting from the store.

A run is one trained model and the evaluations asked of it. Runs whose model is trained and
whose evaluations are all stored are skipped before any task is submitted (a re-run costs
nothing for them); a run whose model is stored but lacks evaluations only scores (``evaluated``).
``force=True`` deletes and re-runs them. The overall progress bar counts runs done / total with
an ETA; the per-run training bars come from the training layer (in-process runs only). When
stderr is not a terminal, both are whole lines, one per run (``disentangle_bench.progress``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .executors.base import Executor
from .spec import RunSpec
from .store import RunStatus, RunStore


@dataclass
class SweepSummary:
    """Per-run outcome of a sweep: ``actions[run_id]`` is cached / trained / resumed /
    evaluated / skipped / failed."""

    run_ids: list[str]
    actions: dict[str, str] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)  # run_id -> one-line reason
    labels: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    def count(self, action: str) -> int:
        return sum(1 for a in self.actions.values() if a == action)

    def lines(self) -> list[str]:
        """Human-readable summary: counts, then one line per failed run with its reason."""
        actions = ("cached", "trained", "resumed", "evaluated", "skipped", "failed")
        counts = ", ".join(f"{self.count(a)} {a}" for a in actions if self.count(a))
        total = len(self.run_ids)
        lines = [f"{total} run{'' if total == 1 else 's'} ({counts}) in {self.seconds:.0f} s"]
        for run_id, reason in self.failures.items():
            lines.append(f"FAILED {self.labels.get(run_id, run_id)} [{run_id}]: {reason}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {"run_ids": self.run_ids, "actions": self.actions, "failures": self.failures,
                "seconds": self.seconds}


def run_sweep(specs: Sequence[RunSpec], store: RunStore, executor: Executor, *,
              force: bool = False, progress: bool = True) -> SweepSummary:
    """Run every spec not yet finished in ``store``; failures are recorded, never raised."""
    from ..progress import progress_bar

    store.check_layout()
    start = time.perf_counter()
    summary = SweepSummary(run_ids=[s.run_id for s in specs],
                           labels={s.run_id: s.label() for s in specs})
    todo = []
    for spec in specs:
        if force:
            store.reset(spec.run_id)
        store.prepare(spec)  # writes config.json, or repairs a corrupt one
        if store.is_finished(spec):
            summary.actions[spec.run_id] = "cached"
        else:
            todo.append(spec)
    bar = progress_bar(total=len(specs), initial=len(specs) - len(todo), desc="sweep",
                       unit="run", disable=not progress, dynamic_ncols=True, position=0,
                       leave=True)
    by_id = {spec.run_id: spec for spec in todo}
    events = executor.run(todo, str(store.root), progress=progress)
    try:
        for done in events:
            action = _collect(store, by_id[done.run_id], done, summary)
            bar.set_postfix_str(f"last: {summary.labels[done.run_id]} {action}", refresh=False)
            bar.update(1)  # a log's line for this run names it
            bar.refresh()
    finally:
        bar.close()
        if hasattr(events, "close"):  # Ctrl-C here, not in the executor: stop it now
            events.close()
    summary.seconds = time.perf_counter() - start
    return summary


def _collect(store: RunStore, spec: RunSpec, done: Any, summary: SweepSummary) -> str:
    """Read the run's outcome from the store (the source of truth), recording crashes."""
    if done.crash is not None and store.status(spec.run_id) is not RunStatus.FINISHED:
        store.write_error(spec.run_id, done.crash, phase="executor")
    if store.is_finished(spec):
        action = (done.outcome or {}).get("action", "trained")
    else:
        summary.failures[spec.run_id] = failure_reason(store, spec, done)
        action = "failed"
    summary.actions[spec.run_id] = action
    return action


def failure_reason(store: RunStore, spec: RunSpec, done: Any = None) -> str:
    """One line: why ``spec`` is not finished (training error, else the first evaluation's)."""
    error = store.read_error(spec.run_id)
    if error is not None or store.status(spec.run_id) is not RunStatus.FINISHED:
        error = error or {}
        reason = f"{error.get('error_type', 'Error')}: {error.get('message', 'no result written')}"
        return reason.splitlines()[0]
    for evaluation in store.missing_evaluations(spec):
        problem = store.eval_problem(spec.run_id, evaluation)
        if problem:
            return f"{evaluation.metric} (seed {evaluation.seed}): {problem}".splitlines()[0]
    return str((getattr(done, "outcome", None) or {}).get("error") or "evaluation not written")
