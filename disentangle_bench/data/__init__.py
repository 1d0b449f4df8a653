"""Ground-truth datasets: the bottom layer of the package."""

from .base import (
    DatasetError,
    GroundTruthDataset,
    UnknownNameError,
    batch_rng,
    observation_batch,
    observation_batches,
)
from .files import download
from .registry import (
    check_dataset_name,
    dataset_class,
    get_dataset,
    list_datasets,
    register_dataset,
    unregister_dataset,
)

__all__ = [
    "DatasetError",
    "GroundTruthDataset",
    "UnknownNameError",
    "batch_rng",
    "check_dataset_name",
    "dataset_class",
    "download",
    "get_dataset",
    "list_datasets",
    "observation_batch",
    "observation_batches",
    "register_dataset",
    "unregister_dataset",
]
