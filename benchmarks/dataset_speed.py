"""Dataset sampling speed, single thread: images per second for random batches.

Prints images/s for each dataset and the ratio against a baseline measured in the same run
(rendering every sprite from its geometry per image, i.e. without the precomputed masks), so the
numbers are comparable on a busy machine. The real-file loaders are measured on reduced files in
the real format written to a temporary directory (their per-batch cost does not depend on N);
the real dSprites file is used as well when it is present.

MPI3D is sampled through its memory map: from a file of ``--mpi3d-images`` random images
written here (so its pages are in the page cache: this is the mapping's overhead, not the
disk's), from the same images copied into memory (the ratio between the two is the cost of the
map), from a sparse file of the full 1,036,800-image grid (12.7 GB of holes: index arithmetic
and page faults at full size, no disk reads), and from any real MPI3D file present.

    python benchmarks/dataset_speed.py [--batch 64] [--seconds 1.5] [--mpi3d-images 57600]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import h5py  # noqa: E402
import numpy as np  # noqa: E402

from disentangle_bench.data import get_dataset  # noqa: E402
from disentangle_bench.data.dsprites_procedural import BOX, render_sprites  # noqa: E402
from disentangle_bench.data.files import find_data_file  # noqa: E402
from disentangle_bench.data.mpi3d import MPI3DToy  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import realformat  # noqa: E402


def images_per_second(sample, batch: int, seconds: float) -> float:
    rng = np.random.default_rng(0)
    sample(batch, rng)  # warm-up
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        sample(batch, rng)
        count += batch
    return count / (time.perf_counter() - start)


def render_from_geometry(ds):
    """Baseline: rasterise each sprite from its geometry, per image."""
    values = ds.factor_values

    def sample(n, rng):
        factors = ds.sample_factors(n, rng)
        out = np.zeros((n, 1, 64, 64), dtype=np.float32)
        for i, (_, shape, scale, angle, x, y) in enumerate(factors):
            mask = render_sprites(shape, values[2][scale], values[3][angle : angle + 1])[0]
            out[i, 0, y : y + BOX, x : x + BOX] = mask
        return out

    return sample


def write_reduced_dsprites(directory: Path) -> Path:
    sizes = (1, 3, 6, 40, 4, 4)
    grids = np.meshgrid(*[np.arange(s) for s in sizes], indexing="ij")
    classes = np.stack([g.ravel() for g in grids], axis=1).astype(np.int64)
    names = ("color", "shape", "scale", "orientation", "posX", "posY")
    possible = {name: np.arange(float(s)) for name, s in zip(names, sizes)}
    metadata = {"latents_names": names, "latents_sizes": np.array(sizes),
                "latents_possible_values": possible}
    path = directory / "dsprites_reduced.npz"
    images = np.random.default_rng(0).integers(0, 2, (len(classes), 64, 64), dtype=np.uint8)
    np.savez_compressed(path, imgs=images, latents_classes=classes,
                        latents_values=classes.astype(np.float64),
                        metadata=np.array(metadata, dtype=object))
    return path


def write_reduced_shapes3d(directory: Path) -> Path:
    sizes = (4, 4, 4, 8, 4, 15)
    grids = np.meshgrid(*[np.arange(s) for s in sizes], indexing="ij")
    labels = np.stack([g.ravel() for g in grids], axis=1).astype(np.float64)
    path = directory / "3dshapes_reduced.h5"
    with h5py.File(path, "w") as handle:
        handle["images"] = np.random.default_rng(0).integers(
            0, 256, (len(labels), 64, 64, 3), dtype=np.uint8)
        handle["labels"] = labels
    return path


def mpi3d_candidates(directory: Path, images: int) -> dict:
    """MPI3D memory-mapped (written here, warm page cache), the same in memory, a sparse
    full-size file, and the real files when present."""
    sizes = (1, 1, 2, 3, 3, 40, 40)
    sizes = (max(1, images // int(np.prod(sizes))), *sizes[1:])
    rng = np.random.default_rng(0)
    path = directory / "mpi3d_bench.npz"
    realformat.write_mpi3d(
        path, rng.integers(0, 256, (int(np.prod(sizes)), 64, 64, 3), dtype=np.uint8), sizes)
    mapped = MPI3DToy(path)
    in_memory = MPI3DToy(path)
    in_memory._images = np.array(in_memory._images)
    full = MPI3DToy(realformat.write_sparse_stored_npz(directory / "mpi3d_full.npz",
                                                       (1_036_800, 64, 64, 3)))
    found = {f"mpi3d memmap ({len(mapped):,} images, cached pages)": mapped,
             "mpi3d same images in memory": in_memory,
             "mpi3d memmap, full grid (sparse 12.7 GB)": full}
    for name in ("mpi3d-toy", "mpi3d-realistic", "mpi3d-real"):
        try:
            found[f"{name} real file"] = get_dataset(name)
        except Exception as error:  # noqa: BLE001 - absent or unusable: say so and go on
            print(f"{name}: {str(error).split(';')[0]}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--mpi3d-images", type=int, default=57_600,
                        help="images in the written MPI3D test file (57,600 = 708 MB)")
    args = parser.parse_args()
    procedural = get_dataset("dsprites-procedural")
    baseline = images_per_second(render_from_geometry(procedural), args.batch, args.seconds)
    print(f"batch {args.batch}, single thread; baseline = per-image rendering from geometry: "
          f"{baseline:,.0f} images/s")
    with tempfile.TemporaryDirectory() as tmp:
        candidates = {
            "dsprites-procedural": procedural,
            "dsprites-procedural masks (uint8)": None,
            "color-dsprites": get_dataset("color-dsprites"),
            "noisy-dsprites": get_dataset("noisy-dsprites"),
            "dsprites file (reduced)": get_dataset(
                "dsprites", path=write_reduced_dsprites(Path(tmp))),
            "shapes3d lazy h5 (reduced)": get_dataset(
                "shapes3d", path=write_reduced_shapes3d(Path(tmp))),
            "shapes3d in memory (reduced)": get_dataset(
                "shapes3d", path=Path(tmp) / "3dshapes_reduced.h5", in_memory=True),
        }
        candidates.update(mpi3d_candidates(Path(tmp), args.mpi3d_images))
        if find_data_file("dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"):
            start = time.perf_counter()
            candidates["dsprites real file"] = get_dataset("dsprites")
            print(f"real dSprites file loaded in {time.perf_counter() - start:.1f} s")
        for name, ds in candidates.items():
            if ds is None:
                speed = images_per_second(
                    lambda n, rng: procedural.masks(procedural.sample_factors(n, rng)),
                    args.batch, args.seconds)
            else:
                speed = images_per_second(ds.sample, args.batch, args.seconds)
            print(f"{name:36s} {speed:12,.0f} images/s  {speed / baseline:8.1f}× baseline")


if __name__ == "__main__":
    main()
