"""Report figures (matplotlib, Agg backend, PNG), drawn from the store alone.

* :func:`plot_traversals` — one figure per model: a block per base image; one row per latent,
  sorted by KL (largest first); the latent swept over ±2 around the base code (the prior range
  for VAE-type models, mean ± 2 std of the codes for models without KL).
* :func:`plot_reconstructions` — test inputs above each model's reconstructions.
* :func:`plot_metric_vs_param` — one panel per value (reconstruction, KL, active units, every
  metric score) against a swept hyperparameter: seeds as points, the mean with its 95 %
  Student-t interval over seeds as error bars (none with one seed); models without that
  hyperparameter (the AE baseline) as a dashed line with an interval band.
* :func:`plot_metric_strips` — one panel per value, one strip per model configuration: every
  seed a point, mean and 95 % t-interval, ``k/n`` where only k of n runs have a finite score.
* :func:`plot_kl_per_dim` — per-dimension KL (sorted) per model, mean over seeds with the seeds
  as points.
* :func:`plot_training_curves` — reconstruction and KL vs training step per model.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .stats import t_interval  # noqa: E402

DPI = 150
#: Labels of the non-metric columns; a metric's scores are labelled by its registry entry
#: (``MetricSpec.label``).
PRETTY = {
    "reconstruction": "reconstruction NLL, sampled z (nats/image)",
    "reconstruction_posterior_mean": "reconstruction NLL at the posterior mean (nats/image)",
    "kl": "total KL (nats)",
    "active_units": "active units",
    "beta": "β",
    "gamma": "γ",
    "c_max": "C_max",
    "lambda_od": "λ_od",
    "lambda_d": "λ_d",
}
MODEL_NAMES = {"ae": "AE", "vae": "VAE", "beta_vae": "β-VAE", "beta_tcvae": "β-TCVAE",
               "factor_vae": "FactorVAE", "annealed_vae": "AnnealedVAE",
               "dip_vae_i": "DIP-VAE-I", "dip_vae_ii": "DIP-VAE-II"}
#: Models that are another model at a fixed hyperparameter value (the inverse of the grid's
#: alias): the VAE is the β-VAE at β = 1, so it is drawn on the β-VAE curve.
ON_CURVE_OF = {"vae": ("beta_vae", "beta", 1.0)}


def _style() -> None:
    plt.rcParams.update({
        "font.size": 8, "axes.titlesize": 8.5, "axes.labelsize": 8, "legend.fontsize": 7,
        "xtick.labelsize": 7, "ytick.labelsize": 7, "axes.spines.top": False,
        "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.25,
        "grid.linewidth": 0.5, "figure.dpi": 100, "savefig.dpi": DPI,
        "savefig.bbox": "tight", "savefig.pad_inches": 0.05, "font.family": "DejaVu Sans",
    })


def pretty(name: str) -> str:
    """Axis label for a value column: ``mig.discrete_mig`` → ``MIG: discrete_mig``."""
    from ..metrics import list_metrics, metric_spec

    if name in PRETTY:
        return PRETTY[name]
    metric, _, score = name.partition(".")
    if metric in list_metrics():
        spec = metric_spec(metric)
        return spec.label(score) if score else spec.display_name
    return f"{metric}: {score.replace('_', ' ')}" if score else metric


def model_display(label: str) -> str:
    """``beta_vae(beta=4)`` → ``β-VAE (β=4)``."""
    model, _, rest = label.partition("(")
    name = MODEL_NAMES.get(model, model)
    if not rest:
        return name
    for key, symbol in (("lambda_od", "λ_od"), ("lambda_d", "λ_d"), ("beta", "β"),
                        ("gamma", "γ")):
        rest = rest.replace(f"{key}=", f"{symbol}=")
    return f"{name} ({rest}"


def palette(summary: pd.DataFrame) -> dict[str, Any]:
    """A colour per group label: AE grey, the β-VAE family along viridis by β, others tab10."""
    colors: dict[str, Any] = {}
    family = summary[summary["model"].isin(["vae", "beta_vae"])]
    betas = [1.0 if m == "vae" else float(b) for m, b in
             zip(family["model"], family.get("hparams.beta", pd.Series(np.nan, family.index)))]
    order = np.argsort(betas, kind="stable")
    cmap = plt.get_cmap("viridis")
    for rank, index in enumerate(order):
        position = 0.1 + 0.75 * rank / max(1, len(order) - 1)
        colors[family["label"].iloc[index]] = cmap(position)
    others = iter(c for i, c in enumerate(plt.get_cmap("tab10").colors) if i != 7)
    for label, model in zip(summary["label"], summary["model"]):
        if label not in colors:
            colors[label] = "0.25" if model == "ae" else next(others, "k")
    return colors


# --- images -----------------------------------------------------------------------------------
def _to_display(image: np.ndarray) -> np.ndarray:
    """(C, H, W) uint8 → (H, W) grey or (H, W, 3) RGB float in [0, 1]."""
    image = np.asarray(image, np.float32) / 255.0
    return image[0] if image.shape[0] == 1 else np.moveaxis(image, 0, -1)


SEPARATOR = 0.62  # grey: visible between black backgrounds and between white sprites


def mosaic(images: np.ndarray, gap: int = 1, fill: float = SEPARATOR) -> np.ndarray:
    """(rows, cols, C, H, W) uint8 → one image with ``gap``-pixel separators."""
    rows, cols = images.shape[:2]
    tiles = [[_to_display(images[r, c]) for c in range(cols)] for r in range(rows)]
    height, width = tiles[0][0].shape[:2]
    shape = (rows * height + (rows - 1) * gap, cols * width + (cols - 1) * gap)
    channels = tiles[0][0].shape[2:]
    canvas = np.full(shape + channels, fill, np.float32)
    for r in range(rows):
        for c in range(cols):
            y, x = r * (height + gap), c * (width + gap)
            canvas[y:y + height, x:x + width] = tiles[r][c]
    return canvas


def _imshow(ax: plt.Axes, image: np.ndarray) -> None:
    cmap = "gray" if image.ndim == 2 else None
    ax.imshow(image, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)


def plot_traversals(arrays: dict[str, np.ndarray], title: str, path: Path | str, *,
                    active_threshold: float = 0.01,
                    latent_names: dict[int, str] | None = None) -> Path:
    """Latent traversals of one run (see the module docstring): one block per base image, its
    input image in the block's first column, then the traversal columns. ``latent_names``
    (latent → ``"z3 → posX (MI 0.61, gap 0.42)"``, report.latents) labels each row with the
    factor it carries."""
    _style()
    traversals = arrays["traversals"]  # (bases, d, steps, C, H, W)
    bases, dims, steps = traversals.shape[:3]
    order, kl = arrays["traversal_order"], arrays["kl_per_dim"]
    values = arrays["traversal_values"]
    prior = bool(arrays["prior_range"])
    height, width = traversals.shape[-2:]
    gap = max(1, height // 16)
    block_width = (steps + 1) * width + steps * gap + 2 * gap
    block_height = dims * height + (dims - 1) * gap
    cell = 0.34  # inches per image
    scale = cell / width
    label_room, title_room = (2.6 if latent_names else 1.25), 0.55
    fig_width = label_room + bases * block_width * scale + (bases - 1) * 0.12
    fig_height = title_room + block_height * scale + 0.3
    fig = plt.figure(figsize=(fig_width, fig_height))
    for b in range(bases):
        left = (label_room + b * (block_width * scale + 0.12)) / fig_width
        ax = fig.add_axes([left, 0.3 / fig_height, block_width * scale / fig_width,
                           block_height * scale / fig_height])
        block = mosaic(traversals[b], gap=gap)
        inputs = np.ones((block.shape[0], width + 3 * gap) + block.shape[2:], np.float32)
        inputs[:height + gap, :width + gap] = SEPARATOR  # frame, like the traversal cells
        inputs[:height, :width] = _to_display(arrays["base_inputs"][b])
        _imshow(ax, np.concatenate([inputs, block], axis=1))
        offset = width + 3 * gap
        centres_x = offset + np.arange(steps) * (width + gap) + width / 2 - 0.5
        shown = [0, steps // 2, steps - 1]
        ax.set_xticks([width / 2 - 0.5, *centres_x[shown]])
        if prior:
            ticks = [f"{values[0, s]:+g}" if s != steps // 2 else "0" for s in shown]
        else:
            ticks = ["−2 sd", "mean", "+2 sd"]
        ax.set_xticklabels(["input", *ticks])
        ax.tick_params(length=0, pad=2)
        ax.set_title(f"base image {b + 1}", pad=3)
        ax.set_yticks(np.arange(dims) * (height + gap) + height / 2 - 0.5)
        if b > 0:
            ax.set_yticklabels([])
            continue
        spread = arrays["code_std"]
        names = latent_names or {}
        ax.set_yticklabels([(names.get(int(d), f"z{d}") + "  ")
                            + (f"KL {kl[d]:.2f}" if prior else f"sd {spread[d]:.2f}")
                            for d in order], fontsize=7)
        for tick, dim in zip(ax.get_yticklabels(), order):
            if prior and kl[dim] <= active_threshold:
                tick.set_color("0.6")
    sweep = ("rows sorted by KL; prior range" if prior
             else "rows sorted by code spread; code mean ± 2 sd")
    fig.suptitle(f"{title}: latent traversals ({sweep})",
                 y=1 - 0.12 / fig_height, fontsize=9)
    return _save(fig, path)


def plot_reconstructions(inputs: np.ndarray, reconstructions: dict[str, np.ndarray],
                         path: Path | str) -> Path:
    """Inputs (n, C, H, W) in the first row, then one row per model's reconstructions."""
    _style()
    rows = [inputs, *reconstructions.values()]
    names = ["input", *(model_display(label) for label in reconstructions)]
    n = inputs.shape[0]
    height, width = inputs.shape[-2:]
    gap = max(1, height // 16)
    image = mosaic(np.stack(rows), gap=gap)
    cell = 0.55
    fig, ax = plt.subplots(figsize=(cell * n + 1.6, cell * len(rows) + 0.5))
    _imshow(ax, image)
    ax.set_xticks([])
    ax.set_yticks(np.arange(len(rows)) * (height + gap) + height / 2 - 0.5)
    ax.set_yticklabels(names)
    ax.tick_params(length=0)
    ax.set_title("reconstructions (decoder mean of the posterior mean) of held-out samples")
    return _save(fig, path)


# --- numbers ----------------------------------------------------------------------------------
def plotted_columns(columns: Sequence[str]) -> list[str]:
    """The value columns worth a panel, in the given order: every non-metric column and, per
    registered metric, its entry's headline scores (``MetricSpec.headline_scores``; all of
    them when it names none). Every score is in the tables."""
    from ..metrics import list_metrics, metric_spec

    chosen = []
    for column in columns:
        metric, dot, score = column.partition(".")
        if not dot or metric not in list_metrics() or metric_spec(metric).is_plotted(score):
            chosen.append(column)
    return chosen


def swept_params(results: pd.DataFrame) -> list[str]:
    """Hyperparameters with at least two values within some model (β counts the VAE as β=1)."""
    params = []
    for column in sorted(c for c in results.columns if c.startswith("hparams.")):
        name = column.removeprefix("hparams.")
        frame = curve_points(results, name)
        if not frame.empty and frame.groupby("curve")["x"].nunique().max() >= 2:
            params.append(name)
    return params


def curve_points(results: pd.DataFrame, param: str) -> pd.DataFrame:
    """Finished runs that lie on a curve over ``param``: columns ``curve`` (model) and ``x``."""
    column = f"hparams.{param}"
    done = results[results["status"] == "finished"].copy()
    if column not in done.columns:
        return done.iloc[0:0]
    done["curve"] = done["model"]
    done["x"] = pd.to_numeric(done[column], errors="coerce")
    for model, (target, target_param, value) in ON_CURVE_OF.items():
        if target_param == param and (done["model"] == target).any():
            moved = done["model"] == model
            done.loc[moved, "curve"] = target
            done.loc[moved, "x"] = value
    return done[done["x"].notna()]


def plot_metric_vs_param(results: pd.DataFrame, param: str, columns: Sequence[str],
                         path: Path | str, *, colors: dict[str, Any] | None = None) -> Path:
    """One panel per value column against ``param`` (see the module docstring)."""
    _style()
    points = curve_points(results, param)
    on_curve = set(points["run_id"])
    references = results[(results["status"] == "finished") & ~results["run_id"].isin(on_curve)]
    columns = [c for c in plotted_columns(columns)
               if pd.to_numeric(results[c], errors="coerce").notna().any()]
    ncols = min(4, max(1, len(columns)))
    nrows = math.ceil(len(columns) / ncols)
    height = 1.75 * nrows + 1.0
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.0 * ncols + 0.3, height), squeeze=False)
    fig.subplots_adjust(left=0.08, right=0.98, top=1 - 0.62 / height, bottom=0.6 / height,
                        hspace=0.8, wspace=0.42)
    curve_colors = plt.get_cmap("tab10").colors
    curves = list(dict.fromkeys(points["curve"]))
    xs = np.sort(points["x"].unique())
    log_x = len(xs) > 1 and xs.min() > 0 and xs.max() / xs.min() >= 4
    rng = np.random.default_rng(0)  # jitter of the seed points only
    handles: dict[str, Any] = {}
    for ax, column in zip(axes.flat, columns):
        for index, curve in enumerate(curves):
            data = points[points["curve"] == curve]
            y = pd.to_numeric(data[column], errors="coerce")
            color = curve_colors[index % 10] if len(curves) > 1 else "C0"
            jitter = (2 ** rng.uniform(-0.06, 0.06, len(data)) if log_x
                      else 1 + rng.uniform(-0.01, 0.01, len(data)))
            ax.scatter(data["x"] * jitter, y, s=7, color=color, alpha=0.45, linewidths=0,
                       zorder=3)
            stats = interval_table(data["x"], y)
            handles[MODEL_NAMES.get(curve, curve)] = ax.errorbar(
                stats.index, stats["mean"], yerr=_yerr(stats), color=color,
                marker="o", markersize=3.5, linewidth=1.2, capsize=2, zorder=4)
            finite, total = int(stats["finite"].sum()), int(stats["n"].sum())
            if finite < total:  # undefined scores are named, never silently missing
                ax.text(0.02, 0.98 - 0.09 * index, f"{MODEL_NAMES.get(curve, curve)}: "
                        f"{finite}/{total} runs finite", transform=ax.transAxes, ha="left",
                        va="top", fontsize=6, color="#a40000")
        for index, (label, data) in enumerate(references.groupby("label", sort=False)):
            y = pd.to_numeric(data[column], errors="coerce").dropna()
            if y.empty:
                continue
            color = (colors or {}).get(label, "0.3")
            mean = float(y.mean())
            low, high = t_interval(y.to_numpy(float))
            line = ax.axhline(mean, color=color, linestyle=(0, (4, 2 + index)), linewidth=1.0,
                              zorder=2)
            if math.isfinite(low) and high > low:
                ax.axhspan(low, high, color=color, alpha=0.12, linewidth=0)
            handles[model_display(label)] = line
        if log_x:
            ax.set_xscale("log", base=2)
            ax.set_xlim(xs.min() / 1.4, xs.max() * 1.4)  # also when no curve point is finite
            ax.set_xticks(xs)
            ax.set_xticklabels([_tick(x) for x in xs])
            ax.minorticks_off()
        ax.set_title(panel_title(column))
        ax.set_xlabel(PRETTY.get(param, param))
    for ax in list(axes.flat)[len(columns):]:
        ax.set_visible(False)
    fig.legend(list(handles.values()), list(handles.keys()), loc="lower center",
               ncol=min(6, len(handles)), frameon=False, bbox_to_anchor=(0.5, 0.0))
    fig.suptitle(f"scores vs {PRETTY.get(param, param)}: "
                 f"{seed_caption(results)}", fontsize=9, y=1 - 0.12 / height,
                 color=SINGLE_SEED_COLOR if seeds_per_configuration(results) == 1 else "k")
    return _save(fig, path)


