"""Write a sweep's tables, figures, ``report.html`` (self-contained) and ``report.md``.

Everything is read from the results store (``sweep.load_results`` plus each model's
``artifacts.npz`` and ``train_log.csv``): a report can be rebuilt on any machine from the
directory alone, without torch or the trained models.

Output, in the results directory: ``results.csv`` (one row per model and evaluation seed),
``summary.csv`` and ``summary.md`` (mean [95 % interval] (n) over training seeds, with the spread
over evaluation seeds), ``plots/*.png``, ``report.html`` (images embedded as base64, readable
offline), ``report.md`` (links the PNGs, for GitHub).
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..atomic import write_text_atomic
from ..sweep.results import load_results, model_means
from ..sweep.run import ACTIVE_UNIT_THRESHOLD
from ..sweep.store import ARTIFACTS, EVAL_LOG, TRAIN_LOG, RunStore
from . import plots
from .claims import claims_html, claims_markdown, write_claims
from .findings import FINDINGS_HEADING, beta_runs, findings_lines, tested_runs
from .latents import name_latents
from .locatello import (
    MIN_PAIRED_RUNS,
    rank_correlations,
    variance_decomposition,
    variance_markdown,
)
from .tables import (
    evaluation_noise,
    headline_markdown,
    markdown_table,
    summary_table,
    table_notes,
    text_table,
    value_columns,
)
from .udr import udr_markdown

UDR_HEADING = "UDR: unsupervised model selection (agreement between seeds)"
RESULTS_HEADING = "All scores: mean [95 % interval] (n) over training seeds"
HEADLINE_HEADING = "Headline scores: mean [95 % interval] (n) over training seeds"
NO_FINDINGS = ("No pre-declared comparison applies to this sweep: the findings compare "
               "β-VAEs with the VAE (β = 1) of a β sweep such as `--betas 1 2 4 8`.")


@dataclass
class ReportPaths:
    root: Path
    results_csv: Path
    summary_csv: Path
    summary_md: Path
    table_text: str
    html: Path | None = None
    markdown: Path | None = None
    figures: list[tuple[str, Path]] = field(default_factory=list)
    #: One line per model / evaluation seed left out, with the reason (corrupt files included).
    problems: list[str] = field(default_factory=list)
    #: The findings section's lines (:func:`finding_lines`), computed once per report.
    findings: list[str] = field(default_factory=list)


def _selected_runs(store: RunStore, all_runs: bool) -> list[str] | None:
    manifest = store.read_sweep()
    if all_runs or not manifest or not manifest.get("run_ids"):
        return None
    return [r for r in manifest["run_ids"] if (store.model_dir(r) / "config.json").is_file()]


def write_tables(root: Path | str, *, all_runs: bool = False,
                 dest: Path | str | None = None) -> ReportPaths:
    """results.csv, summary.csv and summary.md for the last sweep's runs (or every run), in the
    results directory ``root`` or in ``dest`` (e.g. when ``root`` is read-only)."""
    store = RunStore(root)
    out = store.root if dest is None else Path(dest)
    results = load_results(root, _selected_runs(store, all_runs))
    summary = summary_table(results)
    results_csv = write_text_atomic(out / "results.csv", results.to_csv(index=False))
    summary_csv = write_text_atomic(out / "summary.csv", summary.to_csv(index=False))
    command = (store.read_sweep() or {}).get("command")
    summary_md = write_text_atomic(out / "summary.md", markdown_table(summary, command))
    found = finding_lines(results)
    text = "\n".join([text_table(summary, plots.model_display), "", f"{FINDINGS_HEADING}:",
                      *found, f"(every score: {summary_md.name}; the report has them all)"])
    return ReportPaths(out, results_csv, summary_csv, summary_md, text,
                       problems=problem_lines(results), findings=found)


def finding_lines(results: pd.DataFrame) -> list[str]:
    """The findings section's lines: one per pre-declared comparison, or why there is none."""
    runs = beta_runs(results)
    if runs.empty:
        return [NO_FINDINGS]
    return findings_lines(tested_runs(runs))


