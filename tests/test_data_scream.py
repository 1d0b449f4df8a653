"""scream-dSprites: the sprite inverts a random, colour-shifted patch of a JPEG painting."""

import numpy as np
import pytest
import realformat as rf

from disentangle_bench.data import DatasetError, files, get_dataset
from disentangle_bench.data.dsprites_procedural import ProceduralDSprites
from disentangle_bench.data.scream_dsprites import ScreamDSprites, thumbnail_size


def find_patch(observation, mask, painting):
    """Positions whose patch explains the observation: background = (patch + c) / 2 and
    sprite = 1 - (patch + c) / 2 with one c in [0, 1]^3."""
    background = np.where(mask[..., None], 1 - observation, observation)  # (64, 64, 3)
    found = []
    height, width = painting.shape[:2]
    for top in range(height - 63):
        for left in range(width - 63):
            shift = 2 * background - painting[top:top + 64, left:left + 64]
            if np.ptp(shift, axis=(0, 1)).max() < 1e-4:
                found.append((top, left, shift[0, 0]))
    return found


def test_observation_is_an_inverted_sprite_on_a_shifted_patch(tmp_path):
    ds = ScreamDSprites(painting=rf.write_painting(tmp_path / "scream.jpg"))
    assert ds.painting.shape == (90, 110, 3) and ds.observation_shape == (3, 64, 64)
    rng = np.random.default_rng(0)
    factors = ds.sample_factors(4, rng)
    obs = ds.sample_observations_from_factors(factors, rng)
    assert obs.dtype == np.float32 and obs.shape == (4, 3, 64, 64)
    masks = ProceduralDSprites().masks(factors).astype(bool)
    shifts = []
    for image, mask in zip(obs, masks):
        found = find_patch(image.transpose(1, 2, 0), mask, ds.painting)
        assert len(found) == 1
        top, left, shift = found[0]
        assert top < 90 - 64 and left < 110 - 64 and ((0 <= shift) & (shift <= 1)).all()
        shifts.append(shift)
    assert np.ptp(np.array(shifts), axis=0).min() > 0  # a new shift per observation


def test_a_large_painting_is_shrunk_to_fit_350_by_274(tmp_path):
    assert thumbnail_size(548, 700) == (274, 350) and thumbnail_size(100, 100) == (100, 100)
    ds = ScreamDSprites(painting=rf.write_painting(tmp_path / "scream.jpg", 600, 500))
    assert ds.painting.shape == (274, 228, 3)
    assert ds.painting.min() >= 0 and ds.painting.max() <= 1


def test_found_in_scream_folder_and_records_the_painting(tmp_path, monkeypatch):
    rf.write_painting(tmp_path / "scream" / "scream.jpg")
    monkeypatch.setenv(files.ENV_VAR, str(tmp_path))
    ds = get_dataset("scream-dsprites")
    record = ds.provenance()
    assert record["painting"]["published_checksum"] == "none published"
    assert record["dsprites"] == {"source": "generated (no file)"}


def test_missing_painting_names_the_download(tmp_path, monkeypatch):
    monkeypatch.setenv(files.ENV_VAR, str(tmp_path))
    monkeypatch.setattr(files, "REPO_DATASETS", tmp_path / "repo")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatasetError, match="scream.jpg, not found.*download scream-dsprites"):
        get_dataset("scream-dsprites")


def test_too_small_painting_is_refused(tmp_path):
    with pytest.raises(DatasetError, match="64×64 patch needs more"):
        ScreamDSprites(painting=rf.write_painting(tmp_path / "scream.jpg", 60, 300))
