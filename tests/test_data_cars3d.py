"""The Cars3D loader on a folder of car_*_mesh.mat files written in the published format."""

import numpy as np
import pytest
import realformat as rf
import scipy.io

from disentangle_bench.data import DatasetError, files, get_dataset
from disentangle_bench.data.cars3d import Cars3D


@pytest.fixture(scope="module")
def cars(tmp_path_factory):
    return rf.write_cars(tmp_path_factory.mktemp("data") / "cars")


def test_factor_order_views_and_cars_by_sorted_file_name(cars):
    ds = Cars3D(cars)
    assert ds.factor_names == ("elevation", "azimuth", "object")
    assert ds.factor_sizes == (4, 24, 3) and len(ds) == 288
    assert [f.name for f in ds.files] == ["car_001_mesh.mat", "car_002_mesh.mat",
                                          "car_010_mesh.mat"]
    np.testing.assert_array_equal(ds.index_of(np.array([[0, 0, 1], [0, 1, 0], [1, 0, 0]])),
                                  [1, 3, 72])
    factors = np.array([[e, a, c] for e in (0, 3) for a in (0, 5, 23) for c in (0, 1, 2)])
    obs = ds.sample_observations_from_factors(factors, np.random.default_rng(0))
    assert obs.dtype == np.float32 and obs.shape == (len(factors), 3, 64, 64)
    for (e, a, c), image in zip(factors, obs):
        green, blue = rf.car_code(e, a, c)
        assert image[1, 40, 40] * 255 == pytest.approx(green, abs=1e-3)
        assert image[2, 40, 40] * 255 == pytest.approx(blue, abs=1e-3)
        # the red 32x32 block at the top left of the 128x128 image is 16x16 at 64x64
        assert image[0, 4, 4] == 1.0 and image[0, 40, 40] == 0.0 and image[0, 4, 40] == 0.0


def test_found_as_cars_folder_and_provenance(cars, monkeypatch):
    monkeypatch.setenv(files.ENV_VAR, str(cars.parent))
    ds = get_dataset("cars3d")
    record = ds.provenance()
    assert record["files"] == 3 and len(record["sha256_of_file_sha256s"]) == 64
    assert record["published_checksum"] == "none published"


def test_missing_folder_error(tmp_path, monkeypatch):
    monkeypatch.setenv(files.ENV_VAR, str(tmp_path))
    monkeypatch.setattr(files, "REPO_DATASETS", tmp_path / "repo")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatasetError, match="cars/ .*not found in.*nips2015-analogy-data"):
        get_dataset("cars3d")


def test_empty_folder_error(tmp_path):
    (tmp_path / "cars").mkdir()
    with pytest.raises(DatasetError, match="no car_\\*_mesh.mat files"):
        Cars3D(tmp_path / "cars")


@pytest.mark.parametrize("im, complaint", [
    (np.zeros((128, 128, 3, 4, 24), np.uint8), "im is uint8 \\(128, 128, 3, 4, 24\\)"),
    (np.zeros((128, 128, 3, 24, 4), np.float64), "im is float64"),
    (None, "no variable 'im'"),
])
def test_wrong_arrays_give_clear_errors(tmp_path, im, complaint):
    folder = tmp_path / "cars"
    folder.mkdir()
    scipy.io.savemat(folder / "car_001_mesh.mat", {"im": im} if im is not None else {"x": 1})
    with pytest.raises(DatasetError, match=complaint):
        Cars3D(folder)


def test_resized_images_are_cached_and_rebuilt_when_a_car_changes(tmp_path, monkeypatch):
    import disentangle_bench.data.cars3d as module

    folder = rf.write_cars(tmp_path / "cars", names=("car_001_mesh.mat", "car_002_mesh.mat"))
    first = Cars3D(folder)
    assert len(list(folder.glob(".cars3d-64x64.*.npy"))) == 1

    def refuse(*args):
        raise AssertionError("resized again although the files did not change")

    monkeypatch.setattr(module, "resize_uint8", refuse)
    np.testing.assert_array_equal(Cars3D(folder)._images, first._images)
    scipy.io.savemat(folder / "car_002_mesh.mat", {"x": 1})
    monkeypatch.undo()
    with pytest.raises(DatasetError, match="no variable 'im'"):
        Cars3D(folder)