def problem_lines(results: pd.DataFrame) -> list[str]:
    """``<model id>: <reason>`` for every row that is not finished, each reason once."""
    lines: list[str] = []
    for _, row in results[results["status"] != "finished"].iterrows():
        line = f"{row['run_id']}: {row.get('error') or row['status']}"
        if line not in lines:
            lines.append(line)
    return lines


def write_report(root: Path | str, *, all_runs: bool = False,
                 dest: Path | str | None = None) -> ReportPaths:
    """Tables, figures, report.html and report.md (see the module docstring), in the results
    directory ``root`` or in ``dest``."""
    store = RunStore(root)
    paths = write_tables(root, all_runs=all_runs, dest=dest)
    results = load_results(root, _selected_runs(store, all_runs))
    summary = summary_table(results)
    paths.figures = make_figures(store, model_means(results), summary, dest=paths.root)
    # claims_values.csv, claims_trends.csv, claims.md; compared once, shown in both documents
    values, trends, _ = write_claims(store.root, results, dest=paths.root)
    claims = {"markdown": claims_markdown(values, trends), "html": claims_html(values, trends)}
    manifest = store.read_sweep() or {}
    paths.html = write_text_atomic(
        paths.root / "report.html",
        render_html(store, results, summary, paths, manifest, claims["html"]))
    paths.markdown = write_text_atomic(
        paths.root / "report.md",
        render_markdown(store, results, summary, paths, manifest, claims["markdown"]))
    return paths


# --- figures ----------------------------------------------------------------------------------
def _load_artifacts(store: RunStore, run_id: str) -> dict[str, np.ndarray] | None:
    path = store.model_dir(run_id) / ARTIFACTS
    try:
        with np.load(path) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError):
        return None


def _load_log(store: RunStore, run_id: str, name: str = TRAIN_LOG) -> pd.DataFrame | None:
    try:
        return pd.read_csv(store.model_dir(run_id) / name)
    except (OSError, ValueError, pd.errors.EmptyDataError):
        return None


def _slug(text: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in text)
    return "-".join(part for part in keep.split("-") if part).strip(".")


