"""colour-dSprites and noisy-dSprites (disentanglement_lib's definitions) on both sources."""

import numpy as np
import pytest
from test_data_dsprites_file import FILE_NAME, REDUCED_SIZES, real_format_arrays, write_npz

from disentangle_bench.data import get_dataset


@pytest.fixture(scope="module")
def procedural():
    return get_dataset("dsprites-procedural")


def test_color_dsprites_colours_the_sprite_on_black(procedural):
    ds = get_dataset("color-dsprites")
    assert ds.factor_sizes == procedural.factor_sizes and ds.observation_shape == (3, 64, 64)
    factors = ds.sample_factors(200, np.random.default_rng(0))
    obs = ds.sample_observations_from_factors(factors, np.random.default_rng(1))
    assert obs.dtype == np.float32 and obs.shape == (200, 3, 64, 64)
    masks = procedural.masks(factors).astype(bool)
    for image, mask in zip(obs, masks):
        assert (image[:, ~mask] == 0).all()  # black background
        colour = image[:, mask]  # (3, pixels): one colour for the whole sprite
        assert (colour == colour[:, :1]).all()
        assert ((colour >= 0.5) & (colour <= 1.0)).all()
    colours = obs.max(axis=(2, 3))
    assert colours.std(axis=0).min() > 0.1  # colours vary across samples, per channel
    assert abs(colours.mean() - 0.75) < 0.03  # U(0.5, 1) has mean 0.75


def test_noisy_dsprites_is_a_white_sprite_on_uniform_noise(procedural):
    ds = get_dataset("noisy-dsprites")
    factors = ds.sample_factors(100, np.random.default_rng(0))
    obs = ds.sample_observations_from_factors(factors, np.random.default_rng(1))
    assert obs.dtype == np.float32 and obs.shape == (100, 3, 64, 64)
    assert obs.min() >= 0 and obs.max() <= 1
    masks = np.broadcast_to(procedural.masks(factors).astype(bool)[:, None], obs.shape)
    assert (obs[masks] == 1).all()
    background = obs[~masks]
    assert abs(background.mean() - 0.5) < 0.01 and abs(background.var() - 1 / 12) < 0.005


@pytest.mark.parametrize("name", ["color-dsprites", "noisy-dsprites"])
def test_nuisance_comes_from_the_rng_passed_in(name):
    ds = get_dataset(name)
    factors = ds.sample_factors(8, np.random.default_rng(0))
    a = ds.sample_observations_from_factors(factors, np.random.default_rng(5))
    b = ds.sample_observations_from_factors(factors, np.random.default_rng(5))
    c = ds.sample_observations_from_factors(factors, np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("name", ["color-dsprites", "noisy-dsprites"])
def test_variants_on_the_real_file_source(tmp_path, name):
    arrays = real_format_arrays()
    path = write_npz(tmp_path / FILE_NAME, arrays)
    ds = get_dataset(name, source="file", path=path)
    assert ds.factor_sizes == REDUCED_SIZES
    factors = ds.sample_factors(50, np.random.default_rng(0))
    obs = ds.sample_observations_from_factors(factors, np.random.default_rng(0))
    sprite = arrays["imgs"][ds.index_of(factors)].astype(bool)
    assert obs.shape == (50, 3, 64, 64)
    assert (obs.min(axis=1)[sprite] >= 0.5).all()  # the file's sprite pixels are bright
    if name == "color-dsprites":
        assert (obs.max(axis=1)[~sprite] == 0).all()


def test_unknown_source_is_rejected():
    with pytest.raises(ValueError, match="source must be"):
        get_dataset("color-dsprites", source="web")