#: Panel titles wrap at this many characters (a 2-inch panel at 8.5 pt), so neighbours
#: never run into each other.
TITLE_WIDTH = 28
SINGLE_SEED_COLOR = "#a40000"


def panel_title(column: str) -> str:
    """:func:`pretty`, wrapped onto lines of at most :data:`TITLE_WIDTH` characters."""
    return "\n".join(textwrap.wrap(pretty(column), TITLE_WIDTH)) or column


def seeds_per_configuration(results: pd.DataFrame) -> int:
    """The most finished training seeds any configuration has (0 with none)."""
    done = results[results["status"] == "finished"]
    return int(done.groupby("label")["seed"].nunique().max()) if len(done) else 0


def seed_caption(results: pd.DataFrame) -> str:
    """What the points and bars are; with one seed per configuration, says so plainly."""
    if seeds_per_configuration(results) <= 1:
        return "ONE SEED per configuration: single points, no interval and no test"
    n = results.loc[results["status"] == "finished", "seed"].nunique()
    return f"mean and 95 % t-interval over {n} seeds, seeds as points"


def interval_table(x: pd.Series, y: pd.Series) -> pd.DataFrame:
    """Per distinct x: ``mean``, ``lo``, ``hi`` (95 % Student-t interval over the finite y,
    NaN with fewer than 2), ``finite`` and ``n`` (runs, finite or not)."""
    frame = pd.DataFrame({"x": np.asarray(x), "y": pd.to_numeric(pd.Series(np.asarray(y)),
                                                                   errors="coerce")})
    rows = {}
    for value, group in frame.groupby("x"):
        numbers = group["y"].to_numpy(float)
        finite = numbers[np.isfinite(numbers)]
        low, high = t_interval(finite)
        rows[value] = {"mean": finite.mean() if len(finite) else math.nan, "lo": low,
                       "hi": high, "finite": len(finite), "n": len(numbers)}
    return pd.DataFrame.from_dict(rows, orient="index")


