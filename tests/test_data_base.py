import numpy as np
import pytest

from disentangle_bench.data import get_dataset, list_datasets, observation_batch


def test_unknown_dataset_lists_known_ones():
    with pytest.raises(KeyError, match="known datasets: .*tiny"):
        get_dataset("no-such-dataset")
    assert "tiny" in list_datasets()


def test_tiny_index_round_trip_and_bases():
    ds = get_dataset("tiny")
    assert len(ds) == 192
    factors = ds.sample_factors(500, np.random.default_rng(0))
    assert factors.dtype == np.int64
    np.testing.assert_array_equal(ds.factors_of(ds.index_of(factors)), factors)
    np.testing.assert_array_equal(ds.factors_of(np.arange(len(ds)))[:9, 3], np.arange(9) % 8)


def test_tiny_observations_depend_on_each_varying_factor():
    ds = get_dataset("tiny")
    base = np.array([[0, 1, 3, 3]])
    reference = ds.sample_observations_from_factors(base, np.random.default_rng(0))
    assert reference.dtype == np.float32 and reference.shape == (1, 1, 16, 16)
    assert ds.varying_factors == (1, 2, 3)
    for factor in ds.varying_factors:
        changed = base.copy()
        changed[0, factor] += 1
        other = ds.sample_observations_from_factors(changed, np.random.default_rng(0))
        assert not np.array_equal(reference, other)


def test_training_batches_are_a_function_of_seed_and_step():
    ds = get_dataset("tiny")
    a = observation_batch(ds, 8, seed=3, step=5)
    np.testing.assert_array_equal(a, observation_batch(ds, 8, seed=3, step=5))
    assert not np.array_equal(a, observation_batch(ds, 8, seed=3, step=6))
