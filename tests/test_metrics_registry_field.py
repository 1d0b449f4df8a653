"""Registry entries of the issue-15 metrics: reference protocols, preset sets, shared draws."""

import numpy as np
from test_metrics_registry import identity

from disentangle_bench.data import get_dataset
from disentangle_bench.metrics import default_protocol, evaluate, list_metrics
from disentangle_bench.sweep.grid import resolve_metrics
from disentangle_bench.sweep.presets import get_preset


def test_reference_protocols_are_the_study_gin_values():
    assert default_protocol("irs") == {"num_train": 10000, "diff_quantile": 0.99,
                                       "factor_bins": 20}
    for name, predictor in (("downstream_logistic", "logistic_regression_cv"),
                            ("downstream_gbt", "gbt")):
        assert default_protocol(name) == {"num_train": 10000, "num_test": 5000,
                                          "sizes": [10, 100, 1000, 10000],
                                          "predictor": predictor}
    assert default_protocol("fairness")["num_test_points_per_class"] == 100
    assert default_protocol("fairness")["predictor"] == "gbt"
    assert default_protocol("downstream_gbt", "cpu")["predictor"] == "gbt_fast"


def test_all_names_every_metric_and_cpu_leaves_out_the_costliest():
    cpu = get_preset("cpu")
    assert resolve_metrics(["all"], cpu) == list_metrics()
    default = resolve_metrics(None, cpu)
    assert not {"fairness", "downstream_logistic", "infomec", "dci_es"} & set(default)
    assert {"irs", "jemmig", "downstream_gbt"} <= set(default)


def test_smoke_leaves_out_the_cpu_sets_exclusions_and_the_costly_fits():
    smoke = set(resolve_metrics(None, get_preset("smoke")))
    cpu = set(resolve_metrics(None, get_preset("cpu")))
    assert smoke == cpu - {"dci", "downstream_gbt"}
    assert {"beta_vae", "factor_vae", "mig", "sap", "modularity_explicitness"} <= smoke


def test_gap_metrics_reuse_migs_draw_and_give_their_standalone_result():
    tiny = get_dataset("tiny")
    names = ["mig", "irs", "mig_sup", "dcimig", "jemmig", "sap_continuous"]
    together = evaluate(tiny, identity, names, preset="cpu", n_jobs=1)
    assert together["_sampling"]["draws"] == [["train", 5000, 0]]
    alone = evaluate(tiny, identity, ["jemmig"], preset="cpu", n_jobs=1)
    assert alone["jemmig"]["scores"] == together["jemmig"]["scores"]
    assert all(np.isfinite(together[n]["scores"][key]) for n, key in (
        ("irs", "IRS"), ("mig_sup", "mig_sup"), ("dcimig", "dcimig"), ("jemmig", "jemmig"),
        ("sap_continuous", "SAP_score")))
