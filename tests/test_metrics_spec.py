"""The metric registry is open: an entry alone gives a metric its evaluation, protocol sizes,
table column, plot panel and label; every protocol value is checked against its rules."""

import numpy as np
import pandas as pd
import pytest

from disentangle_bench.cli import main
from disentangle_bench.data import get_dataset
from disentangle_bench.metrics import (
    PROTOCOLS,
    MetricSpec,
    ProtocolError,
    default_protocol,
    evaluate,
    integer,
    list_metrics,
    metric_spec,
    metric_version,
    register_metric,
    resolve_protocol,
    unregister_metric,
)
from disentangle_bench.report.plots import plotted_columns, pretty
from disentangle_bench.report.tables import value_columns
from disentangle_bench.sweep.grid import resolve_protocol as sweep_protocol
from disentangle_bench.sweep.presets import PRESETS


def _code_spread(inputs, protocol):
    draw = inputs.samples("train", protocol["num_train"], protocol["seed"])
    return {"spread": float(draw["codes"].std()), "count": float(len(draw["codes"]))}


@pytest.fixture
def spread_metric():
    spec = register_metric(MetricSpec(
        name="code_spread", compute=_code_spread, kind="samples", display_name="Code spread",
        protocol={"num_train": 400}, presets={"cpu": {"num_train": 123},
                                              "smoke-sweep": {"num_train": 37}},
        rules={"num_train": integer(2)}, headline_scores=("spread",)))
    yield spec
    unregister_metric("code_spread")


def test_registering_a_metric_alone_gives_it_evaluation_sizes_column_and_plot(spread_metric):
    assert list_metrics()[-1] == "code_spread"
    # its own sizes per preset, read by the sweep presets; the reference elsewhere
    assert sweep_protocol(["code_spread"], PRESETS["cpu"], {})["code_spread"] == {
        "num_train": 123}
    assert sweep_protocol(["code_spread"], PRESETS["smoke"], {})["code_spread"] == {
        "num_train": 37}
    assert sweep_protocol(["code_spread"], PRESETS["paper"], {})["code_spread"] == {
        "num_train": 400}
    assert PROTOCOLS["cpu"]["code_spread"] == {"num_train": 123}
    result = evaluate(get_dataset("tiny"), lambda x: x.reshape(len(x), -1)[:, :3],
                      ["code_spread", "mig"], preset="cpu", n_jobs=1)
    assert result["code_spread"]["scores"]["count"] == 123.0
    assert result["code_spread"]["version"] == 1 == metric_version("code_spread")
    # a column after the built-in metrics, a panel for its headline score, its display name
    results = pd.DataFrame({"reconstruction": [1.0], "code_spread.count": [1.0],
                            "code_spread.spread": [0.5], "mig.discrete_mig": [0.1],
                            "sap.SAP_score": [0.2]})
    assert value_columns(results) == ["reconstruction", "mig.discrete_mig", "sap.SAP_score",
                                      "code_spread.count", "code_spread.spread"]
    assert plotted_columns(value_columns(results)) == [
        "reconstruction", "mig.discrete_mig", "sap.SAP_score", "code_spread.spread"]
    assert pretty("code_spread.spread") == "Code spread: spread"
    assert pretty("mig.discrete_mig") == "MIG"


def test_duplicate_and_malformed_entries_are_refused(spread_metric):
    with pytest.raises(ValueError, match="metric 'code_spread' is already registered"):
        register_metric(MetricSpec(name="code_spread", compute=_code_spread, kind="samples",
                                   display_name="x", protocol={"num_train": 10}))
    with pytest.raises(ValueError, match="version must be an integer >= 1"):
        MetricSpec(name="x", compute=_code_spread, kind="samples", display_name="x",
                   protocol={}, version="2")
    with pytest.raises(ValueError, match="kind must be one of"):
        MetricSpec(name="x", compute=_code_spread, kind="pairs", display_name="x", protocol={})
    with pytest.raises(ValueError, match="preset 'cpu'.*num_train must be an integer >= 2"):
        MetricSpec(name="x", compute=_code_spread, kind="samples", display_name="x",
                   protocol={"num_train": 10}, presets={"cpu": {"num_train": 1}},
                   rules={"num_train": integer(2)})
    with pytest.raises(ValueError, match="not in its protocol"):
        MetricSpec(name="x", compute=_code_spread, kind="samples", display_name="x",
                   protocol={"num_train": 10}, rules={"num_bins": integer(2)})


