"""Registry listing and the dataset preview (table and factor-sweep PNG)."""

import matplotlib.image
import numpy as np
import pytest

from disentangle_bench.data import files, get_dataset, list_datasets
from disentangle_bench.data.dsprites_file import DSpritesFile
from disentangle_bench.data.preview import describe_datasets, save_factor_sweep_grid, sweep_columns
from disentangle_bench.data.shapes3d import Shapes3D
from disentangle_bench.data.tiny import TinySquares

ALL = {"tiny", "dsprites", "dsprites-procedural", "color-dsprites", "noisy-dsprites", "shapes3d"}


def test_registry_lists_every_dataset():
    assert ALL <= set(list_datasets())
    with pytest.raises(KeyError, match="known datasets: .*dsprites-procedural"):
        get_dataset("dsprite")


def test_describe_lists_factors_and_availability_without_loading(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("describe_datasets must not load a dataset")

    monkeypatch.setattr(DSpritesFile, "__init__", refuse)
    monkeypatch.setattr(Shapes3D, "__init__", refuse)
    monkeypatch.setenv(files.ENV_VAR, str(tmp_path))
    monkeypatch.setattr(files, "REPO_DATASETS", tmp_path / "repo")
    # A placeholder with only the HDF5 signature counts as "present": proof that the table
    # never opens the file beyond its first bytes.
    (tmp_path / "3dshapes.h5").write_bytes(b"\x89HDF\r\n\x1a\n")
    table = describe_datasets()
    lines = {line.split()[0]: line for line in table.splitlines()[2:]}
    assert set(lines) == set(list_datasets())
    assert "shape=3, scale=6, orientation=40, posX=32, posY=32" in lines["dsprites"]
    assert "color=1*" in lines["dsprites"] and "1×64×64" in lines["dsprites"]
    assert "file missing: dsprites_ndarray" in lines["dsprites"]
    assert "file present" in lines["shapes3d"] and "3×64×64" in lines["shapes3d"]
    assert "offline" in lines["dsprites-procedural"]


@pytest.mark.parametrize("content, complaint", [
    (b"", "empty"), (b"not a zip\n", "text file starting 'not a zip'"),
    (b"<!DOCTYPE html><html><body>404</body></html>", "HTML"),
])
def test_describe_says_a_garbage_file_is_unusable(tmp_path, monkeypatch, content, complaint):
    monkeypatch.setenv(files.ENV_VAR, str(tmp_path))
    monkeypatch.setattr(files, "REPO_DATASETS", tmp_path / "repo")
    (tmp_path / DSpritesFile.file_name).write_bytes(content)
    line = [line for line in describe_datasets().splitlines() if line.startswith("dsprites ")][0]
    assert "file unusable" in line and complaint in line and "file present" not in line


def test_sweep_columns_subsample_evenly_with_both_ends():
    np.testing.assert_array_equal(sweep_columns(6), np.arange(6))
    columns = sweep_columns(40)
    assert len(columns) == 12 and columns[0] == 0 and columns[-1] == 39
    assert np.all(np.diff(columns) >= 3)


class RecordingTiny(TinySquares):
    def __init__(self):
        self.calls = []

    def sample_observations_from_factors(self, factors, rng):
        self.calls.append(np.array(factors))
        return super().sample_observations_from_factors(factors, rng)


def test_sweep_grid_varies_one_factor_per_row_and_writes_a_png(tmp_path):
    ds = RecordingTiny()
    path = save_factor_sweep_grid(ds, tmp_path / "out" / "grid.png", seed=3)
    assert path.is_file() and list(path.parent.iterdir()) == [path]  # no temp file left over
    assert len(ds.calls) == len(ds.varying_factors)
    for factor, factors in zip(ds.varying_factors, ds.calls):
        others = np.delete(factors, factor, axis=1)
        assert (others == others[0]).all()  # the other factors are fixed ...
        np.testing.assert_array_equal(factors[:, factor], np.arange(ds.factor_sizes[factor]))
    pixels = matplotlib.image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 200 and pixels.shape[1] > 400
    assert pixels[..., :3].std() > 0.1  # black sprites panels on a white page: not blank


def test_sweep_grid_of_procedural_dsprites(tmp_path):
    path = save_factor_sweep_grid(get_dataset("dsprites-procedural"), tmp_path / "d.png")
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[1] > pixels.shape[0] > 300  # 5 rows of up to 12 panels
