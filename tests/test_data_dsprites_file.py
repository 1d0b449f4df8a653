"""The real-file dSprites loader, on small files written in the exact format of the real npz."""

import os
import pickle
import zipfile

import numpy as np
import pytest

from disentangle_bench.data import DatasetError, files, get_dataset
from disentangle_bench.data.dsprites_file import DSpritesFile
from disentangle_bench.data.files import (
    ENV_VAR,
    fetch_verified,
    find_data_file,
    verify_checksum,
)

NAMES = ("color", "shape", "scale", "orientation", "posX", "posY")
REDUCED_SIZES = (1, 3, 2, 4, 5, 6)
FILE_NAME = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"


def real_format_arrays(sizes=REDUCED_SIZES, seed=0):
    """The four arrays of the real file on a (reduced) grid, built the way the real file is
    ordered: rows enumerate the grid with posY fastest. Images are random bits, so every row is
    distinguishable."""
    grids = np.meshgrid(*[np.arange(s) for s in sizes], indexing="ij")
    classes = np.stack([g.ravel() for g in grids], axis=1).astype(np.int64)
    possible = {
        "color": np.array([1.0]),
        "shape": np.array([1.0, 2.0, 3.0])[: sizes[1]],
        "scale": np.linspace(0.5, 1, sizes[2]),
        "orientation": np.linspace(0, 2 * np.pi, sizes[3]),
        "posX": np.linspace(0, 1, sizes[4]),
        "posY": np.linspace(0, 1, sizes[5]),
    }
    values = np.stack([possible[name][classes[:, i]] for i, name in enumerate(NAMES)], axis=1)
    metadata = {
        "date": "April 2017",
        "description": "Disentanglement test Sprites dataset (reduced test copy).",
        "version": 1,
        "latents_names": NAMES,
        "latents_possible_values": possible,
        "latents_sizes": np.array(sizes),
        "author": "test",
        "title": "dSprites dataset",
    }
    images = np.random.default_rng(seed).integers(0, 2, (len(classes), 64, 64), dtype=np.uint8)
    return {
        "imgs": images,
        "latents_values": values,
        "latents_classes": classes,
        "metadata": np.array(metadata, dtype=object),
    }


def write_npz(path, arrays):
    np.savez_compressed(path, **arrays)
    return path


@pytest.fixture
def reduced_file(tmp_path):
    arrays = real_format_arrays()
    return write_npz(tmp_path / FILE_NAME, arrays), arrays


def test_loads_reduced_grid_from_metadata(reduced_file):
    path, arrays = reduced_file
    ds = DSpritesFile(path)
    assert ds.factor_sizes == REDUCED_SIZES
    assert ds.factor_names == NAMES
    assert len(ds) == len(arrays["imgs"])
    assert ds.varying_factors == (1, 2, 3, 4, 5)
    np.testing.assert_allclose(ds.factor_values[3], np.linspace(0, 2 * np.pi, 4))


def test_index_round_trip_and_file_ordering(reduced_file):
    path, arrays = reduced_file
    ds = DSpritesFile(path)
    rng = np.random.default_rng(1)
    factors = ds.sample_factors(300, rng)
    np.testing.assert_array_equal(ds.factors_of(ds.index_of(factors)), factors)
    # index_of must point at the file row whose latents_classes are these factors ...
    np.testing.assert_array_equal(arrays["latents_classes"][ds.index_of(factors)], factors)
    # ... and the images returned must be that row's image.
    observations = ds.sample_observations_from_factors(factors, rng)
    assert observations.dtype == np.float32 and observations.shape == (300, 1, 64, 64)
    np.testing.assert_array_equal(observations[:, 0], arrays["imgs"][ds.index_of(factors)])


def test_full_grid_bases_match_the_published_ones():
    ds = get_dataset("dsprites-procedural")
    np.testing.assert_array_equal(ds.factor_bases, [737280, 245760, 40960, 1024, 32, 1])
    np.testing.assert_array_equal(ds.factors_of([0, 1, 32, 1024]),
                                  [[0] * 6, [0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0],
                                   [0, 0, 0, 1, 0, 0]])


def test_found_through_environment_variable(reduced_file, monkeypatch):
    path, _ = reduced_file
    monkeypatch.setenv(ENV_VAR, str(path.parent))
    assert find_data_file(FILE_NAME) == path
    assert get_dataset("dsprites").factor_sizes == REDUCED_SIZES


