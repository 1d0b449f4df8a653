"""Summary tables: mean, std (ddof 1), 95 % interval and n over seeds, as stored."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from test_sweep_store import make_store

from disentangle_bench.report.tables import (
    display_table,
    format_interval,
    markdown_table,
    more_seeds_command,
    summary_table,
    value_columns,
)
from disentangle_bench.sweep import EvalSpec, RunStore, load_results


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    make_store(root, seeds=(0, 1, 2))
    return load_results(root)


def test_one_row_per_model_and_hyperparameters_in_grid_order(results):
    table = summary_table(results)
    assert list(table["label"]) == ["ae", "vae", "beta_vae(beta=2)", "beta_vae(beta=4)",
                                    "beta_vae(beta=8)"]
    assert list(table["n"]) == [3, 3, 3, 3, 0]
    assert list(table["failed"]) == [0, 0, 0, 0, 1]
    assert table.loc[0, "seeds"] == "0 1 2"


def test_mean_and_std_equal_the_stored_values(results):
    table = summary_table(results).set_index("label")
    for label, group in results[results["status"] == "finished"].groupby("label"):
        for column in value_columns(results):
            stored = group[column].to_numpy(float)
            assert table.loc[label, f"{column}.mean"] == pytest.approx(stored.mean(), abs=1e-12)
            assert table.loc[label, f"{column}.std"] == pytest.approx(stored.std(ddof=1),
                                                                      abs=1e-12)
    # MIG was written as β/10 + seed/100: the β=4 group is 0.41 ± 0.01
    assert table.loc["beta_vae(beta=4)", "mig.discrete_mig.mean"] == pytest.approx(0.41)
    assert table.loc["beta_vae(beta=4)", "mig.discrete_mig.std"] == pytest.approx(0.01)
    assert np.isnan(table.loc["beta_vae(beta=8)", "mig.discrete_mig.mean"])


def test_value_columns_are_headline_then_metric_scores(results):
    assert value_columns(results) == ["reconstruction", "kl", "active_units",
                                      "mig.discrete_mig"]


def test_markdown_is_transposed_with_mean_interval_and_n(results):
    text = markdown_table(summary_table(results))
    lines = text.splitlines()
    assert lines[0] == ("| value | ae | vae | beta_vae(beta=2) | beta_vae(beta=4) | "
                        "beta_vae(beta=8) |")
    mig = next(line for line in lines if line.startswith("| mig.discrete_mig "))
    # three seeds 0.01 apart: mean ± t(0.975, 2 df) · 0.01 / sqrt(3) = ± 0.0248
    assert mig.split(" | ")[1:] == ["0.060 [0.035, 0.085] (3)", "0.110 [0.085, 0.135] (3)",
                                    "0.210 [0.185, 0.235] (3)", "0.410 [0.385, 0.435] (3)",
                                    "– |"]
    assert "| n (seeds) | 3 | 3 | 3 | 3 | 0 (1 failed) |" in lines
    assert "95 % Student-t interval of the mean over training seeds" in text
    assert "No interval" not in text


def test_interval_is_students_t_over_the_seeds(results):
    from scipy import stats

    table = summary_table(results).set_index("label")
    for label, group in results[results["status"] == "finished"].groupby("label"):
        values = group["mig.discrete_mig"].to_numpy(float)
        low, high = stats.t.interval(0.95, len(values) - 1, loc=values.mean(),
                                     scale=stats.sem(values))
        assert table.loc[label, "mig.discrete_mig.lo"] == pytest.approx(low)
        assert table.loc[label, "mig.discrete_mig.hi"] == pytest.approx(high)
        assert table.loc[label, "mig.discrete_mig.median"] == pytest.approx(np.median(values))
        assert table.loc[label, "mig.discrete_mig.finite"] == 3


def test_an_undefined_score_is_counted_not_averaged_away(results):
    holes = results.copy()
    holes.loc[(holes["label"] == "vae") & (holes["seed"] == 2), "mig.discrete_mig"] = np.nan
    table = summary_table(holes).set_index("label")
    assert table.loc["vae", "n"] == 3 and table.loc["vae", "mig.discrete_mig.finite"] == 2
    assert table.loc["vae", "mig.discrete_mig.mean"] == pytest.approx(0.105)
    mig = next(line for line in markdown_table(summary_table(holes)).splitlines()
               if line.startswith("| mig.discrete_mig "))
    assert mig.split(" | ")[2] == "0.105 [0.041, 0.169] (2/3)"


def test_one_seed_says_there_is_no_interval_and_how_to_get_one(results):
    single = results[results["seed"] == 0]
    text = markdown_table(summary_table(single), "run_benchmark.py --betas 1 2 --seeds 0")
    mig = next(line for line in text.splitlines() if line.startswith("| mig.discrete_mig "))
    assert mig.split(" | ")[1] == "0.050 (1)"
    assert "**No interval**: ae, vae, beta_vae(beta=2), beta_vae(beta=4) had one seed" in text
    assert "`python run_benchmark.py --betas 1 2 --num-seeds 3`" in text


def test_more_seeds_command_replaces_any_seed_option():
    assert more_seeds_command("run_benchmark.py --seeds 0 1 --out x") == \
        "python run_benchmark.py --out x --num-seeds 3"
    assert more_seeds_command("run_benchmark.py --num-seeds=1") == \
        "python run_benchmark.py --num-seeds 3"
    assert more_seeds_command(None) == "python run_benchmark.py --num-seeds 3"


def test_format_interval():
    assert format_interval(0.5, 0.4, 0.6, 3, 3) == "0.500 [0.400, 0.600] (3)"
    assert format_interval(0.5, float("nan"), float("nan"), 1, 1) == "0.500 (1)"
    assert format_interval(0.5, float("nan"), float("nan"), 1, 3) == "0.500 (1/3)"
    assert format_interval(float("nan"), float("nan"), float("nan"), 0, 2) == "– (0/2)"


def test_groups_split_on_config_fields_that_differ(results):
    other = results.copy()
    other.loc[other["seed"] == 2, "steps"] = 999
    table = summary_table(other)
    assert len(table) == 9  # every finished model now also splits by steps (and beta=8 failed)
    assert table["label"].str.contains(r"\[steps=999\]").sum() == 4


def test_format_interval_number_forms():
    assert format_interval(3.0, 3.0, 3.0, 2, 2) == "3 [3, 3] (2)"  # counts stay integers
    assert format_interval(123.456, 120.0, 126.9, 3, 3) == "123.5 [120, 126.9] (3)"
    assert format_interval(2e-5, 1e-6, 3.9e-5, 3, 3) == "2.00e-05 [1.00e-06, 3.90e-05] (3)"


def test_empty_results_give_an_empty_table():
    assert summary_table(pd.DataFrame(columns=["run_id", "status"])).empty


def test_undefined_scores_keep_their_reason_and_a_dlib_column(tmp_path):
    from test_sweep_store import make_spec

    from disentangle_bench.data import get_dataset
    from disentangle_bench.metrics.factor_vae import factor_vae_score
    from disentangle_bench.sweep.results import undefined_scores

    # a collapsed code: every dimension constant, so no active dimension for the FactorVAE score
    dataset = get_dataset("tiny")
    dead = factor_vae_score(dataset, lambda x: np.zeros((len(x), 3)), batch_size=8,
                            num_train=20, num_eval=10, num_variance_estimate=50)
    live = {"train_accuracy": 0.9, "eval_accuracy": 0.8, "num_active_dims": 3.0}
    assert np.isnan(dead["eval_accuracy"]) and "no active dimension" in dead["reason"]
    row = undefined_scores({"factor_vae": {"scores": dead}})
    assert row["factor_vae.dlib_eval_accuracy"] == 0.0  # what disentanglement_lib reports
    assert row["factor_vae.dlib_train_accuracy"] == 0.0
    assert row["factor_vae.reason"] == dead["reason"]
    assert undefined_scores({"factor_vae": {"scores": live}}) == {
        "factor_vae.dlib_train_accuracy": 0.9, "factor_vae.dlib_eval_accuracy": 0.8}

    store = RunStore(tmp_path)
    for seed, scores in enumerate((dead, live, live)):
        spec = make_spec("vae", {}, seed)
        store.prepare(spec)
        store.write_trained(spec.model_id, spec.config_hash, {"summary": {"kl": 1.0}})
        store.write_eval(spec.model_id, EvalSpec.of("factor_vae", {}, 0), {"scores": scores}, {})
    frame = load_results(tmp_path)
    assert frame["factor_vae.reason"].notna().sum() == 1
    table = summary_table(frame).iloc[0]
    assert table["factor_vae.eval_accuracy.finite"] == 2  # the NaN run is counted, not averaged
    assert table["factor_vae.eval_accuracy.mean"] == pytest.approx(0.8)
    assert table["factor_vae.dlib_eval_accuracy.mean"] == pytest.approx(1.6 / 3)
    assert "factor_vae.reason" not in value_columns(frame)


def test_a_score_undefined_at_one_evaluation_seed_makes_the_model_mean_undefined(tmp_path):
    from test_sweep_store import make_spec

    from disentangle_bench.sweep import model_means
    from disentangle_bench.sweep.udr import group_evaluation

    store = RunStore(tmp_path)
    protocol = {"mig": {"num_train": 100, "num_bins": 20}}
    migs = {0: (math.nan, 0.3), 1: (0.2, 0.4)}  # training seed -> MIG at evaluation seeds 0, 1
    specs = [make_spec("vae", {}, seed) for seed in migs]
    udr = group_evaluation([s.model_id for s in specs], {"num_train": 300}, 0)
    for spec, udr_score in zip(specs, (0.6, 0.8)):
        store.prepare(spec)
        store.write_trained(spec.model_id, spec.config_hash, {"summary": {"kl": 1.0}})
        for eval_seed, mig in enumerate(migs[spec.train["seed"]]):
            scores = {"discrete_mig": mig, **({"reason": "no signal"} if math.isnan(mig) else {})}
            store.write_eval(spec.model_id, EvalSpec.of("mig", protocol["mig"], eval_seed),
                             {"scores": scores}, {})
        # UDR is computed at the first evaluation seed only, so it is on that row alone
        store.write_eval(spec.model_id, udr, {"scores": {"model_score": udr_score}}, {})
    store.write_sweep({"run_ids": [s.model_id for s in specs],
                       "evaluation": {"protocol": protocol, "eval_seeds": [0, 1]},
                       "udr": {"evaluations": {s.model_id: udr.eval_id for s in specs}}})
    frame = load_results(tmp_path)
    assert list(frame["status"]) == ["finished"] * 4
    assert frame["udr.model_score"].notna().sum() == 2  # on the evaluation seed 0 rows only

    means = model_means(frame).set_index("seed")
    assert np.isnan(means.loc[0, "mig.discrete_mig"])  # NaN at seed 0, 0.3 at seed 1
    assert means.loc[1, "mig.discrete_mig"] == pytest.approx(0.3)
    assert list(means["udr.model_score"]) == pytest.approx([0.6, 0.8])  # not made NaN

    table = summary_table(frame).iloc[0]
    assert table["n"] == 2 and table["mig.discrete_mig.finite"] == 1
    assert table["mig.discrete_mig.mean"] == pytest.approx(0.3)
    assert table["udr.model_score.finite"] == 2
    assert table["udr.model_score.mean"] == pytest.approx(0.7)
    cells = display_table(summary_table(frame)).iloc[:, 0]
    assert cells["mig.discrete_mig"].startswith("0.300 (1/2)")
    assert cells["udr.model_score"].startswith("0.700 [")
