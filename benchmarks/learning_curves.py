"""Learning curves of training recipes: disentanglement against images seen (issue 13).

    python benchmarks/learning_curves.py --recipes mlp-tcvae6 mlp-bvae4 --seeds 0 1 2 \
        --out docs/recipes_curves.csv --plot docs/recipes_curves.png
    python benchmarks/learning_curves.py --dataset tiny --out /tmp/lc.csv   # seconds

Each recipe (objective and its strength, network, batch size, lr, latent size, precision) is
trained on ``dsprites-procedural`` and scored at checkpoints ("marks", in images seen). The run
is one ``train()`` call per mark with ``stop_at``: training resumes bitwise from the previous
mark's checkpoint, so the curve's points are those of one uninterrupted run.

At each mark, with fixed sizes for every recipe (``SIZES``; evaluation seed 0):

* MIG (10,000 i.i.d. points, 20 bins) with its per-factor gaps;
* the FactorVAE score (batch 64, 2,000 train / 1,000 eval votes, 5,000 points for the scale);
* the β-VAE score (batch 64, 300 / 150 points; small, so noisy: read it across seeds);
* reconstruction (Bernoulli NLL of the posterior mean's decoding, nats), total KL and active
  units, from the unsupervised metric on the MIG draw.

One CSV row per (recipe, seed, mark), appended as soon as the mark is scored, so a partial
study is usable; rows already in the CSV are skipped on a re-run (checkpoints live in
``--workdir``, so an interrupted recipe resumes). Each row records the cumulative training
seconds (scoring excluded), the training images/s over the segment (from the training log), the
scoring seconds, the torch thread count, the CPU and the load average when the mark was reached:
on a shared machine wall times are inflated, so convert images to minutes with a throughput
measured on an idle machine (``--throughput``), not with these.

``--throughput`` instead measures training images/s per recipe (fp32, and bf16 with
``--bf16``) in short interleaved rounds, as the basis for images → minutes.

A recipe counts by its median over seeds (``summary`` in this module; the plot draws the
median and every seed).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from disentangle_bench.data import get_dataset  # noqa: E402
from disentangle_bench.metrics import evaluate  # noqa: E402
from disentangle_bench.training import TrainConfig, train  # noqa: E402

PAPER_STEPS = 300_000
PAPER_THRESHOLD = 100_000  # AnnealedVAE iteration_threshold of disentanglement_lib's study


@dataclass(frozen=True)
class Recipe:
    """A training recipe; ``marks`` are images seen at which it is scored."""

    model: str
    hparams: dict[str, Any] = field(default_factory=dict)
    architecture: str = "mlp"
    batch_size: int = 256
    lr: float = 1e-3
    latent_dim: int = 10
    precision: str = "fp32"
    marks: tuple[int, ...] = (64_000, 128_000, 256_000, 384_000, 512_000, 768_000)
    lr_schedule: str = "constant"
    warmup_steps: int = 0
    kl_warmup_steps: int = 0

    def steps_at(self, images: int) -> int:
        return max(1, round(images / self.batch_size))

    def config(self, dataset: str, seed: int) -> TrainConfig:
        steps = self.steps_at(self.marks[-1])
        hparams = dict(self.hparams)
        if self.model == "annealed_vae" and "iteration_threshold" not in hparams:
            # the study's schedule scaled to the run: c_max at 1/3 of the steps (100k of 300k)
            hparams["iteration_threshold"] = max(1, round(steps * PAPER_THRESHOLD / PAPER_STEPS))
        return TrainConfig(
            model=self.model, hparams=hparams, dataset=dataset, steps=steps,
            batch_size=self.batch_size, lr=self.lr, seed=seed, latent_dim=self.latent_dim,
            architecture=self.architecture, device="cpu", precision=self.precision,
            checkpoint_every=0, log_every=max(1, min(50, steps // 4)),
            lr_schedule=self.lr_schedule, warmup_steps=self.warmup_steps,
            kl_warmup_steps=self.kl_warmup_steps,
        )  # fmt: skip


_TODAY = (12_000, 24_000, 48_000)  # the cpu preset before this study: 1,500 steps x batch 32
_HALF_MILLION = (128_000, 256_000, 512_000)
_CPU_PRESET = (160_000, 320_000)


def _cosine(model: str, hparams: dict[str, Any] | None = None, *, lr: float = 3e-3,
            latent_dim: int = 10, marks: tuple[int, ...] = _HALF_MILLION) -> Recipe:
    """An mlp recipe with the cpu preset's schedule: 100 warm-up steps, then cosine decay from
    ``lr`` to 0 at the last mark."""
    return Recipe(model, hparams or {}, lr=lr, latent_dim=latent_dim, marks=marks,
                  lr_schedule="cosine", warmup_steps=100)


RECIPES: dict[str, Recipe] = {
    # the small MLP (FC 256-256, Chen et al. 2018's dSprites network), batch 256, lr 1e-3
    "mlp-vae": Recipe("vae"),
    "mlp-bvae2": Recipe("beta_vae", {"beta": 2.0}),
    "mlp-bvae4": Recipe("beta_vae", {"beta": 4.0}),
    "mlp-bvae8": Recipe("beta_vae", {"beta": 8.0}),
    "mlp-bvae16": Recipe("beta_vae", {"beta": 16.0}),
    "mlp-tcvae2": Recipe("beta_tcvae", {"beta": 2.0}),
    "mlp-tcvae4": Recipe("beta_tcvae", {"beta": 4.0}),
    "mlp-tcvae6": Recipe("beta_tcvae", {"beta": 6.0}),
    "mlp-tcvae8": Recipe("beta_tcvae", {"beta": 8.0}),
    "mlp-tcvae6-lr2e-3": Recipe("beta_tcvae", {"beta": 6.0}, lr=2e-3),
    "mlp-tcvae6-lr5e-4": Recipe("beta_tcvae", {"beta": 6.0}, lr=5e-4),
    "mlp-tcvae6-b128": Recipe("beta_tcvae", {"beta": 6.0}, batch_size=128),
    "mlp-tcvae6-b64": Recipe("beta_tcvae", {"beta": 6.0}, batch_size=64),
    "mlp-tcvae6-z5": Recipe("beta_tcvae", {"beta": 6.0}, latent_dim=5),
    "mlp-bvae4-lr2e-3": Recipe("beta_vae", {"beta": 4.0}, lr=2e-3),
    "mlp-bvae4-b64": Recipe("beta_vae", {"beta": 4.0}, batch_size=64),
    "mlp-bvae4-b512": Recipe("beta_vae", {"beta": 4.0}, batch_size=512),
    "mlp-bvae4-b128": Recipe("beta_vae", {"beta": 4.0}, batch_size=128),
    "mlp-bvae8-lr3e-3": Recipe("beta_vae", {"beta": 8.0}, lr=3e-3),
    "mlp-bvae4-lr3e-3": Recipe("beta_vae", {"beta": 4.0}, lr=3e-3),
    "mlp-bvae16-lr3e-3": Recipe("beta_vae", {"beta": 16.0}, lr=3e-3),
    "mlp-bvae8-b64": Recipe("beta_vae", {"beta": 8.0}, batch_size=64),
    # 512k images (2,000 steps x 256): learning-rate schedule, latent size, KL warm-up
    "mlp-bvae8-cos3e-3": _cosine("beta_vae", {"beta": 8.0}),
    "mlp-bvae4-cos3e-3": _cosine("beta_vae", {"beta": 4.0}),
    "mlp-bvae8-cos5e-3": _cosine("beta_vae", {"beta": 8.0}, lr=5e-3),
    "mlp-bvae4-cos5e-3": _cosine("beta_vae", {"beta": 4.0}, lr=5e-3),
    "mlp-bvae8-cos1e-2": _cosine("beta_vae", {"beta": 8.0}, lr=1e-2),
    "mlp-bvae16-cos3e-3": _cosine("beta_vae", {"beta": 16.0}),
    "mlp-bvae8-cos3e-3-z5": _cosine("beta_vae", {"beta": 8.0}, latent_dim=5),
    "mlp-bvae4-cos3e-3-z5": _cosine("beta_vae", {"beta": 4.0}, latent_dim=5),
    "mlp-bvae8-z5": Recipe("beta_vae", {"beta": 8.0}, latent_dim=5, marks=_HALF_MILLION),
    # the cpu preset: 1,250 steps x 256 (320k images), cosine from 3e-3, one latent per factor
    "cpu-vae": _cosine("vae", latent_dim=5, marks=_CPU_PRESET),
    "cpu-bvae4": _cosine("beta_vae", {"beta": 4.0}, latent_dim=5, marks=_CPU_PRESET),
    "cpu-bvae8": _cosine("beta_vae", {"beta": 8.0}, latent_dim=5, marks=_CPU_PRESET),
    "mlp-bvae8-klwarm": Recipe("beta_vae", {"beta": 8.0}, kl_warmup_steps=500,
                               marks=_HALF_MILLION),
    "mlp-annealed-c25": Recipe("annealed_vae", {"c_max": 25.0}),
    "mlp-annealed-c10": Recipe("annealed_vae", {"c_max": 10.0}),
    "mlp-factorvae40": Recipe("factor_vae", {"gamma": 40.0}),
    "mlp-dipvae2-10": Recipe("dip_vae_ii", {"lambda_od": 10.0}),
    # the conv network of the paper, for comparison at the cpu preset's budget before the study
    "conv-today-bvae2": Recipe("beta_vae", {"beta": 2.0}, "conv", 32, marks=_TODAY),
    "conv-today-bvae4": Recipe("beta_vae", {"beta": 4.0}, "conv", 32, marks=_TODAY),
    "conv-today-bvae8": Recipe("beta_vae", {"beta": 8.0}, "conv", 32, marks=_TODAY),
    "conv-today-tcvae6": Recipe("beta_tcvae", {"beta": 6.0}, "conv", 32, marks=_TODAY),
}

# --dataset tiny: the same code path in seconds (16x16 images, 8 latents would be overkill)
TINY_RECIPES: dict[str, Recipe] = {
    "tiny-bvae4": Recipe("beta_vae", {"beta": 4.0}, batch_size=32, latent_dim=4,
                         marks=(320, 640)),
    "tiny-annealed": Recipe("annealed_vae", {"c_max": 5.0}, batch_size=32, latent_dim=4,
                            marks=(320, 640)),
}

#: Metric sizes, fixed across recipes (evaluate()'s overrides over the "fast" preset).
SIZES: dict[str, dict[str, Any]] = {
    "mig": {"num_train": 10_000},
    "unsupervised": {"num_train": 10_000},
    "factor_vae": {"batch_size": 64, "num_train": 2_000, "num_eval": 1_000,
                   "num_variance_estimate": 5_000},
    "beta_vae": {"batch_size": 64, "num_train": 300, "num_eval": 150},
}
TINY_SIZES: dict[str, dict[str, Any]] = {
    "mig": {"num_train": 500},
    "unsupervised": {"num_train": 500},
    "factor_vae": {"batch_size": 16, "num_train": 100, "num_eval": 50,
                   "num_variance_estimate": 500},
    "beta_vae": {"batch_size": 16, "num_train": 100, "num_eval": 50},
}

FIELDS = [
    "recipe", "seed", "step", "images", "mig", "gap_shape", "gap_scale", "gap_orientation",
    "gap_posX", "gap_posY", "factor_vae", "beta_vae", "reconstruction", "kl", "active_units",
    "train_seconds", "images_per_s", "score_seconds", "model", "hparams", "architecture",
    "batch_size", "lr", "latent_dim", "precision", "dataset", "threads", "cpu", "loadavg",
]


def cpu_name() -> str:
    """The CPU model and its widest vector extension (for reading the wall times)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines()
                 if line.startswith("model name")), "unknown")
    flags = next((line for line in info.splitlines() if line.startswith("flags")), "")
    ext = ("avx512" if " avx512f" in flags else "avx2" if " avx2" in flags else "no-avx2")
    bf16 = "+bf16" if (" avx512_bf16" in flags or " amx_bf16" in flags) else ""
    return f"{name} ({os.cpu_count()} cores, {ext}{bf16})"


