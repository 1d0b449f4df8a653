"""Scoring without training: every stored model of a results directory, or any encoder.

* :func:`evaluate_store` scores every trained model of a store with an evaluation set (metrics
  with their protocols × evaluation seeds), computing only the evaluations not yet stored. The
  store's ``sweep.json`` then names the widened set, so the tables and the report show it.
* :func:`evaluate_representation` scores any ``represent(observations) -> codes`` function (an
  encoder trained elsewhere) and stores it as an *external* entry beside the trained models; it
  appears in the tables, the claims comparison and the report, labelled by its source.
* :func:`load_exported_encoder` reads an encoder saved with ``torch.export.save``: no pickled
  code is executed while loading it (every ``torch.load`` inside is ``weights_only=True`` and
  archives holding pickled Python objects are refused).
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..plugins import plugin_record, require_plugins
from .presets import DEFAULT_PRESET, get_preset
from .results import load_results
from .run import _one_line, evaluate_missing, load_trained, represent_functions
from .spec import EvalSpec, content_hash, dataset_file_sha256
from .store import RunStatus, RunStore, environment_summary


@dataclass
class EvaluationSummary:
    """What :func:`evaluate_store` did, per model: ``cached`` / ``evaluated`` / ``failed``."""

    model_ids: list[str]
    actions: dict[str, str] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    computed: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    def lines(self) -> list[str]:
        counts = ", ".join(f"{n} {a}" for a in ("cached", "evaluated", "failed")
                           if (n := sum(1 for v in self.actions.values() if v == a)))
        models = "model" if len(self.model_ids) == 1 else "models"
        lines = [f"{len(self.model_ids)} {models} ({counts}); {self.computed} evaluations "
                 f"computed, nothing trained, in {self.seconds:.0f} s"]
        lines += [f"FAILED {model_id}: {reason}" for model_id, reason in self.failures.items()]
        return lines


def resolve_evaluation(current: dict[str, Any] | None, *, metrics: Sequence[str] | None = None,
                       eval_seeds: Sequence[int] | None = None, preset: str | None = None,
                       protocol: dict[str, dict[str, Any]] | None = None,
                       default_preset: str = DEFAULT_PRESET) -> dict[str, Any]:
    """The evaluation set after a request: the ``current`` set's metrics (their protocols kept)
    plus ``metrics``, whose protocols come from ``preset`` (else ``default_preset``) and the
    ``protocol`` overrides; ``eval_seeds`` replaces the seeds when given. Raises ``KeyError`` /
    ``ValueError`` (one line) for unknown names or values."""
    from .grid import resolve_metrics, resolve_protocol

    current = current or {}
    kept = dict(current.get("protocol") or {})
    protocol = dict(protocol or {})
    chosen = get_preset(preset or default_preset)
    if metrics is None and not kept:
        metrics = resolve_metrics(None, chosen)
    requested = resolve_metrics(list(metrics), chosen) if metrics is not None else []
    # a metric already in the set keeps its protocol unless a preset or an override is asked for
    redo = [m for m in requested if m not in kept or preset is not None or m in protocol]
    redo += [m for m in protocol if m in kept and m not in redo]
    fresh = resolve_protocol(redo, chosen, protocol) if redo else {}
    for name in protocol:
        if name not in redo:
            raise ValueError(f"--protocol names metric {name!r}, which is not evaluated; add it "
                             f"to --metrics")
    seeds = list(dict.fromkeys(int(s) for s in (eval_seeds or current.get("eval_seeds") or [0])))
    if any(s < 0 for s in seeds):
        raise ValueError(f"evaluation seeds must be non-negative, got {min(seeds)}")
    return {"protocol": {**kept, **fresh}, "eval_seeds": seeds, **_plugins()}


def evaluate_store(root: Path | str, *, metrics: Sequence[str] | None = None,
                   eval_seeds: Sequence[int] | None = None, preset: str | None = None,
                   protocol: dict[str, dict[str, Any]] | None = None, all_models: bool = False,
                   command: str = "", progress: bool = True) -> EvaluationSummary:
    """Score every trained model of the last sweep (``all_models``: of the store) with the
    evaluation set of :func:`resolve_evaluation`, computing only missing evaluations; nothing
    is trained. Idempotent and resumable (each evaluation is its own atomic file). Raises
    ``ValueError`` with one line when the directory holds no trained model."""
    from ..progress import progress_bar

    store = RunStore(root)
    store.check_layout()
    manifest = store.read_sweep() or {}
    ids = store.model_ids() if all_models or not manifest.get("run_ids") else [
        r for r in manifest["run_ids"] if (store.model_dir(r) / "config.json").is_file()]
    if not ids:
        raise ValueError(f"no trained models in {root} (expected {root}/models/<id>/); give the "
                         f"--out directory of a sweep")
    evaluation = resolve_evaluation(manifest.get("evaluation"), metrics=metrics,
                                    eval_seeds=eval_seeds, preset=preset, protocol=protocol,
                                    default_preset=manifest.get("preset") or DEFAULT_PRESET)
    wanted = [EvalSpec.of(name, params, seed, evaluation.get("plugins") or {})
              for seed in evaluation["eval_seeds"]
              for name, params in evaluation["protocol"].items()]
    summary = EvaluationSummary(model_ids=ids)
    start = time.perf_counter()
    bar = progress_bar(total=len(ids), desc="evaluate", unit="model", disable=not progress,
                       dynamic_ncols=True)
    try:
        for model_id in ids:
            _evaluate_one(store, model_id, wanted, summary)
            bar.update(1)
    finally:
        bar.close()
    summary.seconds = time.perf_counter() - start
    history = list(manifest.get("evaluations", [])) + ([command] if command else [])
    store.write_sweep({**manifest, "run_ids": manifest.get("run_ids") or ids,
                       "evaluation": evaluation, "evaluations": history})
    return summary


def _evaluate_one(store: RunStore, model_id: str, wanted: list[EvalSpec],
                  summary: EvaluationSummary) -> None:
    problem = store.config_problem(model_id)
    if problem is not None:
        summary.actions[model_id] = "failed"
        summary.failures[model_id] = f"{problem}; re-run the sweep to rewrite it"
        return
    if store.status(model_id) is not RunStatus.FINISHED:
        summary.actions[model_id] = "failed"
        summary.failures[model_id] = ("not trained (" + (store.trained_problem(model_id) or
                                      "re-run the sweep to train it") + ")")
        return
    with store.lock(model_id):
        missing = [e for e in wanted if store.read_eval(model_id, e) is None]
        if not missing:
            summary.actions[model_id] = "cached"
            return
        config = store.read_config(model_id) or {}
        try:
            require_plugins(config.get("plugins"), f"model {model_id}")
            functions, dataset, kwargs = _functions_of(store, model_id, config)
            errors = evaluate_missing(store, model_id, dataset, kwargs, functions, missing,
                                      dataset_sha256=_model_file_sha256(store, model_id, config))
        except Exception as error:  # noqa: BLE001 - e.g. an unloadable model file: recorded
            for evaluation in missing:
                store.write_eval_error(model_id, evaluation, error)
            errors = [_one_line(error)]
    summary.computed += len(missing) - len(errors)
    summary.actions[model_id] = "failed" if errors else "evaluated"
    if errors:
        summary.failures[model_id] = errors[0]


def _model_file_sha256(store: RunStore, model_id: str, config: dict[str, Any]) -> str:
    """The data file a stored entry belongs to: its config's ``dataset_sha256``, else (a model
    trained before the file was part of the id) the file its trained.json recorded, else ""."""
    if config.get("dataset_sha256"):
        return str(config["dataset_sha256"])
    from ..data.base import provenance_sha256

    recorded = (store.read_trained(model_id) or {}).get("dataset")
    return provenance_sha256(recorded) or ""


def _functions_of(store: RunStore, model_id: str, config: dict[str, Any],
                  ) -> tuple[dict[str, Callable | None], str, dict[str, Any]]:
    """The representation functions, dataset name and dataset kwargs of a stored entry."""
    source = config.get("source") or {"kind": "trained"}
    if source.get("kind", "trained") == "trained":
        train = config["train"]
        trained = load_trained(store.model_dir(model_id))
        return represent_functions(trained), train["dataset"], train.get("dataset_kwargs", {})
    if source["kind"] == "encoder":
        represent = load_exported_encoder(source["file"], expected_sha256=source.get("sha256"))
    else:
        # a results file names the function but never makes us import it: code runs only when
        # the user names it on the command line (evaluate --represent), as --plugin does
        raise ValueError(f"{source['target']} is a Python function named in config.json, "
                         f"which evaluate DIR does not import; score it with evaluate "
                         f"--represent {source['target']} --dataset {config.get('dataset')}")
    return ({"represent": represent, "posterior": None, "reconstruction_nll": None},
            config["dataset"], config.get("dataset_kwargs", {}))


# --- any encoder ------------------------------------------------------------------------------
def evaluate_representation(represent: Callable[[np.ndarray], np.ndarray], dataset: str, *,
                            out: Path | str | None = None, name: str = "external",
                            metrics: Sequence[str] | None = None,
                            eval_seeds: Sequence[int] | None = None, preset: str | None = None,
                            protocol: dict[str, dict[str, Any]] | None = None,
                            dataset_kwargs: dict[str, Any] | None = None,
                            source: dict[str, Any] | None = None,
                            model: str | None = None, hparams: dict[str, Any] | None = None,
                            posterior: Callable | None = None,
                            reconstruction_nll: Callable | None = None) -> pd.DataFrame:
    """Score ``represent`` (``observations (n, C, H, W) float32 in [0, 1] -> codes (n, d)``) on
    the registered ``dataset`` and return its ``load_results`` rows (one per evaluation seed).

    With ``out`` (a results directory) the entry is stored there beside the trained models
    (``models/<name>-<hash>/``), added to the last sweep's models, and scored with that sweep's
    evaluation set unless ``metrics`` / ``eval_seeds`` / ``preset`` / ``protocol`` say
    otherwise; scores already stored are reused. Without ``out`` it is scored in a temporary
    directory. ``source`` says where the function comes from (default: its module and name,
    with the SHA-256 of its module's file, so an edited function gets a new id). ``model`` and
    ``hparams`` say what the encoder is (e.g. ``"beta_vae"``, ``{"beta": 4.0}``), so that the
    claims comparison matches it like a trained model (default: the name, no hyperparameters).
    ``posterior`` and ``reconstruction_nll`` are optional, as for ``metrics.evaluate``.
    """
    import tempfile

    from ..data import check_dataset_name, get_dataset

    check_dataset_name(dataset)
    if not re.fullmatch(r"[A-Za-z0-9_.+=()-]+", name):
        raise ValueError(f"name must be letters, digits and _.+=()- only, got {name!r}")
    source = dict(source or describe_callable(represent))
    kwargs = dict(dataset_kwargs or {})
    with contextlib.ExitStack() as stack:
        root = Path(out) if out is not None else Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="disentangle-bench-eval-")))
        store = RunStore(root)
        store.check_layout()
        manifest = store.read_sweep() or {}
        evaluation = resolve_evaluation(
            manifest.get("evaluation"), metrics=metrics, eval_seeds=eval_seeds, preset=preset,
            protocol=protocol, default_preset=manifest.get("preset") or DEFAULT_PRESET)
        data = get_dataset(dataset, **kwargs)
        identity = {"source": source, "name": name, "dataset": dataset, "dataset_kwargs": kwargs,
                    "model": model or name, "hparams": dict(hparams or {})}
        file_sha256 = dataset_file_sha256(data)
        if file_sha256:  # scores on another file of the dataset are another entry
            identity["dataset_sha256"] = file_sha256
        model_hash = content_hash(identity)
        model_id = f"{name}-{model_hash[:12]}"
        from .. import __version__

        store.prepare_record(model_id, {**identity, "model_id": model_id,
                                        "model_hash": model_hash, "version": __version__,
                                        "preset": manifest.get("preset", preset or "custom")})
        if store.read_trained(model_id) is None:
            store.write_trained(model_id, model_hash, {"summary": {}, "external": True,
                                                       "environment": environment_summary()})
        wanted = [EvalSpec.of(metric, params, seed, evaluation.get("plugins") or {})
                  for seed in evaluation["eval_seeds"]
                  for metric, params in evaluation["protocol"].items()]
        functions = {"represent": represent, "posterior": posterior,
                     "reconstruction_nll": reconstruction_nll}
        with store.lock(model_id):
            missing = [e for e in wanted if store.read_eval(model_id, e) is None]
            errors = evaluate_missing(store, model_id, dataset, kwargs, functions, missing,
                                      dataset_sha256=file_sha256, dataset=data)
        if errors:
            raise RuntimeError(f"{model_id}: {errors[0]}")
        run_ids = list(manifest.get("run_ids", []))
        if out is not None:
            store.write_sweep({**manifest, "run_ids": run_ids + [model_id] * (
                model_id not in run_ids), "evaluation": {
                    "protocol": {**(manifest.get("evaluation") or {}).get("protocol", {}),
                                 **evaluation["protocol"]},
                    "eval_seeds": evaluation["eval_seeds"], **_plugins()}})
        return load_results(root, [model_id], evaluation=evaluation)


def _plugins() -> dict[str, Any]:
    """The evaluation set's ``plugins`` entry: the plugins loaded now, hashed into every
    evaluation id (absent without plugins, so plugin-free ids stay as they were)."""
    record = plugin_record()
    return {"plugins": record} if record else {}


def describe_callable(function: Callable) -> dict[str, Any]:
    """``{"kind": "represent", "target": "module:qualname", "code_sha256": ...}`` (the hash of
    the module's source file, when there is one)."""
    module = getattr(function, "__module__", None) or "?"
    target = f"{module}:{getattr(function, '__qualname__', type(function).__name__)}"
    record: dict[str, Any] = {"kind": "represent", "target": target}
    try:
        path = inspect.getsourcefile(function)
    except TypeError:
        path = None
    if path and Path(path).is_file():
        record["code_sha256"] = file_sha256(path)
    return record


def import_callable(target: str) -> Callable:
    """``"package.module:function"`` → the function (``ValueError`` with one line if not)."""
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"--represent expects package.module:function, got {target!r}")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"cannot import {module_name!r} for --represent: {error}") from None
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"{module_name!r} has no attribute {attribute!r} (--represent)")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"--represent {target!r} is not callable")
    return obj


