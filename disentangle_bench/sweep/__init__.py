"""Sweeps: grid expansion, the run store, ``run_one`` and executors (on training, metrics).

Public API::

    expand(SweepRequest) -> list[RunSpec]         grid.py
    RunSpec(...).model_id, EvalSpec               spec.py
    RunStore(root), RunStatus                     store.py
    run_one(spec, store_root) -> RunOutcome       run.py
    evaluate_store(root, ...), evaluate_representation(...)   evaluate.py
    run_sweep(specs, store, executor) -> SweepSummary   runner.py
    update_store_udr(store), group_udr(...)       udr.py (UDR per configuration group)
    executor_class(name), EXECUTORS               executors/
    load_results(root) -> pandas.DataFrame        results.py
    PRESETS, get_preset(name)                     presets.py
"""

from .evaluate import evaluate_representation, evaluate_store, load_exported_encoder
from .executors import EXECUTORS, Executor, TaskDone, executor_class, list_executors
from .grid import SweepRequest, expand, parse_assignment
from .presets import DEFAULT_PRESET, PRESETS, Preset, get_preset
from .results import flatten_scores, load_results, model_means
from .run import RunOutcome, run_one
from .runner import SweepSummary, run_sweep
from .spec import EvalSpec, RunSpec
from .store import LegacyStoreError, RunStatus, RunStore

__all__ = [
    "DEFAULT_PRESET",
    "EXECUTORS",
    "EvalSpec",
    "PRESETS",
    "Executor",
    "LegacyStoreError",
    "Preset",
    "RunOutcome",
    "RunSpec",
    "RunStatus",
    "RunStore",
    "SweepRequest",
    "SweepSummary",
    "TaskDone",
    "evaluate_representation",
    "evaluate_store",
    "executor_class",
    "expand",
    "flatten_scores",
    "get_preset",
    "list_executors",
    "load_exported_encoder",
    "load_results",
    "model_means",
    "parse_assignment",
    "run_one",
    "run_sweep",
]
