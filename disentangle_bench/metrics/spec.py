"""What a registered metric is: :class:`MetricSpec`, the :class:`MetricInputs` its compute
function receives, and the :class:`Rule` objects that validate its protocol parameters.

A metric's entry is the only place that knows about it: its compute function, its kind, its
reference protocol, its reduced sizes per named preset, its display names, the rules of each
protocol parameter and its code version. The sweep's presets, the report's tables and plots
read the entry; nothing else lists metrics (docs/extending.md).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .utils import encode

#: Protocol key of the evaluation seed; every metric has it (a non-negative integer).
SEED_KEY = "seed"
KINDS = ("interventions", "samples", "unsupervised")


class ProtocolError(ValueError):
    """A protocol value breaks its metric's rule (one line: metric, parameter, rule, value)."""


# ---- rules ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    """A protocol parameter's rule: ``check(value) -> bool``, stated as ``description``
    (read as "must be <description>")."""

    check: Callable[[Any], bool]
    description: str

    def __call__(self, value: Any) -> bool:
        try:
            return bool(self.check(value))
        except (TypeError, ValueError):
            return False


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, (float, np.floating))) and np.isfinite(value)


def integer(minimum: int, why: str = "") -> Rule:
    """An integer ``>= minimum`` (booleans are not integers here)."""
    return Rule(lambda v: _is_int(v) and v >= minimum,
                f"an integer >= {minimum}" + (f" ({why})" if why else ""))


def real(minimum: float, maximum: float, *, maximum_inclusive: bool = True) -> Rule:
    """A finite number in ``[minimum, maximum]`` (or ``[minimum, maximum)``)."""
    closing = "]" if maximum_inclusive else ")"
    return Rule(lambda v: _is_real(v) and minimum <= v
                and (v <= maximum if maximum_inclusive else v < maximum),
                f"a number in [{minimum:g}, {maximum:g}{closing}")


def choice(*values: Any) -> Rule:
    """One of ``values``."""
    return Rule(lambda v: any(type(v) is type(c) and v == c for c in values),
                "one of " + ", ".join(repr(c) for c in values))


def factor_list() -> Rule:
    """A list of factor names (str) or column indices (int >= 0)."""
    return Rule(lambda v: isinstance(v, (list, tuple))
                and all(isinstance(x, str) or (_is_int(x) and x >= 0) for x in v),
                "a list of factor names or column indices >= 0")


# ---- inputs --------------------------------------------------------------------------------
_SPLITS = {"train": 0, "test": 1}


class Draws:
    """Codes of i.i.d. uniform draws, computed once per (split, size, seed).

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
        self.code_cache = None  # a CodeCache serving the codes (metrics/code_cache.py)

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

    def factors(self, split: str, n: int, seed: int) -> tuple[np.random.Generator, np.ndarray]:
        """The generator of draw ``(split, n, seed)`` and its ``n`` factor tuples."""
        rng = np.random.default_rng([int(seed), _SPLITS[split]])
        return rng, self.dataset.sample_factors(int(n), rng)

    def _draw(self, split, n, seed, with_posterior):
        rng, factors = self.factors(split, n, seed)
        needs_images = with_posterior and (
            self.posterior is not None or self.reconstruction_nll is not None
        )
        codes, means, logvars, nll = [], [], [], []
        for start in range(0, int(n), self.chunk_size):
            chunk = factors[start:start + self.chunk_size]
            if self.code_cache is not None:
                codes.append(encode(self.code_cache.lookup, self.dataset.index_of(chunk)))
                if not needs_images:
                    continue
            observations = self.dataset.sample_observations_from_factors(chunk, rng)
            if self.code_cache is None:
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


@dataclass
class MetricInputs:
    """What a metric's compute function sees: never a model, only functions and samples.

    ``dataset``: the ``GroundTruthDataset``; ``represent``: ``observations -> codes`` (for
    metrics that render their own images, kind ``"interventions"``); ``n_jobs``: processes
    for per-factor classifiers. :meth:`samples` returns a shared, cached i.i.d. draw.
    """

    dataset: Any
    represent: Callable[[np.ndarray], np.ndarray]
    n_jobs: int | None
    draws: Draws

    def samples(self, split: str, n: int, seed: int, *, with_posterior: bool = False) -> dict:
        """``{"factors": int (n, F), "codes": float64 (n, d)}`` of ``n`` uniform draws of
        ``split`` (``"train"`` | ``"test"``) at ``seed``; with ``with_posterior`` also
        ``"means"``, ``"logvars"`` and ``"reconstruction_nll"`` (``None`` when the
        representation has no posterior / decoder). Metrics asking for the same
        ``(split, n, seed)`` share one draw."""
        return self.draws.get(split, n, seed, with_posterior=with_posterior)


