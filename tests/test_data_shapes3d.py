"""The real-file 3D Shapes loader on small HDF5 files written in the real format."""

import h5py
import numpy as np
import pytest

from disentangle_bench.data import DatasetError, files, get_dataset
from disentangle_bench.data.shapes3d import Shapes3D

REDUCED_SIZES = (2, 3, 2, 2, 4, 3)


def real_format_arrays(sizes=REDUCED_SIZES, seed=0):
    """``images`` uint8 (N, 64, 64, 3) and ``labels`` float64 (N, 6) holding factor *values*,
    rows in the real file's order (orientation fastest)."""
    possible = [
        np.linspace(0, 0.9, 10)[: sizes[0]],
        np.linspace(0, 0.9, 10)[: sizes[1]],
        np.linspace(0, 0.9, 10)[: sizes[2]],
        np.linspace(0.75, 1.25, sizes[3]),
        np.arange(4.0)[: sizes[4]],
        np.linspace(-30, 30, sizes[5]),
    ]
    grids = np.meshgrid(*[np.arange(s) for s in sizes], indexing="ij")
    classes = np.stack([g.ravel() for g in grids], axis=1)
    labels = np.stack([possible[i][classes[:, i]] for i in range(6)], axis=1)
    images = np.random.default_rng(seed).integers(0, 256, (len(labels), 64, 64, 3), dtype=np.uint8)
    return {"images": images, "labels": labels}, classes


def write_h5(path, arrays):
    with h5py.File(path, "w") as handle:
        for key, value in arrays.items():
            handle.create_dataset(key, data=value)
    return path


@pytest.fixture
def reduced(tmp_path):
    arrays, classes = real_format_arrays()
    return write_h5(tmp_path / "3dshapes.h5", arrays), arrays, classes


@pytest.mark.parametrize("in_memory", [False, True])
def test_loads_sizes_values_and_ordering(reduced, in_memory):
    path, arrays, classes = reduced
    ds = Shapes3D(path, in_memory=in_memory)
    assert ds.factor_sizes == REDUCED_SIZES and len(ds) == len(classes)
    np.testing.assert_allclose(ds.factor_values[5], np.linspace(-30, 30, 3))
    rng = np.random.default_rng(0)
    # Duplicated, unsorted indices: h5py needs sorted unique ones, the loader must cope.
    factors = ds.sample_factors(200, rng)
    rows = ds.index_of(factors)
    assert len(np.unique(rows)) < len(rows) and not np.all(np.diff(rows) >= 0)
    np.testing.assert_array_equal(classes[rows], factors)
    obs = ds.sample_observations_from_factors(factors, rng)
    assert obs.dtype == np.float32 and obs.shape == (200, 3, 64, 64)
    expected = arrays["images"][rows].transpose(0, 3, 1, 2) / 255.0
    np.testing.assert_allclose(obs, expected, atol=1e-7)
    np.testing.assert_array_equal(ds.factors_of(ds.index_of(factors)), factors)


def test_registry_finds_it_through_environment_variable(reduced, monkeypatch):
    path, _, _ = reduced
    monkeypatch.setenv(files.ENV_VAR, str(path.parent))
    assert get_dataset("shapes3d").factor_sizes == REDUCED_SIZES


def test_missing_file_error(tmp_path, monkeypatch):
    monkeypatch.setenv(files.ENV_VAR, str(tmp_path / "env"))
    monkeypatch.setattr(files, "REPO_DATASETS", tmp_path / "repo")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatasetError, match="3dshapes.h5, not found in: .*env") as error:
        get_dataset("shapes3d")
    assert "3d-shapes" in str(error.value)


@pytest.mark.parametrize(
    "break_it, complaint",
    [
        (lambda a: a.pop("labels"), "missing key 'labels'"),
        (lambda a: a.update(images=a["images"][..., :1]), "images is uint8"),
        (lambda a: a.update(images=a["images"].astype(np.float32)), "images is float32"),
        (lambda a: a.update(labels=a["labels"].astype(np.float32)), "labels is float32"),
        (lambda a: a.update(labels=a["labels"][::-1].copy()), "row-major"),
    ],
)
def test_malformed_files_give_clear_errors(tmp_path, break_it, complaint):
    arrays, _ = real_format_arrays()
    break_it(arrays)
    path = write_h5(tmp_path / "3dshapes.h5", arrays)
    with pytest.raises(DatasetError, match=complaint):
        Shapes3D(path)


def test_truncated_file_gives_clear_error(reduced):
    path, _, _ = reduced
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(DatasetError, match="corrupt, truncated|cannot read"):
        Shapes3D(path)


def test_lazy_dataset_survives_pickling_for_process_pools(reduced):
    import pickle

    path, arrays, _ = reduced
    ds = pickle.loads(pickle.dumps(Shapes3D(path)))
    factors = ds.sample_factors(5, np.random.default_rng(0))
    obs = ds.sample_observations_from_factors(factors, np.random.default_rng(0))
    expected = arrays["images"][ds.index_of(factors)].transpose(0, 3, 1, 2) / 255.0
    np.testing.assert_allclose(obs, expected, atol=1e-7)
