"""Metric registry, protocol presets and :func:`evaluate`.

A new metric is one module plus one entry in ``_METRICS``. Every result records the fully
resolved protocol (sizes, classifier variant, seed, estimator) and the library versions.
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from .beta_vae import beta_vae_score
from .dci import dci, dci_fast
from .factor_vae import factor_vae_score
from .mig import mig
from .modularity import modularity_explicitness
from .sap import sap
from .unsupervised import unsupervised
from .utils import encode, environment


@dataclass(frozen=True)
class MetricSpec:
    """``kind``: "interventions" (sees the dataset and ``represent``), "samples" (sees
    ``(factors, codes)`` arrays of i.i.d. draws: train, and test when ``num_test`` is a
    parameter) or "unsupervised" (codes of one draw plus the posterior / reconstruction)."""

    kind: str
    defaults: dict


# Protocol of disentanglement_lib's unsupervised_study_v1 (config/unsupervised_study_v1/
# metric_configs/*.gin), with every classifier setting made explicit.
_METRICS: dict[str, MetricSpec] = {
    "beta_vae": MetricSpec("interventions", {
        "batch_size": 64, "num_train": 10000, "num_eval": 5000, "classifier": "liblinear_ovr",
        "chunk_size": 8192,
    }),
    "factor_vae": MetricSpec("interventions", {
        "batch_size": 64, "num_train": 10000, "num_eval": 5000, "num_variance_estimate": 10000,
        "prune_threshold": 0.05, "chunk_size": 8192,
    }),
    "mig": MetricSpec("samples", {"num_train": 10000, "num_bins": 20, "exclude_factors": []}),
    "dci": MetricSpec("samples", {"num_train": 10000, "num_test": 5000, "estimator": "exact"}),
    "sap": MetricSpec("samples", {"num_train": 10000, "num_test": 5000}),
    "modularity_explicitness": MetricSpec("samples", {
        "num_train": 10000, "num_test": 5000, "num_bins": 20, "classifier": "liblinear_ovr",
    }),
    "unsupervised": MetricSpec("unsupervised", {"num_train": 10000, "num_bins": 20}),
}

_SMOKE_SIZES = {
    "beta_vae": {"batch_size": 16, "num_train": 300, "num_eval": 150, "chunk_size": 4096},
    "factor_vae": {"batch_size": 16, "num_train": 300, "num_eval": 150,
                   "num_variance_estimate": 1000, "chunk_size": 4096},
    "mig": {"num_train": 1000},
    "dci": {"num_train": 600, "num_test": 300, "estimator": "fast"},
    "sap": {"num_train": 600, "num_test": 300},
    "modularity_explicitness": {"num_train": 600, "num_test": 300},
    "unsupervised": {"num_train": 1000},
}

#: Preset name -> per-metric overrides of the defaults above.
#: ``paper``: disentanglement_lib's unsupervised_study_v1 exactly (DCI with the exact GBT).
#: ``fast``: the same sizes, DCI with the histogram-GBT estimator (``dci_fast``).
#: ``smoke``: tiny sizes for tests and smoke runs (scores are noisy; never report them).
PROTOCOLS: dict[str, dict[str, dict]] = {
    "paper": {},
    "fast": {"dci": {"estimator": "fast"}},
    "smoke": _SMOKE_SIZES,
}

SEED_KEY = "seed"

#: Per-metric code version, hashed into every stored evaluation's id: bump a metric's entry when
#: a change to its code changes its numbers, and only that metric is re-scored (the others and
#: every trained model are reused). Metrics not listed are at version 1.
METRIC_VERSIONS: dict[str, int] = {}


def metric_version(name: str) -> int:
    """The code version of metric ``name`` (see :data:`METRIC_VERSIONS`)."""
    check_metric_names([name])
    return int(METRIC_VERSIONS.get(name, 1))


def list_metrics() -> list[str]:
    """Names accepted by :func:`evaluate`, in evaluation order."""
    return list(_METRICS)


def check_metric_names(names: Iterable[str]) -> list[str]:
    """Return ``names`` as a list; an unknown name raises ``KeyError`` listing the known ones."""
    names = [names] if isinstance(names, str) else list(names)
    for name in names:
        if name not in _METRICS:
            raise KeyError(f"unknown metric {name!r}; known metrics: {', '.join(_METRICS)}")
    return names


def _check_preset(preset: str) -> dict:
    if preset not in PROTOCOLS:
        raise KeyError(f"unknown metric preset {preset!r}; known presets: {', '.join(PROTOCOLS)}")
    return PROTOCOLS[preset]


def default_protocol(name: str, preset: str = "paper") -> dict:
    """The resolved protocol parameters of metric ``name`` under ``preset`` (a fresh dict)."""
    check_metric_names([name])
    protocol = copy.deepcopy(_METRICS[name].defaults)
    protocol.update(copy.deepcopy(_check_preset(preset).get(name, {})))
    return protocol


def resolve_protocol(name: str, *, seed: int = 0, preset: str = "paper", overrides=None) -> dict:
    """Defaults, then the preset, then ``overrides`` (unknown keys raise ``ValueError``);
    ``seed`` unless overridden. The dict recorded with the result."""
    protocol = default_protocol(name, preset)
    extra = dict(overrides or {})
    unknown = set(extra) - set(protocol) - {SEED_KEY}
    if unknown:
        raise ValueError(
            f"unknown protocol parameter(s) {sorted(unknown)} for metric {name!r}; "
            f"known: {sorted(protocol) + [SEED_KEY]}"
        )
    protocol[SEED_KEY] = seed
    protocol.update(extra)
    if name == "dci" and protocol["estimator"] not in ("exact", "fast"):
        raise ValueError(f"dci estimator must be 'exact' or 'fast', got {protocol['estimator']!r}")
    return protocol


# ---- i.i.d. draws shared between sample-based metrics --------------------------------------
_SPLITS = {"train": 0, "test": 1}


class _Draws:
    """Codes of i.i.d. uniform draws, computed once per (split, size, seed, chunk).

    A draw is a pure function of its key: its generator is ``default_rng([seed, split])``
    (split 0 = train, 1 = test) and it samples ``n`` factor tuples, then renders and encodes
    them in chunks. Metrics asking for the same key therefore see the same images and get
    exactly the result they would get alone.
    """

    def __init__(self, dataset, represent, posterior, reconstruction_nll, chunk_size: int,
                 posterior_keys=()):
        self.dataset, self.represent = dataset, represent
        self.posterior, self.reconstruction_nll = posterior, reconstruction_nll
        self.chunk_size = chunk_size
        self.posterior_keys = set(posterior_keys)  # draws the unsupervised scores will reuse
        self.cache: dict = {}
        self.seconds = 0.0

    def get(self, split: str, n: int, seed: int, with_posterior: bool = False) -> dict:
        key = (split, int(n), int(seed))
        with_posterior = with_posterior or key in self.posterior_keys
        draw = self.cache.get(key)
        if draw is None or (with_posterior and "posterior_done" not in draw):
            started = time.perf_counter()
            draw = self._draw(split, n, seed, with_posterior)
            self.seconds += time.perf_counter() - started
            self.cache[key] = draw
        return draw

    def _draw(self, split, n, seed, with_posterior):
        rng = np.random.default_rng([int(seed), _SPLITS[split]])
        factors = self.dataset.sample_factors(int(n), rng)
        codes, means, logvars, nll = [], [], [], []
        for start in range(0, int(n), self.chunk_size):
            observations = self.dataset.sample_observations_from_factors(
                factors[start:start + self.chunk_size], rng
            )
            codes.append(encode(self.represent, observations))
            if with_posterior and self.posterior is not None:
                mean, logvar = self.posterior(observations)
                means.append(np.asarray(mean, dtype=np.float64))
                logvars.append(np.asarray(logvar, dtype=np.float64))
            if with_posterior and self.reconstruction_nll is not None:
                nll.append(np.asarray(self.reconstruction_nll(observations), dtype=np.float64))
        draw = {"factors": factors, "codes": np.concatenate(codes)}
        if with_posterior:
            draw["posterior_done"] = True
            draw["means"] = np.concatenate(means) if means else None
            draw["logvars"] = np.concatenate(logvars) if logvars else None
            draw["reconstruction_nll"] = np.concatenate(nll) if nll else None
        return draw


# ---- computing one metric ------------------------------------------------------------------
def _compute(name: str, protocol: dict, dataset, represent, draws: _Draws, n_jobs) -> dict:
    p, seed = protocol, protocol[SEED_KEY]
    if name == "beta_vae":
        return beta_vae_score(
            dataset, represent, seed=seed, batch_size=p["batch_size"], num_train=p["num_train"],
            num_eval=p["num_eval"], classifier=p["classifier"], chunk_size=p["chunk_size"],
        )
    if name == "factor_vae":
        return factor_vae_score(
            dataset, represent, seed=seed, batch_size=p["batch_size"], num_train=p["num_train"],
            num_eval=p["num_eval"], num_variance_estimate=p["num_variance_estimate"],
            prune_threshold=p["prune_threshold"], chunk_size=p["chunk_size"],
        )
    if name == "unsupervised":
        d = draws.get("train", p["num_train"], seed, with_posterior=True)
        return unsupervised(
            d["codes"], means=d["means"], logvars=d["logvars"],
            reconstruction_nll=d["reconstruction_nll"], num_bins=p["num_bins"],
        )
    train = draws.get("train", p["num_train"], seed)
    if name == "mig":
        return mig(
            train["factors"], train["codes"], num_bins=p["num_bins"],
            exclude_factors=tuple(p["exclude_factors"]), factor_names=dataset.factor_names,
        )
    test = draws.get("test", p["num_test"], seed)
    arrays = (train["factors"], train["codes"], test["factors"], test["codes"])
    if name == "dci":
        estimator = dci if p["estimator"] == "exact" else dci_fast
        return estimator(*arrays, seed=seed, n_jobs=n_jobs)
    if name == "sap":
        return sap(*arrays, seed=seed, n_jobs=n_jobs)
    if name == "modularity_explicitness":
        return modularity_explicitness(
            *arrays, num_bins=p["num_bins"], classifier=p["classifier"], seed=seed, n_jobs=n_jobs
        )
    raise KeyError(name)  # unreachable: names are checked up front


def evaluate(
    dataset,
    represent: Callable[[np.ndarray], np.ndarray],
    metrics: Iterable[str] | None = None,
    *,
    seed: int = 0,
    overrides: dict[str, dict] | None = None,
    preset: str = "paper",
    posterior: Callable | None = None,
    reconstruction_nll: Callable | None = None,
    progress: bool = False,
    n_jobs: int | None = None,
    chunk_size: int = 8192,
) -> dict:
    """Score ``represent`` on ``dataset`` with each metric in ``metrics`` (default: all).

    Args:
        dataset: a ``GroundTruthDataset``.
        represent: ``observations (n, C, H, W) float32 -> codes (n, d)``; called on chunks of
            up to ``chunk_size`` images.
        metrics: names from :func:`list_metrics`; unknown names raise ``KeyError``.
        seed: evaluation seed of every metric (disentanglement_lib's gin default 0).
        overrides: ``{metric: {param: value}}`` applied over the preset; unknown metric or
            parameter names raise.
        preset: a key of :data:`PROTOCOLS` (``"paper"``, ``"fast"``, ``"smoke"``).
        posterior: optional ``observations -> (mean, logvar)`` for the KL / active units.
        reconstruction_nll: optional ``observations -> nats per image`` for the reconstruction.
        progress: print one line per finished metric to stderr.
        n_jobs: processes for the per-factor / per-code classifiers (results do not depend on it).
        chunk_size: images per ``represent`` call for the i.i.d. draws.

    Returns:
        ``{metric: {"scores": {...}, "protocol": {...}, "seconds": float}}`` plus
        ``"_environment"`` (library versions) and ``"_sampling"`` (seconds spent drawing and
        encoding the i.i.d. samples shared by the sample-based metrics, not counted in any
        metric's ``seconds``).
    """
    names = check_metric_names(list_metrics() if metrics is None else metrics)
    _check_preset(preset)
    overrides = dict(overrides or {})
    check_metric_names(overrides)
    protocols = {
        name: resolve_protocol(name, seed=seed, preset=preset, overrides=overrides.get(name))
        for name in names
    }
    posterior_keys = [
        ("train", int(p["num_train"]), int(p[SEED_KEY]))
        for name, p in protocols.items() if _METRICS[name].kind == "unsupervised"
    ]
    draws = _Draws(dataset, represent, posterior, reconstruction_nll, chunk_size, posterior_keys)
    results: dict = {}
    for name in names:
        protocol = protocols[name]
        spent_sampling = draws.seconds
        started = time.perf_counter()
        scores = _compute(name, protocol, dataset, represent, draws, n_jobs)
        seconds = time.perf_counter() - started - (draws.seconds - spent_sampling)
        results[name] = {
            "scores": scores,
            "protocol": {"metric": name, "preset": preset, "dataset": dataset.name, **protocol},
            "seconds": seconds,
        }
        if progress:
            print(f"[metrics] {name}: {seconds:.1f} s", file=sys.stderr, flush=True)
    results["_environment"] = environment()
    results["_sampling"] = {
        "seconds": draws.seconds,
        "chunk_size": chunk_size,
        "draws": [list(key) for key in draws.cache],
    }
    return results