# ---- the entry -----------------------------------------------------------------------------
@dataclass(frozen=True)
class MetricSpec:
    """One registered metric.

    Attributes:
        name: registry key; the prefix of its table columns (``<name>.<score>``).
        compute: ``compute(inputs: MetricInputs, protocol: dict) -> {score: float}``;
            ``protocol`` is the resolved protocol including ``"seed"``.
        kind: ``"interventions"`` (renders its own images through ``inputs.represent``),
            ``"samples"`` (i.i.d. draws from ``inputs.samples``) or ``"unsupervised"`` (its
            ``("train", num_train, seed)`` draw carries the posterior; other metrics asking for
            that draw first compute it with the posterior, so images are encoded once).
        protocol: the reference protocol (every parameter with its published value).
        presets: preset name -> overrides of ``protocol`` (e.g. reduced sizes). The sweep's
            presets pick theirs by name (``cpu``, ``smoke-sweep``); a preset the entry does not
            name uses the reference protocol.
        display_name: the metric in plots and reports (``"β-VAE score"``).
        rules: parameter -> :class:`Rule`; every protocol value is checked against its rule
            (and its type against the reference value's) before anything is trained.
        version: the metric's code version (an integer >= 1), hashed into every stored
            evaluation's id: bump it when a change to its code changes its numbers, and only
            this metric is re-scored.
        headline_scores: the scores drawn against hyperparameters (empty: all of them).
        score_labels: score -> axis label (default ``"<display_name>: <score>"``).
        hidden_scores: regular expression of scores left out of tables and plots.
        factor_draws: for kind ``"interventions"``: ``factor_draws(dataset, **protocol)``
            yields the factor arrays (n, F) that ``compute`` renders, in order, for a dataset
            whose rendering draws nothing from the generator (``dataset.deterministic``), using
            the metric's own draw helpers. The code cache (metrics/code_cache.py) plans with it
            to encode each distinct image once; without it the metric's images are encoded
            directly (its requests miss the cache).
    """

    name: str
    compute: Callable[[MetricInputs, dict], dict]
    kind: str
    protocol: Mapping[str, Any]
    display_name: str
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    rules: Mapping[str, Rule] = field(default_factory=dict)
    version: int = 1
    headline_scores: tuple[str, ...] = ()
    score_labels: Mapping[str, str] = field(default_factory=dict)
    hidden_scores: str = ""
    factor_draws: Callable[..., Any] | None = None

    def __post_init__(self) -> None:
        where = f"metric {self.name!r}"
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", self.name or ""):
            raise ValueError(f"{where}: a metric name is letters, digits and underscores, "
                             "starting with a letter (it prefixes table columns)")
        if self.kind not in KINDS:
            raise ValueError(f"{where}: kind must be one of {', '.join(KINDS)}, "
                             f"got {self.kind!r}")
        if isinstance(self.version, bool) or not isinstance(self.version, int) \
                or self.version < 1:
            raise ValueError(f"{where}: version must be an integer >= 1, got {self.version!r}")
        if not callable(self.compute):
            raise TypeError(f"{where}: compute must be callable")
        if SEED_KEY in self.protocol:
            raise ValueError(f"{where}: {SEED_KEY!r} is every metric's evaluation seed; "
                             "leave it out of the protocol")
        unknown = set(self.rules) - set(self.protocol)
        for overrides in self.presets.values():
            unknown |= set(overrides) - set(self.protocol)
        if unknown:
            raise ValueError(f"{where}: rules or presets name parameters not in its protocol: "
                             f"{sorted(unknown)}")
        for preset, overrides in {"reference": {}, **self.presets}.items():
            try:
                self.validate({**self.protocol, **overrides})
            except ProtocolError as error:
                raise ValueError(f"{where}, preset {preset!r}: {error}") from None
        if self.hidden_scores:
            re.compile(self.hidden_scores)

    def resolve(self, preset: str = "paper") -> dict:
        """The reference protocol with ``preset``'s overrides (a fresh, deep-copied dict)."""
        import copy

        return copy.deepcopy({**self.protocol, **self.presets.get(preset, {})})

    def validate(self, protocol: Mapping[str, Any]) -> None:
        """Raise :class:`ProtocolError` (one line) for the first value that breaks a rule: an
        unknown parameter, a value of another type than the reference's, or a rule's."""
        unknown = set(protocol) - set(self.protocol) - {SEED_KEY}
        if unknown:
            raise ProtocolError(
                f"unknown protocol parameter(s) {sorted(unknown)} for metric {self.name!r}; "
                f"known: {sorted(self.protocol) + [SEED_KEY]}")
        for param, value in protocol.items():
            rule = _SEED_RULE if param == SEED_KEY else self.rules.get(param)
            if rule is None:
                rule = _same_type(self.protocol[param])
            if not rule(value):
                raise ProtocolError(f"metric {self.name!r}: protocol parameter {param} must be "
                                    f"{rule.description}, got {value!r}")

    def label(self, score: str) -> str:
        """Axis label of one of its scores."""
        if score in self.score_labels:
            return self.score_labels[score]
        return f"{self.display_name}: {score.replace('_', ' ')}"

    def is_hidden(self, score: str) -> bool:
        return bool(self.hidden_scores) and re.fullmatch(self.hidden_scores, score) is not None

    def is_plotted(self, score: str) -> bool:
        return not self.headline_scores or score in self.headline_scores


_SEED_RULE = integer(0)


def _same_type(reference: Any) -> Rule:
    if _is_int(reference):
        return Rule(_is_int, "an integer")
    if isinstance(reference, float):
        return Rule(_is_real, "a finite number")
    if isinstance(reference, (list, tuple)):
        return Rule(lambda v: isinstance(v, (list, tuple)), "a list")
    kind = type(reference)
    return Rule(lambda v: isinstance(v, kind), f"a {kind.__name__}")
