"""Metric registry, protocol presets and :func:`evaluate`.

A new metric is one module plus one :func:`register_metric` call with its
:class:`~.spec.MetricSpec` (docs/extending.md). Every result records the fully resolved
protocol (sizes, classifier variant, seed, estimator) and the library versions.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Mapping

import numpy as np

from ..data import UnknownNameError
from .beta_vae import beta_vae_factor_draws, beta_vae_score
from .bootstrap import INTERVAL_KEY, bootstrap_result
from .code_cache import DEFAULT_MAX_CACHE_BYTES, build_code_cache
from .dci import dci, dci_fast
from .dci_es import DEPTHS, dci_es
from .dcimig import dcimig
from .downstream import PREDICTORS, downstream_task
from .factor_vae import factor_vae_factor_draws, factor_vae_score
from .fairness import fairness, fairness_factor_draws
from .infomec import infomec
from .irs import irs
from .jemmig import jemmig
from .matrices import MATRICES_KEY, name_factors
from .mig import mig
from .mig_sup import mig_sup
from .modularity import modularity_explicitness
from .sap import sap
from .spec import (
    SEED_KEY,
    Draws,
    MetricInputs,
    MetricSpec,
    ProtocolError,
    Rule,
    choice,
    factor_list,
    integer,
    real,
)
from .unsupervised import unsupervised
from .utils import LOGISTIC_VARIANTS, environment

_METRICS: dict[str, MetricSpec] = {}


def register_metric(spec: MetricSpec, *, replace: bool = False) -> MetricSpec:
    """Add ``spec`` to the registry (after the metrics already there); returns it.

    A name already registered raises ``ValueError`` unless ``replace`` (which keeps its place
    in the order)."""
    if not isinstance(spec, MetricSpec):
        raise TypeError(f"register_metric takes a MetricSpec, got {type(spec).__name__}")
    if spec.name in _METRICS and not replace:
        raise ValueError(f"metric {spec.name!r} is already registered; pick another name "
                         "(or pass replace=True to override it on purpose)")
    _METRICS[spec.name] = spec
    return spec


def unregister_metric(name: str) -> None:
    """Remove a metric (tests and plugins that replace a metric on purpose)."""
    check_metric_names([name])
    del _METRICS[name]


def metric_spec(name: str) -> MetricSpec:
    """The registry entry of ``name``; unknown names raise ``KeyError`` listing the known."""
    check_metric_names([name])
    return _METRICS[name]


# ---- the built-in metrics: compute adapters and entries --------------------------------
# Protocol of disentanglement_lib's unsupervised_study_v1 (config/unsupervised_study_v1/
# metric_configs/*.gin), with every classifier setting made explicit. Preset sizes:
# ``fast`` = reference sizes with the histogram DCI; ``smoke`` = tiny sizes for tests;
# ``cpu`` and ``smoke-sweep`` = the sweep presets' sizes, chosen by measurement (docs/runner.md:
# the β-VAE score's encoder calls, batch × 2 × (train + eval) images, dominate, so it gets the
# smallest; smoke-sweep halves smoke so 5 models fit in a minute).
_CPU_SAMPLES = {"num_train": 5000, "num_test": 2500}
_SMOKE_SAMPLES = {"num_train": 600, "num_test": 300}
_SWEEP_SMOKE_SAMPLES = {"num_train": 300, "num_test": 150}
_POSITIVE = integer(1)
_SAMPLES = integer(2, "a score needs two samples")
_BINS = integer(2, "one bin carries no information")
_CLASSIFIER = choice(*LOGISTIC_VARIANTS)


def _beta_vae(inputs: MetricInputs, p: dict) -> dict:
    return beta_vae_score(
        inputs.dataset, inputs.represent, seed=p[SEED_KEY], batch_size=p["batch_size"],
        num_train=p["num_train"], num_eval=p["num_eval"], classifier=p["classifier"],
        chunk_size=p["chunk_size"])


def _factor_vae(inputs: MetricInputs, p: dict) -> dict:
    return factor_vae_score(
        inputs.dataset, inputs.represent, seed=p[SEED_KEY], batch_size=p["batch_size"],
        num_train=p["num_train"], num_eval=p["num_eval"],
        num_variance_estimate=p["num_variance_estimate"], prune_threshold=p["prune_threshold"],
        chunk_size=p["chunk_size"])


def _mig(inputs: MetricInputs, p: dict) -> dict:
    train = inputs.samples("train", p["num_train"], p[SEED_KEY])
    return mig(train["factors"], train["codes"], num_bins=p["num_bins"],
               exclude_factors=tuple(p["exclude_factors"]),
               factor_names=inputs.dataset.factor_names, return_matrices=True)


def _train_test(inputs: MetricInputs, p: dict) -> tuple:
    train = inputs.samples("train", p["num_train"], p[SEED_KEY])
    test = inputs.samples("test", p["num_test"], p[SEED_KEY])
    return train["factors"], train["codes"], test["factors"], test["codes"]


def _dci(inputs: MetricInputs, p: dict) -> dict:
    estimator = dci if p["estimator"] == "exact" else dci_fast
    return estimator(*_train_test(inputs, p), seed=p[SEED_KEY], n_jobs=inputs.n_jobs,
                     return_matrices=True)


def _sap(inputs: MetricInputs, p: dict) -> dict:
    return sap(*_train_test(inputs, p), seed=p[SEED_KEY], n_jobs=inputs.n_jobs,
               return_matrices=True)


def _modularity_explicitness(inputs: MetricInputs, p: dict) -> dict:
    return modularity_explicitness(*_train_test(inputs, p), num_bins=p["num_bins"],
                                   classifier=p["classifier"], seed=p[SEED_KEY],
                                   n_jobs=inputs.n_jobs)


def _unsupervised(inputs: MetricInputs, p: dict) -> dict:
    d = inputs.samples("train", p["num_train"], p[SEED_KEY], with_posterior=True)
    return unsupervised(d["codes"], means=d["means"], logvars=d["logvars"],
                        reconstruction_nll=d["reconstruction_nll"], num_bins=p["num_bins"])


register_metric(MetricSpec(
    name="beta_vae", compute=_beta_vae, kind="interventions", display_name="β-VAE score",
    protocol={"batch_size": 64, "num_train": 10000, "num_eval": 5000,
              "classifier": "liblinear_ovr", "chunk_size": 8192},
    presets={
        "smoke": {"batch_size": 16, "num_train": 300, "num_eval": 150, "chunk_size": 4096},
        "cpu": {"batch_size": 32, "num_train": 300, "num_eval": 150},
        "smoke-sweep": {"batch_size": 8, "num_train": 150, "num_eval": 75, "chunk_size": 4096},
    },
    rules={"batch_size": _POSITIVE, "num_train": _POSITIVE, "num_eval": _POSITIVE,
           "classifier": _CLASSIFIER, "chunk_size": _POSITIVE},
    headline_scores=("eval_accuracy",), factor_draws=beta_vae_factor_draws,
    score_labels={"eval_accuracy": "β-VAE score (eval accuracy)",
                  "train_accuracy": "β-VAE score (train accuracy)"},
))
register_metric(MetricSpec(
    name="factor_vae", compute=_factor_vae, kind="interventions", display_name="FactorVAE score",
    protocol={"batch_size": 64, "num_train": 10000, "num_eval": 5000,
              "num_variance_estimate": 10000, "prune_threshold": 0.05, "chunk_size": 8192},
    presets={
        "smoke": {"batch_size": 16, "num_train": 300, "num_eval": 150,
                  "num_variance_estimate": 1000, "chunk_size": 4096},
        # the paper's batch and a fifth of its votes: at batch 32 with 500 / 250 votes the
        # evaluation sd (0.047) was as large as the seed sd (0.051); this costs +2-3 CPU s
        # a model through the code cache (issue 21, docs/metrics.md)
        "cpu": {"batch_size": 64, "num_train": 2000, "num_eval": 1000,
                "num_variance_estimate": 5000},
        "smoke-sweep": {"batch_size": 8, "num_train": 150, "num_eval": 75,
                        "num_variance_estimate": 500, "chunk_size": 4096},
    },
    rules={"batch_size": integer(2, "a variance needs two samples"), "num_train": _POSITIVE,
           "num_eval": _POSITIVE, "num_variance_estimate": integer(2, "a variance needs two "
                                                                    "samples"),
           "prune_threshold": real(0, 1, maximum_inclusive=False), "chunk_size": _POSITIVE},
    headline_scores=("eval_accuracy",), factor_draws=factor_vae_factor_draws,
    score_labels={"eval_accuracy": "FactorVAE score (eval accuracy)",
                  "train_accuracy": "FactorVAE score (train accuracy)",
                  "num_active_dims": "FactorVAE: active dims"},
))
register_metric(MetricSpec(
    name="mig", compute=_mig, kind="samples", display_name="MIG",
    protocol={"num_train": 10000, "num_bins": 20, "exclude_factors": []},
    presets={"smoke": {"num_train": 1000}, "cpu": {"num_train": 5000},
             "smoke-sweep": {"num_train": 500}},
    rules={"num_train": _SAMPLES, "num_bins": _BINS, "exclude_factors": factor_list()},
    headline_scores=("discrete_mig",), score_labels={"discrete_mig": "MIG"},
))
register_metric(MetricSpec(
    name="dci", compute=_dci, kind="samples", display_name="DCI",
    protocol={"num_train": 10000, "num_test": 5000, "estimator": "exact"},
    presets={"fast": {"estimator": "fast"},
             "smoke": {**_SMOKE_SAMPLES, "estimator": "fast"},
             "cpu": {**_CPU_SAMPLES, "estimator": "fast"},
             "smoke-sweep": {**_SWEEP_SMOKE_SAMPLES, "estimator": "fast"}},
    rules={"num_train": _SAMPLES, "num_test": _POSITIVE, "estimator": choice("exact", "fast")},
    headline_scores=("disentanglement", "completeness", "informativeness_test"),
    score_labels={"disentanglement": "DCI disentanglement", "completeness": "DCI completeness",
                  "informativeness_test": "DCI informativeness (test)",
                  "informativeness_train": "DCI informativeness (train)"},
))
register_metric(MetricSpec(
    name="sap", compute=_sap, kind="samples", display_name="SAP",
    protocol={"num_train": 10000, "num_test": 5000},
    presets={"smoke": dict(_SMOKE_SAMPLES), "cpu": dict(_CPU_SAMPLES),
             "smoke-sweep": dict(_SWEEP_SMOKE_SAMPLES)},
    rules={"num_train": _SAMPLES, "num_test": _POSITIVE},
    headline_scores=("SAP_score",), score_labels={"SAP_score": "SAP"},
))
register_metric(MetricSpec(
    name="modularity_explicitness", compute=_modularity_explicitness, kind="samples",
    display_name="modularity/explicitness",
    protocol={"num_train": 10000, "num_test": 5000, "num_bins": 20,
              "classifier": "liblinear_ovr"},
    presets={"smoke": dict(_SMOKE_SAMPLES), "cpu": dict(_CPU_SAMPLES),
             "smoke-sweep": dict(_SWEEP_SMOKE_SAMPLES)},
    rules={"num_train": _SAMPLES, "num_test": _POSITIVE, "num_bins": _BINS,
           "classifier": _CLASSIFIER},
    headline_scores=("modularity_score", "explicitness_score_test"),
    score_labels={"modularity_score": "modularity",
                  "explicitness_score_test": "explicitness (test)",
                  "explicitness_score_train": "explicitness (train)"},
))
register_metric(MetricSpec(
    name="unsupervised", compute=_unsupervised, kind="unsupervised", display_name="unsupervised",
    protocol={"num_train": 10000, "num_bins": 20},
    presets={"smoke": {"num_train": 1000}, "cpu": {"num_train": 5000},
             "smoke-sweep": {"num_train": 500}},
    rules={"num_train": _SAMPLES, "num_bins": _BINS},
    headline_scores=("gaussian_total_correlation", "mutual_info_score"),
    score_labels={"gaussian_total_correlation": "Gaussian TC of the codes",
                  "mutual_info_score": "mean pairwise MI of the codes"},
    # copies of the headline columns (reconstruction, KL, active units) and the per-dim KL
    hidden_scores=r"kl_dim_\d+|kl_total|active_units|reconstruction_nll",
))


# ---- the rest of disentanglement_lib's set and the newer metrics (issue 15) ----------------
# Sample-based ones reuse MIG's / SAP's draws at every preset's sizes, so they add no encoding.
_MIG_SIZES = {"smoke": {"num_train": 1000}, "cpu": {"num_train": 5000},
              "smoke-sweep": {"num_train": 500}}


def _irs(inputs: MetricInputs, p: dict) -> dict:
    train = inputs.samples("train", p["num_train"], p[SEED_KEY])
    return irs(train["factors"], train["codes"], diff_quantile=p["diff_quantile"],
               factor_bins=p["factor_bins"])


def _binned_gap(function):
    def compute(inputs: MetricInputs, p: dict) -> dict:
        train = inputs.samples("train", p["num_train"], p[SEED_KEY])
        return function(train["factors"], train["codes"], num_bins=p["num_bins"])
    return compute


def _infomec(inputs: MetricInputs, p: dict) -> dict:
    train = inputs.samples("train", p["num_train"], p[SEED_KEY])
    return infomec(train["factors"], train["codes"], n_neighbors=p["n_neighbors"],
                   prune_ratio=p["prune_ratio"], seed=p[SEED_KEY])


def _sap_continuous(inputs: MetricInputs, p: dict) -> dict:
    train = inputs.samples("train", p["num_train"], p[SEED_KEY])
    # the continuous branch scores the training sample only; no test draw is made
    return sap(train["factors"], train["codes"], train["factors"], train["codes"],
               continuous_factors=True, return_matrices=True)


def _downstream(inputs: MetricInputs, p: dict) -> dict:
    return downstream_task(*_train_test(inputs, p), sizes=p["sizes"], predictor=p["predictor"],
                           seed=p[SEED_KEY], n_jobs=inputs.n_jobs)


def _dci_es(inputs: MetricInputs, p: dict) -> dict:
    return dci_es(*_train_test(inputs, p), depths=p["depths"], seed=p[SEED_KEY])


def _fairness(inputs: MetricInputs, p: dict) -> dict:
    return fairness(inputs.dataset, inputs.represent, seed=p[SEED_KEY], num_train=p["num_train"],
                    num_test_points_per_class=p["num_test_points_per_class"],
                    predictor=p["predictor"], chunk_size=p["chunk_size"])


_SIZES_RULE = Rule(lambda v: isinstance(v, (list, tuple)) and len(v) > 0
                   and all(isinstance(n, int) and n >= 1 for n in v),
                   "a non-empty list of positive integers (numbers of training labels)")

register_metric(MetricSpec(
    name="irs", compute=_irs, kind="samples", display_name="IRS",
    protocol={"num_train": 10000, "diff_quantile": 0.99, "factor_bins": 20},
    presets=_MIG_SIZES,
    rules={"num_train": _SAMPLES, "diff_quantile": real(0, 1),
           "factor_bins": integer(0, "0 groups by the exact factor value")},
    headline_scores=("IRS",), score_labels={"IRS": "IRS", "num_active_dims": "IRS: active dims"},
))
for _name, _function, _label in (("mig_sup", mig_sup, "MIG-sup"), ("dcimig", dcimig, "DCIMIG"),
                                 ("jemmig", jemmig, "JEMMIG (normalised, 1 = best)")):
    register_metric(MetricSpec(
        name=_name, compute=_binned_gap(_function), kind="samples",
        display_name=_label.split(" ")[0],
        protocol={"num_train": 10000, "num_bins": 20}, presets=_MIG_SIZES,
        rules={"num_train": _SAMPLES, "num_bins": _BINS},
        headline_scores=(_name,), score_labels={_name: _label},
        hidden_scores="jemmig_unnormalised" if _name == "jemmig" else "",
    ))
register_metric(MetricSpec(
    name="infomec", compute=_infomec, kind="samples", display_name="InfoMEC",
    protocol={"num_train": 10000, "n_neighbors": 10, "prune_ratio": 20.0},
    presets=_MIG_SIZES,
    rules={"num_train": _SAMPLES, "n_neighbors": _POSITIVE,
           "prune_ratio": real(1, float("inf"))},
    headline_scores=("infom", "infoe", "infoc"),
    score_labels={"infom": "InfoM (modularity)", "infoe": "InfoE (explicitness)",
                  "infoc": "InfoC (compactness)", "num_active_latents": "InfoMEC: active codes"},
))
register_metric(MetricSpec(
    name="sap_continuous", compute=_sap_continuous, kind="samples",
    display_name="SAP (continuous)",
    protocol={"num_train": 10000},
    presets={"smoke": {"num_train": 600}, "cpu": {"num_train": 5000},
             "smoke-sweep": {"num_train": 300}},
    rules={"num_train": _SAMPLES},
    headline_scores=("SAP_score",), score_labels={"SAP_score": "SAP, continuous factors (R²)"},
))
for _name, _predictor, _label in (("downstream_logistic", "logistic_regression_cv",
                                   "logistic regression"),
                                  ("downstream_gbt", "gbt", "boosted trees")):
    register_metric(MetricSpec(
        name=_name, compute=_downstream, kind="samples",
        display_name=f"downstream ({_label})",
        protocol={"num_train": 10000, "num_test": 5000, "sizes": [10, 100, 1000, 10000],
                  "predictor": _predictor},
        presets={
            "smoke": {**_SMOKE_SAMPLES, "sizes": [10, 100],
                      **({"predictor": "gbt_fast"} if _predictor == "gbt" else {})},
            "cpu": {**_CPU_SAMPLES, "sizes": [10, 100],
                    **({"predictor": "gbt_fast"} if _predictor == "gbt" else {})},
            "smoke-sweep": {**_SWEEP_SMOKE_SAMPLES, "sizes": [10, 100],
                            **({"predictor": "gbt_fast"} if _predictor == "gbt" else {})},
        },
        rules={"num_train": _SAMPLES, "num_test": _POSITIVE, "sizes": _SIZES_RULE,
               "predictor": choice(*PREDICTORS)},
        headline_scores=("mean_test_accuracy",),
        score_labels={"mean_test_accuracy": f"downstream {_label}: mean test accuracy"},
    ))
register_metric(MetricSpec(
    name="dci_es", compute=_dci_es, kind="samples", display_name="DCI-ES",
    protocol={"num_train": 10000, "num_test": 5000, "depths": list(DEPTHS)},
    presets={"smoke": dict(_SMOKE_SAMPLES), "cpu": dict(_CPU_SAMPLES),
             "smoke-sweep": dict(_SWEEP_SMOKE_SAMPLES)},
    rules={"num_train": _SAMPLES, "num_test": _POSITIVE,
           "depths": Rule(lambda v: isinstance(v, (list, tuple)) and len(v) > 0
                          and all(isinstance(d, int) and d >= 1 for d in v),
                          "a non-empty list of tree depths >= 1 (the probe capacities)")},
    headline_scores=("explicitness",),
    score_labels={"explicitness": "DCI-ES explicitness", "size": "DCI-ES size"},
    hidden_scores=r"explicitness_\d+",
))
register_metric(MetricSpec(
    name="fairness", compute=_fairness, kind="interventions", display_name="unfairness",
    protocol={"num_train": 10000, "num_test_points_per_class": 100, "predictor": "gbt",
              "chunk_size": 8192},
    presets={
        "smoke": {"num_train": 300, "num_test_points_per_class": 10, "predictor": "gbt_fast"},
        "cpu": {"num_train": 1000, "num_test_points_per_class": 20, "predictor": "gbt_fast"},
        "smoke-sweep": {"num_train": 150, "num_test_points_per_class": 5,
                        "predictor": "gbt_fast"},
    },
    rules={"num_train": _SAMPLES, "num_test_points_per_class": _POSITIVE,
           "predictor": choice(*PREDICTORS), "chunk_size": _POSITIVE},
    headline_scores=("mean_fairness_mean_pred_mean_sens",),
    score_labels={"mean_fairness_mean_pred_mean_sens": "unfairness (mean TV, lower is fairer)"},
    factor_draws=fairness_factor_draws,
))


# ---- names, presets, protocols --------------------------------------------------------------
class _Protocols(Mapping):
    """Preset name -> ``{metric: overrides}``, read live from the registry entries:
    ``paper`` (the reference protocols) and every preset some entry names."""

    def __getitem__(self, preset: str) -> dict[str, dict]:
        if preset != "paper" and not any(preset in s.presets for s in _METRICS.values()):
            raise KeyError(preset)
        return {name: dict(s.presets.get(preset, {})) for name, s in _METRICS.items()
                if preset in s.presets}

    def __iter__(self):
        names = {"paper": None}
        for spec in _METRICS.values():
            names.update(dict.fromkeys(spec.presets))
        return iter(names)

    def __len__(self) -> int:
        return sum(1 for _ in self)


#: Preset name -> per-metric overrides of the reference protocols (read from the entries).
#: ``paper``: disentanglement_lib's unsupervised_study_v1 exactly (DCI with the exact GBT).
#: ``fast``: the same sizes, DCI with the histogram-GBT estimator (``dci_fast``).
#: ``smoke``: tiny sizes for tests (scores are noisy; never report them).
#: ``cpu``, ``smoke-sweep``: the sizes of the sweep presets ``cpu`` and ``smoke``.
PROTOCOLS: Mapping[str, dict[str, dict]] = _Protocols()


def list_metrics() -> list[str]:
    """Names accepted by :func:`evaluate`, in evaluation (and table) order."""
    return list(_METRICS)


def check_metric_names(names: Iterable[str]) -> list[str]:
    """Return ``names`` as a list; an unknown name raises a one-line ``UnknownNameError`` (a
    ``KeyError`` and a ``ValueError``, as for datasets and models) listing the known ones."""
    names = [names] if isinstance(names, str) else list(names)
    for name in names:
        if name not in _METRICS:
            raise UnknownNameError(f"unknown metric {name!r}; known metrics: {', '.join(_METRICS)}")
    return names


def _check_preset(preset: str) -> None:
    if preset not in PROTOCOLS:
        raise KeyError(f"unknown metric preset {preset!r}; known presets: {', '.join(PROTOCOLS)}")


def default_protocol(name: str, preset: str = "paper") -> dict:
    """The resolved protocol parameters of metric ``name`` under ``preset`` (a fresh dict)."""
    check_metric_names([name])
    _check_preset(preset)
    return _METRICS[name].resolve(preset)


def metric_version(name: str) -> int:
    """The code version of metric ``name`` (its entry's ``version``), part of every stored
    evaluation's id."""
    return metric_spec(name).version


def validate_protocol(name: str, protocol: dict) -> None:
    """Raise ``ProtocolError`` (a ``ValueError``, one line) when a value of ``protocol`` breaks
    metric ``name``'s rules (an unknown parameter, a wrong type, a value out of range)."""
    metric_spec(name).validate(protocol)


def resolve_protocol(name: str, *, seed: int = 0, preset: str = "paper", overrides=None) -> dict:
    """Defaults, then the preset, then ``overrides``; ``seed`` unless overridden; checked with
    :func:`validate_protocol`. The dict recorded with the result."""
    protocol = default_protocol(name, preset)
    extra = dict(overrides or {})
    unknown = set(extra) - set(protocol) - {SEED_KEY}
    if unknown:
        raise ProtocolError(
            f"unknown protocol parameter(s) {sorted(unknown)} for metric {name!r}; "
            f"known: {sorted(protocol) + [SEED_KEY]}"
        )
    protocol[SEED_KEY] = seed
    protocol.update(extra)
    validate_protocol(name, protocol)
    return protocol


def _planned_factor_draws(dataset, protocols: dict, draws: Draws):
    """Every factor array the metrics of ``protocols`` will render (the code cache's plan):
    each intervention metric's ``factor_draws``, then each shared i.i.d. draw once (a sample
    metric's ``num_train`` and, if it has one, ``num_test``)."""
    keys = {}
    for name, p in protocols.items():
        spec = _METRICS[name]
        if spec.kind == "interventions" and spec.factor_draws is not None:
            yield from spec.factor_draws(dataset, **p)
        elif spec.kind != "interventions" and "num_train" in p:
            keys[("train", int(p["num_train"]), int(p[SEED_KEY]))] = None
            if "num_test" in p:
                keys[("test", int(p["num_test"]), int(p[SEED_KEY]))] = None
    for key in keys:
        yield draws.factors(*key)[1]


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
    code_cache: str = "auto",
    max_cache_bytes: int = DEFAULT_MAX_CACHE_BYTES,
    stochastic_represent: bool = False,
    bootstrap: int = 0,
) -> dict:
    """Score ``represent`` on ``dataset`` with each metric in ``metrics`` (default: all).

    Args:
        dataset: a ``GroundTruthDataset``.
        represent: ``observations (n, C, H, W) float32 -> codes (n, d)``; called on chunks of
            up to ``chunk_size`` images.
        metrics: names from :func:`list_metrics`; unknown names raise ``KeyError``.
        seed: evaluation seed of every metric (disentanglement_lib's gin default 0).
        overrides: ``{metric: {param: value}}`` applied over the preset; unknown metric or
            parameter names and values that break a metric's rules raise.
        preset: a key of :data:`PROTOCOLS` (``"paper"``, ``"fast"``, ``"smoke"``, ...).
        posterior: optional ``observations -> (mean, logvar)`` for the KL / active units.
        reconstruction_nll: optional ``observations -> nats per image`` for the reconstruction.
        progress: print one line per finished metric to stderr.
        n_jobs: processes for the per-factor / per-code classifiers (results do not depend on it).
        chunk_size: images per ``represent`` call for the i.i.d. draws and the code cache.
        code_cache: ``"auto"`` encodes each distinct image once (metrics/code_cache.py) when
            ``dataset.deterministic``, ``represent`` is not stochastic, the codes fit in
            ``max_cache_bytes`` and it encodes fewer images than the direct path; ``"on"``
            also when it saves nothing; ``"off"`` never. Scores do not depend on it.
        max_cache_bytes: bound on the code cache's memory; beyond it, the direct path.
        stochastic_represent: ``represent`` draws random codes (also: a true
            ``represent.stochastic`` attribute): each draw is then encoded anew (direct path).
        bootstrap: resamples B of the evaluation rows for the metrics whose bootstrap is cheap
            (:data:`~.bootstrap.BOOTSTRAPS`: MIG); their results get ``"interval"``:
            ``{"scores": {score: [lo, hi]}, "method", "resamples", "seconds"}``. 0: none.

    Returns:
        ``{metric: {"scores": {...}, "protocol": {...}, "seconds": float, "version": int}}``
        plus ``"_environment"`` (library versions) and ``"_sampling"`` (seconds spent drawing
        and encoding the i.i.d. samples shared by the sample-based metrics, not counted in any
        metric's ``seconds``) and ``"_code_cache"`` (the path taken, why, the distinct and
        drawn images, the cache's bytes, its seconds of planning and encoding, ``misses``).
        ``version`` is the metric's code version (its entry's).
        MIG, DCI and SAP results also carry ``"matrices"``: the (codes × factors) matrix behind
        the score (``mutual_information``, ``dci_importance``, ``sap_scores``; records of
        :func:`~.matrices.matrix_record` with ``factor_names``).
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
    draws = Draws(dataset, represent, posterior, reconstruction_nll, chunk_size, posterior_keys)
    cache, cache_info = build_code_cache(
        dataset, represent, _planned_factor_draws(dataset, protocols, draws), mode=code_cache,
        stochastic_represent=stochastic_represent, chunk_size=chunk_size,
        max_bytes=max_cache_bytes,
    )
    if progress:
        print(f"[metrics] code cache: {cache_info['path']} ({cache_info['reason']}), "
              f"{cache_info['seconds']:.1f} s", file=sys.stderr, flush=True)
    inputs = MetricInputs(dataset=dataset, represent=represent, n_jobs=n_jobs, draws=draws)
    if cache is not None:  # the metrics read codes by index (metrics/code_cache.py)
        draws.code_cache = cache
        inputs = MetricInputs(dataset=cache.view(), represent=cache.lookup, n_jobs=n_jobs,
                              draws=draws)
    results: dict = {}
    for name in names:
        spec, protocol = _METRICS[name], protocols[name]
        spent_sampling = draws.seconds
        started = time.perf_counter()
        scores = spec.compute(inputs, dict(protocol))
        seconds = time.perf_counter() - started - (draws.seconds - spent_sampling)
        matrices = scores.pop(MATRICES_KEY, None) if isinstance(scores, dict) else None
        results[name] = {
            "scores": scores,
            "protocol": {"metric": name, "preset": preset, "dataset": dataset.name, **protocol},
            "seconds": seconds,
            "version": spec.version,
        }
        if matrices:
            results[name][MATRICES_KEY] = name_factors(matrices, dataset.factor_names)
        interval = bootstrap_result(name, results[name], protocol, inputs.samples, bootstrap)
        if interval:
            results[name][INTERVAL_KEY] = interval
        if progress:
            print(f"[metrics] {name}: {seconds:.1f} s", file=sys.stderr, flush=True)
    results["_environment"] = environment()
    results["_sampling"] = {
        "seconds": draws.seconds,
        "chunk_size": chunk_size,
        "draws": [list(key) for key in draws.cache],
    }
    results["_code_cache"] = {**cache_info, "misses": cache.misses if cache is not None else 0}
    return results
