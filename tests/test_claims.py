"""Claims comparison: known numbers in, expected verdicts out (value claims and trends)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from disentangle_bench.report import claims as cl

BASE_CLAIM = {
    "claim_id": "c", "paper": "Test et al. 2020", "arxiv": "0000.00000", "kind": "value",
    "model": "beta_vae", "hyperparams": "beta=4", "dataset": "dsprites",
    "metric": "mig.discrete_mig", "metric_definition": "dlib", "training_protocol": "dlib",
    "value": "0.30", "std": "0.02", "seeds": "50", "location": "Table 1", "read_off_plot": "no",
    "provenance": "CODE", "source": "test", "check": "", "notes": "", "verification": "",
}


def claims_table(tmp_path, *rows: dict) -> pd.DataFrame:
    """A claims CSV with BASE_CLAIM overridden by each row, loaded through load_claims."""
    frame = pd.DataFrame([{**BASE_CLAIM, **row} for row in rows], columns=cl.CLAIM_COLUMNS)
    path = tmp_path / "claims.csv"
    frame.to_csv(path, index=False)
    return cl.load_claims(path)


def run(model="beta_vae", beta=4.0, seed=0, dataset="dsprites", preset="paper",
        steps=300_000, status="finished", **scores) -> dict:
    """One row as load_results gives it."""
    row = {"run_id": f"{model}-{beta}-{seed}-{dataset}-{preset}", "status": status,
           "model": model, "dataset": dataset, "seed": seed, "preset": preset, "steps": steps,
           "batch_size": 64, "lr": 1e-4, "latent_dim": 10, "architecture": "conv",
           "hparams.beta": beta if model in ("beta_vae", "beta_tcvae") else math.nan}
    row.update(scores)
    return row


def results(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def seeds(values, **kwargs) -> list[dict]:
    metric = kwargs.pop("metric", "mig.discrete_mig")
    return [run(seed=i, **kwargs, **{metric: v}) for i, v in enumerate(values)]


# --- the shipped table ---------------------------------------------------------------------
def test_shipped_claims_table_is_valid_and_covers_the_required_papers():
    claims = cl.load_claims()
    papers = " ".join(claims["paper"])
    for author in ("Higgins", "Kim & Mnih", "Chen", "Kumar", "Eastwood", "Locatello"):
        assert author in papers, author
    assert set(claims["provenance"]) <= set(cl.PROVENANCES)
    assert claims["claim_id"].is_unique


def test_shipped_claim_metrics_are_names_the_suite_produces():
    from disentangle_bench.metrics import list_metrics

    known = set(list_metrics())
    for metric in cl.load_claims()["metric"]:
        assert metric in cl.SUMMARY_METRICS or metric.partition(".")[0] in known, metric


def test_recall_rows_are_never_asserted_even_when_runs_match(tmp_path):
    claims = claims_table(tmp_path, {"claim_id": "r", "provenance": "RECALL"})
    table = cl.compare_claims(results(*seeds([0.30, 0.30, 0.31])), claims)
    assert list(table["verdict"]) == ["not comparable"]
    assert "RECALL" in table["reason"][0] and "never asserted" in table["reason"][0]


def test_a_claim_without_a_number_is_rejected_unless_not_retrieved(tmp_path):
    with pytest.raises(ValueError, match="needs a number"):
        claims_table(tmp_path, {"value": ""})
    claims = claims_table(tmp_path, {"value": "", "provenance": "NOT RETRIEVED"})
    table = cl.compare_claims(results(*seeds([0.3, 0.3])), claims)
    assert table["verdict"][0] == "not comparable"
    assert table["claimed"][0] == "not retrieved"


def test_bad_rows_give_one_line_errors(tmp_path):
    with pytest.raises(ValueError, match="kind must be"):
        claims_table(tmp_path, {"kind": "guess"})
    with pytest.raises(ValueError, match="unknown check"):
        claims_table(tmp_path, {"kind": "trend", "check": "wobbles_with:beta"})
    with pytest.raises(ValueError, match="NAME=NUMBER"):
        claims_table(tmp_path, {"hyperparams": "beta four"})
    with pytest.raises(ValueError, match="duplicate claim_id"):
        claims_table(tmp_path, {"claim_id": "a"}, {"claim_id": "a"})


# --- value claims ---------------------------------------------------------------------------
@pytest.mark.parametrize("claimed, verdict", [("0.30", "consistent"), ("0.34", "consistent"),
                                              ("0.20", "higher"), ("0.45", "lower")])
def test_value_verdict_follows_the_combined_seed_spread(tmp_path, claimed, verdict):
    # measured 0.30 ± 0.01 (n=3), claimed std 0.02: spread sqrt(0.01² + 0.02²) = 0.0224
    claims = claims_table(tmp_path, {"value": claimed})
    table = cl.compare_claims(results(*seeds([0.29, 0.30, 0.31])), claims)
    assert list(table["verdict"]) == [verdict]
    assert table["n"][0] == 3
    assert table["measured_mean"][0] == pytest.approx(0.30)
    assert table["measured_std"][0] == pytest.approx(0.01)


def test_value_verdict_rule_in_numbers():
    assert cl.value_verdict(0.5, 0.1, 0.71) == "lower"       # |−0.21| > 2 · 0.1
    assert cl.value_verdict(0.5, 0.1, 0.69) == "consistent"  # |−0.19| ≤ 2 · 0.1
    assert cl.value_verdict(0.5, 0.0, 0.5) == "consistent"
    assert cl.value_verdict(0.51, 0.0, 0.5) == "higher"      # no spread: any difference counts
    assert cl.value_verdict(0.5, 0.06, 0.7, 0.08) == "consistent"  # sqrt(.06² + .08²) = 0.1


@pytest.mark.parametrize("change, reason", [
    ({"preset": "cpu", "steps": 3000}, "training protocol differs"),
    ({"dataset": "dsprites-procedural"}, "stands in for dsprites"),
    ({"steps": 1000}, "preset paper (1,000 steps, conv architecture, but steps 1000 instead of "
                      "300000)"),
])
def test_runs_off_the_papers_protocol_are_not_comparable(tmp_path, change, reason):
    claims = claims_table(tmp_path, {})
    table = cl.compare_claims(results(*seeds([0.30, 0.31], **change)), claims)
    assert list(table["verdict"]) == ["not comparable"]
    assert reason in table["reason"][0]
    assert table["measured"][0].startswith("0.305 ± ")   # still shown side by side


def test_one_seed_has_no_spread_and_is_not_comparable(tmp_path):
    table = cl.compare_claims(results(*seeds([0.30])), claims_table(tmp_path, {}))
    assert table["verdict"][0] == "not comparable"
    assert "only 1 seed" in table["reason"][0]


@pytest.mark.parametrize("claim, reason", [
    ({"model": "infogan", "hyperparams": ""}, "model infogan is not in the suite"),
    ({"dataset": "teapots"}, "dataset teapots is not in the suite"),
    ({"metric_definition": "higgins2017"}, "metric definition differs"),
    ({"beta": None, "hyperparams": "beta=8"}, "no finished run matches"),
])
def test_claims_outside_the_suite_are_not_comparable_with_the_reason(tmp_path, claim, reason):
    claim = {k: v for k, v in claim.items() if k != "beta"}
    table = cl.compare_claims(results(*seeds([0.30, 0.31, 0.29])), claims_table(tmp_path, claim))
    assert list(table["verdict"]) == ["not comparable"]
    assert reason in table["reason"][0]


def test_the_vae_is_the_beta_vae_at_beta_1(tmp_path):
    claims = claims_table(tmp_path, {"claim_id": "a", "model": "vae", "hyperparams": "beta=1"},
                          {"claim_id": "b", "model": "beta_vae", "hyperparams": "beta=1"},
                          {"claim_id": "c", "model": "vae", "hyperparams": ""})
    table = cl.compare_claims(results(*seeds([0.30, 0.30], model="vae")), claims)
    assert list(table["verdict"]) == ["consistent"] * 3


def test_failed_runs_and_other_configurations_are_kept_apart(tmp_path):
    rows = seeds([0.30, 0.30]) + [run(seed=5, status="failed")]
    rows += [{**run(seed=i, **{"mig.discrete_mig": 0.9}), "architecture": "conv_paper"}
             for i in range(2)]
    table = cl.compare_claims(results(*rows), claims_table(tmp_path, {}))
    assert sorted(table["verdict"]) == ["consistent", "higher"]   # measured 0.9 > claimed 0.3
    assert sorted(table["n"]) == [2, 2]


# --- trend claims ---------------------------------------------------------------------------
def trend(tmp_path, check, metric="kl", model="beta_vae", hyperparams="", **extra):
    return claims_table(tmp_path, {"kind": "trend", "model": model, "hyperparams": hyperparams,
                                   "metric": metric, "check": check, "value": "", "std": "",
                                   "metric_definition": "any", "training_protocol": "any",
                                   **extra})


def beta_sweep(values_by_beta: dict[float, list[float]], metric="kl", **kwargs) -> list[dict]:
    rows = []
    for beta, values in values_by_beta.items():
        model = "vae" if beta == 1 else "beta_vae"
        rows += [run(model=model, beta=beta, seed=s, preset="cpu", steps=3000,
                     **{metric: v}, **kwargs) for s, v in enumerate(values)]
    return rows


def jittered(means: dict[float, float], seeds: int = 3, spread: float = 0.1):
    """{β: mean} -> {β: per-seed values}: the mean plus a fixed zero-mean jitter per seed."""
    offsets = np.linspace(-spread, spread, seeds)
    return {beta: list(mean + offsets) for beta, mean in means.items()}


def test_increasing_trend_holds_and_fails_with_permutation_evidence(tmp_path):
    rising = results(*beta_sweep(jittered({1: 10, 2: 11, 4: 13, 8: 20})))
    falling = results(*beta_sweep(jittered({1: 20, 2: 13, 4: 11, 8: 10})))
    claims = trend(tmp_path, "increases_with:beta")
    up, down = cl.check_trends(rising, claims), cl.check_trends(falling, claims)
    assert list(up["verdict"]) == ["holds"] and list(down["verdict"]) == ["does not hold"]
    evidence = up["evidence"][0]
    assert "ρ(beta, kl) = +0.97 over 12 runs (each seed a point)" in evidence  # VAE = β 1
    assert "beta=1: 10 (n=3)" in evidence and "permutation p = 0.0002" in evidence
    assert up["p"][0] < 0.001 and up["n"][0] == "4 values × 3 seeds"
    assert list(cl.check_trends(falling, trend(tmp_path, "decreases_with:beta"))["verdict"]) \
        == ["holds"]


def test_a_trend_over_one_seed_per_value_is_inconclusive_with_its_p(tmp_path):
    # the old rule said "holds" from ρ = +1 over four single runs; a permutation test over four
    # points cannot go below p = 2/24, and one seed per β is below the minimum anyway
    rising = results(*beta_sweep({1: [10], 2: [11], 4: [13], 8: [20]}))
    table = cl.check_trends(rising, trend(tmp_path, "increases_with:beta"))
    assert table["verdict"][0].startswith("inconclusive (p = 0.08")
    assert table["verdict"][0].endswith("n = 4 values × 1 seeds)")
    assert "below the minimum sample (3 seeds a side" in table["evidence"][0]


def test_no_trend_in_noise_is_inconclusive(tmp_path):
    rng = np.random.default_rng(1)
    noise = {b: list(rng.normal(size=3)) for b in (1, 2, 4, 8)}
    table = cl.check_trends(results(*beta_sweep(noise)), trend(tmp_path, "increases_with:beta"))
    assert table["verdict"][0].startswith("inconclusive (p = ")
    assert table["p"][0] > 0.05


def test_trend_needs_three_levels(tmp_path):
    two = results(*beta_sweep({2: [1, 2], 4: [3, 4]}))
    table = cl.check_trends(two, trend(tmp_path, "increases_with:beta"))
    assert list(table["verdict"]) == ["not enough data"]
    assert "2 value(s) of beta" in table["evidence"][0]


def test_a_trend_on_the_procedural_stand_in_says_so(tmp_path):
    rows = beta_sweep(jittered({1: 1, 2: 2, 4: 3}), dataset="dsprites-procedural")
    table = cl.check_trends(results(*rows), trend(tmp_path, "increases_with:beta"))
    assert table["verdict"][0] == "holds"
    assert "dsprites-procedural, a stand-in for dsprites" in table["evidence"][0]


def test_greater_than_is_welchs_t_over_seeds(tmp_path):
    from scipy.stats import ttest_ind

    claims = trend(tmp_path, "greater_than:vae", metric="beta_vae.eval_accuracy",
                   hyperparams="beta=4")
    metric = "beta_vae.eval_accuracy"
    low, high = [0.60, 0.62, 0.61], [0.80, 0.84, 0.82]
    better = cl.check_trends(results(*beta_sweep({1: low, 4: high}, metric=metric)), claims)
    worse = cl.check_trends(results(*beta_sweep({1: high, 4: low}, metric=metric)), claims)
    assert better["verdict"][0] == "holds" and worse["verdict"][0] == "does not hold"
    assert "difference +0.21" in better["evidence"][0]
    assert better["p"][0] == pytest.approx(ttest_ind(high, low, equal_var=False).pvalue)
    assert better["n"][0] == "3 vs 3"
    no_vae = results(*beta_sweep({4: [0.8]}, metric=metric))
    assert cl.check_trends(no_vae, claims)["verdict"][0] == "not enough data"


def test_greater_than_needs_seeds_and_a_difference_beyond_their_noise(tmp_path):
    claims = trend(tmp_path, "greater_than:vae", metric="beta_vae.eval_accuracy",
                   hyperparams="beta=4")
    metric = "beta_vae.eval_accuracy"
    one_seed = cl.check_trends(results(*beta_sweep({1: [0.6], 4: [0.9]}, metric=metric)), claims)
    assert one_seed["verdict"][0] == "inconclusive (p = n/a, n = 1 vs 1)"
    assert "Welch's t needs 2 seeds a side" in one_seed["evidence"][0]
    # two seeds a side: a test, but below the minimum, so never judged
    two = cl.check_trends(results(*beta_sweep({1: [0.60, 0.61], 4: [0.90, 0.91]},
                                              metric=metric)), claims)
    assert two["verdict"][0].startswith("inconclusive (p = ") and two["p"][0] < 0.05
    # means 0.70 vs 0.65 with seed std ~0.1 each: not a difference
    noisy = results(*beta_sweep({1: [0.55, 0.75, 0.65], 4: [0.6, 0.8, 0.7]}, metric=metric))
    table = cl.check_trends(noisy, claims)
    assert table["verdict"][0].startswith("inconclusive (p = 0.")
    assert table["verdict"][0].endswith("n = 3 vs 3)")


def test_peak_inside_the_range(tmp_path):
    claims = trend(tmp_path, "peaks_inside:beta")
    peaked = cl.check_trends(results(*beta_sweep(jittered({1: 1, 4: 5, 8: 4, 16: 2}))), claims)
    assert peaked["verdict"][0] == "holds"
    assert "largest mean at beta=4 (inside 1..16)" in peaked["evidence"][0]
    edge = cl.check_trends(results(*beta_sweep(jittered({1: 1, 4: 1.2, 8: 1.1, 16: 5}))), claims)
    assert edge["verdict"][0] == "does not hold"
    single = cl.check_trends(results(*beta_sweep({1: [1], 4: [5], 16: [2]})), claims)
    assert single["verdict"][0].startswith("inconclusive (p = ")  # one run per β: 3 points


def test_seed_spread_comparable_to_the_beta_effect(tmp_path):
    claims = trend(tmp_path, "seed_spread_comparable:beta")
    noisy = results(*beta_sweep(jittered({2: 0.30, 4: 0.32, 8: 0.31}, seeds=5, spread=0.3)))
    clean = results(*beta_sweep(jittered({2: 0.10, 4: 0.60, 8: 0.90}, seeds=5, spread=0.01)))
    held = cl.check_trends(noisy, claims)
    assert held["verdict"][0] == "holds"
    assert "beta explains 0% of the variance, seeds 100%" in held["evidence"][0]
    assert cl.check_trends(clean, claims)["verdict"][0] == "does not hold"
    one_seed = results(*beta_sweep({2: [0.1], 4: [0.2], 8: [0.3]}))
    assert cl.check_trends(one_seed, claims)["verdict"][0] == "not enough data"


def test_rank_correlation_between_two_metrics(tmp_path):
    claims = trend(tmp_path, "rank_correlated:dci.disentanglement", model="*",
                   metric="mig.discrete_mig")
    mig = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    agree = [run(seed=i, **{"mig.discrete_mig": m, "dci.disentanglement": m * 2})
             for i, m in enumerate(mig)]
    disagree = [run(seed=i, **{"mig.discrete_mig": m, "dci.disentanglement": -m})
                for i, m in enumerate(mig)]
    held = cl.check_trends(results(*agree), claims)
    assert held["verdict"][0] == "holds"
    assert "dci.disentanglement) = +1.00 over 8 runs" in held["evidence"][0]
    assert cl.check_trends(results(*disagree), claims)["verdict"][0] == "does not hold"
    assert cl.check_trends(results(*agree[:4]), claims)["verdict"][0].startswith("inconclusive")
    assert cl.check_trends(results(*agree[:2]), claims)["verdict"][0] == "not enough data"


def test_greater_than_at_the_same_beta(tmp_path):
    claims = trend(tmp_path, "greater_than_same:beta_vae:beta", model="beta_tcvae",
                   metric="mig.discrete_mig")
    offsets = (-0.01, 0.0, 0.01)
    rows = [run(model=m, beta=b, seed=s, **{"mig.discrete_mig": v + o})
            for m, b, v in [("beta_tcvae", 2, 0.3), ("beta_tcvae", 4, 0.4), ("beta_tcvae", 8, 0.3),
                            ("beta_vae", 2, 0.2), ("beta_vae", 4, 0.3), ("beta_vae", 8, 0.2)]
            for s, o in enumerate(offsets)]
    table = cl.check_trends(results(*rows), claims)
    assert table["verdict"][0] == "holds"
    assert "above beta_vae at 3 of 3 shared beta values, mean difference +0.1" \
        in table["evidence"][0]
    swapped = [{**r, "model": "beta_vae" if r["model"] == "beta_tcvae" else "beta_tcvae"}
               for r in rows]
    assert cl.check_trends(results(*swapped), claims)["verdict"][0] == "does not hold"


def test_each_sweep_setting_is_checked_separately(tmp_path):
    rows = beta_sweep(jittered({1: 1, 2: 2, 4: 3}))
    rows += [{**r, "steps": 9000, "run_id": r["run_id"] + "-long", "kl": -r["kl"]} for r in rows]
    table = cl.check_trends(results(*rows), trend(tmp_path, "increases_with:beta"))
    assert sorted(zip(table["run_steps"], table["verdict"])) == [(3000, "holds"),
                                                                 (9000, "does not hold")]


def test_holm_correction_runs_over_every_claim_of_one_report():
    def row(claim_id, p):
        return {"claim_id": claim_id, "verdict": None, "evidence": "e", "p": p, "n": "3 vs 3",
                "supports": True, "enough": True}

    alone = cl.judge_trends(pd.DataFrame([row("a", 0.03)]))
    assert list(alone["verdict"]) == ["holds"]
    # two claims at p = 0.03 and 0.04: Holm's 2 × 0.03 = 0.06 and max(0.06, 0.04) are not < 0.05
    pair = cl.judge_trends(pd.DataFrame([row("a", 0.03), row("b", 0.04)]))
    assert list(pair["p_holm"]) == pytest.approx([0.06, 0.06])
    assert list(pair["verdict"]) == ["inconclusive (p = 0.06, n = 3 vs 3)"] * 2
    assert "Holm-adjusted over the 2 claims tested here" in pair["evidence"][0]
    # a claim below the minimum seeds is shown with its own p and not counted in the family
    few = cl.judge_trends(pd.DataFrame([row("a", 0.03), {**row("b", 0.04), "enough": False}]))
    assert list(few["verdict"]) == ["holds", "inconclusive (p = 0.04, n = 3 vs 3)"]


def test_spearman_matches_scipy():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 5, 30), rng.normal(size=30)
    assert cl.spearman(pd.Series(x), pd.Series(y)) == pytest.approx(spearmanr(x, y)[0])
    assert math.isnan(cl.spearman(pd.Series([1, 1, 1]), pd.Series([1, 2, 3])))


# --- outputs --------------------------------------------------------------------------------
def test_section_and_files_hold_the_verdicts(tmp_path):
    claims = claims_table(tmp_path, {"claim_id": "one"}, {"claim_id": "two", "value": "0.9"})
    frame = results(*seeds([0.29, 0.30, 0.31]))
    markdown, html = cl.claims_section(frame, claims)
    assert "| one | beta_vae(beta=4) | dsprites | mig.discrete_mig |" in markdown
    assert "1 consistent, 1 lower" in markdown
    assert '<td class="verdict-lower">lower</td>' in html
    values, trends, paths = cl.write_claims(tmp_path, frame, claims)
    written = pd.read_csv(tmp_path / "claims_values.csv")
    assert list(written["verdict"]) == list(values["verdict"]) == ["consistent", "lower"]
    assert {p.name for p in paths} == {"claims_values.csv", "claims_trends.csv", "claims.md"}
    text = cl.format_claims_text(values, trends)
    assert text.splitlines()[0] == "Value claims (1 consistent, 1 lower):"


def test_better_tradeoff_is_a_permutation_test_over_runs(tmp_path):
    claims = trend(tmp_path, "tradeoff_better:beta_vae:reconstruction", model="factor_vae",
                   metric="factor_vae.eval_accuracy")

    def points(model, value, recon, score):
        rows = []
        for seed, offset in enumerate((-0.5, 0.0, 0.5)):
            row = run(model=model, beta=value, seed=seed, reconstruction=recon + offset,
                      **{"factor_vae.eval_accuracy": score + offset / 100})
            if model == "factor_vae":
                row["hparams.gamma"] = value
            rows.append(row)
        return rows

    factor = points("factor_vae", 10, 100, 0.80) + points("factor_vae", 40, 120, 0.90)
    weak = points("beta_vae", 4, 110, 0.70) + points("beta_vae", 8, 130, 0.85)
    strong = points("beta_vae", 4, 90, 0.95) + points("beta_vae", 8, 105, 0.97)
    held = cl.check_trends(results(*factor, *weak), claims)
    assert held["verdict"][0] == "holds"
    assert "over 6 and 6 runs" in held["evidence"][0]
    assert "2 of 2 factor_vae configurations not dominated" in held["evidence"][0]
    assert "2 beta_vae configuration(s) dominated in turn" in held["evidence"][0]
    assert cl.check_trends(results(*factor, *strong), claims)["verdict"][0] == "does not hold"
    assert cl.check_trends(results(*factor), claims)["verdict"][0] == "not enough data"


def write_store(root, dataset: str) -> None:
    """A results store with a β sweep (VAE = β 1, 3 seeds) whose KL falls and reconstruction
    rises."""
    from disentangle_bench.sweep import RunSpec, RunStore

    store = RunStore(root)
    for beta, kl in ((1.0, 30.0), (2.0, 20.0), (4.0, 12.0), (8.0, 7.0)):
        model, hparams = ("vae", {}) if beta == 1 else ("beta_vae", {"beta": beta})
        for seed in range(3):
            train = {"model": model, "hparams": hparams, "dataset": dataset, "seed": seed,
                     "steps": 100}
            spec = RunSpec(train=train, metrics=("unsupervised",),
                           protocol={"unsupervised": {}}, preset="cpu")
            store.prepare(spec)
            store.write_trained(spec.model_id, spec.config_hash,
                                {"summary": {"kl": kl + seed / 10,
                                             "reconstruction": 100 - kl + seed / 10}})
            store.write_eval(spec.model_id, spec.evaluations()[0], {"scores": {}}, {})


def test_cli_claims_on_a_results_store(tmp_path, capsys):
    from disentangle_bench.cli import main

    write_store(tmp_path, "tiny")
    assert main(["claims", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Trend claims" in out and (tmp_path / "claims_trends.csv").is_file()
    trends = pd.read_csv(tmp_path / "claims_trends.csv").set_index("claim_id")
    assert "datasets in these results: tiny" in trends.loc["all-kl", "evidence"]
    assert main(["claims", str(tmp_path / "nowhere")]) == 2
    assert "no results store" in capsys.readouterr().err


def test_trends_on_a_results_store_read_through_load_results(tmp_path):
    from disentangle_bench.sweep import load_results

    write_store(tmp_path, "dsprites-procedural")
    trends = cl.check_trends(load_results(tmp_path)).set_index("claim_id")
    assert trends.loc["all-kl", "verdict"] == "holds"
    assert "ρ(beta, kl) = -0.97 over 12 runs" in trends.loc["all-kl", "evidence"]
    assert trends.loc["higgins17-recon", "verdict"] == "holds"
    assert "stand-in for dsprites" in trends.loc["higgins17-recon", "evidence"]


def test_undefined_scores_are_named_not_silently_dropped(tmp_path):
    rows = seeds([0.29, 0.30, 0.31, float("nan")])
    table = cl.compare_claims(results(*rows), claims_table(tmp_path, {}))
    assert table["n"][0] == 3
    assert table["measured"][0].endswith("(n=3), 1 of 4 runs undefined")
    sweep = beta_sweep(jittered({1: 1, 2: 2, 4: 3}))
    sweep[0]["kl"] = float("nan")
    trends = cl.check_trends(results(*sweep), trend(tmp_path, "increases_with:beta"))
    assert "1 run(s) have an undefined kl (NaN) and are left out" in trends["evidence"][0]


def test_evaluation_seeds_never_count_as_training_seeds(tmp_path):
    claims = trend(tmp_path, "greater_than:vae", metric="beta_vae.eval_accuracy",
                   hyperparams="beta=4")
    metric = "beta_vae.eval_accuracy"
    # two trained models a side, each evaluated at three evaluation seeds: still 2 vs 2
    rows = [{**r, "eval_seed": e, metric: r[metric] + e / 1000}
            for r in beta_sweep({1: [0.60, 0.61], 4: [0.90, 0.91]}, metric=metric)
            for e in range(3)]
    table = cl.check_trends(results(*rows), claims)
    assert table["n"][0] == "2 vs 2" and table["verdict"][0].startswith("inconclusive")
