"""`run_benchmark.py download NAME`: fetch, verify the checksum, keep nothing bad.

The "remote" is a local file:// URL, so nothing is downloaded from the network."""

from __future__ import annotations

import hashlib

import pytest

from disentangle_bench.cli import EXIT_USAGE, main
from disentangle_bench.data import files


@pytest.fixture
def fake_remote(tmp_path, monkeypatch):
    source = tmp_path / "remote" / "payload.npz"
    source.parent.mkdir()
    source.write_bytes(b"not really dsprites, but bytes with a known digest")
    digest = hashlib.md5(source.read_bytes()).hexdigest()

    def set_digest(value: str) -> None:
        remote = files.RemoteFile("dsprites.npz", source.as_uri(), "md5", value, "homepage")
        monkeypatch.setitem(files.REMOTE_FILES, "dsprites", remote)

    set_digest(digest)
    return source, set_digest


def test_download_puts_the_verified_file_in_dir(fake_remote, tmp_path, capsys):
    source, _ = fake_remote
    assert main(["download", "dsprites", "--dir", str(tmp_path / "data")]) == 0
    assert (tmp_path / "data" / "dsprites.npz").read_bytes() == source.read_bytes()
    assert "checksum verified" in capsys.readouterr().out


def test_download_with_wrong_checksum_keeps_nothing(fake_remote, tmp_path, capsys):
    _, set_digest = fake_remote
    set_digest("0" * 32)
    assert main(["download", "dsprites", "--dir", str(tmp_path / "data")]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "checksum" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "data").exists()  # nor the folder made for it


