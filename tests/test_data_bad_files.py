"""Every real-file loader against the same garbage: a text file, an HTML error page, zero bytes,
a truncated file, and the right container with the wrong content. Each must give one
DatasetError naming the file, through get_dataset (as training, --dry-run and preview use it);
never a raw parser exception."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import realformat as rf
import scipy.io

from disentangle_bench.cli import main
from disentangle_bench.data import DatasetError, files, get_dataset
from disentangle_bench.data.preview import describe_datasets

DSPRITES = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"


def dsprites_arrays():
    sizes = (1, 3, 2, 2, 2, 2)
    names = ("color", "shape", "scale", "orientation", "posX", "posY")
    grids = np.meshgrid(*[np.arange(s) for s in sizes], indexing="ij")
    classes = np.stack([g.ravel() for g in grids], axis=1).astype(np.int64)
    metadata = {"latents_names": names, "latents_sizes": np.array(sizes),
                "latents_possible_values": {n: np.arange(float(s)) for n, s in zip(names, sizes)}}
    return {"imgs": np.zeros((len(classes), 64, 64), np.uint8), "latents_classes": classes,
            "latents_values": classes.astype(np.float64),
            "metadata": np.array(metadata, dtype=object)}


def write_dsprites(d: Path) -> Path:
    np.savez_compressed(d / DSPRITES, **dsprites_arrays())
    return d / DSPRITES


def write_shapes3d(d: Path) -> Path:
    sizes = (2, 1, 1, 1, 1, 3)
    grids = np.meshgrid(*[np.arange(s) for s in sizes], indexing="ij")
    with h5py.File(d / "3dshapes.h5", "w") as handle:
        handle["labels"] = np.stack([g.ravel() for g in grids], axis=1).astype(np.float64)
        handle["images"] = np.zeros((6, 64, 64, 3), np.uint8)
    return d / "3dshapes.h5"


def write_mpi3d(d: Path) -> Path:
    return rf.write_mpi3d(d / "mpi3d_toy.npz", rf.mpi3d_images())


def write_cars(d: Path) -> Path:
    return rf.write_cars(d / "cars", names=("car_001_mesh.mat",)) / "car_001_mesh.mat"


def write_norb(d: Path) -> Path:
    return rf.write_norb(d) / f"{rf.NORB_CHUNKS[0]}-dat.mat"


def write_painting(d: Path) -> Path:
    return rf.write_painting(d / "scream.jpg")


def wrong_npz(path: Path, key: str) -> None:
    np.savez(path, **{key: np.zeros(3)})


def wrong_h5(path: Path) -> None:
    with h5py.File(path, "w") as handle:
        handle["pictures"] = np.zeros(3)


def wrong_norb(path: Path) -> None:  # a NORB int32 matrix where the uint8 images belong
    path.write_bytes(rf.norb_matrix(np.zeros((24, 2, 96, 96), np.int32)))


# name -> (writer of a good file set returning the file to damage, right-container-wrong-content)
LOADERS = {
    "dsprites": (write_dsprites, lambda p: wrong_npz(p, "x")),
    "shapes3d": (write_shapes3d, wrong_h5),
    "mpi3d-toy": (write_mpi3d, lambda p: wrong_npz(p, "imgs")),
    "cars3d": (write_cars, lambda p: scipy.io.savemat(p, {"x": np.zeros(3)})),
    "smallnorb": (write_norb, wrong_norb),
    "scream-dsprites": (write_painting, lambda p: rf.write_painting(p, 20, 20)),
}
GARBAGE = {
    "text": lambda p: p.write_bytes(rf.TEXT),
    "html": lambda p: p.write_bytes(rf.HTML_PAGE),
    "empty": lambda p: p.write_bytes(b""),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
}
SAYS = {"text": "text file starting 'not a zip'", "html": "HTML", "empty": "empty (0 bytes)"}


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(files.ENV_VAR, str(tmp_path))
    monkeypatch.setattr(files, "REPO_DATASETS", tmp_path / "repo")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("kind", [*GARBAGE, "wrong content"])
@pytest.mark.parametrize("name", LOADERS)
def test_garbage_gives_one_dataset_error(data_dir, name, kind):
    write, wrong_content = LOADERS[name]
    target = write(data_dir)
    get_dataset(name)  # the good file set loads
    (wrong_content if kind == "wrong content" else GARBAGE[kind])(target)
    with pytest.raises(DatasetError) as error:
        get_dataset(name)
    message = str(error.value)
    assert str(target) in message and "\n" not in message
    assert "not a valid" in message and "download it again" in message
    if kind in SAYS:
        assert SAYS[kind] in message


@pytest.mark.parametrize("kind", ["text", "html", "empty"])
def test_datasets_table_does_not_call_garbage_present(data_dir, kind):
    for write, _ in LOADERS.values():
        GARBAGE[kind](write(data_dir))
    table = describe_datasets()
    for name in LOADERS:
        line = next(line for line in table.splitlines() if line.startswith(name + " "))
        assert "file unusable" in line and SAYS[kind] in line, line


@pytest.mark.parametrize("command", [
    ["preview", "--dataset", "dsprites"],
    ["--dataset", "dsprites", "--dry-run", "--models", "vae", "--preset", "smoke"],
])
def test_cli_gives_one_line_for_a_dsprites_file_that_is_not_a_zip(data_dir, capsys, command):
    (data_dir / DSPRITES).write_bytes(rf.TEXT)
    assert main(command) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "not a valid dSprites file" in err
    assert "Traceback" not in err and len(err.splitlines()) == 1


class Boom:
    def __reduce__(self):
        return (print, ("code from the data file ran",))


def test_dsprites_metadata_cannot_run_code(data_dir, capsys):
    path = write_dsprites(data_dir)
    arrays = dsprites_arrays()
    with zipfile.ZipFile(path, "w") as archive:
        for key, value in arrays.items():
            with archive.open(f"{key}.npy", "w") as member:
                if key == "metadata":  # an object array whose pickle calls print(...)
                    np.lib.format.write_array_header_1_0(
                        member, {"descr": "|O", "fortran_order": False, "shape": ()})
                    member.write(pickle.dumps(Boom(), protocol=2))
                else:
                    np.lib.format.write_array(member, value)
    with pytest.raises(DatasetError, match="refused to load .*print"):
        get_dataset("dsprites")
    assert "code from the data file ran" not in capsys.readouterr().out
