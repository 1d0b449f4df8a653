"""Summary tables: mean ± std (ddof 1) and n over seeds, equal to the stored numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_sweep_store import make_store

from disentangle_bench.report.tables import (
    format_mean_std,
    markdown_table,
    summary_table,
    value_columns,
)
from disentangle_bench.sweep import load_results


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


def test_markdown_is_transposed_with_mean_pm_std(results):
    text = markdown_table(summary_table(results))
    lines = text.splitlines()
    assert lines[0] == ("| value | ae | vae | beta_vae(beta=2) | beta_vae(beta=4) | "
                        "beta_vae(beta=8) |")
    mig = next(line for line in lines if line.startswith("| mig.discrete_mig "))
    assert mig.split(" | ")[1:] == ["0.060 ± 0.010", "0.110 ± 0.010", "0.210 ± 0.010",
                                    "0.410 ± 0.010", "– |"]
    assert "| n (seeds) | 3 | 3 | 3 | 3 | 0 (1 failed) |" in lines


def test_groups_split_on_config_fields_that_differ(results):
    other = results.copy()
    other.loc[other["seed"] == 2, "steps"] = 999
    table = summary_table(other)
    assert len(table) == 9  # every finished model now also splits by steps
    assert table["label"].str.contains(r"\[steps=999\]").sum() == 4


def test_format_mean_std():
    assert format_mean_std(0.5, float("nan")) == "0.500"  # one seed: no std
    assert format_mean_std(3.0, 0.0) == "3 ± 0"  # counts stay integers
    assert format_mean_std(123.456, 1.5) == "123.5 ± 1.500"
    assert format_mean_std(float("nan"), float("nan")) == "–"
    assert format_mean_std(2e-5, 1e-6) == "2.00e-05 ± 1.00e-06"


def test_empty_results_give_an_empty_table():
    assert summary_table(pd.DataFrame(columns=["run_id", "status"])).empty