def test_download_unreachable_is_one_line(tmp_path, monkeypatch, capsys):
    remote = files.RemoteFile("x.npz", (tmp_path / "absent").as_uri(), "md5", "0" * 32, "h")
    monkeypatch.setitem(files.REMOTE_FILES, "dsprites", remote)
    assert main(["download", "dsprites", "--dir", str(tmp_path / "data")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot download dsprites") and len(err.splitlines()) == 1


def test_download_without_a_published_checksum_keeps_the_file_and_says_so(tmp_path, monkeypatch,
                                                                        capsys):
    source = tmp_path / "remote.npz"
    source.write_bytes(b"an MPI3D file has no published checksum")
    remote = files.RemoteFile("mpi3d_toy.npz", source.as_uri(), None, None, "homepage")
    monkeypatch.setitem(files.REMOTE_FILES, "mpi3d-toy", remote)
    assert main(["download", "mpi3d-toy", "--dir", str(tmp_path / "data")]) == 0
    assert (tmp_path / "data" / "mpi3d_toy.npz").read_bytes() == source.read_bytes()
    out = capsys.readouterr().out
    assert hashlib.sha256(source.read_bytes()).hexdigest() in out
    assert "no checksum is published" in out and "checksum verified" not in out


def test_every_new_dataset_with_a_stable_location_is_downloadable():
    assert {"mpi3d-toy", "mpi3d-realistic", "mpi3d-real", "scream-dsprites"} <= set(
        files.REMOTE_FILES)
    assert files.REMOTE_FILES["mpi3d-toy"].url.endswith("Final_Dataset/mpi3d_toy.npz")
    assert files.REMOTE_FILES["mpi3d-toy"].digest is None  # none published: none invented


def test_failed_download_names_the_dir_and_leaves_no_folder(tmp_path, monkeypatch, capsys):
    remote = files.RemoteFile("x.npz", (tmp_path / "absent").as_uri(), "md5", "0" * 32, "h")
    monkeypatch.setitem(files.REMOTE_FILES, "dsprites", remote)
    target = tmp_path / "new" / "data"
    assert main(["download", "dsprites", "--dir", str(target)]) == 1
    err = capsys.readouterr().err
    assert f"fetch the file by hand into {target}/" in err and "datasets/" not in err
    assert not (tmp_path / "new").exists()


def test_failed_download_keeps_a_folder_that_existed(fake_remote, tmp_path, capsys):
    _, set_digest = fake_remote
    set_digest("0" * 32)
    existing = tmp_path / "kept"
    existing.mkdir()
    assert main(["download", "dsprites", "--dir", str(existing / "sub")]) == EXIT_USAGE
    assert existing.is_dir() and list(existing.iterdir()) == []


def test_download_smallnorb_gunzips_the_six_files_into_a_loadable_set(tmp_path, monkeypatch,
                                                                     capsys):
    import gzip

    import realformat as rf

    from disentangle_bench.data import get_dataset

    made = rf.write_norb(tmp_path / "made")
    remotes = []
    for path in sorted(made.iterdir()):
        packed = tmp_path / "remote" / f"{path.name}.gz"
        packed.parent.mkdir(exist_ok=True)
        packed.write_bytes(gzip.compress(path.read_bytes()))
        remotes.append(files.RemoteFile(path.name, packed.as_uri(), None, None, "h",
                                        unpack="gunzip"))
    monkeypatch.setitem(files.REMOTE_SETS, "smallnorb", tuple(remotes))
    data = tmp_path / "data"
    assert main(["download", "smallnorb", "--dir", str(data)]) == 0
    assert sorted(p.name for p in data.iterdir()) == sorted(p.name for p in made.iterdir())
    assert "no checksum is published" in capsys.readouterr().out
    monkeypatch.setenv(files.ENV_VAR, str(data))
    assert get_dataset("smallnorb").factor_sizes == rf.NORB_SIZES


def test_download_cars3d_extracts_only_the_car_files_flat(tmp_path, monkeypatch):
    import io
    import tarfile

    import realformat as rf

    from disentangle_bench.data import get_dataset

    made = rf.write_cars(tmp_path / "made", names=("car_001_mesh.mat", "car_002_mesh.mat"))
    archive = tmp_path / "remote.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(made / "car_001_mesh.mat", "data/cars/car_001_mesh.mat")
        tar.add(made / "car_002_mesh.mat", "data/cars/car_002_mesh.mat")
        for name in ("data/README", "data/cars/car_x/../../../../escape_mesh.mat"):
            info = tarfile.TarInfo(name)
            info.size = 4
            tar.addfile(info, io.BytesIO(b"junk"))
    remote = files.RemoteFile("cars", archive.as_uri(), None, None, "h",
                              unpack="tar:data/cars/car_*_mesh.mat")
    monkeypatch.setitem(files.REMOTE_SETS, "cars3d", (remote,))
    data = tmp_path / "data"
    assert main(["download", "cars3d", "--dir", str(data)]) == 0
    assert sorted(p.name for p in data.iterdir()) == ["cars"]  # nothing escaped, no leftovers
    assert {p.name for p in (data / "cars").iterdir()} >= {"car_001_mesh.mat",
                                                             "car_002_mesh.mat"}
    assert not (tmp_path / "escape_mesh.mat").exists()
    (data / "cars" / "escape_mesh.mat").unlink(missing_ok=True)
    monkeypatch.setenv(files.ENV_VAR, str(data))
    assert get_dataset("cars3d").factor_sizes == (4, 24, 2)


def test_download_of_a_broken_gzip_is_one_line_and_keeps_nothing(tmp_path, monkeypatch, capsys):
    broken = tmp_path / "x.mat.gz"
    broken.write_bytes(b"<!DOCTYPE html><html>not gzip</html>")
    remote = files.RemoteFile("x.mat", broken.as_uri(), None, None, "h", unpack="gunzip")
    monkeypatch.setitem(files.REMOTE_SETS, "smallnorb", (remote,))
    data = tmp_path / "data"
    assert main(["download", "smallnorb", "--dir", str(data)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "not a valid gzip file" in err and len(err.strip().splitlines()) == 1
    assert not data.exists()


def test_missing_norb_and_cars_errors_offer_the_download(tmp_path, monkeypatch):
    from disentangle_bench.data import DatasetError, get_dataset

    monkeypatch.setenv(files.ENV_VAR, str(tmp_path))
    monkeypatch.setattr(files, "REPO_DATASETS", tmp_path / "repo")
    monkeypatch.chdir(tmp_path)
    for name in ("smallnorb", "cars3d"):
        with pytest.raises(DatasetError, match=f"run: python run_benchmark.py download {name}"):
            get_dataset(name)
