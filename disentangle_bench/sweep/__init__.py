"""Sweeps: grid expansion, the run store, ``run_one`` and executors (on training, metrics).

Public API::

    expand(SweepRequest) -> list[RunSpec]         grid.py
    RunSpec(...).run_id                           spec.py
    RunStore(root), RunStatus                     store.py
    run_one(spec, store_root) -> RunOutcome       run.py
    run_sweep(specs, store, executor) -> SweepSummary   runner.py
    executor_class(name), EXECUTORS               executors/
    load_results(root) -> pandas.DataFrame        results.py
    PRESETS, get_preset(name)                     presets.py
"""

from .executors import EXECUTORS, Executor, TaskDone, executor_class, list_executors
from .grid import SweepRequest, expand, parse_assignment
from .presets import DEFAULT_PRESET, PRESETS, Preset, get_preset
from .results import flatten_scores, load_results
from .run import RunOutcome, run_one
from .runner import SweepSummary, run_sweep
from .spec import RunSpec
from .store import RunStatus, RunStore

__all__ = [
    "DEFAULT_PRESET",
    "EXECUTORS",
    "PRESETS",
    "Executor",
    "Preset",
    "RunOutcome",
    "RunSpec",
    "RunStatus",
    "RunStore",
    "SweepRequest",
    "SweepSummary",
    "TaskDone",
    "executor_class",
    "expand",
    "flatten_scores",
    "get_preset",
    "list_executors",
    "load_results",
    "parse_assignment",
    "run_one",
    "run_sweep",
]