def make_figures(store: RunStore, results: pd.DataFrame, summary: pd.DataFrame, *,
                 dest: Path | None = None) -> list[tuple[str, Path]]:
    """Draw every figure into ``root/plots`` (or ``dest/plots``); returns (caption, path)
    pairs in report order."""
    figures: list[tuple[str, Path]] = []
    done = results[results["status"] == "finished"]
    if done.empty:
        return figures
    plot_dir = (store.root if dest is None else Path(dest)) / "plots"
    colors = plots.palette(summary)
    labels = list(summary["label"])
    first_run = {label: done[done["label"] == label].sort_values("seed")["run_id"].iloc[0]
                 for label in labels if (done["label"] == label).any()}
    columns = value_columns(results)

    for param in plots.swept_params(results):
        path = plots.plot_metric_vs_param(results, param, columns,
                                          plot_dir / f"metrics_vs_{param}.png", colors=colors)
        figures.append((f"Scores vs {plots.PRETTY.get(param, param)} (mean, 95 % t-interval "
                        "over seeds, every seed a point)", path))
    path = plots.plot_metric_strips(results, columns, labels, plot_dir / "metrics_by_model.png",
                                    colors=colors)
    figures.append(("Every score per model: each seed a point, mean and 95 % t-interval", path))

    headline = plots.plotted_columns(columns)
    correlations = rank_correlations(results, headline)
    if len(done) >= MIN_PAIRED_RUNS and correlations.notna().to_numpy().sum() > len(headline):
        path = plots.plot_rank_correlations(correlations, plot_dir / "rank_correlations.png")
        figures.append(("Rank correlation between scores over all runs (Locatello et al. "
                        "2019, Sec. 5.2)", path))

    artifacts = {run_id: _load_artifacts(store, run_id) for run_id in done["run_id"]}
    kl_by_group = {label: [artifacts[r]["kl_per_dim"] for r in done[done["label"] == label]
                           ["run_id"] if artifacts.get(r) is not None
                           and bool(artifacts[r]["prior_range"])]  # the AE has no KL
                   for label in first_run}
    kl_by_group = {k: v for k, v in kl_by_group.items() if v}
    if kl_by_group:
        path = plots.plot_kl_per_dim(kl_by_group, plot_dir / "kl_per_dim.png", colors=colors,
                                     active_threshold=ACTIVE_UNIT_THRESHOLD)
        figures.append(("KL per latent dimension (sorted)", path))

    along = {label: [log for r in done[done["label"] == label]["run_id"]
                     if (log := _load_log(store, r, EVAL_LOG)) is not None]
             for label in first_run}
    along = {k: v for k, v in along.items() if v}
    if along:
        series = [c for c in ("mig.discrete_mig", "factor_vae.eval_accuracy", "kl",
                              "reconstruction") if any(c in log for v in along.values()
                                                       for log in v)]
        path = plots.plot_training_curves(along, plot_dir / "metrics_along_training.png",
                                          colors=colors, series=series)
        figures.append(("Scores along training (--eval-every; cheap subset: MIG on 1,000 "
                        "points, FactorVAE score on 300/150 votes, KL and reconstruction on "
                        "500 images; mean over seeds, min–max band)", path))

    logs = {label: [log for r in done[done["label"] == label]["run_id"]
                    if (log := _load_log(store, r)) is not None] for label in first_run}
    logs = {k: v for k, v in logs.items() if v}
    if logs:
        path = plots.plot_training_curves(logs, plot_dir / "training_curves.png", colors=colors)
        figures.append(("Training curves", path))

    recon = {label: artifacts[run_id] for label, run_id in first_run.items()
             if artifacts.get(run_id) is not None}
    if recon:
        inputs = next(iter(recon.values()))["inputs"]
        same = {k: a["reconstructions"] for k, a in recon.items()
                if a["inputs"].shape == inputs.shape and np.array_equal(a["inputs"], inputs)}
        path = plots.plot_reconstructions(inputs, same, plot_dir / "reconstructions.png")
        figures.append(("Reconstructions (first seed of each model)", path))

    for label, run_id in first_run.items():
        seed = done.loc[done["run_id"] == run_id, "seed"].iloc[0]
        if is_nan(seed):  # an external encoder: no decoder, so no traversals
            continue
        seed = int(seed)
        title = f"{plots.model_display(label)}, seed {seed}"
        matrices = run_matrices(store, run_id)
        names = ({n.latent: str(n) for n in name_latents(matrices["mutual_information"])}
                 if "mutual_information" in matrices else None)
        if artifacts.get(run_id) is not None:
            path = plots.plot_traversals(artifacts[run_id], title,
                                         plot_dir / f"traversals_{_slug(label)}.png",
                                         active_threshold=ACTIVE_UNIT_THRESHOLD,
                                         latent_names=names)
            figures.append((f"Latent traversals: {plots.model_display(label)} (seed {seed})"
                            + ("; each latent named by the factor it carries most" if names
                               else ""), path))
        if matrices:
            path = plots.plot_matrices(matrices, f"{title}: latents × factors",
                                       plot_dir / f"matrices_{_slug(label)}.png")
            figures.append((f"Matrices behind MIG, DCI and SAP: {plots.model_display(label)} "
                            f"(seed {seed})", path))
    return figures


