"""``train(config) -> TrainedModel``: the training loop, checkpoints and resume.

Determinism. With the same config on the same machine a run gives bitwise the same weights and
log (timings aside), interrupted or not:

- weights are initialised from a ``torch.Generator`` seeded with ``config.seed``
  (:func:`~disentangle_bench.models.get_model`); the sampling noise (reparameterisation,
  FactorVAE's permutation) comes from a second generator seeded from ``(seed, 1)``; training
  batch ``s`` is ``observation_batch(dataset, batch_size, seed, s)``, a pure function of
  ``(seed, s)``. Global random state is neither used nor changed.
- during training ``torch.use_deterministic_algorithms(True)`` is on (on CUDA with
  ``warn_only=True``, plus ``cudnn.deterministic = True``, ``cudnn.benchmark = False``, TF32 off
  and ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` if unset — effective only if CUDA was not initialised
  before); the previous settings are restored afterwards.
- a checkpoint holds everything the next step depends on: weights, Adam state(s), the noise
  generator's state, the step, the training log and the partial log window.

Files in ``out_dir``: ``checkpoint.pt`` (rewritten atomically every ``checkpoint_every`` steps
and at the end) and, once finished, what :meth:`TrainedModel.save` writes. Calling
:func:`train` again with the same config resumes from ``checkpoint.pt`` (or returns the finished
model); a different config is an error.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import __version__
from ..data import GroundTruthDataset, get_dataset, observation_batch
from ..interrupt import stop_requested, training_section
from ..models import Objective
from ..progress import EVERY_PERCENT, progress_bar
from .config import TrainConfig
from .trained_model import (
    MODEL_FILE,
    TrainedModel,
    atomic_torch_save,
    build_model,
    safe_torch_load,
)

CHECKPOINT_FILE = "checkpoint.pt"
#: A log window this many times slower than the run's best gets a warning (see _warn_if_stalled).
STALL_FACTOR = 5.0
#: 2: optimiser states by the objective's group names (``Objective.optimizers``).
CHECKPOINT_FORMAT = 2
# Config fields that may differ on resume: they do not change the computed numbers.
_RESUMABLE_DIFFERENCES = ("checkpoint_every",)


class TrainingDiverged(RuntimeError):
    """The loss became non-finite; ``step`` is the first bad step, ``last_finite`` the last
    finite ``(step, loss)`` pairs before it."""

    def __init__(self, message: str, step: int, last_finite: list[tuple[int, float]]):
        super().__init__(message)
        self.step = step
        self.last_finite = last_finite


class ConfigMismatch(ValueError):
    """``out_dir`` holds a run with a different config."""


def resolve_device(device: str) -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; ``"cuda"`` without a GPU is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' but no CUDA GPU is available; use device='auto' or 'cpu'")
    return torch.device(device)


def resolve_device_type(device: str) -> str:
    """The device type a config trains on: ``"cpu"`` or ``"cuda"``, never ``"auto"`` (what a run
    id hashes: a CPU and a CUDA run of one config give different numbers and checkpoints)."""
    return resolve_device(device).type


def resolve_precision(precision: str, device: torch.device) -> str:
    """``"auto"`` → ``"bf16"`` where bf16 is native and fast, else ``"fp32"``.

    On CPUs without bf16 instructions (e.g. AVX2-only) autocast emulates bf16 and is several
    times *slower* than fp32, so ``auto`` keeps fp32 there.
    """
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_native_bf16() else "fp32"


def cpu_has_native_bf16() -> bool:
    """True if the CPU advertises AVX512-BF16 or AMX-BF16 (Linux ``/proc/cpuinfo``)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def train(
    config: TrainConfig,
    out_dir: str | os.PathLike | None = None,
    *,
    progress: bool = True,
    dataset: GroundTruthDataset | None = None,
    stop_at: int | None = None,
    callback: StepCallback | None = None,
) -> TrainedModel:
    """Train ``config`` and return the :class:`TrainedModel`.

    ``out_dir``: where checkpoints and the finished model go (``None``: keep nothing on disk).
    If it holds a finished run of the same config, that model is loaded and returned; if it
    holds a checkpoint, training resumes from it. ``dataset``: an already constructed dataset
    to use instead of ``get_dataset(config.dataset, **config.dataset_kwargs)`` (its ``name``
    must equal ``config.dataset``). ``stop_at``: stop early once this many steps are done,
    writing a checkpoint — an interruption on purpose (tests, time-sliced schedulers); the
    returned model has ``finished == False``. ``callback``: a :class:`StepCallback` called
    during training (e.g. to score checkpoints); it never changes the training numbers.

    Raises :class:`TrainingDiverged` on a non-finite loss (the last checkpoint stays intact)
    and :class:`ConfigMismatch` if ``out_dir`` belongs to another config.
    """
    config.validate()
    out = Path(out_dir) if out_dir is not None else None
    if out is not None and (out / MODEL_FILE).exists():
        finished = TrainedModel.load(out, device=resolve_device(config.device))
        _check_same_config(finished.config, config, out / MODEL_FILE)
        return finished
    dataset = _dataset_for(config, dataset)
    device = resolve_device(config.device)
    precision = resolve_precision(config.precision, device)
    with deterministic_torch(device):
        run = _Run(config, dataset, device, precision)
        if out is not None and (out / CHECKPOINT_FILE).exists():
            run.restore(out / CHECKPOINT_FILE)
        last = config.steps if stop_at is None else min(config.steps, max(stop_at, run.step))
        run.train_until(last, out, progress, callback)
    trained = TrainedModel(
        run.model, config, run.log,
        observation_shape=dataset.observation_shape, step=run.step, device=device,
    )  # fmt: skip
    if out is not None and trained.finished:
        trained.save(out)
    return trained


