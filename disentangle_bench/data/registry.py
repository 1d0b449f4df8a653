"""Dataset registry: a new dataset is one module plus one line in ``_FACTORIES`` (ours) or one
:func:`register_dataset` call (a user's package; docs/extending.md)."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from .base import GroundTruthDataset, UnknownNameError

# name -> "module:attribute" of a zero-or-keyword-argument factory, imported lazily so that
# listing datasets never opens a file (or the factory itself).
_FACTORIES: dict[str, str | Callable[..., GroundTruthDataset]] = {
    "tiny": "disentangle_bench.data.tiny:TinySquares",
    "dsprites": "disentangle_bench.data.dsprites_file:DSpritesFile",
    "dsprites-procedural": "disentangle_bench.data.dsprites_procedural:ProceduralDSprites",
    "color-dsprites": "disentangle_bench.data.dsprites_variants:ColorDSprites",
    "noisy-dsprites": "disentangle_bench.data.dsprites_variants:NoisyDSprites",
    "shapes3d": "disentangle_bench.data.shapes3d:Shapes3D",
    "scream-dsprites": "disentangle_bench.data.scream_dsprites:ScreamDSprites",
    "cars3d": "disentangle_bench.data.cars3d:Cars3D",
    "smallnorb": "disentangle_bench.data.smallnorb:SmallNORB",
    "mpi3d-toy": "disentangle_bench.data.mpi3d:MPI3DToy",
    "mpi3d-realistic": "disentangle_bench.data.mpi3d:MPI3DRealistic",
    "mpi3d-real": "disentangle_bench.data.mpi3d:MPI3DReal",
}


def register_dataset(name: str, factory: str | Callable[..., GroundTruthDataset], *,
                     replace: bool = False) -> None:
    """Register ``factory`` (a ``GroundTruthDataset`` subclass or any callable returning one,
    or ``"module:attribute"`` imported when first used) as dataset ``name``. Its ``name``
    attribute should equal ``name`` (training checks it). A name already registered raises
    ``ValueError`` unless ``replace``."""
    if not isinstance(name, str) or not name or any(c.isspace() for c in name):
        raise ValueError(f"a dataset name is a non-empty string without spaces, got {name!r}")
    if name in _FACTORIES and not replace:
        raise ValueError(f"dataset {name!r} is already registered; pick another name "
                         "(or pass replace=True to override it on purpose)")
    if isinstance(factory, str) and factory.count(":") != 1:
        raise ValueError(f"register_dataset({name!r}, ...): expected 'module:attribute', "
                         f"got {factory!r}")
    if not isinstance(factory, str) and not callable(factory):
        raise TypeError(f"register_dataset({name!r}, ...) takes a dataset class, a factory "
                        f"or 'module:attribute', got {factory!r}")
    _FACTORIES[name] = factory


def unregister_dataset(name: str) -> None:
    """Remove a registered dataset (tests)."""
    _factory(name)
    del _FACTORIES[name]


def list_datasets() -> list[str]:
    """Names accepted by :func:`get_dataset`, sorted."""
    return sorted(_FACTORIES)


def _factory(name: str) -> Callable[..., GroundTruthDataset]:
    if name not in _FACTORIES:
        raise UnknownNameError(
            f"unknown dataset {name!r}; known datasets: {', '.join(list_datasets())}"
        )
    target = _FACTORIES[name]
    if not isinstance(target, str):
        return target
    module, attribute = target.split(":")
    return getattr(import_module(module), attribute)


def dataset_class(name: str) -> type[GroundTruthDataset]:
    """The registered class (or factory) for ``name``, imported without instantiating it: its
    class attributes describe the published grid without opening any file."""
    return _factory(name)


def get_dataset(name: str, **kwargs) -> GroundTruthDataset:
    """Instantiate a registered dataset by name; unknown names raise a one-line
    :class:`~.base.UnknownNameError` (a ``KeyError`` and a ``ValueError``) listing the known
    ones."""
    return _factory(name)(**kwargs)


def check_dataset_name(name: str) -> None:
    """Raise the unknown-dataset error without instantiating (or loading) anything."""
    _factory(name)
