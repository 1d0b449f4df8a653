"""The results store: trained models and their evaluations, two stores in one directory.

Layout (``root`` is the sweep's ``--out`` directory)::

    root/sweep.json                           the last sweep: command, model ids, evaluation set
    root/models/<model_id>/config.json        what was trained (written before training starts)
    root/models/<model_id>/checkpoint/        training's out_dir: checkpoints, then model.pt
    root/models/<model_id>/train_log.csv
    root/models/<model_id>/eval_log.csv       scores of checkpoints along training (--eval-every)
    root/models/<model_id>/artifacts.npz      arrays for the figures (traversals, KL/dim, ...)
    root/models/<model_id>/trained.json       written LAST of the model: marks it finished
    root/models/<model_id>/error.json         instead, when training failed
    root/models/<model_id>/evals/<eval_id>.json        one evaluation: its own finished marker
    root/models/<model_id>/evals/<eval_id>.error.json  instead, when that evaluation failed

Ids are content hashes (``spec.py``): a model's id hashes only what determines its weights, an
evaluation's id its metric, protocol, seed and the metric's code version. A model is *trained*
only when ``trained.json`` parses and names the model's own id and hash; an evaluation exists
only when its file parses and names its own hash. Every file is written through
:mod:`disentangle_bench.atomic`, so a process killed at any moment leaves each model and each
evaluation either finished or not, never half-finished.

A directory in the layout before the split (``root/runs/<run_id>/``) is refused with one line
(:class:`LegacyStoreError`): its run ids hashed the metrics and the package version, so its
models cannot be matched to today's ids; its report.html stays readable.
"""

from __future__ import annotations

import enum
import fcntl
import json
import os
import shutil
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..atomic import read_json, write_json_atomic
from .spec import EvalSpec, RunSpec

CONFIG = "config.json"
TRAINED = "trained.json"
ERROR = "error.json"
TRAIN_LOG = "train_log.csv"
EVAL_LOG = "eval_log.csv"
ARTIFACTS = "artifacts.npz"
CHECKPOINT_DIR = "checkpoint"
EVALS_DIR = "evals"
EVAL_ERROR_SUFFIX = ".error.json"
SWEEP = "sweep.json"
LOCK = ".lock"
MODELS = "models"
LEGACY_RUNS = "runs"


class LegacyStoreError(ValueError):
    """A results directory in the layout before trained models and evaluations were split."""


class RunStatus(str, enum.Enum):
    FINISHED = "finished"
    FAILED = "failed"
    INCOMPLETE = "incomplete"  # started (config.json written) but neither finished nor failed
    MISSING = "missing"  # no model directory


