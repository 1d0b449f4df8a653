"""``TrainedModel``: a trained objective as numpy-in/numpy-out representation functions."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import __version__
from ..atomic import write_atomic, write_text_atomic
from ..models import Objective, bernoulli_nll, get_model
from .config import TrainConfig

MODEL_FILE = "model.pt"
CONFIG_FILE = "train_config.json"
LOG_CSV = "train_log.csv"
LOG_JSON = "train_log.json"
# Images per forward pass in encode() & co. The conv network is fastest on CPU in small batches
# (activations stay in cache: batch 64 measured ~1.6x faster than 1024); the MLP in large ones.
ENCODE_BATCH = {"conv": 64, "conv_paper": 64, "mlp": 1024}


class TrainedModel:
    """A trained model with its config and training log.

    All array methods take/return numpy, run batched under ``torch.inference_mode`` in eval mode
    and in fp32 (bf16 would move codes by ~1e-2, too much for metrics), on ``device``.
    """

    def __init__(
        self,
        model: Objective,
        config: TrainConfig,
        log: list[dict[str, Any]],
        *,
        observation_shape: tuple[int, int, int],
        step: int,
        device: str | torch.device = "cpu",
    ):
        self.model = model.to(device).eval()
        self.config = config
        self.log = log
        self.observation_shape = tuple(int(s) for s in observation_shape)
        self.step = int(step)  # training steps done (== config.steps once finished)
        self.device = torch.device(device)
        self.channels_last = _use_channels_last(config.architecture)
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)

    def default_batch_size(self) -> int:
        """Images per forward pass when ``batch_size`` is not given (see ``ENCODE_BATCH``)."""
        return 4096 if self.device.type == "cuda" else ENCODE_BATCH[self.config.architecture]

    @property
    def latent_dim(self) -> int:
        return self.model.latent_dim

    @property
    def has_posterior(self) -> bool:
        """False for the AE, whose code is deterministic (``posterior`` raises)."""
        return self.model.has_posterior

    @property
    def finished(self) -> bool:
        return self.step >= self.config.steps

    # ---- representation functions -----------------------------------------------------------
    def encode(self, observations: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Posterior means (the AE: its code), float32 (n, latent_dim)."""
        return self._map(observations, batch_size, lambda x: self.model.posterior(x)[0])[0]

    def posterior(
        self, observations: np.ndarray, batch_size: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, logvar)`` of q(z|x), each float32 (n, latent_dim)."""
        if not self.has_posterior:
            raise ValueError(
                f"model {self.config.model!r} has no posterior variance; use encode() instead"
            )
        return self._map(observations, batch_size, self.model.posterior)

    def decode(self, codes: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Bernoulli means (pixel probabilities) for codes (n, latent_dim): float32 (n, C, H, W)."""
        codes = np.asarray(codes, dtype=np.float32)
        batch_size = batch_size or self.default_batch_size()
        if codes.ndim != 2 or codes.shape[1] != self.latent_dim:
            raise ValueError(f"codes must have shape (n, {self.latent_dim}), got {codes.shape}")
        chunks = []
        with torch.inference_mode():
            for start in range(0, len(codes), batch_size):
                z = torch.from_numpy(codes[start : start + batch_size]).to(self.device)
                chunks.append(torch.sigmoid(self.model.decoder(z).float()).cpu().numpy())
        return _concat(chunks, (0, *self.observation_shape))

    def reconstruction_nll(
        self, observations: np.ndarray, batch_size: int | None = None
    ) -> np.ndarray:
        """Bernoulli negative log-likelihood of each observation decoded from its posterior
        mean, ``sum_pixels BCE(decoder(mean(x)), x)``, in nats: float64 (n,).

        Deterministic, and NOT the objective's reconstruction term: the decoder is trained on
        samples z ~ q(z|x), never on the mean, so where the posterior is wide this can be far
        from (often above) :meth:`sampled_reconstruction_nll`; on smoke-trained models it was
        about twice the training log's reconstruction.
        """

        def nll(x: torch.Tensor) -> tuple[torch.Tensor]:
            return (bernoulli_nll(self.model.decoder(self.model.posterior(x)[0]), x),)

        return self._map(observations, batch_size, nll)[0].astype(np.float64)

    def sampled_reconstruction_nll(
        self, observations: np.ndarray, seed: int, batch_size: int | None = None
    ) -> np.ndarray:
        """The objective's own reconstruction term per observation, as disentanglement_lib
        computes and reports it: ``sum_pixels BCE(decoder(z), x)`` with one reparameterised
        sample ``z = mean + exp(logvar / 2) * eps`` of q(z|x), eps ~ N(0, I), in nats: float64
        (n,). The noise comes from ``numpy.random.default_rng(seed)`` drawn for all
        observations at once, so the values do not depend on ``batch_size``. For a model
        without a posterior (the AE) z is its code, and this equals :meth:`reconstruction_nll`.
        """
        observations = self._check_observations(observations)
        if not self.has_posterior:
            return self.reconstruction_nll(observations, batch_size)
        eps = np.random.default_rng(seed).standard_normal(
            (len(observations), self.latent_dim)).astype(np.float32)
        batch_size = batch_size or self.default_batch_size()
        values = []
        with torch.inference_mode():
            for start, x in zip(range(0, len(observations), batch_size),
                                self._batches(observations, batch_size)):
                mean, logvar = self.model.posterior(x)
                noise = torch.from_numpy(eps[start : start + len(x)]).to(mean.device)
                z = mean + torch.exp(0.5 * logvar) * noise
                values.append(bernoulli_nll(self.model.decoder(z), x).float().cpu().numpy())
        if not values:
            return np.zeros(0, np.float64)
        return np.concatenate(values).astype(np.float64)

    def _map(self, observations, batch_size, function) -> tuple[np.ndarray, ...]:
        observations = self._check_observations(observations)
        if len(observations) == 0:  # run one dummy image to learn the output shapes
            dummy = np.zeros((1, *self.observation_shape), np.float32)
            return tuple(out[:0] for out in self._map(dummy, 1, function))
        outputs: list[list[np.ndarray]] = []
        with torch.inference_mode():
            for x in self._batches(observations, batch_size):
                result = function(x)
                result = result if isinstance(result, tuple) else (result,)
                outputs = outputs or [[] for _ in result]
                for out, r in zip(outputs, result):
                    out.append(r.float().cpu().numpy())
        return tuple(np.concatenate(out) for out in outputs)

    def _batches(self, observations: np.ndarray, batch_size: int) -> Iterator[torch.Tensor]:
        memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        batch_size = batch_size or self.default_batch_size()
        for start in range(0, len(observations), batch_size):
            chunk = np.ascontiguousarray(observations[start : start + batch_size], np.float32)
            x = torch.from_numpy(chunk).to(self.device)
            yield x.contiguous(memory_format=memory_format)

    def _check_observations(self, observations: np.ndarray) -> np.ndarray:
        observations = np.asarray(observations)
        if observations.ndim != 4 or tuple(observations.shape[1:]) != self.observation_shape:
            raise ValueError(
                f"observations must have shape (n, {', '.join(map(str, self.observation_shape))})"
                f" (float in [0, 1], channels first), got {observations.shape}"
            )
        return observations

    # ---- persistence --------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """What :meth:`save` writes to ``model.pt``."""
        return {
            "format": 1,
            "package_version": __version__,
            "config": self.config.to_dict(),
            "observation_shape": list(self.observation_shape),
            "step": self.step,
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "log": self.log,
        }

    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``model.pt``, ``train_config.json``, ``train_log.csv`` and ``train_log.json``
        into ``directory`` (created if needed), each atomically (temp file + rename)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        atomic_torch_save(self.state(), directory / MODEL_FILE)
        write_text_atomic(directory / CONFIG_FILE, json.dumps(self.config.to_dict(), indent=2))
        write_text_atomic(directory / LOG_JSON, json.dumps(self.log, indent=1))
        write_text_atomic(directory / LOG_CSV, self.log_csv())
        return directory

    def log_csv(self) -> str:
        """The training log as CSV text (:func:`log_to_csv`)."""
        return log_to_csv(self.log)

    @classmethod
    def from_state(cls, state: dict[str, Any], device: str | torch.device = "cpu") -> TrainedModel:
        config = TrainConfig.from_dict(state["config"])
        model = build_model(config, tuple(state["observation_shape"]))
        model.load_state_dict(state["model"])
        return cls(
            model, config, list(state["log"]),
            observation_shape=tuple(state["observation_shape"]), step=state["step"], device=device,
        )  # fmt: skip

    @classmethod
    def load(cls, directory: str | os.PathLike, device: str | torch.device = "cpu") -> TrainedModel:
        """Load what :meth:`save` wrote. If ``directory`` holds only a training checkpoint
        (an unfinished or diverged run), load the model as of that checkpoint."""
        directory = Path(directory)
        path = directory / MODEL_FILE
        if not path.exists():
            path = directory / "checkpoint.pt"
        if not path.exists():
            raise FileNotFoundError(f"no {MODEL_FILE} or checkpoint.pt in {directory}")
        state = safe_torch_load(path, map_location="cpu")
        return cls.from_state(state, device=device)

    def __repr__(self) -> str:
        return (
            f"<TrainedModel {self.config.model} on {self.config.dataset} "
            f"(step {self.step}/{self.config.steps}, latent_dim {self.latent_dim})>"
        )


