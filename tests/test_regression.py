"""Regression check: comparison rules, tolerance derivation and the baseline file (no training)."""

from __future__ import annotations

import json
import math

import pytest

from disentangle_bench.cli import main
from disentangle_bench.report import regression as rg


def record(scores: dict[str, float], tolerances: dict[str, float], label="vae seed 0") -> dict:
    return {
        "format": rg.FORMAT,
        "runs": [{"label": label, "config": {}, "scores": scores}],
        "tolerances": {"per_run": {label: {m: {"tolerance": t} for m, t in tolerances.items()}}},
    }


BASE = record({"kl": 20.0, "mig.discrete_mig": 0.30, "reconstruction": 50.0},
              {"kl": 0.5, "mig.discrete_mig": 0.03, "reconstruction": 1.0})


def test_scores_within_tolerance_pass_with_the_table_columns():
    table = rg.compare_scores(BASE, {"vae seed 0": {"kl": 20.4, "mig.discrete_mig": 0.28,
                                                    "reconstruction": 50.0, "extra.score": 1}})
    assert list(table.columns) == rg.TABLE_COLUMNS
    assert list(table["result"]) == ["pass"] * 3          # extra scores are not compared
    row = table.set_index("metric").loc["kl"]
    assert row["difference"] == pytest.approx(0.4) and row["tolerance"] == 0.5


def test_a_score_beyond_its_tolerance_fails_on_its_own_row():
    table = rg.compare_scores(BASE, {"vae seed 0": {"kl": 20.6, "mig.discrete_mig": 0.30,
                                                    "reconstruction": 49.2}})
    results = dict(zip(table["metric"], table["result"]))
    assert results == {"kl": "FAIL", "mig.discrete_mig": "pass", "reconstruction": "pass"}
    text = rg.format_table(table)
    kl_line = next(line for line in text.splitlines() if line.startswith("vae seed 0  kl"))
    assert kl_line.endswith("FAIL") and "+0.6" in kl_line


def test_missing_runs_scores_and_nans_fail():
    table = rg.compare_scores(BASE, {}, {"vae seed 0": "failed: TrainingDiverged"})
    assert set(table["result"]) == {"FAIL (run failed: TrainingDiverged)"}
    table = rg.compare_scores(BASE, {"vae seed 0": {"kl": 20.0, "reconstruction": math.nan}})
    results = dict(zip(table["metric"], table["result"]))
    assert results == {"kl": "pass", "mig.discrete_mig": "FAIL (score missing)",
                       "reconstruction": "FAIL (NaN)"}
    nan_base = record({"mig.gap_shape": math.nan}, {"mig.gap_shape": 0.1})
    assert list(rg.compare_scores(nan_base, {"vae seed 0": {"mig.gap_shape": math.nan}})
                ["result"]) == ["pass"]


def test_a_score_without_a_recorded_tolerance_gets_the_floor():
    table = rg.compare_scores(record({"kl": 20.0}, {}), {"vae seed 0": {"kl": 20.01}})
    assert table["tolerance"][0] == pytest.approx(rg.FLOOR_ABS + rg.FLOOR_REL * 20.0)
    assert table["result"][0] == "pass"
    table = rg.compare_scores(record({"kl": 20.0}, {}), {"vae seed 0": {"kl": 20.03}})
    assert table["result"][0] == "FAIL"


def test_tolerance_is_the_largest_of_eval_spread_train_spread_and_floor():
    evals = [{"m": 0.50}, {"m": 0.52}, {"m": 0.48}]                   # std 0.02
    entry = rg._tolerance_entry(0.5, evals, [{"m": 0.5}], "m")
    assert entry["from"] == "eval" and entry["tolerance"] == pytest.approx(rg.K_EVAL * 0.02)
    assert entry["train_std"] == 0.0 and entry["n_eval"] == 3
    trains = [{"m": 0.5}, {"m": 0.7}]                                 # std 0.1414
    entry = rg._tolerance_entry(0.5, evals, trains, "m")
    assert entry["from"] == "train"
    assert entry["tolerance"] == pytest.approx(rg.K_TRAIN * math.sqrt(0.02))
    entry = rg._tolerance_entry(3.0, [{"m": 3.0}] * 3, [{"m": 3.0}], "m")
    assert entry["from"] == "floor" and entry["tolerance"] == pytest.approx(rg.floor(3.0))


def test_bad_baseline_files_give_one_line_errors(tmp_path):
    with pytest.raises(rg.BaselineError, match="no baseline file .* --create"):
        rg.load_baseline(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(rg.BaselineError, match="cannot read baseline"):
        rg.load_baseline(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(rg.BaselineError, match="is not a baseline file"):
        rg.load_baseline(tmp_path / "other.json")
    (tmp_path / "norun.json").write_text(json.dumps({"format": rg.FORMAT, "runs": [{}]}))
    with pytest.raises(rg.BaselineError, match="needs label, config and scores"):
        rg.load_baseline(tmp_path / "norun.json")


def test_cli_check_on_a_missing_baseline_exits_2_with_one_line(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no baseline file") and "\n" not in err
    assert main(["check", str(tmp_path / "nope.json"), "--", "--betas", "4"]) == 2
    assert "only used with --create" in capsys.readouterr().err


def test_write_baseline_round_trips(tmp_path):
    path = rg.write_baseline(tmp_path / "b.json", BASE)
    assert rg.load_baseline(path) == BASE
    assert not list(tmp_path.glob(".tmp-*"))


def test_cli_check_create_with_an_unfinished_run_exits_1_not_2(tmp_path, monkeypatch, capsys):
    import pandas as pd

    def unfinished(specs, out, progress=False):  # as run_specs reports a run that did not finish
        return pd.DataFrame([{"run_id": s.run_id, "status": "failed",
                              "error": "TrainingDiverged: loss is NaN at step 3"} for s in specs])

    monkeypatch.setattr(rg, "run_specs", unfinished)
    baseline = tmp_path / "new.json"
    code = main(["check", str(baseline), "--create", "--quiet", "--",
                 "--models", "vae", "--preset", "smoke", "--dataset", "tiny"])
    err = capsys.readouterr().err.strip()
    assert code == 1  # a failure, not a usage error (2)
    assert err.startswith("error: baseline run vae-") and "did not finish" in err
    assert "\n" not in err and not baseline.exists()
