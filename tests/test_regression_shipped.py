"""The project's own CI regression check: the shipped baseline must reproduce (≈ 1-2 min)."""

from __future__ import annotations

from pathlib import Path

import pytest

from disentangle_bench.cli import main
from disentangle_bench.report import regression as rg

SHIPPED = Path(__file__).resolve().parents[1] / "results" / "baselines" / "ci.json"


@pytest.mark.slow
def test_shipped_baseline_passes_the_regression_check(capsys):
    record = rg.load_baseline(SHIPPED)
    assert len(record["runs"]) >= 2 and record["tolerances"]["train_seeds"]
    code = main(["check", str(SHIPPED), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0, out    # on failure, the table with the FAIL rows is the message
    assert "regression check PASSED" in out