def run_matrices(store: RunStore, run_id: str) -> dict[str, dict]:
    """The matrices a finished model's evaluations stored (``mutual_information``,
    ``dci_importance``, ``sap_scores``) at its first evaluation seed, by name; empty when
    none."""
    records, _ = store.list_evals(run_id)
    first_seed = min((r["eval_seed"] for r in records), default=None)
    found: dict[str, dict] = {}
    for record in records:  # the first evaluation seed's
        result = record["result"]
        if record["eval_seed"] == first_seed and isinstance(result.get("matrices"), dict):
            found.update(result["matrices"])
    return found


def latent_table(store: RunStore, results: pd.DataFrame) -> list[tuple[str, int, str]]:
    """(model label, seed, "z0 → posX (MI …, gap …); z1 → …") for the first seed of each
    model configuration whose MIG stored its mutual-information matrix."""
    done = results[results["status"] == "finished"]
    rows = []
    for label in dict.fromkeys(done["label"]):
        first = done[done["label"] == label].sort_values("seed").iloc[0]
        if is_nan(first["seed"]):
            continue
        matrices = run_matrices(store, first["run_id"])
        if "mutual_information" in matrices:
            names = name_latents(matrices["mutual_information"])
            rows.append((str(label), int(first["seed"]), "; ".join(str(n) for n in names)))
    return rows


# --- documents --------------------------------------------------------------------------------
def _evaluation(store: RunStore, results: pd.DataFrame) -> dict[str, Any]:
    """The evaluation set shown: the manifest's, else what the first model has stored."""
    evaluation = (store.read_sweep() or {}).get("evaluation")
    if evaluation:
        return evaluation
    protocol: dict[str, Any] = {}
    seeds: list[int] = []
    for run_id in results["run_id"].unique()[:1]:
        for record in store.list_evals(run_id)[0]:
            protocol.setdefault(record["metric"], record["protocol"])
            seeds += [] if record["eval_seed"] in seeds else [record["eval_seed"]]
    return {"protocol": protocol, "eval_seeds": sorted(seeds)}


def _config_rows(results: pd.DataFrame, store: RunStore) -> list[tuple[str, str]]:
    """Config fields shared by every run (the per-run ones are in the tables)."""
    if results.empty:
        return []
    config = next((c for r in results["run_id"].unique()
                   if (c := store.read_config(r)) and c.get("train")), {})
    train = config.get("train", {})
    evaluation = _evaluation(store, results)
    rows = []
    for key in ("dataset", "architecture", "latent_dim", "steps", "batch_size", "lr",
                "precision", "device"):
        if key in train and (key not in results or results[key].astype(str).nunique() <= 1):
            rows.append((key, str(train[key])))
    seeds = sorted(s for s in results["seed"].unique() if not is_nan(s))
    rows.append(("seeds", " ".join(str(s) for s in seeds)))
    rows.append(("metrics", ", ".join(evaluation.get("protocol", {}))))
    rows.append(("evaluation seeds", " ".join(str(s) for s in evaluation.get("eval_seeds", []))))
    rows.append(("package version", str(config.get("version"))))
    return rows


def _protocol_rows(results: pd.DataFrame, store: RunStore) -> list[tuple[str, str]]:
    if results.empty:
        return []
    rows = [(name, ", ".join(f"{k}={v}" for k, v in sorted(params.items())))
            for name, params in _evaluation(store, results).get("protocol", {}).items()]
    udr = (store.read_sweep() or {}).get("udr") or {}
    if udr.get("evaluations"):  # computed per configuration group (sweep/udr.py)
        params = {**udr.get("protocol", {}), "eval_seed": udr.get("eval_seed")}
        rows.append(("udr (per configuration, seeds as the group)",
                     ", ".join(f"{k}={v}" for k, v in sorted(params.items()))))
    return rows


def _failures(results: pd.DataFrame) -> list[tuple[str, str, str]]:
    bad = results[results["status"] != "finished"]
    rows = [(str(r["label"]), str(r["run_id"]), str(r["error"] or r["status"]))
            for _, r in bad.iterrows()]
    return list(dict.fromkeys(rows))