def test_every_builtin_parameter_has_a_rule_and_every_preset_passes_it():
    for name in list_metrics():
        spec = metric_spec(name)
        assert set(spec.rules) == set(spec.protocol), name
        for preset in PROTOCOLS:
            spec.validate(default_protocol(name, preset))


@pytest.mark.parametrize("metric, param, value, message", [
    ("dci", "estimator", "bogus", "estimator must be one of 'exact', 'fast', got 'bogus'"),
    ("mig", "num_train", -5, "num_train must be an integer >= 2"),
    ("mig", "num_bins", 0, "num_bins must be an integer >= 2"),
    ("mig", "exclude_factors", [-1], "exclude_factors must be a list of factor names"),
    ("beta_vae", "classifier", "svm", "classifier must be one of"),
    ("factor_vae", "batch_size", 1, "batch_size must be an integer >= 2"),
    ("factor_vae", "prune_threshold", 1.0, r"prune_threshold must be a number in \[0, 1\)"),
    ("unsupervised", "num_bins", 2.5, "num_bins must be an integer"),
    ("sap", "seed", -1, "seed must be an integer >= 0"),
])
def test_bad_protocol_values_are_one_line_errors(metric, param, value, message):
    with pytest.raises(ProtocolError, match=message) as error:
        resolve_protocol(metric, overrides={param: value})
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("setting", ["dci.estimator=bogus", "mig.num_train=-5",
                                     "mig.num_bins=0", "sap.num_test=0"])
@pytest.mark.parametrize("dry_run", [True, False])
def test_cli_rejects_bad_protocols_before_training(tmp_path, capsys, setting, dry_run):
    out = tmp_path / "results"
    argv = ["--preset", "smoke", "--dataset", "tiny", "--models", "vae", "--steps", "2",
            "--metrics", "mig", "dci", "sap", "--protocol", setting, "--out", str(out),
            "--quiet", "--no-report"] + (["--dry-run"] if dry_run else [])
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: metric ")
    assert setting.split("=")[0].split(".")[1] in err
    assert not out.exists()  # nothing trained, nothing written


def test_valid_protocol_override_still_plans(capsys):
    argv = ["--preset", "smoke", "--dataset", "tiny", "--models", "vae", "--metrics", "mig",
            "--protocol", "mig.num_bins=7", "--dry-run"]
    assert main(argv) == 0
    assert "1 run" in capsys.readouterr().out


def test_evaluate_records_results_identical_through_the_entry():
    tiny = get_dataset("tiny")
    rng = np.random.default_rng([0, 0])
    factors = tiny.sample_factors(1000, rng)
    codes = tiny.sample_observations_from_factors(factors, rng).reshape(1000, -1)[:, ::37]
    from disentangle_bench.metrics import mig

    expected = mig(factors, codes, factor_names=tiny.factor_names)
    result = evaluate(tiny, lambda x: x.reshape(len(x), -1)[:, ::37], ["mig"], preset="smoke")
    assert result["mig"]["scores"] == expected


def test_list_parameters_take_several_values_and_scalars_refuse_them(capsys):
    from disentangle_bench.cli import _plan

    base = ["--preset", "smoke", "--dataset", "tiny", "--models", "vae", "--metrics", "mig"]
    _, specs, _ = _plan([*base, "--protocol", "mig.exclude_factors=size,posX"])
    assert specs[0].protocol["mig"]["exclude_factors"] == ["size", "posX"]
    _, specs, _ = _plan([*base, "--protocol", "mig.exclude_factors=size"])
    assert specs[0].protocol["mig"]["exclude_factors"] == ["size"]
    assert main([*base, "--protocol", "mig.num_bins=3,4", "--dry-run"]) == 2
    assert "mig.num_bins takes one value" in capsys.readouterr().err
