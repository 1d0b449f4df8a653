"""Dataset registry: a new dataset is one module plus one line in ``_FACTORIES``."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from .base import GroundTruthDataset

# name -> "module:attribute" of a zero-or-keyword-argument factory, imported lazily so that
# listing datasets never opens a file.
_FACTORIES: dict[str, str] = {
    "tiny": "disentangle_bench.data.tiny:TinySquares",
    "dsprites": "disentangle_bench.data.dsprites_file:DSpritesFile",
    "dsprites-procedural": "disentangle_bench.data.dsprites_procedural:ProceduralDSprites",
    "color-dsprites": "disentangle_bench.data.dsprites_variants:ColorDSprites",
    "noisy-dsprites": "disentangle_bench.data.dsprites_variants:NoisyDSprites",
    "shapes3d": "disentangle_bench.data.shapes3d:Shapes3D",
    "cars3d": "disentangle_bench.data.cars3d:Cars3D",
    "mpi3d-toy": "disentangle_bench.data.mpi3d:MPI3DToy",
    "mpi3d-realistic": "disentangle_bench.data.mpi3d:MPI3DRealistic",
    "mpi3d-real": "disentangle_bench.data.mpi3d:MPI3DReal",
}


def list_datasets() -> list[str]:
    """Names accepted by :func:`get_dataset`, sorted."""
    return sorted(_FACTORIES)


def _factory(name: str) -> Callable[..., GroundTruthDataset]:
    if name not in _FACTORIES:
        raise KeyError(
            f"unknown dataset {name!r}; known datasets: {', '.join(list_datasets())}"
        )
    module, attribute = _FACTORIES[name].split(":")
    return getattr(import_module(module), attribute)


def dataset_class(name: str) -> type[GroundTruthDataset]:
    """The registered class (or factory) for ``name``, imported without instantiating it: its
    class attributes describe the published grid without opening any file."""
    return _factory(name)


def get_dataset(name: str, **kwargs) -> GroundTruthDataset:
    """Instantiate a registered dataset by name; unknown names raise a ``KeyError`` listing
    the known ones."""
    return _factory(name)(**kwargs)


def check_dataset_name(name: str) -> None:
    """Raise the unknown-dataset error without instantiating (or loading) anything."""
    _factory(name)
