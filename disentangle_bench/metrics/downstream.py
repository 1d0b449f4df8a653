"""Downstream tasks: how well each factor can be predicted from the codes with few labels, as
disentanglement_lib's ``evaluation/metrics/downstream_task.py`` (Locatello et al. 2019, §6).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

import numpy as np

from .utils import check_split, constant_codes, nan_scores, varying_columns

PREDICTORS = ("logistic_regression_cv", "gbt", "gbt_fast")
STUDY_SIZES = (10, 100, 1000, 10000)


class _Constant:
    """The only sensible predictor when the training labels hold a single class."""

    def fit(self, x, y):
        self.label = y[0]
        return self

    def predict(self, x):
        return np.full(len(x), self.label)


def make_predictor(name: str, seed: int):
    """disentanglement_lib's predictors with every parameter explicit.

    - ``"logistic_regression_cv"``: ``LogisticRegressionCV(Cs=10, cv=KFold(n_splits=5))``
      (unshuffled folds), the other values scikit-learn's current defaults (lbfgs, multinomial,
      l2, max_iter 100, accuracy to pick C; the penalty and the scoring are passed explicitly,
      so scikit-learn's announced default changes cannot move the score); the study ran on
      scikit-learn < 0.22, whose one-vs-rest default differs slightly.
    - ``"gbt"``: ``GradientBoostingClassifier()`` defaults (100 stages, depth 3, lr 0.1), seeded.
    - ``"gbt_fast"``: a named deviation for CPU budgets, ``HistGradientBoostingClassifier`` with
      the same 100 iterations / depth 3 / lr 0.1 (255 bins, no early stopping, one thread), as
      ``dci_fast``.
    """
    from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import KFold

    if name == "logistic_regression_cv":
        return LogisticRegressionCV(Cs=10, cv=KFold(n_splits=5), max_iter=100, tol=1e-4,
                                    random_state=seed, scoring="accuracy",
                                    **_logistic_cv_l2(LogisticRegressionCV))
    if name == "gbt":
        return GradientBoostingClassifier(n_estimators=100, learning_rate=0.1, max_depth=3,
                                          random_state=seed)
    if name == "gbt_fast":
        return HistGradientBoostingClassifier(
            learning_rate=0.1, max_iter=100, max_depth=3, max_leaf_nodes=None,
            min_samples_leaf=1, l2_regularization=0.0, early_stopping=False, random_state=seed,
        )
    raise ValueError(f"unknown predictor {name!r}; use one of {', '.join(PREDICTORS)}")


def _logistic_cv_l2(estimator: type) -> dict:
    """The l2 penalty spelled as this scikit-learn wants it: once ``penalty`` is deprecated
    (1.8) or gone, ``l1_ratios=(0.0,)``, with the new fitted attributes where offered (only
    ``predict`` is used); before, nothing (l2 is the default; ``l1_ratios`` would warn).
    Spelled out, no FutureWarning is raised and a future default cannot change the penalty."""
    import inspect

    parameters = inspect.signature(estimator).parameters
    penalty = parameters.get("penalty")
    if penalty is not None and penalty.default != "deprecated":
        return {}
    return {"l1_ratios": (0.0,), **({"use_legacy_attributes": False}
                                    if "use_legacy_attributes" in parameters else {})}


def fit_predictor(name: str, x: np.ndarray, y: np.ndarray, seed: int):
    """A fitted predictor (a constant one if ``y`` holds one class), fitted with one BLAS and
    one OpenMP thread: parallelism comes from fitting in separate processes (``n_jobs``), and
    idle threads spinning on busy cores made LogisticRegressionCV 20-50x slower."""
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    if len(np.unique(y)) < 2:
        return _Constant().fit(x, y)
    model = make_predictor(name, seed)
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # lbfgs at 100 iterations, as dlib
        model.fit(x, y)
    return model


def _accuracies(predictor, x_train, y_train, x_test, y_test, seed) -> tuple[float, float]:
    from threadpoolctl import threadpool_limits

    model = fit_predictor(predictor, x_train, y_train, seed)
    # predicting single-threaded too: HistGradientBoosting's OpenMP threads spinning on busy
    # cores made the cpu preset's predictions 20x slower than the fits (issue 21)
    with threadpool_limits(limits=1):
        return (float(np.mean(model.predict(x_train) == y_train)),
                float(np.mean(model.predict(x_test) == y_test)))


def downstream_task(
    factors_train: np.ndarray,
    codes_train: np.ndarray,
    factors_test: np.ndarray,
    codes_test: np.ndarray,
    *,
    sizes: Sequence[int] = STUDY_SIZES,
    predictor: str = "logistic_regression_cv",
    seed: int = 0,
    n_jobs: int | None = None,
) -> dict:
    """Test accuracy of predicting each factor from all codes, per number of training labels.

    For each n in ``sizes`` and each varying factor k, ``predictor`` is fitted on the first n
    training points and scored on the test sample:

        acc_n = 1/K * sum_k mean_i [ f_k,n(z_i) = v_k,i ],   mean_test_accuracy = mean_n acc_n.

    Protocol (``unsupervised_study_v1``, ``downstream_task_{logistic_regression,
    boosted_trees}.gin``): sizes 10, 100, 1,000, 10,000; 5,000 test points;
    ``LogisticRegressionCV(Cs=10, cv=KFold(5))`` or ``GradientBoostingClassifier()``.
    Deviation, named: dlib draws a fresh training and test sample for every size; here the
    training sets are nested prefixes of one i.i.d. draw of ``max(sizes)`` points and the test
    sample is shared (each is still an i.i.d. sample of its size; sizes are merely correlated).
    A training prefix holding a single class of a factor predicts that class. The (size, factor)
    fits run in ``n_jobs`` processes (default all cores); the result does not depend on it.

    Returns ``test_accuracy_<n>``, ``train_accuracy_<n>``, ``min_test_accuracy_<n>`` (worst
    factor) per size and ``mean_test_accuracy`` (dlib's keys are ``<n>:mean_test_accuracy``
    etc.); NaN with ``"reason"`` if no factor varies, all codes are constant or the training
    sample is smaller than ``max(sizes)``.
    """
    factors_train, codes_train, factors_test, codes_test = check_split(
        factors_train, codes_train, factors_test, codes_test
    )
    sizes = [int(n) for n in sizes]
    keys = [f"{p}_{n}" for n in sizes
            for p in ("test_accuracy", "train_accuracy", "min_test_accuracy")]
    keys.append("mean_test_accuracy")
    if not sizes or min(sizes) < 1:
        raise ValueError(f"sizes must be positive numbers of training points, got {sizes}")
    if max(sizes) > len(codes_train):
        return nan_scores(keys, f"the training sample has {len(codes_train)} points, the "
                                f"largest size asks for {max(sizes)}")
    scored = varying_columns(factors_train)
    if len(scored) == 0:
        return nan_scores(keys, "no varying factor left to score")
    if constant_codes(codes_train).all():
        return nan_scores(keys, "all code dimensions are constant on the training sample")
    from joblib import Parallel, delayed

    jobs = [(n, k) for n in sizes for k in scored]
    n_jobs = min(n_jobs or os.cpu_count() or 1, len(jobs))
    calls = (delayed(_accuracies)(predictor, codes_train[:n], factors_train[:n, k], codes_test,
                                  factors_test[:, k], seed) for n, k in jobs)
    fits = Parallel(n_jobs=n_jobs)(calls) if n_jobs > 1 else [c[0](*c[1]) for c in calls]
    by_job = dict(zip(jobs, fits))
    scores: dict = {}
    for n in sizes:
        train_acc = [by_job[n, k][0] for k in scored]
        test_acc = [by_job[n, k][1] for k in scored]
        scores[f"test_accuracy_{n}"] = float(np.mean(test_acc))
        scores[f"train_accuracy_{n}"] = float(np.mean(train_acc))
        scores[f"min_test_accuracy_{n}"] = float(np.min(test_acc))
    scores["mean_test_accuracy"] = float(np.mean([scores[f"test_accuracy_{n}"] for n in sizes]))
    return scores
