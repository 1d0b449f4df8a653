"""The SmallNORB loader on the six NORB binary files written in the published format."""

import numpy as np
import pytest
import realformat as rf

from disentangle_bench.data import DatasetError, files, get_dataset
from disentangle_bench.data.smallnorb import SmallNORB


@pytest.fixture(scope="module")
def norb(tmp_path_factory):
    return rf.write_norb(tmp_path_factory.mktemp("data") / "small_norb")


def test_grid_from_the_files_with_the_instance_as_nuisance(norb):
    ds = SmallNORB(norb)
    assert ds.factor_names == ("category", "elevation", "azimuth", "lighting")
    assert ds.factor_sizes == rf.NORB_SIZES and ds._num_instances == 2
    assert ds.observation_shape == (1, 64, 64) and not ds.deterministic


def test_images_at_known_factors_camera_0_both_sets(norb):
    ds = SmallNORB(norb)
    factors = np.array([[c, e, a, light] for c in range(2) for e in range(2) for a in range(3)
                        for light in range(2)])
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(6):
        obs = ds.sample_observations_from_factors(factors, rng)
        assert obs.dtype == np.float32 and obs.shape == (len(factors), 1, 64, 64)
        assert (obs == obs[:, :, :1, :1]).all()  # constant images stay constant
        levels = np.rint(obs[:, 0, 0, 0] * 255).astype(int)
        for (c, e, a, light), level in zip(factors, levels):
            instance = [i for i in range(2) if rf.norb_code(c, i, e, a, light) == level]
            assert len(instance) == 1, (c, e, a, light, level)  # camera 0, the right image
            seen.add(instance[0])
    assert seen == {0, 1}  # both the training (1) and the testing (0) instance are drawn


def test_found_in_small_norb_subfolder(norb, monkeypatch):
    monkeypatch.setenv(files.ENV_VAR, str(norb.parent))
    ds = get_dataset("smallnorb")
    assert ds.factor_sizes == rf.NORB_SIZES
    assert ds.provenance()["files"] == 6


def test_missing_files(tmp_path, monkeypatch, norb):
    monkeypatch.setenv(files.ENV_VAR, str(tmp_path))
    monkeypatch.setattr(files, "REPO_DATASETS", tmp_path / "repo")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatasetError, match="training-dat.mat .*not found in.*ylclab"):
        get_dataset("smallnorb")
    (tmp_path / f"{rf.NORB_CHUNKS[0]}-dat.mat").write_bytes(
        (norb / f"{rf.NORB_CHUNKS[0]}-dat.mat").read_bytes())
    with pytest.raises(DatasetError, match="training-cat.mat, .*there too"):
        get_dataset("smallnorb")


@pytest.mark.parametrize("part, array, complaint", [
    ("cat", np.zeros((24, 2), np.int32), "expected int32 with 1 dimensions"),
    ("dat", np.zeros((24, 1, 96, 96), np.uint8), "expected \\(N, 2, 96, 96\\)"),
    ("info", np.zeros((24, 4), np.int32), "do not cover the grid"),
    ("dat", np.zeros((24, 2, 96, 96), np.int32), "holds int32"),
])
def test_wrong_content_gives_clear_errors(tmp_path, norb, part, array, complaint):
    folder = tmp_path / "norb"
    folder.mkdir()
    for f in norb.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    (folder / f"{rf.NORB_CHUNKS[0]}-{part}.mat").write_bytes(rf.norb_matrix(array))
    with pytest.raises(DatasetError, match=complaint):
        SmallNORB(folder)


def test_resized_images_are_cached_and_rebuilt_when_a_file_changes(tmp_path, monkeypatch):
    import disentangle_bench.data.smallnorb as module

    folder = rf.write_norb(tmp_path / "norb")
    first = SmallNORB(folder)
    assert len(list(folder.glob(".*.camera0-64x64.*.npy"))) == 2

    def refuse(*args):
        raise AssertionError("resized again although the files did not change")

    monkeypatch.setattr(module, "resize_uint8", refuse)
    factors = first.sample_factors(16, np.random.default_rng(0))
    np.testing.assert_array_equal(
        SmallNORB(folder).sample_observations_from_factors(factors, np.random.default_rng(1)),
        first.sample_observations_from_factors(factors, np.random.default_rng(1)))
    rf.write_norb(folder, seed=1)  # same grid, other row order: the cache must not be used
    with pytest.raises(AssertionError, match="resized again"):
        SmallNORB(folder)
