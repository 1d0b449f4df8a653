"""The MPI3D loaders on files written in the published format (np.savez of ``images``)."""

import pickle
import sys
import textwrap

import numpy as np
import pytest
import realformat as rf
from processes import run

from disentangle_bench.data import DatasetError, files, get_dataset
from disentangle_bench.data.mpi3d import MPI3DReal, MPI3DToy


@pytest.fixture(params=["stored", "compressed"])
def reduced(tmp_path, request):
    images = rf.mpi3d_images()
    path = rf.write_mpi3d(tmp_path / "mpi3d_toy.npz", images,
                          compressed=request.param == "compressed")
    return path, images


def test_factor_index_order_and_image_content(reduced):
    path, images = reduced
    ds = MPI3DToy(path)
    assert ds.factor_sizes == rf.MPI3D_REDUCED and len(ds) == len(images)
    assert ds.factor_names[-1] == "vertical_axis" and ds.observation_shape == (3, 64, 64)
    # last factor fastest: (0, .., 0, 1) is image 1, one horizontal step is 3 images on
    np.testing.assert_array_equal(ds.index_of(np.array([[0, 0, 0, 0, 0, 0, 1],
                                                        [0, 0, 0, 0, 0, 1, 0],
                                                        [1, 0, 0, 0, 0, 0, 0]])), [1, 3, 36])
    factors = np.array([[1, 1, 0, 0, 2, 1, 2], [0, 0, 0, 0, 0, 0, 0], [1, 1, 0, 0, 2, 1, 2]])
    obs = ds.sample_observations_from_factors(factors, np.random.default_rng(0))
    assert obs.dtype == np.float32 and obs.shape == (3, 3, 64, 64)
    last = len(images) - 1
    np.testing.assert_allclose(obs[0], images[last].transpose(2, 0, 1) / 255.0, atol=1e-7)
    np.testing.assert_allclose(obs[1], images[0].transpose(2, 0, 1) / 255.0, atol=1e-7)
    np.testing.assert_array_equal(obs[0], obs[2])
    assert not ds._images.flags.owndata and not ds._images.flags.writeable  # a file map


def test_compressed_member_is_extracted_once_and_reused(tmp_path):
    images = rf.mpi3d_images()
    path = rf.write_mpi3d(tmp_path / "mpi3d_real.npz", images, compressed=True)
    ds = MPI3DReal(path)
    extracted = list(tmp_path.glob(".mpi3d_real.npz.*.images.npy"))
    assert len(extracted) == 1 and "extracted" in ds.provenance()["images"]
    mtime = extracted[0].stat().st_mtime_ns
    again = MPI3DReal(path)
    assert extracted[0].stat().st_mtime_ns == mtime
    factors = again.sample_factors(20, np.random.default_rng(1))
    np.testing.assert_array_equal(
        again.sample_observations_from_factors(factors, None),
        images[again.index_of(factors)].transpose(0, 3, 1, 2) / np.float32(255))


def test_pickling_for_process_pools_does_not_copy_the_images(reduced):
    path, images = reduced
    ds = MPI3DToy(path)
    blob = pickle.dumps(ds)
    assert len(blob) < images.nbytes / 10
    copy = pickle.loads(blob)
    factors = ds.sample_factors(8, np.random.default_rng(0))
    np.testing.assert_array_equal(copy.sample_observations_from_factors(factors, None),
                                  ds.sample_observations_from_factors(factors, None))


@pytest.mark.parametrize("n, release, sizes", [
    (1_036_800, "final", (6, 6, 2, 3, 3, 40, 40)),
    (460_800, "first", (4, 4, 2, 3, 3, 40, 40)),
])
def test_release_detected_from_the_shape(tmp_path, n, release, sizes):
    path = rf.write_sparse_stored_npz(tmp_path / "mpi3d_toy.npz", (n, 64, 64, 3))
    ds = MPI3DToy(path)
    assert ds.release.startswith(release) and ds.factor_sizes == sizes and len(ds) == n
    assert ds.value_names["object_color"][0] == ("white" if n == 1_036_800 else "green")


def test_unknown_image_count_is_refused(tmp_path):
    path = rf.write_mpi3d(tmp_path / "mpi3d_toy.npz", rf.mpi3d_images()[:10], sizes=None)
    with pytest.raises(DatasetError, match="10 images; the MPI3D releases have 1,036,800 or"):
        MPI3DToy(path)