def _yerr(stats: pd.DataFrame) -> np.ndarray:
    """Asymmetric error bars from an :func:`interval_table` (0 where there is no interval)."""
    return np.nan_to_num(np.vstack([stats["mean"] - stats["lo"], stats["hi"] - stats["mean"]]),
                         nan=0.0)


def plot_metric_strips(results: pd.DataFrame, columns: Sequence[str], labels: Sequence[str],
                       path: Path | str, *, colors: dict[str, Any] | None = None) -> Path:
    """One panel per value column, one strip per model configuration (``labels``, in table
    order): every seed a point, the mean with its 95 % t-interval as an error bar; ``k/n``
    under a strip when only k of its n runs have a finite score."""
    _style()
    done = results[results["status"] == "finished"]
    columns = [c for c in plotted_columns(columns)
               if pd.to_numeric(done[c], errors="coerce").notna().any()]
    labels = [label for label in labels if (done["label"] == label).any()]
    ncols = min(3, max(1, len(columns)))
    nrows = max(1, math.ceil(len(columns) / ncols))
    width = max(2.4, 0.32 * len(labels) + 0.9)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, 2.1 * nrows + 0.6),
                             squeeze=False, constrained_layout=True)
    rng = np.random.default_rng(0)  # jitter of the seed points only
    positions = np.arange(len(labels))
    for ax, column in zip(axes.flat, columns):
        for position, label in zip(positions, labels):
            y = pd.to_numeric(done.loc[done["label"] == label, column], errors="coerce")
            color = (colors or {}).get(label, "C0")
            finite = y[np.isfinite(y)]
            ax.scatter(position + rng.uniform(-0.15, 0.15, len(finite)), finite, s=8,
                       color=color, alpha=0.55, linewidths=0, zorder=3)
            stats = interval_table(pd.Series([label] * len(y)), y).iloc[0]
            if stats["finite"]:
                ax.errorbar([position + 0.28], [stats["mean"]], yerr=_yerr(stats.to_frame().T),
                            color="k", marker="_", markersize=8, capsize=2, linewidth=1.0,
                            zorder=4)
            if stats["finite"] < stats["n"]:
                ax.annotate(f"{int(stats['finite'])}/{int(stats['n'])}", (position, 0),
                            xycoords=("data", "axes fraction"), xytext=(0, 2),
                            textcoords="offset points", ha="center", fontsize=6, color="#a40000")
        ax.set_xticks(positions)
        ax.set_xticklabels([model_display(label) for label in labels], rotation=60, ha="right",
                           fontsize=6)
        ax.set_xlim(-0.6, len(labels) - 0.4)
        ax.grid(axis="x", visible=False)
        ax.set_title(panel_title(column))
    for ax in list(axes.flat)[len(columns):]:
        ax.set_visible(False)
    fig.suptitle(f"scores by model: {seed_caption(results)}", fontsize=9,
                 color=SINGLE_SEED_COLOR if seeds_per_configuration(results) == 1 else "k")
    return _save(fig, path)


