"""Every dataset of the standard study trains a smoke sweep end to end on reduced files in the
real format (found through DISENTANGLE_BENCH_DATA, as a user's files are), and the run records
the file it used."""

from __future__ import annotations

import json

import numpy as np
import pytest
import realformat as rf

from disentangle_bench.cli import main
from disentangle_bench.data import files

WRITERS = {
    "mpi3d-toy": lambda d: rf.write_mpi3d(d / "mpi3d_toy.npz", rf.mpi3d_images()),
    "cars3d": lambda d: rf.write_cars(d / "cars"),
    "smallnorb": lambda d: rf.write_norb(d / "small_norb"),
    "scream-dsprites": lambda d: rf.write_painting(d / "scream.jpg"),
}
SIZES = {"mpi3d-toy": rf.MPI3D_REDUCED, "cars3d": (4, 24, 3), "smallnorb": rf.NORB_SIZES,
         "scream-dsprites": (1, 3, 6, 40, 32, 32)}


@pytest.mark.parametrize("name", WRITERS)
def test_smoke_sweep_trains_scores_and_records_the_data(tmp_path, monkeypatch, capsys, name):
    data = tmp_path / "data"
    data.mkdir()
    WRITERS[name](data)
    monkeypatch.setenv(files.ENV_VAR, str(data))
    out = tmp_path / "results"
    code = main(["--preset", "smoke", "--dataset", name, "--architecture", "mlp", "--steps", "5",
                 "--batch-size", "16", "--models", "vae", "--metrics", "mig", "--latent-dim",
                 "4", "--no-report", "--quiet", "--out", str(out)])
    assert code == 0, capsys.readouterr().err[-2000:]
    (run,) = (out / "models").iterdir()
    record = json.loads((run / "trained.json").read_text())
    assert record["dataset"]["name"] == name
    assert tuple(record["dataset"]["factor_sizes"]) == SIZES[name]
    (mig,) = (run / "evals").glob("mig-*.json")
    assert np.isfinite(json.loads(mig.read_text())["result"]["scores"]["discrete_mig"])
    digests = json.dumps(record["dataset"])
    assert "sha256" in digests and "none published" in digests


@pytest.mark.parametrize("name", WRITERS)
def test_preview_png_of_each_dataset(tmp_path, monkeypatch, capsys, name):
    import matplotlib.image

    data = tmp_path / "data"
    data.mkdir()
    WRITERS[name](data)
    monkeypatch.setenv(files.ENV_VAR, str(data))
    png = tmp_path / "preview.png"
    assert main(["preview", "--dataset", name, "--out", str(png)]) == 0
    image = matplotlib.image.imread(png)
    rows = sum(size > 1 for size in SIZES[name])
    assert image.shape[0] > rows * 80 and image.std() > 0.05  # one row per varying factor