def read_json_checked(path: Path) -> tuple[Any | None, str | None]:
    """``(record, None)``, ``(None, None)`` for a missing file, or ``(None, reason)`` for a file
    that exists but is not a JSON object (the reason is one line)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, None
    except (OSError, UnicodeDecodeError) as error:
        return None, f"unreadable ({type(error).__name__}: {error})"
    try:
        record = json.loads(text)
    except ValueError as error:
        return None, f"not valid JSON ({error})" if text.strip() else "empty file"
    if not isinstance(record, dict):
        return None, f"not a JSON object (a {type(record).__name__})"
    return record, None


class RunStore:
    """The directory tree of one results directory (see the module docstring)."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r})"

    # --- paths ------------------------------------------------------------------------------
    @property
    def models_dir(self) -> Path:
        return self.root / MODELS

    def model_dir(self, model_id: str) -> Path:
        return self.models_dir / model_id

    def evals_dir(self, model_id: str) -> Path:
        return self.model_dir(model_id) / EVALS_DIR

    def eval_path(self, model_id: str, eval_id: str) -> Path:
        return self.evals_dir(model_id) / f"{eval_id}.json"

    def check_layout(self) -> None:
        """Raise :class:`LegacyStoreError` for a directory in the old ``runs/`` layout."""
        if (self.root / LEGACY_RUNS).is_dir() and not self.models_dir.is_dir():
            raise LegacyStoreError(
                f"{self.root} is a results directory of disentangle-bench before 0.2 (runs/ "
                f"layout), whose ids cannot be matched to trained models now; re-run the sweep "
                f"with a new --out (its report.html stays readable)")

    def model_ids(self) -> list[str]:
        """Every model directory that holds a config.json (readable or not), sorted."""
        if not self.models_dir.is_dir():
            return []
        return sorted(p.name for p in self.models_dir.iterdir() if (p / CONFIG).is_file())

    # --- reading a model --------------------------------------------------------------------
    def read_config(self, model_id: str) -> dict[str, Any] | None:
        return read_json_checked(self.model_dir(model_id) / CONFIG)[0]

    def config_problem(self, model_id: str) -> str | None:
        """Why config.json cannot be used (``models/<id>/config.json: reason``), else None."""
        path = self.model_dir(model_id) / CONFIG
        record, problem = read_json_checked(path)
        if problem is None and record is not None and record.get("model_id") != model_id:
            problem = f"names model {record.get('model_id')!r}, not {model_id!r}"
        return None if problem is None else f"{self._rel(path)}: {problem}"

    def read_trained(self, model_id: str, model_hash: str | None = None) -> dict[str, Any] | None:
        """trained.json if it is valid for this model (parses, names this id and hash; the hash
        is ``model_hash`` when given, else config.json's)."""
        record, _ = read_json_checked(self.model_dir(model_id) / TRAINED)
        if record is None or record.get("model_id") != model_id:
            return None
        if model_hash is None:
            model_hash = (self.read_config(model_id) or {}).get("model_hash")
        return record if record.get("model_hash") == model_hash else None

    def trained_problem(self, model_id: str) -> str | None:
        """Why an existing trained.json is not valid, else None."""
        path = self.model_dir(model_id) / TRAINED
        record, problem = read_json_checked(path)
        if record is not None and self.read_trained(model_id) is None:
            problem = "does not match this model's config.json (id or hash)"
        return None if problem is None else f"{self._rel(path)}: {problem}"

    def read_error(self, model_id: str) -> dict[str, Any] | None:
        return read_json_checked(self.model_dir(model_id) / ERROR)[0]

    def status(self, model_id: str) -> RunStatus:
        """The trained model's status (its evaluations are read separately)."""
        if not self.model_dir(model_id).is_dir():
            return RunStatus.MISSING
        if self.read_trained(model_id) is not None:
            return RunStatus.FINISHED
        if self.read_error(model_id) is not None:
            return RunStatus.FAILED
        return RunStatus.INCOMPLETE

    def is_trained(self, spec: RunSpec) -> bool:
        return self.read_trained(spec.model_id, spec.config_hash) is not None

    def missing_evaluations(self, spec: RunSpec) -> list[EvalSpec]:
        return [e for e in spec.evaluations() if self.read_eval(spec.model_id, e) is None]

    def is_finished(self, spec: RunSpec) -> bool:
        """The model is trained and every evaluation the spec asks for is stored."""
        return self.is_trained(spec) and not self.missing_evaluations(spec)

    # --- reading evaluations ----------------------------------------------------------------
    def read_eval(self, model_id: str, evaluation: EvalSpec) -> dict[str, Any] | None:
        """The stored evaluation if valid (parses, names this model and this evaluation's hash)."""
        record, _ = read_json_checked(self.eval_path(model_id, evaluation.eval_id))
        if record is None or record.get("model_id") != model_id:
            return None
        if record.get("eval_hash") != evaluation.eval_hash:
            return None
        return record if isinstance(record.get("result"), dict) else None

    def list_evals(self, model_id: str) -> tuple[list[dict[str, Any]], list[str]]:
        """Every stored evaluation record of a model that parses, and one problem line for each
        evaluation file that does not."""
        records, problems = [], []
        folder = self.evals_dir(model_id)
        if not folder.is_dir():
            return records, problems
        for path in sorted(folder.glob("*.json")):
            if path.name.endswith(EVAL_ERROR_SUFFIX) or path.name.startswith("."):
                continue
            record, problem = read_json_checked(path)
            if record is not None and isinstance(record.get("result"), dict):
                records.append(record)
            else:
                problems.append(f"{self._rel(path)}: {problem or 'no result in it'}")
        return records, problems

    def eval_problem(self, model_id: str, evaluation: EvalSpec) -> str | None:
        """Why an evaluation is missing when its file exists (corrupt) or failed, else None."""
        path = self.eval_path(model_id, evaluation.eval_id)
        record, problem = read_json_checked(path)
        if record is not None and self.read_eval(model_id, evaluation) is None:
            problem = "does not match this evaluation (id or hash)"
        if problem is not None:
            return f"{self._rel(path)}: {problem}"
        error = self.read_eval_error(model_id, evaluation.eval_id)
        if error is not None:
            return f"{error.get('error_type', 'Error')}: {error.get('message', '')}"
        return None

    def read_eval_error(self, model_id: str, eval_id: str) -> dict[str, Any] | None:
        path = self.evals_dir(model_id) / f"{eval_id}{EVAL_ERROR_SUFFIX}"
        return read_json_checked(path)[0]

    def read_environment(self, model_id: str) -> dict[str, str]:
        """Library versions recorded with the model's first evaluation (else its training)."""
        records, _ = self.list_evals(model_id)
        for record in records:
            if isinstance(record.get("environment"), dict):
                return {str(k): str(v) for k, v in record["environment"].items()}
        trained = self.read_trained(model_id) or {}
        return {str(k): str(v) for k, v in (trained.get("environment") or {}).items()}

    # --- writing ----------------------------------------------------------------------------
    def prepare(self, spec: RunSpec) -> Path:
        """Create the model directory and write config.json (atomically; idempotent). A
        config.json that is corrupt or of another config is rewritten."""
        return self.prepare_record(spec.model_id, model_record(spec))

    def prepare_record(self, model_id: str, record: dict[str, Any]) -> Path:
        model_dir = self.model_dir(model_id)
        model_dir.mkdir(parents=True, exist_ok=True)
        current = self.read_config(model_id) or {}
        if current.get("model_hash") != record["model_hash"] or self.config_problem(model_id):
            write_json_atomic(model_dir / CONFIG, record)
        return model_dir

    def write_trained(self, model_id: str, model_hash: str, record: dict[str, Any]) -> Path:
        """Write trained.json (the model's finished marker) and clear any stale error.json."""
        record = {**record, "model_id": model_id, "model_hash": model_hash}
        path = write_json_atomic(self.model_dir(model_id) / TRAINED, record)
        (self.model_dir(model_id) / ERROR).unlink(missing_ok=True)
        return path

    def write_eval(self, model_id: str, evaluation: EvalSpec, result: dict[str, Any],
                   environment: dict[str, Any]) -> Path:
        """Store one evaluation (its file is its finished marker); clears its stale error."""
        record = {"model_id": model_id, "eval_id": evaluation.eval_id,
                  "eval_hash": evaluation.eval_hash, "metric": evaluation.metric,
                  "protocol": evaluation.protocol, "eval_seed": evaluation.seed,
                  "metric_version": evaluation.version, "result": result,
                  "environment": environment,
                  "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        path = write_json_atomic(self.eval_path(model_id, evaluation.eval_id), record)
        (self.evals_dir(model_id) / f"{evaluation.eval_id}{EVAL_ERROR_SUFFIX}").unlink(
            missing_ok=True)
        return path

    def write_eval_error(self, model_id: str, evaluation: EvalSpec, error: BaseException) -> Path:
        record = _error_record(model_id, error, phase="evaluation", traceback_text=None)
        record["eval_id"] = evaluation.eval_id
        return write_json_atomic(
            self.evals_dir(model_id) / f"{evaluation.eval_id}{EVAL_ERROR_SUFFIX}", record)

    def write_error(self, model_id: str, error: BaseException | str, *, phase: str,
                    traceback_text: str | None = None) -> Path:
        """Record a failed model: error type, one-line message, traceback, phase."""
        record = _error_record(model_id, error, phase=phase, traceback_text=traceback_text)
        return write_json_atomic(self.model_dir(model_id) / ERROR, record)

    def clear_outcome(self, model_id: str) -> None:
        """Forget a previous failure so the model is retried (its checkpoint is kept)."""
        (self.model_dir(model_id) / ERROR).unlink(missing_ok=True)

    def reset(self, model_id: str) -> None:
        """Delete everything of a model and its evaluations (``--force``)."""
        model_dir = self.model_dir(model_id)
        if model_dir.is_dir():
            shutil.rmtree(model_dir)

    @contextmanager
    def lock(self, model_id: str) -> Iterator[None]:
        """Exclusive advisory lock on a model directory (released by the OS if the holder
        dies), so two workers never train or score the same model at once: the second waits,
        then finds the work done."""
        model_dir = self.model_dir(model_id)
        model_dir.mkdir(parents=True, exist_ok=True)
        with open(model_dir / LOCK, "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    # --- sweep manifest ---------------------------------------------------------------------
    def write_sweep(self, manifest: dict[str, Any]) -> Path:
        return write_json_atomic(self.root / SWEEP, manifest)

    def read_sweep(self) -> dict[str, Any] | None:
        record = read_json(self.root / SWEEP)
        return record if isinstance(record, dict) else None

    def _rel(self, path: Path) -> str:
        return str(path)


def model_record(spec: RunSpec) -> dict[str, Any]:
    """config.json of a trained model: what was trained, and the hashed identity."""
    return {"model_id": spec.model_id, "model_hash": spec.config_hash,
            "source": {"kind": "trained"}, "train": spec.train, "preset": spec.preset,
            "version": spec.version, "identity": spec.identity(),
            "artifacts": spec.artifacts, "plugins": spec.plugins,
            **({"dataset_sha256": spec.dataset_sha256} if spec.dataset_sha256 else {})}


def _error_record(model_id: str, error: BaseException | str, *, phase: str,
                  traceback_text: str | None) -> dict[str, Any]:
    if isinstance(error, BaseException):
        kind, message = type(error).__name__, str(error) or type(error).__name__
        if traceback_text is None:
            traceback_text = "".join(traceback.format_exception(error))
    else:
        kind, message = "Error", str(error)
    return {"model_id": model_id, "run_id": model_id, "error_type": kind, "message": message,
            "phase": phase, "traceback": traceback_text or ""}


def stray_temp_files(root: Path | str) -> list[Path]:
    """Temporary files left by writes that were killed (harmless; listed for tests/cleanup)."""
    return sorted(p for p in Path(root).rglob(".tmp-*") if p.is_file())


def environment_summary() -> dict[str, str]:
    """Versions and settings that can change numbers, recorded with every model and evaluation.
    The torch thread count is one: oneDNN's reductions split work by thread, so runs with other
    counts (``--jobs``) agree only to float rounding (~1e-5 relative), not bit for bit."""
    import platform

    import numpy
    import sklearn
    import torch

    from .. import __version__

    return {"disentangle_bench": __version__, "python": platform.python_version(),
            "numpy": numpy.__version__, "torch": torch.__version__,
            "scikit-learn": sklearn.__version__, "platform": platform.platform(),
            "cpu_count": str(os.cpu_count()), "torch_threads": str(torch.get_num_threads())}
