"""``check --update-baseline`` compares a run's stored scores with a rescoring of its model: both
sides must have the same keys. A run's own bootstrap interval (``@lo``/``@hi``) is not a score,
and the derived ``<metric>.dlib_<score>`` columns come from the rescoring too."""

from __future__ import annotations

import math

import pandas as pd

from disentangle_bench.report.regression import scores_of


def test_interval_columns_are_not_scores_and_dlib_columns_are():
    row = pd.Series({"run_id": "x", "reconstruction": 5.0, "mig.discrete_mig": 0.3,
                     "mig.discrete_mig@lo": 0.2, "mig.discrete_mig@hi": 0.4,
                     "factor_vae.dlib_eval_accuracy": 0.0, "hparams.beta": 4.0})
    scores = scores_of(row)
    assert set(scores) == {"reconstruction", "mig.discrete_mig", "factor_vae.dlib_eval_accuracy"}
    assert not any(math.isnan(v) for v in scores.values())