def score(trained, dataset, sizes: dict[str, dict[str, Any]]) -> dict[str, float]:
    """The study's scores of one checkpoint (see the module docstring)."""
    results = evaluate(
        dataset, trained.encode, ["mig", "unsupervised", "factor_vae", "beta_vae"],
        seed=0, overrides=sizes, preset="fast", posterior=trained.posterior,
        reconstruction_nll=trained.reconstruction_nll, n_jobs=1,
    )  # fmt: skip
    mig, unsup = results["mig"]["scores"], results["unsupervised"]["scores"]
    row = {"mig": mig["discrete_mig"],
           "factor_vae": results["factor_vae"]["scores"]["eval_accuracy"],
           "beta_vae": results["beta_vae"]["scores"]["eval_accuracy"],
           "reconstruction": unsup.get("reconstruction_nll", float("nan")),
           "kl": unsup.get("kl_total", float("nan")),
           "active_units": unsup.get("active_units", float("nan"))}
    for name in ("shape", "scale", "orientation", "posX", "posY"):
        row[f"gap_{name}"] = mig.get(f"gap_{name}", float("nan"))
    return row


def done_rows(path: Path) -> set[tuple[str, int, int]]:
    if not path.exists():
        return set()
    with path.open(newline="") as f:
        return {(r["recipe"], int(r["seed"]), int(r["images"])) for r in csv.DictReader(f)}