def test_missing_file_error_says_where_and_what_to_do(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # Point every searched directory at empty temporary ones, so a real file elsewhere is unseen.
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env"))
    monkeypatch.setattr(files, "REPO_DATASETS", tmp_path / "repo")
    with pytest.raises(DatasetError) as error:
        get_dataset("dsprites")
    message = str(error.value)
    assert str(tmp_path / "env") in message and str(tmp_path / "repo") in message
    assert "github.com/deepmind/dsprites-dataset" in message
    assert "dsprites-procedural" in message and "offline" in message


@pytest.mark.parametrize(
    "break_it, complaint",
    [
        (lambda a: a.pop("latents_classes"), "missing key"),
        (lambda a: a.update(imgs=a["imgs"][:, :32]), "imgs is uint8"),
        (lambda a: a.update(imgs=a["imgs"].astype(np.float32)), "imgs is float32"),
        (lambda a: a.update(imgs=a["imgs"] * 255), "0/1"),
        (lambda a: a.update(latents_classes=a["latents_classes"].astype(np.int32)),
         "latents_classes is int32"),
        (lambda a: a.update(latents_values=a["latents_values"][:-1]), "latents_values"),
        (lambda a: a.update(latents_classes=a["latents_classes"][::-1].copy()), "row-major"),
        (lambda a: a.update(metadata=np.array({"x": 1}, dtype=object)), "metadata"),
    ],
)
def test_malformed_files_give_clear_errors(tmp_path, break_it, complaint):
    arrays = real_format_arrays()
    break_it(arrays)
    path = write_npz(tmp_path / FILE_NAME, arrays)
    with pytest.raises(DatasetError, match=complaint) as error:
        DSpritesFile(path)
    assert str(path) in str(error.value)


def test_truncated_file_gives_clear_error(reduced_file):
    path, _ = reduced_file
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="corrupt, truncated"):
        DSpritesFile(path)


def test_truncated_image_member_gives_clear_error(tmp_path):
    arrays = real_format_arrays()
    path = tmp_path / FILE_NAME
    write_npz(path, arrays)
    # Rewrite imgs.npy with its header intact but half of its data missing.
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["imgs.npy"] = members["imgs.npy"][: len(members["imgs.npy"]) // 2]
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(DatasetError, match="imgs ends after"):
        DSpritesFile(path)


def test_metadata_pickled_by_python2_style_latin1_loads(tmp_path):
    # The real metadata is a Python-2 pickle; protocol 2 with bytes-free content is what
    # np.load(..., encoding="latin1") must read.
    arrays = real_format_arrays()
    blob = pickle.dumps(arrays["metadata"][()], protocol=2)
    arrays["metadata"] = np.array(pickle.loads(blob), dtype=object)
    assert DSpritesFile(write_npz(tmp_path / FILE_NAME, arrays)).factor_sizes == REDUCED_SIZES


def test_checksum_verification_on_local_files(tmp_path):
    good = tmp_path / "source.bin"
    good.write_bytes(b"dsprites")
    md5 = "f5c6f2c5a8bcb2a3b7ef5aefa1a3b3a5"
    with pytest.raises(DatasetError, match="checksum"):
        verify_checksum(good, "md5", md5)
    import hashlib

    verify_checksum(good, "md5", hashlib.md5(b"dsprites").hexdigest())
    # fetch_verified (the download's write path) keeps nothing when the checksum fails ...
    dest = tmp_path / "out" / "file.bin"
    with pytest.raises(DatasetError):
        fetch_verified(good.as_uri(), dest, "md5", md5)
    assert not dest.exists() and not dest.parent.exists()  # the folder made for it is gone
    # ... and writes the file when it matches.
    fetch_verified(good.as_uri(), dest, "md5", hashlib.md5(b"dsprites").hexdigest())
    assert dest.read_bytes() == b"dsprites"


def cache_files(directory):
    return sorted(directory.glob(f".{FILE_NAME}.*.packed.npy"))


def test_packed_cache_is_written_reused_and_rebuilt_when_corrupt(reduced_file, monkeypatch):
    path, arrays = reduced_file
    factors = np.array([[0, 2, 1, 3, 4, 5], [0, 1, 0, 0, 2, 1]])
    expected = arrays["imgs"][DSpritesFile(path).index_of(factors)]
    (cache,) = cache_files(path.parent)
    assert not list(path.parent.glob("*.partial"))

    def no_decompression(self, n):
        raise AssertionError("the archive's images must not be decompressed again")

    with monkeypatch.context() as patch:
        patch.setattr(DSpritesFile, "_read_packed_images", no_decompression)
        np.testing.assert_array_equal(DSpritesFile(path).masks(factors), expected)
    # Flip bits in the cache's data: the CRC check must catch it and rebuild from the archive.
    data = bytearray(cache.read_bytes())
    data[-100:] = bytes(255 - b for b in data[-100:])
    cache.write_bytes(bytes(data))
    np.testing.assert_array_equal(DSpritesFile(path).masks(factors), expected)
    (rebuilt,) = cache_files(path.parent)
    assert rebuilt.read_bytes() != bytes(data)


def test_cache_can_be_turned_off(reduced_file):
    path, _ = reduced_file
    DSpritesFile(path, cache=False)
    assert cache_files(path.parent) == []


def test_cache_of_a_replaced_file_is_not_used(tmp_path):
    path = write_npz(tmp_path / FILE_NAME, real_format_arrays(seed=0))
    DSpritesFile(path)
    old_mtime = path.stat().st_mtime_ns
    new = real_format_arrays(seed=1)
    write_npz(path, new)
    os.utime(path, ns=(old_mtime + 10**9, old_mtime + 10**9))  # coarse file-system clocks
    ds = DSpritesFile(path)
    np.testing.assert_array_equal(ds.masks(ds.factors_of(np.arange(10))), new["imgs"][:10])
    assert len(cache_files(tmp_path)) == 1  # the stale cache was removed
