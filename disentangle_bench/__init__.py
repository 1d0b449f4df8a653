"""disentangle-bench: a benchmark suite for disentangled representation learning.

``disentangle_bench.evaluate_representation(represent, dataset, ...)`` scores any encoder
(``sweep.evaluate``); the layers are importable as ``disentangle_bench.data``, ``.models``,
``.metrics``, ``.training``, ``.sweep`` and ``.report``.
"""

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "evaluate_representation"]


def __getattr__(name: str) -> Any:
    # imported on first use: ``import disentangle_bench`` stays light (no torch, no pandas)
    if name == "evaluate_representation":
        from .sweep.evaluate import evaluate_representation

        return evaluate_representation
    raise AttributeError(f"module 'disentangle_bench' has no attribute {name!r}")