def plot_matrices(records: dict[str, dict], title: str, path: Path | str) -> Path:
    """Heatmaps of a run's stored matrices (``mutual_information`` normalised by each factor's
    entropy, ``dci_importance``, ``sap_scores``): rows = latents, columns = factors, each cell
    annotated."""
    from .latents import normalised_mi

    _style()
    titles = {"mutual_information": "MI / H(factor) (MIG)",
              "dci_importance": "DCI importance R", "sap_scores": "SAP score matrix S"}
    names = [n for n in titles if n in records] + [n for n in records if n not in titles]
    fig, axes = plt.subplots(1, len(names), squeeze=False, constrained_layout=True,
                             figsize=(2.3 * len(names) + 0.4, 0.26 * max(
                                 len(records[n]["values"]) for n in names) + 1.3))
    for ax, name in zip(axes.flat, names):
        record = records[name]
        values = (normalised_mi(record) if name == "mutual_information"
                  else np.asarray(record["values"], float))
        image = ax.imshow(values, cmap="viridis", aspect="auto", vmin=0,
                          vmax=max(1e-9, float(np.nanmax(values))), interpolation="nearest")
        factors = record.get("factor_names") or [str(k) for k in record["factors"]]
        ax.set_xticks(range(len(factors)))
        ax.set_xticklabels(factors, rotation=45, ha="right")
        ax.set_yticks(range(values.shape[0]))
        ax.set_yticklabels([f"z{j}" for j in range(values.shape[0])])
        ax.grid(False)
        for (j, k), value in np.ndenumerate(values):
            ax.text(k, j, f"{value:.2f}", ha="center", va="center", fontsize=5.5,
                    color="w" if value < 0.6 * np.nanmax(values) else "k")
        ax.set_title(titles.get(name, name))
        fig.colorbar(image, ax=ax, shrink=0.8)
    fig.suptitle(title, fontsize=9)
    return _save(fig, path)


