import itertools
import math
import warnings

import numpy as np
import property_suite as ps
import pytest
from sklearn import ensemble, linear_model, model_selection

from disentangle_bench.metrics.downstream import downstream_task as _downstream_task


def downstream_task(*args, **kwargs):
    return _downstream_task(*args, **{"n_jobs": 1, **kwargs})


def grid(*sizes, repeat=1):
    return np.array(list(itertools.product(*(range(s) for s in sizes))) * repeat)


def test_known_answers_on_exact_codes_and_single_class_prefix():
    factors = grid(4, 4, repeat=4)
    codes = factors.astype(float)
    result = downstream_task(factors, codes, factors, codes, sizes=(1, 16), predictor="gbt")
    assert result["test_accuracy_16"] == 1.0 and result["train_accuracy_16"] == 1.0
    # one training point: each factor's only class is predicted everywhere, right 1/4 of the time
    assert result["test_accuracy_1"] == 0.25 and result["train_accuracy_1"] == 1.0
    assert result["mean_test_accuracy"] == pytest.approx((1.0 + 0.25) / 2)


def test_more_labels_help_and_information_matters():
    data = ps.split_suite(300, 300, seed=1)
    scores = {
        v: downstream_task(*data[v], sizes=(10, 300), predictor="gbt_fast")
        for v in ("ideal", "explicitness")
    }
    assert scores["ideal"]["test_accuracy_300"] > 0.95
    assert scores["ideal"]["test_accuracy_10"] < scores["ideal"]["test_accuracy_300"] - 0.3
    # noise destroying information lowers the accuracy
    assert scores["explicitness"]["test_accuracy_300"] < 0.5


def test_logistic_regression_responds_to_noise_not_to_an_invertible_linear_mix():
    data = ps.split_suite(100, 200, seed=2)
    scores = {}
    for v in ("ideal", "mixing", "explicitness"):
        ftr, ctr, fte, cte = data[v]  # two of the three factors keep the test short
        scores[v] = downstream_task(ftr[:, :2], ctr, fte[:, :2], cte, sizes=(100,))[
            "test_accuracy_100"]
    assert scores["ideal"] > 0.9
    assert scores["mixing"] == pytest.approx(scores["ideal"], abs=0.1)
    assert scores["explicitness"] < scores["ideal"] - 0.4


def dlib_downstream(ftr, ctr, fte, cte, sizes, predictor_fn):
    """Standalone re-reading of dlib's compute_downstream_task/_compute_loss on given arrays."""
    out = {}
    for n in sizes:
        accs = []
        for k in range(ftr.shape[1]):
            model = predictor_fn()
            model.fit(ctr[:n], ftr[:n, k])
            accs.append(np.mean(model.predict(cte) == fte[:, k]))
        out[n] = np.mean(accs)
    return out


def small_problem(n_train=60, n_test=100, seed=3):
    rng = np.random.default_rng(seed)
    factors = rng.integers(3, size=(n_train + n_test, 2))
    codes = factors @ rng.normal(size=(2, 3)) + 0.5 * rng.normal(size=(n_train + n_test, 3))
    return factors[:n_train], codes[:n_train], factors[n_train:], codes[n_train:]


@pytest.mark.filterwarnings("ignore")
def test_oracle_disentanglement_lib_predictors():
    ftr, ctr, fte, cte = small_problem()
    lr = dlib_downstream(ftr, ctr, fte, cte, (20, 60), lambda: linear_model.LogisticRegressionCV(
        Cs=10, cv=model_selection.KFold(n_splits=5)))
    ours = downstream_task(ftr, ctr, fte, cte, sizes=(20, 60))
    assert ours["test_accuracy_20"] == pytest.approx(lr[20], abs=1e-12)
    assert ours["test_accuracy_60"] == pytest.approx(lr[60], abs=1e-12)
    gbt = dlib_downstream(ftr, ctr, fte, cte, (60,),
                          lambda: ensemble.GradientBoostingClassifier(random_state=0))
    ours = downstream_task(ftr, ctr, fte, cte, sizes=(60,), predictor="gbt")
    assert ours["test_accuracy_60"] == pytest.approx(gbt[60], abs=1e-12)
    # fits in two processes give the same numbers
    assert downstream_task(ftr, ctr, fte, cte, sizes=(60,), predictor="gbt", n_jobs=2) == ours


def test_too_small_training_sample_is_nan_with_reason():
    ftr, ctr, fte, cte = ps.split_suite(50, 50)["ideal"]
    result = downstream_task(ftr, ctr, fte, cte, sizes=(10, 100))
    assert math.isnan(result["mean_test_accuracy"]) and "100" in result["reason"]
    with pytest.raises(ValueError, match="predictor"):
        downstream_task(ftr, ctr, fte, cte, sizes=(10,), predictor="svm")


def test_the_logistic_predictor_is_spelled_out_so_scikit_learn_warns_nothing():
    from sklearn.exceptions import ConvergenceWarning

    from disentangle_bench.metrics.downstream import make_predictor

    ftr, ctr, fte, cte = small_problem()
    model = make_predictor("logistic_regression_cv", 0)
    with warnings.catch_warnings():  # scikit-learn >= 1.8 warns about its default changes
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)  # lbfgs at 100 iterations, as dlib
        model.fit(ctr, ftr[:, 0])
        downstream_task(ftr, ctr, fte, cte, sizes=(20, 60))  # only convergence is hushed
    assert model.get_params()["scoring"] == "accuracy"  # 1.11 changes the default
