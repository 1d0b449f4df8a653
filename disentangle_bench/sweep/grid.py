"""Grid expansion: a sweep request (models, hyperparameter grids, seeds, budget) → RunSpecs.

Rules (documented in ``run_benchmark.py --help`` and docs/runner.md):

* Hyperparameter grids are per model: ``{model: {param: [values]}}``; the run set is the
  Cartesian product of a model's grids × seeds. A model without grids gets one run per seed at
  its defaults.
* Tied hyperparameters follow the study's rule when not swept themselves (``TIED``: DIP-VAE's
  λ_d from λ_od).
* Every value is cast to the type of the model's default (``4`` → ``4.0`` for β), so equal
  configurations hash alike; every unset hyperparameter is filled from ``model_defaults``.
* ``beta_vae`` with β = 1 *is* the VAE: it becomes the ``vae`` model, and duplicates (``--models
  vae`` as well) are trained once.
* ``architecture="auto"`` takes the preset's network (the cpu preset's ``mlp``); a preset
  with ``auto`` picks ``conv`` for 64×64 images and ``mlp`` otherwise; ``device="auto"`` is
  resolved to this machine's device type (``cuda`` when present, else ``cpu``) and
  ``precision="auto"`` on it (bf16 only with native bf16 instructions), so the recorded config
  and the model id say what actually trains.
* AnnealedVAE's ``iteration_threshold`` scales with the run's steps (a third of them, the
  study's 100,000 of 300,000) unless given with ``--grid annealed_vae.iteration_threshold=N``.
* Metric protocols: the metric's defaults, then the preset's overrides, then the user's.
* A dataset read from a file adds the file's SHA-256 (``RunSpec.dataset_sha256``) to every model
  id; the first plan on a new file reads it whole (about 2 s per GB plus the
  disk's read, once; then cached).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from .artifacts import DEFAULT_ARTIFACTS
from .presets import Preset
from .spec import RunSpec, dataset_file_sha256

#: (model, hyperparameter, value) whose run is another model's: β-VAE at β = 1 is the VAE.
ALIASES: dict[tuple[str, str, float], str] = {("beta_vae", "beta", 1.0): "vae"}

#: Hyperparameters tied to a swept one unless swept themselves: disentanglement_lib's study sets
#: DIP-VAE-I λ_d = 10 λ_od and DIP-VAE-II λ_d = λ_od (Locatello et al. 2019, §1.8 of the claims).
TIED: dict[tuple[str, str], tuple[str, float]] = {
    ("dip_vae_i", "lambda_d"): ("lambda_od", 10.0),
    ("dip_vae_ii", "lambda_d"): ("lambda_od", 1.0),
}


@dataclass
class SweepRequest:
    """Everything the CLI resolved; ``None`` budget fields take the preset's value."""

    models: list[str]
    preset: Preset
    grids: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=lambda: [0])
    dataset: str = "dsprites-procedural"
    dataset_kwargs: dict[str, Any] = field(default_factory=dict)
    steps: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    lr_schedule: str | None = None
    warmup_steps: int | None = None
    kl_warmup_steps: int = 0
    latent_dim: int | None = None
    architecture: str = "auto"
    precision: str | None = None
    device: str = "auto"
    checkpoint_every: int | None = None
    metrics: list[str] | None = None
    protocol: dict[str, dict[str, Any]] = field(default_factory=dict)
    eval_seeds: list[int] = field(default_factory=lambda: [0])
    eval_every: int = 0