def plot_rank_correlations(matrix: pd.DataFrame, path: Path | str) -> Path:
    """Heatmap of a (scores × scores) Spearman matrix (report.locatello.rank_correlations),
    each cell annotated; blank where a pair has too few runs."""
    _style()
    n = len(matrix)
    fig, ax = plt.subplots(figsize=(0.42 * n + 2.2, 0.36 * n + 1.4), constrained_layout=True)
    image = ax.imshow(matrix.to_numpy(float), cmap="RdBu_r", vmin=-1, vmax=1,
                      interpolation="nearest")
    labels = [pretty(c) for c in matrix.columns]
    ax.set_xticks(range(n))
    ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=6)
    ax.set_yticks(range(n))
    ax.set_yticklabels(labels, fontsize=6)
    ax.grid(False)
    for (i, j), value in np.ndenumerate(matrix.to_numpy(float)):
        if math.isfinite(value):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=5,
                    color="w" if abs(value) > 0.6 else "k")
    fig.colorbar(image, ax=ax, shrink=0.8, label="Spearman ρ over runs")
    ax.set_title("rank correlation between scores (every run a point)")
    return _save(fig, path)


def _tick(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def plot_kl_per_dim(kl_by_group: dict[str, list[np.ndarray]], path: Path | str, *,
                    colors: dict[str, Any] | None = None,
                    active_threshold: float = 0.01) -> Path:
    """Per-dimension KL, sorted largest first, one panel per model (mean over seeds as bars,
    each seed as a point)."""
    _style()
    groups = list(kl_by_group)
    ncols = min(5, len(groups))
    nrows = math.ceil(len(groups) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.6 * ncols + 0.4, 1.5 * nrows + 0.4),
                             squeeze=False, sharey=True, constrained_layout=True)
    for ax, label in zip(axes.flat, groups):
        profiles = np.stack([np.sort(np.asarray(kl, float))[::-1] for kl in kl_by_group[label]])
        dims = np.arange(1, profiles.shape[1] + 1)
        color = (colors or {}).get(label, "C0")
        ax.bar(dims, profiles.mean(axis=0), color=color, width=0.75, alpha=0.85)
        if len(profiles) > 1:
            for profile in profiles:
                ax.scatter(dims, profile, s=5, color="k", alpha=0.5, linewidths=0, zorder=3)
        active = (profiles > active_threshold).sum(axis=1).mean()
        ax.set_title(f"{model_display(label)}\n{active:.3g} active, Σ {profiles.sum(1).mean():.1f}"
                     " nats")
        ax.set_xticks(dims if len(dims) <= 12 else dims[::2])
        ax.set_xlabel("latent (sorted by KL)")
        ax.grid(axis="x", visible=False)
    for ax in axes[:, 0]:
        ax.set_ylabel("KL (nats)")
    for ax in list(axes.flat)[len(groups):]:
        ax.set_visible(False)
    return _save(fig, path)


