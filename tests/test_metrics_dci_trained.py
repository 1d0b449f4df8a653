"""The fast DCI estimator against the exact one on a trained model's codes, and its fallback to
the exact estimator where scikit-learn's private tree attributes were not verified."""

from __future__ import annotations

import numpy as np
import pytest

from disentangle_bench.metrics import dci, dci_fast
from disentangle_bench.metrics.dci import sklearn_version_verified


@pytest.fixture(scope="module")
def trained_codes():
    """Train and test (factors, codes) of a β-VAE trained briefly on ``tiny`` (200 steps)."""
    from disentangle_bench.data import get_dataset
    from disentangle_bench.training import TrainConfig, train

    config = TrainConfig(model="beta_vae", hparams={"beta": 4.0}, dataset="tiny", steps=200,
                         batch_size=64, lr=3e-3, seed=0, latent_dim=4, architecture="mlp",
                         device="cpu", precision="fp32", log_every=100)
    model = train(config, progress=False)
    dataset = get_dataset("tiny")
    rng = np.random.default_rng([0, 1])
    factors_train, x_train = dataset.sample(500, rng)
    factors_test, x_test = dataset.sample(250, rng)
    return factors_train, model.encode(x_train), factors_test, model.encode(x_test)


@pytest.fixture(scope="module")
def exact(trained_codes):
    return dci(*trained_codes, n_jobs=1)


def test_fast_dci_agrees_with_the_exact_one_on_a_trained_model(trained_codes, exact):
    fast = dci_fast(*trained_codes, n_jobs=1)
    # the codes carry the factors (not a trivial representation) ...
    assert exact["informativeness_test"] > 0.5
    # ... and the estimators agree to the tolerance docs/metrics.md reports on synthetic codes
    for key in ("disentanglement", "completeness"):
        assert fast[key] == pytest.approx(exact[key], abs=0.05), key
    assert fast["informativeness_test"] == pytest.approx(exact["informativeness_test"], abs=0.06)


def test_verified_versions():
    assert sklearn_version_verified("1.0.2") and sklearn_version_verified("1.9.1")
    assert not sklearn_version_verified("0.24.2")
    assert not sklearn_version_verified("1.10.0") and not sklearn_version_verified("2.0")
    assert not sklearn_version_verified("nightly")


def test_outside_the_verified_range_fast_falls_back_to_exact(trained_codes, exact,
                                                             monkeypatch):
    import sklearn

    monkeypatch.setattr(sklearn, "__version__", "0.24.2")
    with pytest.warns(RuntimeWarning, match=r"scikit-learn 0\.24\.2 is outside the range .* "
                                            r"computing the exact DCI instead"):
        fallback = dci_fast(*trained_codes, n_jobs=1)
    assert fallback.pop("estimator_used").startswith("exact")
    assert fallback == exact
