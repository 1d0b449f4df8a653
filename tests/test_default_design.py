"""The default run's design: the cpu preset trains what docs/recipes.md's design study
justifies (seeds × steps), runs one run per free core, and the power table holds that design."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from disentangle_bench import cli
from disentangle_bench.sweep.presets import FREE_CORES, get_preset

RECIPES = Path(__file__).resolve().parents[1] / "docs" / "recipes.md"


def justified_design() -> tuple[int, int]:
    """``(seeds, steps)`` from docs/recipes.md's sentence naming the default design."""
    match = re.search(r"The default run trains \*\*(\d+) seeds × ([\d,]+) steps\*\*",
                      RECIPES.read_text())
    assert match, "docs/recipes.md no longer names the default design"
    return int(match[1]), int(match[2].replace(",", ""))


def test_the_cpu_preset_is_the_design_docs_recipes_justifies():
    cpu = get_preset("cpu")
    assert (cpu.seeds, cpu.steps) == justified_design()
    # the study's power table has a row for exactly this design (steps, images, seeds)
    row = rf"\| {cpu.steps} \| {cpu.steps * cpu.batch_size} \| {cpu.seeds} \|"
    assert re.search(row, RECIPES.read_text()), row


def test_the_paper_and_smoke_presets_keep_one_seed_and_one_job():
    for name in ("paper", "smoke"):
        assert get_preset(name).seeds == 1 and get_preset(name).jobs == 1


def test_the_default_run_trains_the_presets_seeds_per_configuration(tmp_path):
    args, specs, executor = cli._plan(["--betas", "1", "2", "4", "8", "--out", str(tmp_path)])
    seeds = get_preset("cpu").seeds
    assert len(specs) == 5 * seeds
    assert sorted({s.train["seed"] for s in specs}) == list(range(seeds))
    # --seeds and --num-seeds still override the preset
    _, specs, _ = cli._plan(["--betas", "1", "2", "--num-seeds", "2", "--out", str(tmp_path)])
    assert len(specs) == 3 * 2


@pytest.mark.parametrize(("free", "runs", "expected"), [(2, 20, 2), (1, 20, 1), (4, 3, 3)])
def test_cpu_jobs_follow_the_free_cores_at_most_one_per_run(monkeypatch, free, runs, expected):
    import disentangle_bench.training.threads as threads

    monkeypatch.setattr(threads, "free_cores", lambda: free)
    assert get_preset("cpu").jobs == FREE_CORES
    assert get_preset("cpu").jobs_for(runs) == expected
    assert get_preset("paper").jobs_for(runs) == 1


def test_an_explicit_jobs_option_wins_over_the_preset(tmp_path):
    args, _, executor = cli._plan(["--betas", "4", "--jobs", "1", "--out", str(tmp_path)])
    assert args.jobs == 1 and executor.jobs == 1
