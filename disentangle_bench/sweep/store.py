"""The results store: one directory per run, keyed by the run id, written atomically.

Layout (``root`` is the sweep's ``--out`` directory)::

    root/sweep.json                 the last sweep: command, preset, run ids (the report's input)
    root/runs/<run_id>/config.json  the RunSpec (written before training starts)
    root/runs/<run_id>/checkpoint/  training's out_dir: checkpoints, resumed from after a crash
    root/runs/<run_id>/train_log.csv
    root/runs/<run_id>/eval_log.csv    scores of checkpoints along training (--eval-every)
    root/runs/<run_id>/artifacts.npz   arrays for the plots (traversals, reconstructions, KL/dim)
    root/runs/<run_id>/metrics.json    written LAST: its presence (valid) marks the run finished
    root/runs/<run_id>/error.json      instead of metrics.json when the run failed

A run is *finished* only when ``metrics.json`` parses and names the run's own id and config hash;
every file is written through :mod:`disentangle_bench.atomic`, so a run killed at any moment is
either finished or not, never half-finished.
"""

from __future__ import annotations

import enum
import fcntl
import os
import shutil
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..atomic import read_json, write_json_atomic
from .spec import RunSpec

CONFIG = "config.json"
METRICS = "metrics.json"
ERROR = "error.json"
TRAIN_LOG = "train_log.csv"
EVAL_LOG = "eval_log.csv"
ARTIFACTS = "artifacts.npz"
CHECKPOINT_DIR = "checkpoint"
SWEEP = "sweep.json"
LOCK = ".lock"


class RunStatus(str, enum.Enum):
    FINISHED = "finished"
    FAILED = "failed"
    INCOMPLETE = "incomplete"  # started (config.json written) but neither finished nor failed
    MISSING = "missing"  # no run directory


class RunStore:
    """The directory tree of one sweep's results (see the module docstring for the layout)."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r})"

    # --- paths ------------------------------------------------------------------------------
    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    def run_dir(self, run_id: str) -> Path:
        return self.runs_dir / run_id

    def run_ids(self) -> list[str]:
        """Every run directory that holds a config.json, sorted."""
        if not self.runs_dir.is_dir():
            return []
        return sorted(p.name for p in self.runs_dir.iterdir() if (p / CONFIG).is_file())

    # --- reading ----------------------------------------------------------------------------
    def read_config(self, run_id: str) -> dict[str, Any] | None:
        return read_json(self.run_dir(run_id) / CONFIG)

    def read_metrics(self, run_id: str) -> dict[str, Any] | None:
        """metrics.json if it is valid for this run (parses, same run id and config hash)."""
        record = read_json(self.run_dir(run_id) / METRICS)
        config = self.read_config(run_id)
        if not isinstance(record, dict) or not isinstance(config, dict):
            return None
        if record.get("run_id") != run_id or record.get("config_hash") != config.get("config_hash"):
            return None
        if not isinstance(record.get("metrics"), dict):
            return None
        return record

    def read_error(self, run_id: str) -> dict[str, Any] | None:
        record = read_json(self.run_dir(run_id) / ERROR)
        return record if isinstance(record, dict) else None

    def status(self, run_id: str) -> RunStatus:
        if not self.run_dir(run_id).is_dir():
            return RunStatus.MISSING
        if self.read_metrics(run_id) is not None:
            return RunStatus.FINISHED
        if self.read_error(run_id) is not None:
            return RunStatus.FAILED
        return RunStatus.INCOMPLETE

    def is_finished(self, spec: RunSpec) -> bool:
        """True when the run's metrics.json is valid *and* its config is this spec's."""
        record = self.read_metrics(spec.run_id)
        return record is not None and record.get("config_hash") == spec.config_hash

    # --- writing ----------------------------------------------------------------------------
    def prepare(self, spec: RunSpec) -> Path:
        """Create the run directory and write config.json (atomically; idempotent)."""
        run_dir = self.run_dir(spec.run_id)
        run_dir.mkdir(parents=True, exist_ok=True)
        if (self.read_config(spec.run_id) or {}).get("config_hash") != spec.config_hash:
            write_json_atomic(run_dir / CONFIG, spec.to_dict())
        return run_dir

    def write_metrics(self, spec: RunSpec, record: dict[str, Any]) -> Path:
        """Write metrics.json (the finished marker) and clear any stale error.json."""
        record = {**record, "run_id": spec.run_id, "config_hash": spec.config_hash}
        path = write_json_atomic(self.run_dir(spec.run_id) / METRICS, record)
        (self.run_dir(spec.run_id) / ERROR).unlink(missing_ok=True)
        return path

    def write_error(self, run_id: str, error: BaseException | str, *, phase: str,
                    traceback_text: str | None = None) -> Path:
        """Record a failed run: error type, one-line message, traceback, phase."""
        if isinstance(error, BaseException):
            kind, message = type(error).__name__, str(error) or type(error).__name__
            if traceback_text is None:
                traceback_text = "".join(traceback.format_exception(error))
        else:
            kind, message = "Error", str(error)
        record = {"run_id": run_id, "error_type": kind, "message": message, "phase": phase,
                  "traceback": traceback_text or ""}
        return write_json_atomic(self.run_dir(run_id) / ERROR, record)

    def clear_outcome(self, run_id: str) -> None:
        """Forget a previous failure so the run is retried (its checkpoint is kept)."""
        (self.run_dir(run_id) / ERROR).unlink(missing_ok=True)

    def reset(self, run_id: str) -> None:
        """Delete everything of a run (``--force``): it will be trained from scratch."""
        run_dir = self.run_dir(run_id)
        if run_dir.is_dir():
            shutil.rmtree(run_dir)

    @contextmanager
    def lock(self, run_id: str) -> Iterator[None]:
        """Exclusive advisory lock on a run directory (released by the OS if the holder dies),
        so two workers never train the same run at once: the second waits, then finds it
        finished."""
        run_dir = self.run_dir(run_id)
        run_dir.mkdir(parents=True, exist_ok=True)
        with open(run_dir / LOCK, "a+b") as handle:
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


def stray_temp_files(root: Path | str) -> list[Path]:
    """Temporary files left by writes that were killed (harmless; listed for tests/cleanup)."""
    return sorted(p for p in Path(root).rglob(".tmp-*") if p.is_file())


def environment_summary() -> dict[str, str]:
    """Versions and settings that can change numbers, recorded with every finished run. The
    torch thread count is one: oneDNN's reductions split work by thread, so runs with other
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