def _environment(store: RunStore, results: pd.DataFrame) -> str:
    done = results[results["status"] == "finished"]
    if done.empty:
        return ""
    env = store.read_environment(done["run_id"].iloc[0])
    keys = ("disentangle_bench", "python", "torch", "numpy", "scikit-learn", "platform")
    return ", ".join(f"{k} {env[k]}" for k in keys if k in env)


def _timing(results: pd.DataFrame) -> str:
    done = results[results["status"] == "finished"]
    if done.empty or "seconds" not in done:
        return ""
    metrics = pd.to_numeric(done.get("metrics_seconds"), errors="coerce").sum()
    train = pd.to_numeric(done.drop_duplicates("run_id").get("train_seconds"),
                          errors="coerce").sum()
    models = done["run_id"].nunique()
    return (f"{models} finished model{'s' if models != 1 else ''}, {len(done)} scored "
            f"(model, evaluation seed) rows; compute time {(train + metrics) / 60:.1f} min "
            f"(training {train / 60:.1f} min), as recorded at run time")


def _undefined(results: pd.DataFrame) -> list[tuple[str, str, str, str]]:
    """(label, seed, metric, reason) of every finished run with an undefined (NaN) score."""
    done = results[results["status"] == "finished"] if "status" in results else results
    rows = []
    for column in (c for c in done.columns if c.endswith(".reason")):
        for _, run in done[done[column].notna()].iterrows():
            rows.append((str(run["label"]), str(run["seed"]), column.removesuffix(".reason"),
                         str(run[column])))
    return rows


def _md_inline_to_html(text: str) -> str:
    """The table notes' Markdown (``**bold**``, ```code```) as escaped HTML."""
    import re

    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def _image_data(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


LATENT_NOTE = ("Each latent z_j is named by the factor v_k with the largest share of its entropy "
               "carried, I(z_j; v_k) / H(v_k) from MIG's 20-bin estimator (MI), and the gap to the "
               "latent's second-largest share; 'none' below 0.05. First seed of each model.")

NOISE_NOTE = ("Per run, MIG's evaluation sample is bootstrapped (200 resamples of its rows, "
              "bins fixed; results.csv: mig.discrete_mig@lo / @hi): the median half-width of "
              "those 95 % intervals is the noise of one evaluation, to set against the spread "
              "between training seeds. DCI, SAP and explicitness refit classifiers per "
              "resample and are not bootstrapped (too slow for the default sweep).")


VARIANCE_NOTE = ("Share of each score's variance across the finished runs explained by the "
                 "objective (model), by its hyperparameters (configurations within a model) and "
                 "by the seed (runs of one configuration): nested sums of squares, summing to "
                 "100 % (Locatello et al. 2019, Sec. 5.3). With one seed per configuration the "
                 "seed share is 0 by construction, not a finding.")


def _md_table_to_html(text: str) -> str:
    """A pipe table (header, rule, rows) as an HTML table."""
    rows = [line.strip("|").split("|") for line in text.splitlines() if line.startswith("|")]
    if len(rows) < 2:
        return f"<p>{html.escape(text)}</p>"
    head = "".join(f"<th>{html.escape(c.strip())}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c.strip())}</td>" for c in row) + "</tr>"
                   for row in rows[2:])
    return f"<table><tr>{head}</tr>{body}</table>"


CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em}
h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}
td,th{border:1px solid #ddd;padding:.25em .55em;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
.budget{background:#fff6d6;border:1px solid #e6cf7a;padding:.6em .9em;border-radius:4px}
.fail{color:#a40000}.verdict-consistent,.verdict-holds{color:#05612a}
.verdict-higher,.verdict-lower,.verdict-does-not-hold{color:#a40000}
.verdict-not-comparable,.verdict-not-enough-data,.verdict-inconclusive{color:#777}
table.claims td{text-align:left}figure{margin:1.2em 0}figure img{max-width:100%}
figcaption{font-size:.9em;color:#555;margin-top:.3em}code{font-size:.9em}
"""


def render_html(store: RunStore, results: pd.DataFrame, summary: pd.DataFrame,
                paths: ReportPaths, manifest: dict[str, Any], claims: str = "") -> str:
    """The self-contained report.html."""
    esc = html.escape
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'>",
             "<title>disentangle-bench report</title>", f"<style>{CSS}</style></head><body>",
             "<h1>disentangle-bench report</h1>"]
    if manifest.get("command"):
        parts.append(f"<p><code>{esc(manifest['command'])}</code></p>")
    if manifest.get("budget"):
        parts.append(f"<p class='budget'>{esc(manifest['budget'])}</p>")
    parts.append(f"<p>{esc(_timing(results))}</p>")
    failures = _failures(results)
    if failures:
        parts.append("<h2>Runs that did not finish</h2><ul>")
        parts += [f"<li class='fail'>{esc(label)} <code>{esc(rid)}</code>: {esc(err)}</li>"
                  for label, rid, err in failures]
        parts.append("</ul>")
    parts.append(f"<h2>{esc(FINDINGS_HEADING)}</h2><ul class='findings'>")
    parts += [f"<li>{_md_inline_to_html(line)}</li>" for line in paths.findings]
    parts.append(f"</ul><h2>{esc(HEADLINE_HEADING)}</h2>")
    parts.append(_md_table_to_html(headline_markdown(summary, plots.model_display)))
    parts.append(f"<h2>{RESULTS_HEADING}</h2>")
    table = _display(summary)
    parts.append(table.to_html(escape=True, border=0) if not table.empty else "<p>no runs</p>")
    parts += [f"<p>{_md_inline_to_html(note)}</p>"
              for note in table_notes(summary, manifest.get("command"))]
    undefined = _undefined(results)
    if undefined:
        parts.append("<h3>Undefined scores</h3><ul>")
        parts += [f"<li>{esc(label)}, seed {esc(seed)}: {esc(metric)}: {esc(reason)}</li>"
                  for label, seed, metric, reason in undefined]
        parts.append("</ul>")
    parts.append("<p>reconstruction: Bernoulli negative log-likelihood of held-out images "
                 "(nats per image); kl: total KL of the posterior to the prior (nats); active "
                 f"units: latents with mean KL above {ACTIVE_UNIT_THRESHOLD} nats. Per-run values: "
                 "<code>results.csv</code>.</p>")
    parts.append("<h2>Figures</h2>")
    for caption, path in paths.figures:
        parts.append(f"<figure><img alt='{esc(caption)}' src='data:image/png;base64,"
                     f"{_image_data(path)}'><figcaption>{esc(caption)}</figcaption></figure>")
    noise = evaluation_noise(results)
    if not noise.empty:
        parts.append(f"<h3>Evaluation noise vs seed noise</h3><p>{esc(NOISE_NOTE)}</p>")
        parts.append(noise.to_html(index=False, border=0, float_format="{:.3g}".format))
    variance = variance_decomposition(results, plots.plotted_columns(value_columns(results)))
    if not variance.empty and (results["status"] == "finished").sum() >= 2:
        parts.append("<h2>What moves the scores: objective, hyperparameters, seed</h2><p>"
                     + esc(VARIANCE_NOTE) + "</p>")
        parts.append(_md_table_to_html(variance_markdown(variance)))
    parts.append(f"<h2>{UDR_HEADING}</h2>")
    for block in udr_markdown(results).split("\n\n"):
        parts.append(_md_table_to_html(block) if block.startswith("|")
                     else f"<p>{_md_inline_to_html(block)}</p>")
    latents = latent_table(store, results)
    if latents:
        parts.append("<h2>Latents named by the factor they carry</h2><p>" + esc(LATENT_NOTE)
                     + "</p><table><tr><th>model</th><th>seed</th><th>latents</th></tr>")
        parts += [f"<tr><td>{esc(plots.model_display(label))}</td><td>{seed}</td>"
                  f"<td style='text-align:left'>{esc(names)}</td></tr>"
                  for label, seed, names in latents]
        parts.append("</table>")
    parts.append(claims)
    parts.append("<h2>Configuration</h2><table>")
    parts += [f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>"
              for k, v in _config_rows(results, store)]
    parts.append("</table><h2>Metric protocols</h2><table>")
    parts += [f"<tr><th>{esc(k)}</th><td style='text-align:left'>{esc(v)}</td></tr>"
              for k, v in _protocol_rows(results, store)]
    parts.append("</table>")
    environment = _environment(store, results)
    if environment:
        parts.append(f"<p>Environment: {esc(environment)}</p>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _display(summary: pd.DataFrame) -> pd.DataFrame:
    from .tables import display_table

    frame = display_table(summary)
    frame.columns = [plots.model_display(c) for c in frame.columns]
    return frame


def render_markdown(store: RunStore, results: pd.DataFrame, summary: pd.DataFrame,
                    paths: ReportPaths, manifest: dict[str, Any], claims: str = "") -> str:
    """report.md: the same content, images linked from ``plots/``."""
    lines = ["# disentangle-bench report", ""]
    if manifest.get("command"):
        lines += [f"`{manifest['command']}`", ""]
    if manifest.get("budget"):
        lines += [f"> {manifest['budget']}", ""]
    timing = _timing(results)
    if timing:
        lines += [timing, ""]
    failures = _failures(results)
    if failures:
        lines += ["## Runs that did not finish", ""]
        lines += [f"- **{label}** `{rid}`: {err}" for label, rid, err in failures]
        lines.append("")
    lines += [f"## {FINDINGS_HEADING}", ""]
    lines += [f"- {line}" for line in paths.findings]
    lines += ["", f"## {HEADLINE_HEADING}", "", headline_markdown(summary, plots.model_display)]
    lines += [f"## {RESULTS_HEADING}", "",
              markdown_table(summary, manifest.get("command"))]
    undefined = _undefined(results)
    if undefined:
        lines += ["### Undefined scores", ""]
        lines += [f"- {label}, seed {seed}: {metric}: {reason}"
                  for label, seed, metric, reason in undefined]
        lines.append("")
    lines += ["## Figures", ""]
    for caption, path in paths.figures:
        lines += [f"### {caption}", "", f"![{caption}]({path.relative_to(paths.root)})", ""]
    noise = evaluation_noise(results)
    if not noise.empty:
        lines += ["### Evaluation noise vs seed noise", "", NOISE_NOTE, "",
                  "| " + " | ".join(noise.columns) + " |",
                  "|---|" + "---:|" * (len(noise.columns) - 1)]
        lines += ["| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v)
                                    for v in row) + " |"
                  for row in noise.itertuples(index=False)]
        lines.append("")
    variance = variance_decomposition(results, plots.plotted_columns(value_columns(results)))
    if not variance.empty and (results["status"] == "finished").sum() >= 2:
        lines += ["## What moves the scores: objective, hyperparameters, seed", "",
                  VARIANCE_NOTE, "", variance_markdown(variance), ""]
    lines += [f"## {UDR_HEADING}", "", udr_markdown(results), ""]
    latents = latent_table(store, results)
    if latents:
        lines += ["## Latents named by the factor they carry", "", LATENT_NOTE, "",
                  "| model | seed | latents |", "|---|---|---|"]
        lines += [f"| {label} | {seed} | {names} |" for label, seed, names in latents]
        lines.append("")
    lines += [claims, ""]
    lines += ["## Configuration", "", "| field | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in _config_rows(results, store)]
    lines += ["", "## Metric protocols", "", "| metric | protocol |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in _protocol_rows(results, store)]
    environment = _environment(store, results)
    if environment:
        lines += ["", f"Environment: {environment}"]
    return "\n".join(lines) + "\n"


def is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)