def parse_value(text: str) -> Any:
    """A grid value from the command line: int, then float, then true/false, else the string."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def parse_assignment(text: str, *, what: str = "--grid") -> tuple[str, str, list[Any]]:
    """``"beta_vae.beta=1,2,4"`` → ``("beta_vae", "beta", [1, 2, 4])``."""
    target, sep, values = text.partition("=")
    owner, dot, param = target.partition(".")
    if not sep or not dot or not owner or not param or not values:
        raise ValueError(f"{what} expects NAME.PARAM=V1[,V2,...], got {text!r}")
    return owner.strip(), param.strip(), [parse_value(v.strip()) for v in values.split(",")]


def cast_like(value: Any, default: Any, *, where: str) -> Any:
    """``value`` converted to the type of ``default`` (int → float is allowed, not the reverse
    unless the float is integral)."""
    if default is None or isinstance(value, type(default)) and not isinstance(value, bool):
        return value
    if isinstance(default, bool) or isinstance(default, str):
        if type(value) is type(default):
            return value
        raise ValueError(f"{where}: expected {type(default).__name__}, got {value!r}")
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, float) and numeric:
        return float(value)
    if isinstance(default, int) and isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValueError(f"{where}: expected {type(default).__name__}, got {value!r}")


def resolve_architecture(architecture: str, observation_shape: tuple[int, ...]) -> str:
    """``auto`` → ``conv`` for 64×64 images (the standard network's input), else ``mlp``; an
    explicit architecture is checked against the image size (``ValueError``, one line)."""
    from ..models import check_architecture

    if architecture == "auto":
        return "conv" if tuple(observation_shape[1:]) == (64, 64) else "mlp"
    check_architecture(architecture, observation_shape)
    return architecture


def model_runs(model: str, grids: dict[str, list[Any]]) -> list[tuple[str, dict[str, Any]]]:
    """The (model, full hyperparameters) of each grid point, β-VAE β=1 renamed to ``vae``."""
    from ..models import check_model_hparams, model_defaults

    defaults = model_defaults(model)
    for param in grids:
        if param not in defaults:
            valid = ", ".join(sorted(defaults)) or "none"
            raise ValueError(f"model {model!r} has no hyperparameter {param!r}; its "
                             f"hyperparameters: {valid}")
    names = sorted(grids)
    values = [[cast_like(v, defaults[p], where=f"{model}.{p}") for v in grids[p]] for p in names]
    runs = []
    for combo in itertools.product(*values):
        given = dict(zip(names, combo))
        for (tied_model, param), (source, factor) in TIED.items():
            if model == tied_model and source in given and param not in given:
                given[param] = cast_like(factor * given[source], defaults[param],
                                         where=f"{model}.{param}")
        check_model_hparams(model, given)
        runs.append(_alias(model, {**defaults, **given}))
    return runs


def _alias(model: str, hparams: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    from ..models import model_defaults

    for (source, param, value), target in ALIASES.items():
        if model == source and float(hparams.get(param, float("nan"))) == value:
            rest = {k: v for k, v in hparams.items() if k != param}
            target_defaults = model_defaults(target)
            if set(rest) <= set(target_defaults):
                return target, {**target_defaults, **rest}
    return model, hparams


def resolve_metrics(requested: list[str] | None, preset: Preset) -> list[str]:
    """Requested metric names (checked), every registered metric for ``["all"]``, or (nothing
    requested) every registered metric the preset keeps."""
    from ..metrics import check_metric_names, list_metrics

    if requested is None:
        return [name for name in list_metrics() if name not in preset.exclude_metrics]
    if list(requested) == ["all"]:  # every registered metric, the preset's exclusions too
        return list_metrics()
    check_metric_names(list(requested))
    return list(dict.fromkeys(requested))


def resolve_protocol(metrics: list[str], preset: Preset,
                     user: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Full protocol per metric: the metrics layer's protocol preset ← this preset's overrides
    ← the user's; every value checked against its metric's rules (``ProtocolError``, one
    line), so a bad value fails here rather than after training. The evaluation seed is added
    by ``evaluate``."""
    from ..metrics import default_protocol, validate_protocol

    for name in user:
        if name not in metrics:
            raise ValueError(f"--protocol names metric {name!r}, which is not in this sweep's "
                             f"metrics ({', '.join(metrics)})")
    protocol = {}
    for name in metrics:
        resolved = dict(default_protocol(name, preset.metric_preset))
        for source, overrides in (("preset", preset.protocol.get(name, {})),
                                  ("--protocol", user.get(name, {}))):
            for param, value in overrides.items():
                if param not in resolved:
                    valid = ", ".join(sorted(resolved)) or "none"
                    raise ValueError(f"{source}: metric {name!r} has no protocol parameter "
                                     f"{param!r}; its parameters: {valid}")
                if isinstance(resolved[param], list):  # a list parameter takes V1,V2,...
                    value = list(value) if isinstance(value, (list, tuple)) else [value]
                elif isinstance(value, list):
                    raise ValueError(f"{source}: {name}.{param} takes one value, got {value}")
                resolved[param] = cast_like(value, resolved[param], where=f"{name}.{param}")
        validate_protocol(name, resolved)
        protocol[name] = resolved
    return protocol


def expand(request: SweepRequest) -> list[RunSpec]:
    """The RunSpecs of a sweep, in grid order (models as given, then grid points, then seeds),
    each configuration once. Raises ``KeyError``/``ValueError`` with one clear line for any bad
    name or value, before anything is trained."""
    from .. import __version__
    from ..data import check_dataset_name, get_dataset
    from ..plugins import plugin_record
    from ..training import TrainConfig, resolve_device, resolve_device_type, resolve_precision

    preset = request.preset
    check_dataset_name(request.dataset)
    for model in request.grids:
        if model not in request.models:
            raise ValueError(f"a grid is given for model {model!r}, which is not selected "
                             f"(--models {' '.join(request.models)}); add it to --models")
    runs = [run for model in request.models
            for run in model_runs(model, request.grids.get(model, {}))]
    check_dataset_options(request.dataset, request.dataset_kwargs)
    dataset = get_dataset(request.dataset, **request.dataset_kwargs)
    # the file's identity is part of every model id (a reduced test file and the real file of
    # one dataset name are different models); the digest is cached next to the file
    dataset_sha256 = dataset_file_sha256(dataset)
    architecture = resolve_architecture(
        preset.architecture if request.architecture == "auto" else request.architecture,
        dataset.observation_shape)
    metrics = resolve_metrics(request.metrics, preset)
    protocol = resolve_protocol(metrics, preset, request.protocol)
    artifacts = {**DEFAULT_ARTIFACTS, **preset.artifacts}
    # "auto" device and precision depend on the machine: resolve them here so the model id
    # says which (a CPU and a CUDA model of one config are different models)
    device = resolve_device_type(request.device)
    precision = resolve_precision(_pick(request.precision, preset.precision),
                                  resolve_device(device))
    steps = _pick(request.steps, preset.steps)
    latent_dim = _pick(request.latent_dim, preset.latents_for(dataset))
    specs: dict[str, RunSpec] = {}
    for (model, hparams), seed in itertools.product(runs, request.seeds):
        hparams = _scale_to_budget(model, hparams, steps, request.grids.get(model, {}))
        config = TrainConfig(
            model=model, hparams=hparams, dataset=request.dataset,
            dataset_kwargs=dict(request.dataset_kwargs), steps=steps,
            batch_size=_pick(request.batch_size, preset.batch_size),
            lr=_pick(request.lr, preset.lr), seed=int(seed), latent_dim=latent_dim,
            architecture=architecture, device=device,
            precision=precision,
            checkpoint_every=_pick(request.checkpoint_every, preset.checkpoint_every),
            log_every=preset.log_every,
            lr_schedule=_pick(request.lr_schedule, preset.lr_schedule),
            warmup_steps=_pick(request.warmup_steps, preset.warmup_steps),
            kl_warmup_steps=request.kl_warmup_steps,
        )
        spec = RunSpec(train=config.to_dict(), metrics=tuple(metrics), protocol=protocol,
                       eval_seeds=tuple(dict.fromkeys(int(s) for s in request.eval_seeds)),
                       preset=preset.name, version=__version__, artifacts=artifacts,
                       plugins=plugin_record(), eval_every=request.eval_every,
                       dataset_sha256=dataset_sha256)
        specs.setdefault(spec.run_id, spec)
    return list(specs.values())


def _scale_to_budget(model: str, hparams: dict[str, Any], steps: int,
                     given: dict[str, list[Any]]) -> dict[str, Any]:
    """Schedules set in training steps follow the run's budget unless given explicitly:
    AnnealedVAE's ``iteration_threshold`` becomes ``scaled_iteration_threshold(steps)``."""
    from ..models.annealed_vae import scaled_iteration_threshold

    if model == "annealed_vae" and "iteration_threshold" not in given:
        return {**hparams, "iteration_threshold": scaled_iteration_threshold(steps)}
    return hparams


def check_dataset_options(name: str, options: dict[str, Any]) -> None:
    """``ValueError`` (one line) for a ``--dataset-option`` the dataset's constructor does not
    take; the values themselves are checked by constructing the dataset while planning."""
    import inspect

    from ..data.registry import dataset_class

    if not options:
        return
    parameters = inspect.signature(dataset_class(name)).parameters
    accepted = [p for p, spec in parameters.items()
                if spec.kind in (spec.POSITIONAL_OR_KEYWORD, spec.KEYWORD_ONLY)]
    for key in options:
        if key not in accepted:
            raise ValueError(f"--dataset-option: dataset {name!r} has no option {key!r}; its "
                             f"options: {', '.join(accepted) or 'none'}")


def _pick(value: Any, fallback: Any) -> Any:
    return fallback if value is None else value
