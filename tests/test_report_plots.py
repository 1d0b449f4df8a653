"""Figures and report documents, drawn from a hand-written store (no training needed)."""

from __future__ import annotations

import base64
import re

import numpy as np
from test_sweep_store import make_store

from disentangle_bench.report import write_report
from disentangle_bench.report.plots import curve_points, model_display, mosaic, swept_params
from disentangle_bench.sweep import EvalSpec, RunStore, load_results

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_every_figure_is_written_as_png(report):
    root, paths = report
    names = sorted(p.name for _, p in paths.figures)
    assert names == sorted(["metrics_vs_beta.png", "metrics_by_model.png", "kl_per_dim.png",
                            "rank_correlations.png",
                            "training_curves.png",
                            "reconstructions.png", "traversals_ae.png", "traversals_vae.png",
                            "traversals_beta_vae-beta-2.png", "traversals_beta_vae-beta-4.png"])
    for _, path in paths.figures:
        assert path.parent == root / "plots"
        assert path.read_bytes()[:8] == PNG_MAGIC
    assert not list((root / "plots").glob(".tmp-*"))


def test_html_is_self_contained_with_every_figure_embedded(report):
    root, paths = report
    text = paths.html.read_text()
    embedded = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", text)
    assert len(embedded) == len(paths.figures)
    for data, (_, path) in zip(embedded, paths.figures):
        assert base64.b64decode(data) == path.read_bytes()
    assert not re.search(r"(src|href)=['\"](?!data:)", text)  # nothing to fetch
    assert "preset smoke: test" in text  # the budget line from sweep.json
    assert "RuntimeError: loss is NaN at step 7" in text  # the failed run and why
    assert "0.105 [0.041, 0.169] (2)" in text  # VAE MIG over seeds 0, 1: 0.10, 0.11 (t, 1 df)


def test_markdown_links_the_pngs_and_holds_the_table(report):
    root, paths = report
    text = paths.markdown.read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert sorted(links) == sorted(str(p.relative_to(root)) for _, p in paths.figures)
    assert "| mig.discrete_mig | 0.055 [-0.009, 0.119] (2) | 0.105 [0.041, 0.169] (2) |" in text
    assert (root / "summary.md").read_text() in text


def test_the_vae_lies_on_the_beta_vae_curve_at_beta_1(tmp_path):
    make_store(tmp_path)
    results = load_results(tmp_path)
    points = curve_points(results, "beta")
    assert set(points["curve"]) == {"beta_vae"}
    assert sorted(points.loc[points["model"] == "vae", "x"]) == [1.0, 1.0]
    assert sorted(points["x"].unique()) == [1.0, 2.0, 4.0]  # the failed β = 8 is not a point
    assert "ae" not in set(points["model"])  # the AE is drawn as a reference line
    assert swept_params(results) == ["beta"]


def test_mosaic_places_tiles_with_separators():
    images = np.zeros((2, 3, 1, 4, 5), np.uint8)
    images[1, 2] = 255
    canvas = mosaic(images, gap=1, fill=0.5)
    assert canvas.shape == (2 * 4 + 1, 3 * 5 + 2)
    assert np.all(canvas[5:9, 12:17] == 1.0)  # the white tile at row 1, column 2
    assert np.all(canvas[4, :] == 0.5) and np.all(canvas[:, 5] == 0.5)  # separators
    assert canvas[:4, :5].max() == 0.0


def test_model_display_names():
    assert model_display("beta_vae(beta=4)") == "β-VAE (β=4)"
    assert model_display("dip_vae_i(lambda_d=100, lambda_od=10)") == "DIP-VAE-I (λ_d=100, λ_od=10)"
    assert model_display("ae") == "AE"


def test_latents_are_named_by_the_factor_they_carry_most():
    from disentangle_bench.report.latents import name_latents

    record = {"values": [[0.0, 1.2, 0.1], [0.6, 0.0, 0.2], [0.01, 0.01, 0.0]],
              "factors": [1, 2, 3], "factor_names": ["size", "posX", "posY"],
              "entropy": [2.0, 2.0, 1.0]}
    names = [str(n) for n in name_latents(record)]
    # shares: z0 = (0, .6, .1), z1 = (.3, 0, .2), z2 = (.005, .005, 0)
    assert names == ["z0 → posX (MI 0.60, gap 0.50)", "z1 → size (MI 0.30, gap 0.10)",
                     "z2 → none (MI 0.01)"]


def test_report_shows_the_matrices_and_names_the_latents(tmp_path):
    from disentangle_bench.atomic import read_json, write_json_atomic

    make_store(tmp_path)
    mi = {"values": [[1.3, 0.0], [0.1, 0.7], [0.0, 0.0], [0.0, 0.0]], "factors": [2, 3],
          "factor_names": ["posX", "posY"], "entropy": [1.3, 1.4], "meaning": "nats"}
    importance = {**mi, "values": [[0.9, 0.1], [0.1, 0.9], [0.0, 0.0], [0.0, 0.0]]}
    store = RunStore(tmp_path)
    for path in tmp_path.glob("models/*/evals/mig-*.json"):
        record = read_json(path)
        record["result"]["matrices"] = {"mutual_information": mi}
        write_json_atomic(path, record)
        store.write_eval(record["model_id"], EvalSpec.of("dci", {}, 0),
                         {"scores": {}, "matrices": {"dci_importance": importance}}, {})
    paths = write_report(tmp_path)
    names = {p.name for _, p in paths.figures}
    assert {"matrices_vae.png", "matrices_beta_vae-beta-4.png"} <= names
    text = paths.markdown.read_text()
    assert "| vae | 0 | z0 → posX (MI 1.00, gap 1.00); z1 → posY (MI 0.50, gap 0.42); " \
           "z2 → none (MI 0.00); z3 → none (MI 0.00) |" in text
    assert "Latent traversals: VAE (seed 0); each latent named by the factor it carries most" \
        in text