@pytest.mark.parametrize("images, complaint", [
    (np.zeros((36, 64, 64), np.uint8), "expected uint8 \\(N, 64, 64, 3\\)"),
    (np.zeros((36, 64, 64, 3), np.float32), "images is float32"),
    (np.zeros((36, 32, 32, 3), np.uint8), "images is uint8 \\(36, 32, 32, 3\\)"),
])
def test_wrong_arrays_give_clear_errors(tmp_path, images, complaint):
    path = rf.write_mpi3d(tmp_path / "mpi3d_toy.npz", images)
    with pytest.raises(DatasetError, match=complaint):
        MPI3DToy(path)


def test_truncated_stored_file_says_how_many_images_it_has(tmp_path):
    path = rf.write_sparse_stored_npz(tmp_path / "mpi3d_toy.npz", (460_800, 64, 64, 3))
    with open(path, "r+b") as handle:  # keep the zip directory, lose the images' tail
        handle.truncate(1000 * 64 * 64 * 3)
    with pytest.raises(DatasetError, match="truncated|not a valid MPI3D"):
        MPI3DToy(path)


def test_missing_file_error_names_the_download(tmp_path, monkeypatch):
    monkeypatch.setenv(files.ENV_VAR, str(tmp_path))
    monkeypatch.setattr(files, "REPO_DATASETS", tmp_path / "repo")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatasetError, match="mpi3d_realistic.npz, not found") as error:
        get_dataset("mpi3d-realistic")
    assert "download mpi3d-realistic" in str(error.value)
    assert "Final_Dataset/mpi3d_realistic.npz" in str(error.value)


def test_found_in_a_disentanglement_lib_data_directory(tmp_path, monkeypatch):
    (tmp_path / "mpi3d_toy").mkdir()
    rf.write_mpi3d(tmp_path / "mpi3d_toy" / "mpi3d_toy.npz", rf.mpi3d_images())
    monkeypatch.setenv(files.ENV_VAR, str(tmp_path))
    ds = get_dataset("mpi3d-toy")
    assert ds.factor_sizes == rf.MPI3D_REDUCED
    record = ds.provenance()
    assert record["published_checksum"] == "none published"
    assert len(record["sha256"]) == 64 and record["release"].startswith("custom grid")


def test_sampling_never_reads_the_whole_file(tmp_path):
    """A 5.7 GB file (the first release's shape, sparse on disk): opening it and sampling 5
    batches must raise the process's peak memory by far less than the file's size."""
    path = rf.write_sparse_stored_npz(tmp_path / "mpi3d_toy.npz", (460_800, 64, 64, 3))
    script = textwrap.dedent(f"""
        import resource, numpy as np
        from disentangle_bench.data.mpi3d import MPI3DToy
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        ds = MPI3DToy({str(path)!r})
        rng = np.random.default_rng(0)
        for _ in range(5):
            batch = ds.sample(64, rng)[1]
        assert batch.shape == (64, 3, 64, 64)
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
    """)
    done = run([sys.executable, "-c", script])
    assert done.returncode == 0, done.stderr
    grown = int(done.stdout.split()[-1])
    assert path.stat().st_size > 5e9
    assert grown < 256e6, f"peak memory grew by {grown / 1e6:.0f} MB"


def test_file_digest_is_computed_once_and_cached_even_in_a_read_only_folder(tmp_path,
                                                                         monkeypatch):
    import hashlib
    from pathlib import Path

    from disentangle_bench.data import files as module

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "mpi3d_toy.npz"
    path.write_bytes(b"some bytes")
    write = module.write_text_atomic

    def read_only_folder(target, text):  # the data folder refuses writes, as a read-only one
        if Path(target).parent == folder:
            raise PermissionError(13, "Permission denied", str(target))
        return write(target, text)

    monkeypatch.setattr(module, "write_text_atomic", read_only_folder)
    expected = hashlib.sha256(b"some bytes").hexdigest()
    assert module.file_digests(path)["sha256"] == expected
    assert [p.name for p in folder.iterdir()] == ["mpi3d_toy.npz"]
    assert len(list((tmp_path / "cache" / "disentangle_bench" / "digests").iterdir())) == 1
    calls = []
    real_new = hashlib.new
    monkeypatch.setattr(hashlib, "new", lambda *a: calls.append(a) or real_new(*a))
    assert module.file_digests(path)["sha256"] == expected and calls == []