def plot_training_curves(logs_by_group: dict[str, list[pd.DataFrame]], path: Path | str, *,
                         colors: dict[str, Any] | None = None,
                         step: str = "step", series: Sequence[str] = ("reconstruction", "kl"),
                         ) -> Path:
    """Each of ``series`` vs training step, one line per model (mean over seeds; min–max band
    when several seeds)."""
    _style()
    fig, axes = plt.subplots(1, len(series), figsize=(3.3 * len(series), 2.4), squeeze=False,
                             constrained_layout=True)
    for ax, name in zip(axes.flat, series):
        for label, logs in logs_by_group.items():
            frames = [log[[step, name]].dropna() for log in logs if name in log and step in log]
            if not frames:
                continue
            merged = pd.concat(frames).groupby(step)[name].agg(["mean", "min", "max"])
            color = (colors or {}).get(label, None)
            ax.plot(merged.index, merged["mean"], color=color, linewidth=1.1,
                    label=model_display(label), marker="o" if len(merged) <= 20 else None,
                    markersize=2.5)
            if len(frames) > 1:
                ax.fill_between(merged.index, merged["min"], merged["max"], color=color,
                                alpha=0.15, linewidth=0)
        ax.set_xlabel("training step")
        ax.set_ylabel(pretty(name))
        if name == "reconstruction":
            ax.set_yscale("log")
        ax.set_title(f"training {pretty(name)}")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside right center", frameon=False)
    return _save(fig, path)


def _save(fig: plt.Figure, path: Path | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".tmp-{path.name}")
    fig.savefig(temp, format="png")
    plt.close(fig)
    temp.replace(path)
    return path
