"""Fairness of downstream predictions (Locatello et al. 2019, "On the Fairness of Disentangled
Representations", NeurIPS 2019, §4), as disentanglement_lib's ``evaluation/metrics/fairness.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .downstream import fit_predictor
from .utils import encode, nan_scores

AGGREGATES = ("mean", "max")


def inter_group_fairness(counts: np.ndarray) -> tuple[float, float]:
    """Unfairness of one predictor against one sensitive factor.

    ``counts[p, s]`` = how often class p was predicted when the sensitive factor was set to s.
    With ``P(p)`` the prediction distribution over all sensitive values and ``P(p | s)`` per
    value, ``TV_s = 1/2 sum_p |P(p | s) - P(p)|``; returns ``(sum_s w_s TV_s, max_s TV_s)``,
    ``w_s`` = share of the predictions made at value s. Sensitive values with no prediction
    are left out.
    """
    counts = np.asarray(counts, dtype=np.float64)
    per_value = counts.sum(axis=0)
    seen = per_value > 0
    counts, per_value = counts[:, seen], per_value[seen]
    overall = counts.sum(axis=1) / counts.sum()
    tv = 0.5 * np.abs(counts / per_value - overall[:, None]).sum(axis=0)
    return float(np.sum(tv * per_value / per_value.sum())), float(tv.max())


def aggregate_fairness(matrix: np.ndarray, prefix: str) -> dict:
    """``{prefix}_{a}_pred_{b}_sens``: the off-diagonal ``matrix[target, sensitive]`` reduced
    first over sensitive factors with ``b``, then over targets with ``a`` (``a, b`` in mean,
    max). ``mean_pred_mean_sens`` of the mean-TV matrix is the score of Locatello et al. §4
    (dlib: ``mean_fairness:mean_pred:mean_sens``)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    off = ~np.eye(len(matrix), dtype=bool)
    rows = [matrix[i][off[i]] for i in range(len(matrix))]
    scores = {}
    for sens in AGGREGATES:
        per_target = np.array([getattr(np, sens)(row) for row in rows])
        for pred in AGGREGATES:
            scores[f"{prefix}_{pred}_pred_{sens}_sens"] = float(getattr(np, pred)(per_target))
    return scores


def _draw_factors(dataset, num_train: int, per_class: int, rng) -> tuple[np.ndarray, dict]:
    """Every factor array the score renders, drawn before any image: the training factors, then
    per (target, sensitive) pair of varying factors ``per_class`` tuples drawn once and repeated
    with the sensitive factor set to each of its values (rows: value-major)."""
    varying = list(dataset.varying_factors)
    factors = dataset.sample_factors(num_train, rng)
    interventions = {}
    for a in range(len(varying)):
        for b, sensitive in enumerate(varying):
            if a == b:
                continue
            base = dataset.sample_factors(per_class, rng)
            intervened = np.repeat(base[None], dataset.factor_sizes[sensitive], axis=0)
            intervened[:, :, sensitive] = np.arange(dataset.factor_sizes[sensitive])[:, None]
            interventions[a, b] = intervened.reshape(-1, dataset.num_factors)
    return factors, interventions


def _encode_all(dataset, represent, factors, rng, chunk_size: int) -> np.ndarray:
    return np.concatenate([
        encode(represent, dataset.sample_observations_from_factors(
            factors[start:start + chunk_size], rng))
        for start in range(0, len(factors), chunk_size)
    ])


def fairness_factor_draws(dataset, *, seed: int = 0, num_train: int = 10000,
                          num_test_points_per_class: int = 100, **_unused) -> Iterator[np.ndarray]:
    """The factor arrays (n, F) :func:`fairness` renders, in order, for a dataset whose
    rendering draws nothing from the generator; the code cache plans with this."""
    if len(dataset.varying_factors) < 2:
        return
    factors, interventions = _draw_factors(dataset, num_train, num_test_points_per_class,
                                           np.random.default_rng(seed))
    yield factors
    yield from interventions.values()


def fairness(
    dataset,
    represent,
    *,
    seed: int = 0,
    num_train: int = 10000,
    num_test_points_per_class: int = 100,
    predictor: str = "gbt",
    chunk_size: int = 8192,
) -> dict:
    """Unfairness of factor predictors under interventions on another factor.

    For each varying target factor t a ``predictor`` is fitted on ``num_train`` i.i.d. points
    (codes -> v_t). For each other varying factor s ("sensitive"): ``num_test_points_per_class``
    factor tuples are drawn once; for every value c of s, s is set to c in all of them, the
    images are encoded and classified, and ``counts[:, c]`` = histogram of the predicted classes.
    ``U_mean[t, s], U_max[t, s] = inter_group_fairness(counts)`` (total-variation distance of
    the prediction distribution at each sensitive value to the overall one). Lower is fairer.

    Protocol (``fairness_study_v1/metric_configs/fairness.gin``): 10,000 training points,
    100 test points per sensitive value, ``GradientBoostingClassifier()`` (``predictor="gbt"``;
    ``"gbt_fast"`` and ``"logistic_regression_cv"`` are named deviations, see
    :func:`~disentangle_bench.metrics.downstream.make_predictor`). Only varying factors take part
    (dlib's datasets list only varying factors). Random draws come from ``default_rng(seed)``;
    every factor tuple is drawn before any image is rendered (dlib interleaves them), so
    ``chunk_size`` changes nothing and the code cache can plan the images
    (:func:`fairness_factor_draws`).

    Returns ``mean_fairness_{a}_pred_{b}_sens`` and ``max_fairness_{a}_pred_{b}_sens`` for
    a, b in {mean, max} (see :func:`aggregate_fairness`); NaN with ``"reason"`` when fewer than
    2 factors vary.
    """
    varying = list(dataset.varying_factors)
    keys = [f"{m}_fairness_{a}_pred_{b}_sens" for m in AGGREGATES for a in AGGREGATES
            for b in AGGREGATES]
    if len(varying) < 2:
        return nan_scores(keys, "fairness needs at least 2 varying factors")
    rng = np.random.default_rng(seed)
    factors, interventions = _draw_factors(dataset, num_train, num_test_points_per_class, rng)
    codes = _encode_all(dataset, represent, factors, rng, chunk_size)
    sizes = dataset.factor_sizes
    mean_u = np.zeros((len(varying), len(varying)))
    max_u = np.zeros_like(mean_u)
    for a, target in enumerate(varying):
        model = fit_predictor(predictor, codes, factors[:, target], seed)
        for b, sensitive in enumerate(varying):
            if a == b:
                continue
            flat = interventions[a, b]
            predictions = model.predict(
                _encode_all(dataset, represent, flat, rng, chunk_size)
            ).reshape(sizes[sensitive], num_test_points_per_class)
            counts = np.stack([np.bincount(row, minlength=sizes[target]) for row in predictions],
                              axis=1)
            mean_u[a, b], max_u[a, b] = inter_group_fairness(counts)
    return {**aggregate_fairness(mean_u, "mean_fairness"),
            **aggregate_fairness(max_u, "max_fairness")}
