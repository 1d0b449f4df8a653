import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from disentangle_bench.metrics import (
    discrete_entropy,
    discrete_mutual_info,
    histogram_discretize,
)
from disentangle_bench.metrics.utils import encode, environment, logistic_regression


def test_histogram_discretizer_matches_disentanglement_lib_example():
    codes = np.array([[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]]).T
    np.testing.assert_array_equal(histogram_discretize(codes, 3)[:, 0], [1, 1, 2, 2, 3, 3])


def test_histogram_discretizer_is_per_column_and_puts_max_in_last_bin():
    rng = np.random.default_rng(0)
    codes = np.stack([rng.normal(size=1000), 100 + 5 * rng.uniform(size=1000)], axis=1)
    binned = histogram_discretize(codes, 20)
    for j in range(2):
        assert binned[:, j].min() == 1 and binned[:, j].max() == 20
        assert binned[np.argmax(codes[:, j]), j] == 20


@pytest.mark.parametrize("kx,ky", [(20, 40), (3, 6), (1, 5), (7, 1), (2, 2)])
def test_vectorised_mutual_info_equals_sklearn(kx, ky):
    rng = np.random.default_rng(kx * 100 + ky)
    a = rng.integers(kx, size=(3000, 3)) + 1
    b = rng.integers(ky, size=(3000, 2))
    b[:, 1] = (b[:, 1] + a[:, 0]) % max(ky, 1)  # some dependence
    m = discrete_mutual_info(a, b)
    for i in range(3):
        for j in range(2):
            assert m[i, j] == pytest.approx(mutual_info_score(b[:, j], a[:, i]), abs=1e-12)


def test_entropy_equals_self_information_and_log_of_uniform():
    rng = np.random.default_rng(1)
    y = np.stack([rng.integers(8, size=5000), np.zeros(5000, dtype=int)], axis=1)
    h = discrete_entropy(y)
    assert h[0] == pytest.approx(mutual_info_score(y[:, 0], y[:, 0]), abs=1e-12)
    assert h[0] == pytest.approx(np.log(8), abs=0.01)
    assert h[1] == 0.0


def test_encode_rejects_wrong_number_of_rows_and_nan():
    obs = np.zeros((5, 1, 2, 2), dtype=np.float32)
    with pytest.raises(ValueError, match="one code row per observation"):
        encode(lambda x: np.zeros((4, 2)), obs)
    with pytest.raises(ValueError, match="NaN"):
        encode(lambda x: np.full((5, 2), np.nan), obs)


def test_logistic_regression_variants_are_explicit():
    ovr = logistic_regression("liblinear_ovr", 0)
    params = ovr.estimator.get_params()
    assert params["solver"] == "liblinear" and params["C"] == 1.0 and params["max_iter"] == 100
    assert logistic_regression("lbfgs_multinomial", 0).get_params()["solver"] == "lbfgs"
    with pytest.raises(ValueError, match="unknown logistic regression variant"):
        logistic_regression("newton", 0)


def test_environment_records_versions():
    env = environment()
    for key in ("python", "numpy", "scipy", "scikit-learn"):
        assert isinstance(env[key], str) and env[key]


def test_check_split_is_the_one_train_test_check_of_the_split_metrics():
    from disentangle_bench.metrics import (
        dci,
        dci_es,
        dci_fast,
        downstream_task,
        modularity_explicitness,
        sap,
    )
    from disentangle_bench.metrics.utils import MetricInputError, check_split

    rng = np.random.default_rng(0)
    factors, codes = rng.integers(3, size=(20, 2)), rng.normal(size=(20, 4))
    checked = check_split(factors, codes, factors.astype(float), codes.astype(np.float32))
    assert [a.dtype for a in checked] == [np.int64, np.float64, np.int64, np.float64]
    message = "train and test arrays need the same numbers of factors and codes, got 2/2 " \
              "factors and 4/3 codes"
    with pytest.raises(MetricInputError, match=message):
        check_split(factors, codes, factors, codes[:, :3])
    for metric in (dci, dci_fast, sap, modularity_explicitness, dci_es, downstream_task):
        with pytest.raises(MetricInputError, match=message):
            metric(factors, codes, factors, codes[:, :3])


def test_artifacts_kl_is_the_metrics_kl_to_the_standard_normal():
    from disentangle_bench.metrics import kl_to_standard_normal
    from disentangle_bench.sweep.artifacts import gaussian_kl_per_dim

    rng = np.random.default_rng(1)
    mean, logvar = rng.normal(size=(50, 5)), rng.normal(size=(50, 5))
    np.testing.assert_array_equal(gaussian_kl_per_dim(mean, logvar),
                                  kl_to_standard_normal(mean, logvar))
    # 0.5 (mu^2 + sigma^2 - log sigma^2 - 1): mu = 1, log sigma^2 = 0 gives 0.5 nats per dim
    assert gaussian_kl_per_dim(np.ones((3, 2)), np.zeros((3, 2))).tolist() == [0.5, 0.5]
    assert gaussian_kl_per_dim(mean, None).tolist() == [0.0] * 5  # a deterministic encoder