def append_row(path: Path, row: dict[str, Any]) -> None:
    """Append one row (header first if the file is new), flushed and fsynced at once."""
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        if new:
            writer.writeheader()
        writer.writerow({k: row.get(k, "") for k in FIELDS})
        f.flush()
        os.fsync(f.fileno())


def run_recipe(name: str, recipe: Recipe, seed: int, *, dataset, out: Path, workdir: Path,
               sizes: dict, max_images: int | None, done: set,
               only_marks: list[int] | None = None) -> None:
    """Train ``recipe`` with ``seed`` mark by mark, appending one scored row per mark."""
    config = config_for(recipe, dataset.name, seed)
    run_dir = workdir / f"{name}-seed{seed}"
    train_seconds = _previous_train_seconds(out, name, seed)
    for images in recipe.marks:
        if max_images is not None and images > max_images:
            break
        if (name, seed, images) in done or (only_marks and images not in only_marks):
            continue
        step = recipe.steps_at(images)
        started = time.perf_counter()
        trained = train(config, run_dir, progress=False, dataset=dataset, stop_at=step)
        train_seconds += time.perf_counter() - started
        rates = [r["images_per_s"] for r in trained.log if r["step"] > step - _segment(recipe)]
        started = time.perf_counter()
        row = score(trained, dataset, sizes)
        row.update(
            recipe=name, seed=seed, step=trained.step, images=images,
            train_seconds=round(train_seconds, 2),
            images_per_s=round(statistics.median(rates), 1) if rates else "",
            score_seconds=round(time.perf_counter() - started, 2),
            model=recipe.model, hparams=json.dumps(config.hparams, sort_keys=True),
            architecture=recipe.architecture, batch_size=recipe.batch_size, lr=recipe.lr,
            latent_dim=recipe.latent_dim, precision=recipe.precision, dataset=dataset.name,
            threads=torch.get_num_threads(), cpu=cpu_name(),
            loadavg=f"{os.getloadavg()[0]:.1f}",
        )  # fmt: skip
        append_row(out, row)
        print(f"{name} seed {seed} {images:>9,} images: MIG {row['mig']:.3f} "
              f"FactorVAE {row['factor_vae']:.3f} recon {row['reconstruction']:.1f} "
              f"KL {row['kl']:.1f} ({train_seconds:.0f} s training)", flush=True)