class UnsafeFileError(ValueError):
    """A model or checkpoint file that cannot be loaded without executing pickled code (or is
    not a torch file at all); the message is one line naming the file."""


def safe_torch_load(path: str | os.PathLike, map_location: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``: tensors, numbers, strings and containers only,
    never code from the file. A file that needs anything else raises :class:`UnsafeFileError`."""
    import pickle

    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else "not loadable"
        if "weights_only" in str(error) or "Unsupported global" in str(error):
            reason = "it needs pickled code to load (only tensors and plain data are accepted)"
        raise UnsafeFileError(f"refusing to load {path}: {reason}") from None
    except (RuntimeError, EOFError, OSError) as error:
        text = str(error).strip().splitlines()
        raise UnsafeFileError(f"cannot load {path}: {text[0] if text else type(error).__name__}"
                              ) from None


def build_model(config: TrainConfig, observation_shape: tuple[int, int, int]) -> Objective:
    """The freshly initialised model of ``config`` (weights seeded by ``config.seed``)."""
    return get_model(
        config.model,
        observation_shape=observation_shape,
        latent_dim=config.latent_dim,
        architecture=config.architecture,
        seed=config.seed,
        **config.hparams,
    )


def _use_channels_last(architecture: str) -> bool:
    return architecture in ("conv", "conv_paper")


def _concat(chunks: list[np.ndarray], empty_shape: tuple[int, ...]) -> np.ndarray:
    return np.concatenate(chunks) if chunks else np.zeros(empty_shape, np.float32)


def log_to_csv(log: list[dict[str, Any]]) -> str:
    """The training log as CSV; ``kl_per_dim`` is spread over columns ``kl_dim_0``, ..."""
    rows = []
    for entry in log:
        row = {k: v for k, v in entry.items() if k != "kl_per_dim"}
        row.update({f"kl_dim_{i}": v for i, v in enumerate(entry.get("kl_per_dim", []))})
        rows.append(row)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def atomic_torch_save(obj: Any, path: Path) -> None:
    """``torch.save`` to ``path`` atomically: a crash leaves the old file or the new one."""
    write_atomic(path, lambda f: torch.save(obj, f))
