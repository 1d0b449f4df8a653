"""benchmarks/learning_curves.py end to end on the tiny dataset: one CSV row per
(recipe, seed, mark), the marks' scores are those of one uninterrupted run, re-runs resume."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "learning_curves.py"


@pytest.fixture(scope="module")
def lc():
    spec = importlib.util.spec_from_file_location("learning_curves", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["learning_curves"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    yield
    torch.set_num_threads(previous)


def test_tiny_study_writes_one_row_per_recipe_seed_mark(lc, tmp_path):
    out, png = tmp_path / "curves.csv", tmp_path / "curves.png"
    args = ["--dataset", "tiny", "--seeds", "0", "1", "--out", str(out), "--plot", str(png),
            "--workdir", str(tmp_path / "work")]
    assert lc.main(args) == 0
    rows = lc.load(out)
    expected = {(name, seed, mark) for name, recipe in lc.TINY_RECIPES.items()
                for seed in (0, 1) for mark in recipe.marks}
    keys = [(r["recipe"], r["seed"], r["images"]) for r in rows]
    assert sorted(keys) == sorted(expected)  # each exactly once
    for r in rows:
        recipe = lc.TINY_RECIPES[r["recipe"]]
        assert r["step"] == recipe.steps_at(r["images"])
        assert 0 <= r["mig"] <= 1 and 0 <= r["factor_vae"] <= 1
        assert math.isfinite(r["reconstruction"]) and r["kl"] >= 0
        assert r["train_seconds"] > 0 and r["images_per_s"] > 0
    # cumulative training time grows along a run
    for name in lc.TINY_RECIPES:
        times = [r["train_seconds"] for r in sorted(rows, key=lambda r: r["images"])
                 if r["recipe"] == name and r["seed"] == 0]
        assert times == sorted(times)
    assert png.stat().st_size > 1000
    # a re-run finds every row done and appends nothing
    before = out.read_text()
    assert lc.main(args) == 0
    assert out.read_text() == before


def test_marks_are_points_of_one_uninterrupted_run(lc, tmp_path):
    """Scoring at a mark (train with stop_at, then resume) leaves the final model bitwise equal
    to one uninterrupted run: the curve's last point is the full run's score."""
    recipe = lc.TINY_RECIPES["tiny-bvae4"]
    out = tmp_path / "curves.csv"
    lc.main(["--dataset", "tiny", "--recipes", "tiny-bvae4", "--seeds", "0", "--out", str(out),
             "--workdir", str(tmp_path / "work")])
    from disentangle_bench.data import get_dataset
    from disentangle_bench.training import train

    dataset = get_dataset("tiny")
    straight = train(recipe.config("tiny", 0), progress=False, dataset=dataset)
    last = [r for r in lc.load(out) if r["images"] == recipe.marks[-1]][0]
    assert lc.score(straight, dataset, lc.TINY_SIZES)["mig"] == pytest.approx(last["mig"],
                                                                             abs=1e-12)


def test_summary_is_the_median_over_seeds_and_keeps_nan(lc):
    rows = [{"recipe": "r", "images": 10, "seed": s, "mig": v}
            for s, v in enumerate([0.1, 0.3, 0.2])]
    rows += [{"recipe": "q", "images": 10, "seed": s, "mig": v}
             for s, v in enumerate([0.1, float("nan")])]
    table = lc.summary(rows)
    assert table["r"][10]["median"] == pytest.approx(0.2)
    assert math.isnan(table["q"][10]["median"])
    assert lc.images_to_reach({10: {"median": 0.05}, 20: {"median": 0.12}}, 0.1) == 20
    assert lc.images_to_reach({10: {"median": 0.05}}, 0.1) is None


def test_compare_tests_over_seeds_and_never_drops_a_nan_seed(lc):
    def rows(recipe, values):
        return [{"recipe": recipe, "images": 100, "seed": s, "mig": v}
                for s, v in enumerate(values)]

    data = (rows("high", [0.30, 0.32, 0.31, 0.29]) + rows("low", [0.05, 0.06, 0.04, 0.05])
            + rows("same", [0.05, 0.06, 0.04, 0.05]) + rows("nan", [0.3, float("nan"), 0.3]))
    high, low, same, nan = (("high", 100), ("low", 100), ("same", 100), ("nan", 100))
    results = lc.compare(data, [(high, low), (same, low), (nan, low)])
    assert results[0]["p"] < 1e-4 and results[0]["median_a"] == pytest.approx(0.305)
    assert results[1]["p"] == pytest.approx(1.0)  # identical samples
    assert math.isnan(results[2]["p"]) and math.isnan(results[2]["p_holm"])
    # Holm over the two finite pairs: the smallest p doubled
    assert results[0]["p_holm"] == pytest.approx(min(1.0, 2 * results[0]["p"]))
    assert "| high @ 100 | low @ 100 |" in lc.comparison_table(results)
    assert lc.parse_arm("mlp-bvae4@512000") == ("mlp-bvae4", 512000)
    assert lc.parse_arm("mlp-bvae4@512000#2-4") == ("mlp-bvae4", 512000, (2, 3, 4))
    # a seed range keeps only those seeds: seeds 2-3 of "high" against "low"
    kept = lc.compare(data, [(("high", 100, (2, 3)), low)])[0]
    assert list(kept["values_a"]) == [0.31, 0.29]
    with pytest.raises(ValueError, match="RECIPE@IMAGES"):
        lc.parse_arm("mlp-bvae4")