def file_sha256(path: Path | str) -> str:
    """SHA-256 (hex) of a file (``data.files.file_digest``)."""
    from ..data.files import file_digest

    return file_digest(path, "sha256")


# --- torch.export encoders ----------------------------------------------------------------------
#: Archive members whose loading unpickles Python objects (torch.export's custom and opaque
#: constants): refused, whatever they hold.
_PICKLED_MEMBERS = ("custom_obj_", "opaque_obj_")


def load_exported_encoder(path: Path | str, *,
                          expected_sha256: str | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """``represent`` of an encoder saved with ``torch.export.save``: float32 observations
    (n, C, H, W) in, codes (n, d) out (the first output when the program returns several, e.g.
    ``(mean, logvar)``). Export it with a dynamic batch dimension. Raises
    ``training.UnsafeFileError`` (one line) for a file that is not such an archive or that
    would need pickled code to load."""
    import torch

    from ..training import UnsafeFileError

    path = Path(path)
    if not path.is_file():
        raise UnsafeFileError(f"no encoder file at {path}")
    if expected_sha256 is not None and file_sha256(path) != expected_sha256:
        raise UnsafeFileError(f"{path} changed since it was scored (SHA-256 differs); score it "
                              f"again with evaluate --encoder")
    problem = export_archive_problem(path)
    if problem:
        raise UnsafeFileError(f"refusing to load {path}: {problem}")
    try:  # a file object: torch logs a warning for a path not ending in .pt2
        with _weights_only_torch_load(), _quiet_torch_export(), path.open("rb") as file:
            program = torch.export.load(file)
    except Exception as error:  # noqa: BLE001 - any failure is one line naming the file
        text = str(error).strip().splitlines()
        reason = text[0] if text else type(error).__name__
        if "weights_only" in str(error) or "Unsupported global" in str(error):
            reason = "it needs pickled code to load (only tensors and plain data are accepted)"
        raise UnsafeFileError(f"refusing to load {path}: {reason}") from None
    module = program.module()

    def represent(observations: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(observations, dtype=np.float32))
        with torch.no_grad():
            output = module(x)
        if isinstance(output, (tuple, list)):
            output = output[0]
        return output.detach().float().cpu().numpy()

    return represent


#: What torch.export.save writes: from torch 2.8 a pt2 archive (``<root>/archive_format`` =
#: ``pt2`` and ``<root>/models/<name>.json``); before, top-level ``version`` and this program.
_ARCHIVE_FORMAT, _MODELS_DIR, _LEGACY_PROGRAM = "archive_format", "models/", \
    "serialized_exported_program.json"
_SAVE_HINT = "save the encoder with torch.export.save"


def export_archive_problem(path: Path | str) -> str | None:
    """Why ``path`` is not an archive of ``torch.export.save`` that loads without pickled code
    (one line), or None. Read from the zip's directory and its ``archive_format`` record
    alone, before torch sees the file: a ``torch.save`` file (a zip too, of pickles) never
    reaches ``torch.export.load``."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            formats = {n: archive.read(n).strip() for n in names
                       if n.count("/") == 1 and n.endswith(f"/{_ARCHIVE_FORMAT}")}
    except (zipfile.BadZipFile, OSError) as error:
        return f"not a torch.export archive ({error}); {_SAVE_HINT}"
    pickled = [n for n in names if Path(n).name.startswith(_PICKLED_MEMBERS)]
    if pickled:
        return (f"it holds pickled Python objects ({pickled[0]}), which would execute code "
                f"to load")
    roots = [n.split("/")[0] for n, value in formats.items() if value == b"pt2"]
    if _LEGACY_PROGRAM in names or any(n.startswith(f"{root}/{_MODELS_DIR}") and
                                       n.endswith(".json") for root in roots for n in names):
        return None
    kind = "a torch.save file" if any(n.endswith("data.pkl") for n in names) else "a zip"
    return (f"not a torch.export archive ({kind} without an exported program: no "
            f"{_ARCHIVE_FORMAT} 'pt2' with {_MODELS_DIR}*.json); {_SAVE_HINT}")


@contextlib.contextmanager
def _quiet_torch_export() -> Iterator[None]:
    """torch.export's loggers say nothing below ERROR in the block: a file it cannot load is
    refused with one line, not its warnings and tracebacks (torch 2.14 logs ~20 lines)."""
    import logging

    loggers = [logging.getLogger(name) for name in ("torch.export", "torch._export")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


@contextlib.contextmanager
def _weights_only_torch_load() -> Iterator[None]:
    """Every ``torch.load`` in the block runs with ``weights_only=True`` (torch.export's loader
    falls back to ``weights_only=False`` for some members otherwise)."""
    import torch

    original = torch.load

    def guarded(*args: Any, **kwargs: Any) -> Any:
        kwargs["weights_only"] = True
        return original(*args, **kwargs)

    torch.load = guarded
    try:
        yield
    finally:
        torch.load = original

