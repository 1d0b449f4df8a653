"""The findings section: pre-declared comparisons over training seeds, Holm over exactly them,
known effects detected, null effects "not detected", no verdict from one seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from disentangle_bench.report.findings import PREDECLARED, findings, findings_lines
from disentangle_bench.report.stats import holm
from disentangle_bench.report.tables import HEADLINE_SCORES, headline_table, summary_table

BETAS = (1.0, 2.0, 4.0, 8.0)


def synthetic_results(seeds: int, *, rng_seed: int = 0, with_ae: bool = True) -> pd.DataFrame:
    """A results frame as ``load_results`` returns it: per β × seed one finished run with
    known effects: KL = 20/β (falls), MIG = 0.05·log2(β) + 0.1 (rises), each with small noise;
    reconstruction and the FactorVAE score are pure noise, the same for every β (null)."""
    rng = np.random.default_rng(rng_seed)
    rows = []
    for beta in BETAS:
        for seed in range(seeds):
            model = "vae" if beta == 1.0 else "beta_vae"
            rows.append({
                "run_id": f"{model}-{beta:g}-{seed}", "status": "finished", "model": model,
                "label": model if beta == 1.0 else f"beta_vae(beta={beta:g})",
                "hparams.beta": np.nan if beta == 1.0 else beta, "seed": seed, "eval_seed": 0,
                "kl": 20 / beta + rng.normal(0, 0.3),
                "reconstruction": 100 + rng.normal(0, 3),
                "mig.discrete_mig": 0.1 + 0.05 * np.log2(beta) + rng.normal(0, 0.01),
                "factor_vae.eval_accuracy": 0.5 + rng.normal(0, 0.05),
            })
    if with_ae:
        for seed in range(seeds):
            rows.append({"run_id": f"ae-{seed}", "status": "finished", "model": "ae",
                         "label": "ae", "hparams.beta": np.nan, "seed": seed, "eval_seed": 0,
                         "kl": np.nan, "reconstruction": 99 + rng.normal(0, 3),
                         "mig.discrete_mig": 0.3, "factor_vae.eval_accuracy": 0.9})
    return pd.DataFrame(rows)


def test_known_effects_are_detected_and_null_effects_are_not():
    items = findings(synthetic_results(seeds=5))
    assert len(items) == len(PREDECLARED) == 6
    found = {(f.comparison.kind, f.comparison.column): f for f in items}
    assert found["trend", "kl"].verdict == "detected" and found["trend", "kl"].estimate < -0.9
    assert found["trend", "mig.discrete_mig"].verdict == "detected"
    assert found["versus", "mig.discrete_mig"].verdict == "detected"
    # MIG at β = 8 is 0.25 against the VAE's 0.10: the difference and its interval hold it
    versus = found["versus", "mig.discrete_mig"]
    assert versus.low < 0.15 < versus.high and versus.n == (5, 5)
    for null in (("trend", "reconstruction"), ("trend", "factor_vae.eval_accuracy"),
                 ("versus", "factor_vae.eval_accuracy")):
        assert found[null].verdict == "not detected at this budget", found[null].text()
    # the AE (no β) takes no part: n counts the 4 β levels × 5 seeds
    assert found["trend", "kl"].n == (20,)


def test_holm_runs_over_exactly_the_predeclared_comparisons():
    items = findings(synthetic_results(seeds=4, rng_seed=3))
    raw = np.array([f.p for f in items])
    assert np.all(np.isfinite(raw))
    np.testing.assert_allclose([f.p_holm for f in items], holm(raw))
    assert all(f.p_holm >= f.p for f in items)


def test_the_largest_beta_is_the_one_compared_and_named():
    items = findings(synthetic_results(seeds=3))
    versus = [f for f in items if f.comparison.kind == "versus"]
    assert [f.comparison.name for f in versus] == ["β-VAE (β = 8) vs VAE, MIG",
                                                   "β-VAE (β = 8) vs VAE, FactorVAE score"]
    assert "n = 3 vs 3" in versus[0].text() and "Welch p" in versus[0].text()


def test_one_seed_gives_no_test_and_two_seeds_no_verdict():
    one = findings(synthetic_results(seeds=1))
    assert all(f.verdict == "one seed: no test (--num-seeds 3 gives one)" for f in one)
    assert all("one seed: no test" in line for line in findings_lines(one)[:-1])
    two = findings(synthetic_results(seeds=2))
    assert all(f.verdict.startswith("inconclusive: 2 seed(s) per configuration") for f in two)
    assert not any(f.detected for f in two)


def test_without_a_vae_nothing_is_tested_and_every_comparison_still_has_a_line():
    frame = synthetic_results(seeds=3)
    frame = frame[frame["model"] != "vae"]
    items = findings(frame)
    assert len(items) == 6 and all(f.verdict.startswith("no test:") for f in items)
    assert "Holm over the 0 pre-declared comparisons" in findings_lines(items)[-1]


def test_an_undefined_score_is_left_out_of_its_test_and_counted():
    frame = synthetic_results(seeds=4)
    frame.loc[frame["run_id"] == "beta_vae-8-0", "mig.discrete_mig"] = np.nan
    items = findings(frame)
    trend = next(f for f in items if (f.comparison.kind, f.comparison.column)
                 == ("trend", "mig.discrete_mig"))
    assert trend.n == (15,) and trend.undefined == 1
    assert "1 undefined run(s) left out" in trend.text()


def test_headline_table_holds_the_named_scores_and_no_raw_sub_keys():
    frame = synthetic_results(seeds=3)
    frame["modularity_explicitness.explicitness_classifier_converged"] = 1.0
    frame["sap.SAP_score"] = 0.1
    table = headline_table(summary_table(frame))
    names = dict(HEADLINE_SCORES)
    assert list(table.index) == ["n (seeds)", names["reconstruction"], names["kl"],
                                 names["factor_vae.eval_accuracy"],
                                 names["mig.discrete_mig"], names["sap.SAP_score"]]
    assert not any("." in name or "_" in name for name in table.index)
    assert table.loc[names["mig.discrete_mig"], "vae"].endswith("(3)")  # an interval, n = 3


def test_the_report_opens_with_the_findings_then_the_headline_table(report):
    root, paths = report
    text = paths.markdown.read_text()
    findings_at = text.index("## Findings")
    assert findings_at < text.index("## Headline scores") < text.index("## All scores")
    assert text.index("## Findings") < text.index("## Figures")
    # make_store has 2 seeds per configuration: tested, but no verdict
    assert "MIG rises with β: Spearman ρ" in text and "inconclusive: 2 seed(s)" in text
    html = paths.html.read_text()
    assert html.index("Findings") < html.index("Headline scores") < html.index("All scores")
    assert "Findings" in paths.table_text and "MIG rises with β" in paths.table_text


def test_one_seed_plots_say_so_on_the_figure_and_titles_wrap():
    from disentangle_bench.report.plots import TITLE_WIDTH, panel_title, seed_caption

    one = synthetic_results(seeds=1)
    assert "ONE SEED per configuration" in seed_caption(one)
    assert "no interval and no test" in seed_caption(one)
    assert "over 3 seeds" in seed_caption(synthetic_results(seeds=3))
    title = panel_title("reconstruction_posterior_mean")
    assert "\n" in title and all(len(line) <= TITLE_WIDTH for line in title.splitlines())


def test_udr_computed_but_undefined_everywhere_is_not_called_missing():
    from disentangle_bench.report.udr import ALL_UNDEFINED, NEEDS_SEEDS, UDR_COLUMN, udr_markdown

    frame = synthetic_results(seeds=2)
    assert udr_markdown(frame) == NEEDS_SEEDS
    frame[UDR_COLUMN] = np.nan
    assert udr_markdown(frame) == ALL_UNDEFINED


def test_runs_that_differ_in_more_than_beta_are_not_tested():
    frame = synthetic_results(seeds=3)
    frame["steps"] = np.where(frame["seed"] == 0, 250, 400)
    items = findings(frame)
    assert all(f.verdict == "no test: the β runs also differ in steps; compare one setting at "
               "a time" for f in items)
    frame["steps"] = 250
    assert findings(frame)[0].verdict == "detected"


def test_the_welch_interval_is_the_textbook_one_even_at_a_zero_difference():
    import scipy.stats

    frame = synthetic_results(seeds=3)
    vae = frame["model"] == "vae"
    top = frame["hparams.beta"] == 8.0
    frame.loc[vae, "factor_vae.eval_accuracy"] = [0.4, 0.5, 0.6]
    frame.loc[top, "factor_vae.eval_accuracy"] = [0.45, 0.5, 0.55]
    versus = next(f for f in findings(frame) if (f.comparison.kind, f.comparison.column)
                  == ("versus", "factor_vae.eval_accuracy"))
    se = np.sqrt(np.var([0.4, 0.5, 0.6], ddof=1) / 3 + np.var([0.45, 0.5, 0.55], ddof=1) / 3)
    df = se ** 4 / ((0.01 / 3) ** 2 / 2 + (0.0025 / 3) ** 2 / 2)
    half = scipy.stats.t.ppf(0.975, df) * se
    assert versus.estimate == pytest.approx(0.0, abs=1e-12)
    assert (versus.low, versus.high) == pytest.approx((-half, half))
    assert versus.verdict == "not detected at this budget"