@dataclass(frozen=True)
class StepCallback:
    """``function(step, model)`` after every ``every``-th step and after the last one, in the
    steps trained by this call (a resumed run calls it only for the steps it trains), once
    that step's checkpoint is written. ``model`` is a :class:`TrainedModel` view of the
    weights at that step (eval mode); training continues in train mode afterwards, with the
    same numbers as without the callback (no generator or batch depends on it)."""

    every: int
    function: Callable[[int, TrainedModel], None]

    def __post_init__(self) -> None:
        if int(self.every) < 1:
            raise ValueError(f"StepCallback.every must be >= 1, got {self.every}")


def time_training_steps(
    config: TrainConfig, *, steps: int = 3, dataset: GroundTruthDataset | None = None
) -> float:
    """Seconds per training step of ``config`` on this machine: the mean of ``steps`` steps
    after one warm-up step, on a throw-away model (nothing is written; for time estimates)."""
    config.validate()
    dataset = _dataset_for(config, dataset)
    device = resolve_device(config.device)
    run = _Run(config, dataset, device, resolve_precision(config.precision, device))
    run._train_step(0)
    start = time.perf_counter()
    for step in range(1, steps + 1):
        run._train_step(step)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) / steps


class _Run:
    """The mutable state of one training run."""

    def __init__(self, config: TrainConfig, dataset, device: torch.device, precision: str):
        self.config, self.dataset, self.device, self.precision = config, dataset, device, precision
        model = build_model(config, dataset.observation_shape)
        self.channels_last = config.architecture in ("conv", "conv_paper")
        self.model: Objective = model.to(device).train()
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        # the objective declares its optimisers (main first); the loop names no model
        self.groups = self.model.optimizers(config.lr)
        if not self.groups or self.groups[0].loss != "loss":
            raise ValueError(f"{config.model}: optimizers() must list the main optimiser, "
                             "minimising 'loss', first")
        self.optimizers = [group.build() for group in self.groups]
        self.noise = torch.Generator(device=device)
        self.noise.manual_seed(int(np.random.SeedSequence([config.seed, 1]).generate_state(1)[0]))
        self.step = 0
        self.log: list[dict[str, Any]] = []
        self.window: list[torch.Tensor] = []  # per-step stats since the last log row
        self.checked = 0  # how many rows of ``window`` were checked finite
        self.last_finite: list[tuple[int, float]] = []
        self.extra_names: list[str] | None = None
        self.peak_rate = 0.0  # best images/s of a log window so far (the slow-down warning)
        self.warned_slow = False

    # ---- the loop -----------------------------------------------------------------------------
    def train_until(self, last: int, out: Path | None, progress: bool,
                    callback: StepCallback | None = None) -> None:
        config = self.config
        bar = progress_bar(
            total=config.steps, initial=self.step, disable=not progress, unit="step",
            desc=f"{config.model} seed {config.seed}", every=EVERY_PERCENT, dynamic_ncols=True,
        )  # fmt: skip
        window_start = time.perf_counter()
        try:
            with training_section():
                self._steps(last, out, bar, window_start, callback)
        finally:
            bar.close()
        self._check_finite(out)

    def _call(self, callback: StepCallback) -> None:
        self._check_finite(None)
        view = TrainedModel(self.model, self.config, list(self.log),
                            observation_shape=self.dataset.observation_shape, step=self.step,
                            device=self.device)
        try:
            callback.function(self.step, view)
        finally:
            self.model.train()

    def _steps(self, last: int, out: Path | None, bar: Any, window_start: float,
               callback: StepCallback | None = None) -> None:
        config = self.config
        while self.step < last:
            if stop_requested():  # Ctrl-C: stop between steps, with a checkpoint
                if out is not None:
                    self._check_finite(out)
                    self.save_checkpoint(out / CHECKPOINT_FILE, interrupted=True)
                raise KeyboardInterrupt
            self.window.append(self._train_step(self.step))
            self.step += 1
            bar.update(1)
            if self.step % config.log_every == 0 or self.step == config.steps:
                self._check_finite(out)
                row = self._log_row(time.perf_counter() - window_start)
                self._warn_if_stalled(row["images_per_s"])
                bar.set_postfix(
                    loss=f"{row['loss']:.2f}", recon=f"{row['reconstruction']:.2f}",
                    kl=f"{row['kl']:.2f}", refresh=False,
                )  # fmt: skip
                window_start = time.perf_counter()
            every = config.checkpoint_every
            checkpoint_due = self.step in (last, config.steps) or (
                every and self.step % every == 0
            )
            if out is not None and checkpoint_due:
                self._check_finite(out)
                self.save_checkpoint(out / CHECKPOINT_FILE)
            if callback is not None and (self.step % callback.every == 0
                                         or self.step == config.steps):
                started = time.perf_counter()
                self._call(callback)
                window_start += time.perf_counter() - started  # not training time

    def _warn_if_stalled(self, rate: float) -> None:
        """Once per run: say so when a log window ran :data:`STALL_FACTOR` times slower than the
        best one, the sign of threads stalling on cores that other processes hold."""
        if not self.warned_slow and self.peak_rate > STALL_FACTOR * rate:
            self.warned_slow = True
            tqdm.write(
                f"warning: {self.config.model} seed {self.config.seed} slowed to {rate:.0f} "
                f"images/s from {self.peak_rate:.0f} at step {self.step}: other processes are "
                f"using the cores its {torch.get_num_threads()} torch thread(s) wait on; run "
                "fewer things at once, or set OMP_NUM_THREADS=1", file=sys.stderr,
            )  # fmt: skip
        self.peak_rate = max(self.peak_rate, rate)

    def _train_step(self, step: int) -> torch.Tensor:
        """One optimisation step; returns the step's stats as one small fp32 tensor (no sync)."""
        x = self._batch(step)
        with self._autocast():
            out = self.model.loss(x, step, self.noise)
        weight = self.config.regulariser_weight(step)
        if weight != 1.0:  # KL warm-up: scale what the objective adds to the reconstruction
            out.loss = out.reconstruction + weight * (out.loss - out.reconstruction)
        main, *others = self.groups
        for group in self.optimizers[0].param_groups:
            group["lr"] = self.config.learning_rate(step)
        self.optimizers[0].zero_grad(set_to_none=True)
        # further groups' gradients first, from the same graph (see OptimizerGroup)
        grads = [torch.autograd.grad(out.term(group.loss), group.parameters, retain_graph=True)
                 for group in others]
        out.term(main.loss).backward()
        self.optimizers[0].step()
        for group, optimizer, group_grads in zip(others, self.optimizers[1:], grads):
            for parameter, grad in zip(group.parameters, group_grads):
                parameter.grad = grad  # replaces what the main loss left there
            optimizer.step()
        if self.extra_names is None:
            self.extra_names = sorted(out.extras)
        scalars = [out.loss, out.reconstruction, out.kl]
        scalars += [out.extras[name] for name in self.extra_names]
        return torch.cat([torch.stack(scalars).detach().float(), out.kl_per_dim.detach().float()])

    def _batch(self, step: int) -> torch.Tensor:
        batch = observation_batch(self.dataset, self.config.batch_size, self.config.seed, step)
        x = torch.from_numpy(batch).to(self.device, non_blocking=True)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def _autocast(self):
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return nullcontext()

    # ---- divergence and the log ---------------------------------------------------------------
    def _check_finite(self, out: Path | None) -> None:
        """Raise :class:`TrainingDiverged` if a step since the last check had a non-finite loss."""
        if self.checked == len(self.window):
            return
        first_step = self.step - len(self.window)
        losses = torch.stack(self.window[self.checked :])[:, :3].tolist()
        for offset, (loss, reconstruction, kl) in enumerate(losses):
            step = first_step + self.checked + offset
            if not all(math.isfinite(v) for v in (loss, reconstruction, kl)):
                self._diverged(step, loss, reconstruction, kl, out)
            self.last_finite = (self.last_finite + [(step, loss)])[-5:]
        self.checked = len(self.window)

    def _diverged(self, step, loss, reconstruction, kl, out: Path | None) -> None:
        history = ", ".join(f"step {s}: {v:.4g}" for s, v in self.last_finite) or "none"
        where = (
            f"checkpoint {out / CHECKPOINT_FILE} is intact"
            if out is not None and (out / CHECKPOINT_FILE).exists()
            else "no checkpoint was written"
        )
        raise TrainingDiverged(
            f"{self.config.model} seed {self.config.seed}: non-finite loss at step {step} "
            f"(loss {loss}, reconstruction {reconstruction}, kl {kl}); last finite losses: "
            f"{history}; {where}. Lower lr or the regularisation strength, or use fp32.",
            step,
            list(self.last_finite),
        )

    def _log_row(self, seconds: float) -> dict[str, Any]:
        stats = torch.stack(self.window).double().mean(0).tolist()
        names = ["loss", "reconstruction", "kl", *(self.extra_names or [])]
        row: dict[str, Any] = {"step": self.step, **dict(zip(names, stats[: len(names)]))}
        row["kl_per_dim"] = stats[len(names) :]
        row["images_per_s"] = len(self.window) * self.config.batch_size / max(seconds, 1e-9)
        self.log.append(row)
        self.window, self.checked = [], 0
        return row

    # ---- checkpoints --------------------------------------------------------------------------
    def save_checkpoint(self, path: Path, *, interrupted: bool = False) -> None:
        """``interrupted``: written because of Ctrl-C (recorded; resume ignores it)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {
            "format": CHECKPOINT_FORMAT,
            "interrupted": interrupted,
            "package_version": __version__,
            "config": self.config.to_dict(),
            "observation_shape": list(self.dataset.observation_shape),
            "step": self.step,
            "precision": self.precision,
            "model": self.model.state_dict(),
            "optimizers": {group.name: optimizer.state_dict()
                           for group, optimizer in zip(self.groups, self.optimizers)},
            "noise_generator": self.noise.get_state(),
            "log": self.log,
            "window": torch.stack(self.window) if self.window else None,
            "last_finite": self.last_finite,
            "extra_names": self.extra_names,
        }
        atomic_torch_save(state, path)

    def restore(self, path: Path) -> None:
        state = safe_torch_load(path, map_location=self.device)
        _check_same_config(TrainConfig.from_dict(state["config"]), self.config, path)
        if state["precision"] != self.precision:
            raise ConfigMismatch(
                f"{path} was trained with precision {state['precision']!r}, this run resolves "
                f"to {self.precision!r}; set precision explicitly or use a new out_dir"
            )
        self.model.load_state_dict(state["model"])
        saved = state.get("optimizers")
        if saved is None:
            raise ConfigMismatch(f"{path} was written by an older disentangle-bench (checkpoint "
                                 f"format {state.get('format')}, before objectives declared "
                                 "their optimisers); delete it to retrain, or use another out_dir")
        if set(saved) != {group.name for group in self.groups}:
            raise ConfigMismatch(f"{path} holds optimisers {sorted(saved)}, the objective "
                                 f"declares {[group.name for group in self.groups]}")
        for group, optimizer in zip(self.groups, self.optimizers):
            optimizer.load_state_dict(saved[group.name])
        self.noise.set_state(state["noise_generator"].cpu())
        self.step = int(state["step"])
        self.log = list(state["log"])
        window = state["window"]
        self.window = [] if window is None else list(window.to(self.device).unbind(0))
        self.checked = len(self.window)
        self.last_finite = [tuple(x) for x in state["last_finite"]]
        self.extra_names = state["extra_names"]


def _check_same_config(found: TrainConfig, wanted: TrainConfig, path: Path) -> None:
    a, b = found.to_dict(), wanted.to_dict()
    differences = [k for k in a if k not in _RESUMABLE_DIFFERENCES and a[k] != b.get(k)]
    if differences:
        details = "; ".join(f"{k}: {a[k]!r} there vs {b.get(k)!r} now" for k in differences)
        raise ConfigMismatch(
            f"{path} belongs to a different config ({details}); use another out_dir"
        )


def _dataset_for(config: TrainConfig, dataset: GroundTruthDataset | None) -> GroundTruthDataset:
    if dataset is None:
        return get_dataset(config.dataset, **config.dataset_kwargs)
    if dataset.name != config.dataset:
        raise ValueError(
            f"dataset {dataset.name!r} was passed but the config names {config.dataset!r}"
        )
    return dataset


@contextmanager
def deterministic_torch(device: torch.device) -> Iterator[None]:
    """Turn on PyTorch's deterministic algorithms (and cuDNN/TF32 settings on CUDA) inside the
    block, restoring the previous global settings afterwards."""
    previous = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
        torch.backends.cuda.matmul.allow_tf32,
        torch.backends.cudnn.allow_tf32,
    )
    cuda = device.type == "cuda"
    if cuda:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    torch.use_deterministic_algorithms(True, warn_only=cuda)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous[0], warn_only=previous[1])
        torch.backends.cudnn.deterministic = previous[2]
        torch.backends.cudnn.benchmark = previous[3]
        torch.backends.cuda.matmul.allow_tf32 = previous[4]
        torch.backends.cudnn.allow_tf32 = previous[5]
