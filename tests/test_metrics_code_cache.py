"""The code cache of ``evaluate`` (metrics/code_cache.py): same scores as the direct path, only
for deterministic datasets and representations, bounded memory."""

import importlib
import tracemalloc

import numpy as np
import pytest

from disentangle_bench.data import GroundTruthDataset, get_dataset, list_datasets
from disentangle_bench.data.registry import dataset_class
from disentangle_bench.metrics import evaluate, list_metrics, metric_spec, registry
from disentangle_bench.metrics.beta_vae import beta_vae_factor_draws
from disentangle_bench.metrics.code_cache import IndexView, plan_indices
from disentangle_bench.training import TrainConfig, train

# Small sizes with many repeated images on tiny (192 images) and the conv-free MLP, so that
# each evaluation takes seconds; the classifiers dominate otherwise (see _cheap_classifiers).
SMALL = {
    "beta_vae": {"batch_size": 8, "num_train": 100, "num_eval": 50},
    "factor_vae": {"batch_size": 8, "num_train": 100, "num_eval": 50,
                   "num_variance_estimate": 500},
    "mig": {"num_train": 300},
    "dci": {"num_train": 300, "num_test": 150},
    "sap": {"num_train": 300, "num_test": 150},
    "modularity_explicitness": {"num_train": 300, "num_test": 150},
    "unsupervised": {"num_train": 300},
    "fairness": {"num_train": 300, "num_test_points_per_class": 3},
}
# Sample-based metrics whose classifiers take 5-50 s at any size; they read the same shared
# draws as DCI, whose input arrays are compared bit for bit instead (_cheap_classifiers).
SLOW = ("downstream_logistic", "downstream_gbt", "infomec")


def _trained(dataset: str):
    config = TrainConfig(
        model="beta_vae", dataset=dataset, architecture="mlp", steps=40, batch_size=32,
        lr=1e-3, latent_dim=6, device="cpu", precision="fp32", checkpoint_every=0, log_every=20,
    )
    return train(config, progress=False)


@pytest.fixture(scope="module")
def tiny_model():
    return _trained("tiny")


@pytest.fixture(scope="module")
def dsprites_model():
    return _trained("dsprites-procedural")


def _evaluate(dataset, model, mode, metrics=None, **kwargs):
    if metrics is None:
        metrics = [name for name in list_metrics() if name not in SLOW]
        assert all(metric_spec(name).kind == "samples" for name in SLOW)
    return evaluate(
        dataset, model.encode, metrics, preset="smoke", overrides=SMALL, n_jobs=1,
        posterior=model.posterior, reconstruction_nll=model.reconstruction_nll, code_cache=mode,
        chunk_size=1024, **kwargs,
    )


def _scores(result):
    return {name: result[name]["scores"] for name in result if not name.startswith("_")}


def _assert_same_scores(cached, direct):
    assert cached["_code_cache"]["path"] == "cached"
    assert cached["_code_cache"]["misses"] == 0  # the plan foresaw every draw
    assert direct["_code_cache"]["path"] == "direct"
    assert _scores(cached).keys() == _scores(direct).keys()
    for name, scores in _scores(cached).items():
        assert scores == direct[name]["scores"], name  # identical, not close


