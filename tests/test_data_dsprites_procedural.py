"""The offline dSprites replica: grid, determinism, geometry and the published pixel mean."""

import hashlib

import numpy as np
import pytest

from disentangle_bench.data import get_dataset
from disentangle_bench.data.dsprites_procedural import BOX, render_sprite_masks

# sha256 of np.packbits of all 720 sprite masks: any pixel flip on any machine changes it.
MASKS_SHA256 = "1346a19a286970ee429ff93f4c5b30716e9d40fe80db91ad68a252aad7968dac"


@pytest.fixture(scope="module")
def ds():
    return get_dataset("dsprites-procedural")


@pytest.fixture(scope="module")
def masks():
    """A fresh rendering of the 720 sprites (shape, scale, orientation, BOX, BOX)."""
    return render_sprite_masks()


def image(ds, factors):
    return ds.masks(np.asarray([factors]))[0]


def test_grid_matches_the_real_file(ds):
    assert ds.factor_names == ("color", "shape", "scale", "orientation", "posX", "posY")
    assert ds.factor_sizes == (1, 3, 6, 40, 32, 32) and len(ds) == 737280
    assert ds.varying_factors == (1, 2, 3, 4, 5)
    assert ds.observation_shape == (1, 64, 64)
    values = ds.factor_values
    np.testing.assert_allclose(values[2], [0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    assert values[3][0] == 0 and values[3][-1] == pytest.approx(2 * np.pi)
    rng = np.random.default_rng(0)
    factors = ds.sample_factors(1000, rng)
    np.testing.assert_array_equal(ds.factors_of(ds.index_of(factors)), factors)


def test_deterministic_and_machine_independent(ds, masks):
    assert hashlib.sha256(np.packbits(masks).tobytes()).hexdigest() == MASKS_SHA256
    factors = ds.sample_factors(64, np.random.default_rng(3))
    a = ds.sample_observations_from_factors(factors, np.random.default_rng(1))
    b = ds.sample_observations_from_factors(factors, np.random.default_rng(2))
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and a.shape == (64, 1, 64, 64)
    assert set(np.unique(a)) <= {0.0, 1.0}


def test_every_step_of_every_varying_factor_changes_the_sprite(masks):
    differs = lambda a, b, axis: (a != b).any(axis=(-2, -1))  # noqa: E731
    assert differs(masks[:, :, 1:], masks[:, :, :-1], 2).all(), "orientation step"
    assert differs(masks[:, 1:], masks[:, :-1], 1).all(), "scale step"
    for first, second in [(0, 1), (0, 2), (1, 2)]:
        assert differs(masks[first], masks[second], 0).all(), "shapes must differ"
    # As in the real file, orientation classes 0 and 39 are the same angle (0 and 2π).
    np.testing.assert_array_equal(masks[:, :, 0], masks[:, :, 39])


def test_position_factors_move_the_sprite_one_way(ds):
    base = [0, 2, 3, 5, 10, 20]
    for factor, axis in [(4, 1), (5, 0)]:  # posX moves columns, posY moves rows
        centres = []
        for value in range(32):
            factors = list(base)
            factors[factor] = value
            rows, cols = np.nonzero(image(ds, factors))
            centres.append((rows, cols)[axis].mean())
        assert np.all(np.diff(centres) > 0.5)
    left = image(ds, [0, 0, 5, 0, 0, 16])
    top = image(ds, [0, 0, 5, 0, 16, 0])
    assert np.nonzero(left)[1].mean() < 32 and np.nonzero(top)[0].mean() < 32


def test_sprite_stays_inside_the_frame_at_extreme_positions(ds, masks):
    # The sprite never touches its box's edge (so nothing is cut when it is pasted) ...
    edges = np.concatenate([masks[..., 0, :], masks[..., -1, :], masks[..., :, 0],
                            masks[..., :, -1]], axis=-1)
    assert not edges.any()
    # ... and at every corner of the position grid, every sprite is complete in the image.
    sprite = np.array(np.meshgrid(range(3), range(6), range(40), indexing="ij")).reshape(3, -1).T
    for pos_x in (0, 31):
        for pos_y in (0, 31):
            factors = np.column_stack([np.zeros(len(sprite), int), sprite,
                                       np.full(len(sprite), pos_x), np.full(len(sprite), pos_y)])
            images = ds.masks(factors)
            np.testing.assert_array_equal(images.sum(axis=(1, 2)),
                                          masks.reshape(-1, BOX, BOX).sum(axis=(1, 2)))


def test_pixel_statistics_match_the_real_dataset(ds):
    images = ds.masks(ds.sample_factors(20000, np.random.default_rng(0)))
    assert abs(images.mean() - 0.0425) < 0.15 * 0.0425
    # "The main support of the pixels is in the center half" (dSprites notebook).
    central = images[:, 16:48, 16:48].sum() / images.sum()
    assert central > 0.5
