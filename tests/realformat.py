"""Writers of small dataset files in the exact published formats, shared by the loader tests,
the bad-file tests and the end-to-end smoke sweeps (no download in any test)."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np

# ---- MPI3D -------------------------------------------------------------------------------
MPI3D_REDUCED = (2, 2, 1, 1, 3, 2, 3)


def mpi3d_images(sizes=MPI3D_REDUCED, seed=0) -> np.ndarray:
    """uint8 (N, 64, 64, 3), random so every image is distinguishable."""
    n = int(np.prod(sizes))
    return np.random.default_rng(seed).integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)


def write_mpi3d(path: Path, images: np.ndarray, sizes=MPI3D_REDUCED, compressed=False) -> Path:
    """``images`` (+ the ``factor_sizes`` member that declares a reduced grid) as the published
    files are written: ``np.savez`` (members stored) or ``np.savez_compressed``."""
    save = np.savez_compressed if compressed else np.savez
    arrays = {"images": images}
    if sizes is not None:
        arrays["factor_sizes"] = np.asarray(sizes, dtype=np.int64)
    with open(path, "wb") as handle:
        save(handle, **arrays)
    return Path(path)


def write_sparse_stored_npz(path: Path, shape: tuple[int, ...]) -> Path:
    """A zip64 ``.npz`` with one stored member ``images.npy`` of uint8 ``shape`` whose data is
    a hole in a sparse file (zeros, no disk space): the layout ``np.savez`` gives a
    multi-gigabyte array. The CRC field is left 0 (nothing here reads the member through
    zipfile)."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|u1", "fortran_order": False, "shape": tuple(shape)})
    npy_header = header.getvalue()
    size = len(npy_header) + int(np.prod(shape))
    name = b"images.npy"
    zip64 = struct.pack("<HHQQ", 1, 16, size, size)
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 45, 0, 0, 0, 0x21, 0,
                        0xFFFFFFFF, 0xFFFFFFFF, len(name), len(zip64)) + name + zip64
    central = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 45, 45, 0, 0, 0, 0x21, 0,
                          0xFFFFFFFF, 0xFFFFFFFF, len(name), len(zip64), 0, 0, 0, 0, 0)
    central += name + zip64
    cd_offset = len(local) + size
    eocd64_offset = cd_offset + len(central)
    eocd64 = struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, 1, 1,
                         len(central), cd_offset)
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, eocd64_offset, 1)
    eocd = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central), 0xFFFFFFFF, 0)
    with open(path, "wb") as handle:
        handle.write(local + npy_header)
        handle.seek(cd_offset)
        handle.write(central + eocd64 + locator + eocd)
    return Path(path)


# ---- garbage -----------------------------------------------------------------------------
HTML_PAGE = (b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>"
             b"<body>The requested URL was not found on this server.</body></html>\n")
TEXT = b"not a zip\n"




# ---- Cars3D ------------------------------------------------------------------------------
def car_code(elevation, azimuth, car):
    """(green, blue) levels coding the view and the car; a constant channel stays exactly
    constant through the Lanczos resize."""
    return 10 + 2 * (elevation * 24 + azimuth), 50 + 60 * car


def write_cars(directory: Path, names=("car_001_mesh.mat", "car_010_mesh.mat",
                                       "car_002_mesh.mat")) -> Path:
    """A ``cars/`` folder; file ``names[i]`` holds car ``sorted(names).index(names[i])``: its
    ``im`` uint8 (128, 128, 3, 24, 4) has green and blue ``car_code(e, a, car)`` per view and
    a red block in the top-left corner (orientation check)."""
    import scipy.io

    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        car = sorted(names).index(name)
        im = np.zeros((128, 128, 3, 24, 4), dtype=np.uint8)
        for e in range(4):
            for a in range(24):
                im[:, :, 1:, a, e] = car_code(e, a, car)
        im[:32, :32, 0] = 255
        scipy.io.savemat(directory / name, {"im": im}, do_compression=True)
    return directory


# ---- SmallNORB ---------------------------------------------------------------------------
NORB_CHUNKS = ("smallnorb-5x46789x9x18x6x2x96x96-training",
               "smallnorb-5x01235x9x18x6x2x96x96-testing")
NORB_INSTANCES = ((1,), (0,))  # per chunk, as the real sets split them (4,6-9 / 0-3,5)
NORB_SIZES = (2, 2, 3, 2)  # category, elevation, azimuth, lighting


def norb_code(category, instance, elevation, azimuth, lighting):
    """A distinct grey level per grid point (camera 0); camera 1 gets 255 - it."""
    return 20 + 4 * ((((category * 2 + instance) * 2 + elevation) * 3 + azimuth) * 2 + lighting)


def norb_matrix(array: np.ndarray) -> bytes:
    """A NORB binary matrix: int32 magic, int32 ndim, max(ndim, 3) int32 dims, data."""
    magic = {np.dtype(np.uint8): 0x1E3D4C55, np.dtype(np.int32): 0x1E3D4C54}[array.dtype]
    dims = list(array.shape) + [1] * (3 - array.ndim)
    header = np.array([magic, array.ndim, *dims], dtype="<i4").tobytes()
    return header + array.astype(array.dtype.newbyteorder("<")).tobytes()


def write_norb(directory: Path, seed=0) -> Path:
    """The six files on a reduced grid, rows shuffled (the real files are not grid-ordered);
    azimuths stored as 0, 2, 4 as in the real info files."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for chunk, instances in zip(NORB_CHUNKS, NORB_INSTANCES):
        rows = [(c, i, e, a, light) for c in range(NORB_SIZES[0]) for i in instances
                for e in range(NORB_SIZES[1]) for a in range(NORB_SIZES[2])
                for light in range(NORB_SIZES[3])]
        rows = [rows[k] for k in rng.permutation(len(rows))]
        dat = np.zeros((len(rows), 2, 96, 96), dtype=np.uint8)
        for k, row in enumerate(rows):
            dat[k, 0] = norb_code(*row)
            dat[k, 1] = 255 - norb_code(*row)
        table = np.array(rows, dtype=np.int32)
        info = table[:, 1:].copy()
        info[:, 2] *= 2
        (directory / f"{chunk}-dat.mat").write_bytes(norb_matrix(dat))
        (directory / f"{chunk}-cat.mat").write_bytes(norb_matrix(table[:, 0].copy()))
        (directory / f"{chunk}-info.mat").write_bytes(norb_matrix(info))
    return directory


# ---- the painting of scream-dSprites -------------------------------------------------------
def write_painting(path: Path, height=90, width=110, seed=0) -> Path:
    """A JPEG (as The_Scream.jpg is) of random RGB texture."""
    import matplotlib.image

    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    matplotlib.image.imsave(path, pixels, format="jpeg")
    return Path(path)