def _assert_same_dci_arrays(seen):
    (cached_arrays, direct_arrays) = seen
    for a, b in zip(cached_arrays, direct_arrays, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_cached_scores_equal_direct_on_a_deterministic_test_dataset(tiny_model, monkeypatch):
    tiny = get_dataset("tiny")
    seen = _cheap_classifiers(monkeypatch)
    cached = _evaluate(tiny, tiny_model, "auto")
    direct = _evaluate(tiny, tiny_model, "off")
    _assert_same_scores(cached, direct)
    _assert_same_dci_arrays(seen)
    info = cached["_code_cache"]
    assert info["distinct_images"] <= len(tiny) < info["drawn_images"]  # images were repeated
    assert info["encoded_images"] == 1024  # one call of chunk_size images, the last one padded
    assert set(_scores(cached)) == set(list_metrics()) - set(SLOW)


class _NearestMean:
    """A cheap deterministic classifier that still depends on every code: nearest class mean."""

    def fit(self, x, y):
        self.classes = np.unique(y)
        self.means = np.stack([x[y == c].mean(axis=0) for c in self.classes])
        return self

    def predict(self, x):
        distances = ((x[:, None, :] - self.means[None]) ** 2).sum(axis=-1)
        return self.classes[np.argmin(distances, axis=1)]


def _cheap_classifiers(monkeypatch):
    """DCI's trees take ~50 s at any size on dSprites' 113 classes, fairness' boosted trees
    ~30 s. DCI, a pure function of its arrays (tested in test_metrics_dci.py), gives the same
    scores when it gets the same arrays, so record those and compare them bit for bit; fairness
    gets a nearest-mean predictor (the cache is about the codes, not the classifier)."""
    seen = []

    def recording(*arrays, **_options):
        seen.append([np.array(a, copy=True) for a in arrays])
        return {"recorded": 1.0}

    monkeypatch.setattr(registry, "dci_fast", recording)
    # the module (the package exports a function of the same name)
    fairness_module = importlib.import_module("disentangle_bench.metrics.fairness")
    monkeypatch.setattr(fairness_module, "fit_predictor",
                        lambda name, x, y, seed: _NearestMean().fit(x, y))
    return seen


def test_cached_scores_equal_direct_on_procedural_dsprites(dsprites_model, monkeypatch):
    dataset = get_dataset("dsprites-procedural")
    seen = _cheap_classifiers(monkeypatch)
    cached = _evaluate(dataset, dsprites_model, "on")
    direct = _evaluate(dataset, dsprites_model, "off")
    _assert_same_scores(cached, direct)
    _assert_same_dci_arrays(seen)
    # the default rule: these sizes draw few repeats of 737,280 images, so no saving
    assert _evaluate(dataset, dsprites_model, "auto", ["mig"])["_code_cache"]["path"] == "direct"


def test_each_distinct_image_is_encoded_once(tiny_model):
    calls = []

    def counting(observations):
        calls.append(len(observations))
        return tiny_model.encode(observations)

    tiny = get_dataset("tiny")
    result = evaluate(tiny, counting, ["beta_vae", "factor_vae", "mig"], preset="smoke",
                      overrides=SMALL, n_jobs=1, chunk_size=256)
    assert result["_code_cache"]["path"] == "cached"
    assert calls == [256]  # 192 distinct images padded to one full call
    counting.stochastic = True  # a stochastic representation is encoded for every draw
    calls.clear()
    result = evaluate(tiny, counting, ["beta_vae"], preset="smoke", overrides=SMALL, n_jobs=1)
    assert result["_code_cache"]["reason"] == "represent is marked stochastic"
    assert sum(calls) == 2 * 8 * 150


class NoisyTiny(GroundTruthDataset):
    """tiny's squares plus per-sample uniform noise: not a function of the factors."""

    name = "noisy-tiny"
    factor_names = ("color", "size", "posX", "posY")
    factor_sizes = (1, 3, 8, 8)
    observation_shape = (1, 16, 16)

    def sample_observations_from_factors(self, factors, rng):
        images = get_dataset("tiny").sample_observations_from_factors(factors, rng)
        return images + 0.3 * rng.random(images.shape, dtype=np.float32)


class WronglyDeterministicNoisyTiny(NoisyTiny):
    deterministic = True


def test_a_random_dataset_never_takes_the_cached_path(tiny_model):
    noisy = NoisyTiny()
    metrics = ["beta_vae", "factor_vae", "mig", "sap"]
    forced = _evaluate(noisy, tiny_model, "on", metrics)
    direct = _evaluate(noisy, tiny_model, "off", metrics)
    assert forced["_code_cache"]["path"] == "direct"
    assert "not deterministic" in forced["_code_cache"]["reason"]
    assert _scores(forced) == _scores(direct)
    # the cached path would have changed them: the noise is drawn once per distinct image
    wrong = _evaluate(WronglyDeterministicNoisyTiny(), tiny_model, "on", metrics)
    assert wrong["_code_cache"]["path"] == "cached"
    assert _scores(wrong) != _scores(direct)


class LargeGrid(GroundTruthDataset):
    """2 x 10^6 grid points; the observation is the normalised factor vector (3 pixels)."""

    name = "large-grid"
    factor_names = ("a", "b", "c")
    factor_sizes = (200, 100, 100)
    observation_shape = (3, 1, 1)
    deterministic = True

    def sample_observations_from_factors(self, factors, rng):
        return (self._check_factors(factors) / 199.0).astype(np.float32)[:, :, None, None]


def wide_codes(observations):
    """64 float64 codes per image (512 bytes), not exact in float32."""
    x = observations.reshape(len(observations), -1).astype(np.float64)
    return np.sin(x @ np.linspace(1.0, 7.0, 3 * 64).reshape(3, 64) + 0.1)


def _peak_bytes(**kwargs) -> tuple[int, dict]:
    tracemalloc.start()
    try:
        result = evaluate(LargeGrid(), wide_codes, ["beta_vae", "factor_vae", "mig"],
                          preset="smoke", n_jobs=1, chunk_size=1024, **kwargs)
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


def test_memory_stays_under_the_limit_by_falling_back_to_the_direct_path():
    limit = 1 << 20  # 1 MiB, below the grid's size: the plan sorts the drawn indices
    # the smoke sizes' ~24,000 distinct codes need ~12 MiB
    direct_peak, direct = _peak_bytes(code_cache="off")
    fallback_peak, fallback = _peak_bytes(code_cache="on", max_cache_bytes=limit)
    info = fallback["_code_cache"]
    assert info["path"] == "direct" and "exceed max_bytes" in info["reason"]
    assert info["distinct_images"] * (64 * 8 + 8) > 10 * limit
    assert info["encoded_images"] <= 1024  # learnt the code size from one call, then gave up
    assert _scores(fallback) == _scores(direct)
    # the stated bound: the direct path's memory plus the cache's limit plus the plan's
    # 8 bytes (and one sorting copy) per drawn image
    assert fallback_peak <= direct_peak + limit + 16 * info["drawn_images"]
    # control: without the limit the cache is built and the same bound is exceeded
    cached_peak, cached = _peak_bytes(code_cache="on")
    assert cached["_code_cache"]["path"] == "cached"
    assert cached_peak > direct_peak + limit + 16 * cached["_code_cache"]["drawn_images"]


def test_deterministic_datasets_leave_the_generator_untouched():
    for name in ("tiny", "dsprites-procedural"):
        dataset = get_dataset(name)
        assert dataset.deterministic
        rng = np.random.default_rng(5)
        before = rng.bit_generator.state
        factors = dataset.sample_factors(50, np.random.default_rng(1))
        first = dataset.sample_observations_from_factors(factors, rng)
        assert rng.bit_generator.state == before
        assert np.array_equal(first, dataset.sample_observations_from_factors(factors, rng))
    declared = {name: dataset_class(name).deterministic for name in list_datasets()}
    random = {"noisy-dsprites", "color-dsprites", "scream-dsprites", "smallnorb"}
    assert {name for name, yes in declared.items() if not yes} == random


def test_plan_matches_the_beta_vae_draws():
    tiny = get_dataset("tiny")
    drawn = []

    def recording(indices):
        drawn.append(np.array(indices))
        return np.ones((len(indices), 1)) * indices[:, None]

    registry.beta_vae_score(IndexView(tiny), recording, seed=3, batch_size=4, num_train=20,
                            num_eval=10, chunk_size=32)
    planned = list(beta_vae_factor_draws(tiny, seed=3, batch_size=4, num_train=20, num_eval=10))
    assert sum(len(d) for d in drawn) == sum(len(p) for p in planned) == 2 * 4 * 30
    assert np.array_equal(np.sort(np.concatenate(drawn)),
                          np.sort(np.concatenate([tiny.index_of(p) for p in planned])))


def test_plan_by_mask_and_by_sorting_agree():
    grid = LargeGrid()
    draws = [grid.sample_factors(n, np.random.default_rng(n)) for n in (5000, 3000, 1)]
    draws.append(draws[0][:700])  # repeats
    by_mask, drawn = plan_indices(grid, draws, mask_bytes=len(grid))
    by_sort, drawn_again = plan_indices(grid, draws, mask_bytes=0)
    assert drawn == drawn_again == 8701
    expected = sorted({int(i) for d in draws for i in grid.index_of(d)})
    assert by_mask.tolist() == by_sort.tolist() == expected
