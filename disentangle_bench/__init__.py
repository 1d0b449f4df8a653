"""disentangle-bench: a benchmark suite for disentangled representation learning.

Extension points (docs/extending.md), imported lazily so that ``import disentangle_bench``
stays light: ``register_model`` (``models``), ``register_metric`` and ``MetricSpec``
(``metrics``), ``register_dataset`` (``data``), ``load_plugins`` and ``plugin_record``
(``plugins``); ``evaluate_representation(represent, dataset, ...)`` scores any encoder
(``sweep.evaluate``).
"""

__version__ = "0.1.0"

_LAZY = {
    "register_model": "disentangle_bench.models",
    "register_metric": "disentangle_bench.metrics",
    "MetricSpec": "disentangle_bench.metrics",
    "register_dataset": "disentangle_bench.data",
    "load_plugins": "disentangle_bench.plugins",
    "plugin_record": "disentangle_bench.plugins",
    "evaluate_representation": "disentangle_bench.sweep.evaluate",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'disentangle_bench' has no attribute {name!r}")