def config_for(recipe: Recipe, dataset: str, seed: int) -> TrainConfig:
    return recipe.config(dataset, seed)


def _segment(recipe: Recipe) -> int:
    """Steps between consecutive marks, at most (the images/s window)."""
    steps = [recipe.steps_at(m) for m in recipe.marks]
    return max(b - a for a, b in zip([0, *steps], steps))


def _previous_train_seconds(out: Path, name: str, seed: int) -> float:
    """Cumulative training seconds already recorded for this (recipe, seed), for resume."""
    if not out.exists():
        return 0.0
    with out.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["recipe"] == name and int(r["seed"]) == seed]
    return max((float(r["train_seconds"]) for r in rows), default=0.0)


# ---- reading the CSV ----------------------------------------------------------------------------
def load(path: Path) -> list[dict[str, Any]]:
    with Path(path).open(newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k in ("seed", "step", "images", "batch_size", "latent_dim", "threads"):
            r[k] = int(r[k])
        for k in FIELDS:
            if k not in ("recipe", "model", "hparams", "architecture", "precision", "dataset",
                         "cpu", "seed", "step", "images", "batch_size", "latent_dim",
                         "threads") and r[k] != "":
                r[k] = float(r[k])
    return rows


def summary(rows: list[dict[str, Any]], value: str = "mig") -> dict[str, dict[int, dict]]:
    """``{recipe: {images: {"median", "values", "n"}}}``: the median over seeds at each mark
    (a NaN seed makes the median NaN rather than vanish)."""
    out: dict[str, dict[int, dict]] = {}
    for r in rows:
        out.setdefault(r["recipe"], {}).setdefault(r["images"], {"values": []})
        out[r["recipe"]][r["images"]]["values"].append(float(r[value]))
    for marks in out.values():
        for cell in marks.values():
            vals = cell["values"]
            cell["n"] = len(vals)
            cell["median"] = (float("nan") if any(v != v for v in vals)
                              else float(np.median(vals)))
    return out


def images_to_reach(marks: dict[int, dict], threshold: float) -> int | None:
    """The first mark whose median reaches ``threshold`` (None: not within the marks)."""
    for images in sorted(marks):
        if marks[images]["median"] >= threshold:
            return images
    return None


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """MIG and FactorVAE score against images seen: median over seeds, thin line per seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    recipes = list(dict.fromkeys(r["recipe"] for r in rows))
    colours = plt.cm.tab20(np.linspace(0, 1, max(len(recipes), 2)))
    for value, ax in zip(("mig", "factor_vae", "gap_posX"), axes):
        table = summary(rows, value)
        for recipe, colour in zip(recipes, colours):
            marks = sorted(table[recipe])
            seeds = sorted({r["seed"] for r in rows if r["recipe"] == recipe})
            for seed in seeds:
                pts = sorted((r["images"], float(r[value])) for r in rows
                             if r["recipe"] == recipe and r["seed"] == seed)
                ax.plot(*zip(*pts), color=colour, lw=0.6, alpha=0.4)
            label = f"{recipe} ({len(seeds)} seed{'s' if len(seeds) > 1 else ''})"
            ax.plot(marks, [table[recipe][m]["median"] for m in marks], "o-", color=colour,
                    lw=1.8, ms=3, label=label)
        ax.set_xscale("log")
        ax.set_xlabel("images seen")
        ax.set_title({"mig": "MIG (median over seeds)", "factor_vae": "FactorVAE score",
                      "gap_posX": "MIG gap of posX"}[value])
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=6, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=70)
    plt.close(fig)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """Per recipe: seeds, images to MIG 0.1 / 0.2 / 0.3 (median over seeds), and the medians
    of every score at the last mark all seeds reached."""
    mig = summary(rows, "mig")
    lines = ["| recipe | seeds | images to MIG 0.1 / 0.2 / 0.3 | last mark | MIG | FactorVAE "
             "| β-VAE | gap posX / posY | recon / KL | images/s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for recipe, marks in mig.items():
        n = max(c["n"] for c in marks.values())
        full = [m for m in sorted(marks) if marks[m]["n"] == n]
        last = full[-1]
        reach = " / ".join(_fmt_reach(images_to_reach({m: marks[m] for m in full}, t), last)
                           for t in (0.1, 0.2, 0.3))
        med = {v: summary([r for r in rows if r["recipe"] == recipe], v)[recipe][last]["median"]
               for v in ("mig", "factor_vae", "beta_vae", "gap_posX", "gap_posY",
                         "reconstruction", "kl", "images_per_s")}
        lines.append(
            f"| {recipe} | {n} | {reach} | {last:,} | {med['mig']:.3f} | "
            f"{med['factor_vae']:.2f} | {med['beta_vae']:.2f} | {med['gap_posX']:.2f} / "
            f"{med['gap_posY']:.2f} | {med['reconstruction']:.0f} / {med['kl']:.1f} | "
            f"{med['images_per_s']:.0f} |")
    return "\n".join(lines)


def _fmt_reach(images: int | None, last: int) -> str:
    return f"{images / 1000:g}k" if images is not None else f"not within {last / 1000:g}k"


# ---- tested comparisons ------------------------------------------------------------------------
def parse_arm(text: str) -> tuple[str, int] | tuple[str, int, tuple[int, ...]]:
    """``"mlp-bvae4@512000"`` → ``("mlp-bvae4", 512000)``; a seed range after ``#`` keeps only
    those seeds (e.g. confirmatory seeds apart from screening ones):
    ``"mlp-bvae4@512000#2-7"`` → ``("mlp-bvae4", 512000, (2, 3, 4, 5, 6, 7))``."""
    arm, _, seeds = text.partition("#")
    recipe, _, images = arm.rpartition("@")
    first, _, last = seeds.partition("-")
    if (not recipe or not images.isdigit()
            or (seeds and not (first.isdigit() and (last or first).isdigit()))):
        raise ValueError(f"a comparison arm is RECIPE@IMAGES[#FIRST-LAST], got {text!r}")
    if not seeds:
        return recipe, int(images)
    return recipe, int(images), tuple(range(int(first), int(last or first) + 1))


def compare(rows: list[dict[str, Any]], pairs: list[tuple[tuple[str, int], tuple[str, int]]],
            value: str = "mig") -> list[dict[str, Any]]:
    """For each pair of arms ``(recipe, images)``: the seeds' values, medians, Welch's t-test
    (two-sided) and Holm's step-down adjustment over all pairs (as the report's verdicts do,
    ``report.stats``). An arm with a NaN seed or fewer than 2 seeds gets p = NaN, never a
    verdict."""
    from disentangle_bench.report.stats import holm, welch_test

    def values(arm: tuple) -> np.ndarray:
        seeds = arm[2] if len(arm) > 2 else None
        return np.array([float(r[value]) for r in rows
                         if (r["recipe"], r["images"]) == arm[:2]
                         and (seeds is None or r["seed"] in seeds)], dtype=float)

    results = []
    for a, b in pairs:
        va, vb = values(a), values(b)
        usable = min(len(va), len(vb)) >= 2 and np.isfinite([*va, *vb]).all()
        p = float(welch_test(va[None], vb[None])[2][0]) if usable else math.nan
        results.append({"a": a, "b": b, "values_a": va, "values_b": vb, "p": p,
                        "median_a": float(np.median(va)) if len(va) else math.nan,
                        "median_b": float(np.median(vb)) if len(vb) else math.nan})
    ps = np.array([r["p"] for r in results])
    finite = np.isfinite(ps)
    adjusted = np.full(len(ps), math.nan)
    adjusted[finite] = holm(ps[finite])
    for result, p_holm in zip(results, adjusted):
        result["p_holm"] = float(p_holm)
    return results


def comparison_table(results: list[dict[str, Any]], value: str = "mig") -> str:
    lines = [f"| A | B | {value} A (seeds) | {value} B (seeds) | median A − B | Welch p | Holm p |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(
            f"| {_arm_name(r['a'])} | {_arm_name(r['b'])} | "
            f"{_seed_cell(r['values_a'])} | {_seed_cell(r['values_b'])} | "
            f"{r['median_a'] - r['median_b']:+.3f} | {r['p']:.3g} | {r['p_holm']:.3g} |")
    return "\n".join(lines)


def _arm_name(arm: tuple) -> str:
    seeds = f", seeds {arm[2][0]}–{arm[2][-1]}" if len(arm) > 2 else ""
    return f"{arm[0]} @ {arm[1]:,}{seeds}"


def _seed_cell(values: np.ndarray) -> str:
    return f"{', '.join(f'{v:.3f}' for v in values)} (n = {len(values)})"


# ---- throughput ---------------------------------------------------------------------------------
def throughput(names: list[str], recipes: dict[str, Recipe], dataset, *, rounds: int,
               images: int, bf16: bool) -> None:
    """Training images/s per recipe (and bf16 for each with ``bf16``), medians of ``rounds``
    interleaved rounds of ``images`` images each (a 3-step warm-up not counted)."""
    variants = [(n, "fp32") for n in names] + ([(n, "bf16") for n in names] if bf16 else [])
    rates: dict[tuple[str, str], list[float]] = {v: [] for v in variants}
    for _ in range(rounds):
        for name, precision in variants:
            recipe = recipes[name]
            steps = max(4, images // recipe.batch_size // (8 if precision == "bf16" else 1))
            base = recipe.config(dataset.name, 0).to_dict()
            base.update(precision=precision, steps=3, log_every=3, checkpoint_every=0)
            train(TrainConfig(**base), dataset=dataset, progress=False)
            base.update(steps=steps, log_every=steps)
            started = time.perf_counter()
            train(TrainConfig(**base), dataset=dataset, progress=False)
            rates[(name, precision)].append(steps * recipe.batch_size
                                            / (time.perf_counter() - started))
    print(f"CPU {cpu_name()}, torch threads {torch.get_num_threads()}, "
          f"load average {os.getloadavg()[0]:.1f} at the end")
    for (name, precision), values in rates.items():
        print(f"{name:24s} {precision}: {statistics.median(values):8.0f} images/s "
              f"(rounds: {', '.join(f'{v:.0f}' for v in values)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=("dsprites-procedural", "tiny"),
                        default="dsprites-procedural")
    parser.add_argument("--recipes", nargs="+", help="default: every recipe of the dataset")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--max-images", type=int, help="stop each run at the last mark <= this")
    parser.add_argument("--only-marks", nargs="+", type=int, metavar="IMAGES",
                        help="score only these of the recipes' marks (scoring costs about as "
                             "much as training between marks on a loaded machine)")
    parser.add_argument("--out", type=Path, default=Path("learning_curves.csv"))
    parser.add_argument("--plot", type=Path, help="write the curves PNG here (from the CSV)")
    parser.add_argument("--plot-recipes", nargs="+", metavar="NAME",
                        help="draw only these recipes (default: every recipe in the CSV)")
    parser.add_argument("--table", action="store_true", help="print the summary table")
    parser.add_argument("--compare", nargs="+", metavar="A@IMAGES[#SEEDS]:B@IMAGES[#SEEDS]",
                        help="with rows in --out: Welch's t over seeds for each pair of arms, "
                             "Holm-adjusted over the pairs (trains nothing)")
    parser.add_argument("--value", default="mig", help="the score --compare tests")
    parser.add_argument("--workdir", type=Path, help="checkpoints (default: a temporary dir)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--throughput", action="store_true",
                        help="measure training images/s per recipe instead")
    parser.add_argument("--bf16", action="store_true", help="with --throughput: bf16 as well")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--images", type=int, default=25_600,
                        help="with --throughput: images per timed round")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    tiny = args.dataset == "tiny"
    recipes = TINY_RECIPES if tiny else RECIPES
    names = args.recipes or list(recipes)
    unknown = [n for n in names if n not in recipes]
    if unknown:
        parser.error(f"unknown recipe(s) {', '.join(unknown)}; known: {', '.join(recipes)}")
    if args.compare:
        pairs = []
        for text in args.compare:
            a, sep, b = text.partition(":")
            if not sep:
                parser.error(f"--compare takes A@IMAGES:B@IMAGES, got {text!r}")
            pairs.append((parse_arm(a), parse_arm(b)))
        print(comparison_table(compare(load(args.out), pairs, args.value), args.value))
        return 0
    dataset = get_dataset(args.dataset)
    if args.throughput:
        throughput(names, recipes, dataset, rounds=args.rounds, images=args.images,
                   bf16=args.bf16)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        for name in names:
            for seed in args.seeds:
                run_recipe(name, recipes[name], seed, dataset=dataset, out=args.out,
                           workdir=workdir, sizes=TINY_SIZES if tiny else SIZES,
                           max_images=args.max_images, done=done_rows(args.out),
                           only_marks=args.only_marks)
    rows = load(args.out)
    if args.plot:
        plot([r for r in rows if not args.plot_recipes or r["recipe"] in args.plot_recipes],
             args.plot)
    if args.table:
        print(markdown_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
