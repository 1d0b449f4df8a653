"""Looking at datasets: a table of every registered dataset, and a factor-sweep PNG grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..atomic import write_atomic
from .base import GroundTruthDataset
from .registry import dataset_class, list_datasets

MAX_COLUMNS = 12


def _availability(cls: type) -> str:
    """Where the dataset's data comes from, checking only a found file's first bytes."""
    if not hasattr(cls, "locate"):
        return "offline (generated)"
    where = cls.locate()
    if where is None:
        return f"file missing: {cls.file_name}"
    try:
        problem = cls.quick_check(where)
    except OSError as error:
        problem = f"cannot read it ({error})"
    return f"file present: {where}" if problem is None else f"file unusable: {where}: {problem}"


def describe_datasets() -> str:
    """A text table of every registered dataset: name, factors and sizes, observation shape,
    and whether its file is present (file datasets) or it works offline. Opens no data file;
    the factor sizes shown are the published grid (a reduced file would report its own)."""
    rows = [("dataset", "factors (size; * = constant)", "observation", "data")]
    for name in list_datasets():
        cls = dataset_class(name)
        factors = ", ".join(
            f"{factor}={size}{'*' if size == 1 else ''}"
            for factor, size in zip(cls.factor_names, cls.factor_sizes)
        )
        shape = "×".join(str(d) for d in cls.observation_shape)
        rows.append((name, factors, shape, _availability(cls)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3]
             for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(line.rstrip() for line in lines)


def sweep_columns(size: int, max_columns: int = MAX_COLUMNS) -> np.ndarray:
    """Classes shown for a factor of ``size`` values: all of them, or ``max_columns`` evenly
    spaced ones including the first and the last."""
    if size <= max_columns:
        return np.arange(size)
    return np.unique(np.round(np.linspace(0, size - 1, max_columns)).astype(np.int64))


def _value_label(dataset: GroundTruthDataset, factor: int, cls: int) -> str:
    name = dataset.factor_names[factor]
    names = getattr(dataset, "value_names", {}).get(name)
    if names is not None:
        return names[cls]
    values = getattr(dataset, "factor_values", None)
    if values is None:
        return str(cls)
    return f"{values[factor][cls]:.3g}"


def save_factor_sweep_grid(
    dataset: GroundTruthDataset, path: str | Path, seed: int = 0
) -> Path:
    """Write an image (format from ``path``'s suffix, see :func:`image_format`) with one row per
    varying factor, that factor swept across its values (at most
    12 evenly spaced columns) and the other factors fixed at a base point drawn with ``seed``.

    Rows are labelled with factor names, columns with the factor's values. Written atomically.
    """
    rng = np.random.default_rng(seed)
    base = dataset.sample_factors(1, rng)[0]
    rows = dataset.varying_factors
    columns = [sweep_columns(dataset.factor_sizes[f]) for f in rows]
    n_columns = max(len(c) for c in columns)
    figure = Figure(figsize=(1.0 * n_columns + 1.2, 1.18 * len(rows) + 0.6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(rows), n_columns, squeeze=False)
    for row, (factor, classes) in enumerate(zip(rows, columns)):
        factors = np.repeat(base[None], len(classes), axis=0)
        factors[:, factor] = classes
        images = dataset.sample_observations_from_factors(factors, rng)
        for column, ax in enumerate(axes[row]):
            ax.set_xticks([])
            ax.set_yticks([])
            if column >= len(classes):
                ax.set_axis_off()
                continue
            _show(ax, images[column])
            ax.set_xlabel(_value_label(dataset, factor, int(classes[column])), fontsize=7,
                          labelpad=2)
        axes[row, 0].set_ylabel(
            f"{dataset.factor_names[factor]}\n({dataset.factor_sizes[factor]})",
            fontsize=8, rotation=0, ha="right", va="center", labelpad=4,
        )
    fixed = ", ".join(f"{n}={c}" for n, c in zip(dataset.factor_names, base))
    figure.suptitle(f"{dataset.name}: one factor swept per row; base classes {fixed}",
                    fontsize=9)
    figure.subplots_adjust(left=0.1, right=0.99, top=1 - 0.35 / figure.get_figheight(),
                           bottom=0.02, wspace=0.08, hspace=0.35)
    return _save_atomically(figure, Path(path))


def _show(ax, image: np.ndarray) -> None:
    if image.shape[0] == 1:
        ax.imshow(image[0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(np.clip(image.transpose(1, 2, 0), 0, 1), interpolation="nearest")


#: Image formats a preview can be written in, by file suffix.
IMAGE_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".svg": "svg", ".pdf": "pdf"}


def image_format(path: str | Path) -> str:
    """The format for ``path``'s suffix; ``ValueError`` (one line) for any other suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in IMAGE_FORMATS:
        raise ValueError(f"cannot write a preview as {str(path)!r}: use a file name ending in "
                         f"{', '.join(IMAGE_FORMATS)}")
    return IMAGE_FORMATS[suffix]


def _save_atomically(figure: Figure, path: Path) -> Path:
    """Write in the format of ``path``'s suffix, atomically, mode 0644 like every output."""
    fmt = image_format(path)
    return write_atomic(path, lambda file: figure.savefig(file, format=fmt))
