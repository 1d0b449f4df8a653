"""What resolving a data file's identity costs when a sweep is planned (model ids hash it).

Writes a file of ``--megabytes`` random bytes to a temporary directory and times, in the same
run: reading it in 4 MiB blocks without hashing (the baseline), ``files.file_digests`` the first
time (reads and hashes it: what the first plan on a new file pays) and again (the cached digest:
what every later plan pays). The file was just written, so its pages are in the page cache:
this is the hashing cost; a cold file adds the disk's read time (a 12.7 GB MPI3D file at
200 MB/s: about a minute).

    python benchmarks/digest_cost.py [--megabytes 1024]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from disentangle_bench.data import files  # noqa: E402


def read_only(path: Path) -> None:
    with open(path, "rb") as handle:
        while handle.read(1 << 22):
            pass


def timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=1024)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="digest-cost-") as folder:
        path = Path(folder) / "data.bin"
        rng = np.random.default_rng(0)
        with open(path, "wb") as handle:
            for _ in range(args.megabytes):
                handle.write(rng.integers(0, 256, 1 << 20, dtype=np.uint8).tobytes())
        size = path.stat().st_size / 1e6
        baseline = timed(read_only, path)
        first = timed(files.file_digests, path)
        cached = timed(files.file_digests, path)
    print(f"{size:.0f} MB file (page cache):")
    print(f"  read only (baseline)      {baseline:7.3f} s  {size / baseline:8.0f} MB/s")
    print(f"  SHA-256, first plan       {first:7.3f} s  {size / first:8.0f} MB/s  "
          f"{first / baseline:.1f}x the read")
    print(f"  SHA-256, cached           {cached:7.4f} s  {cached / baseline:.4f}x the read")
    print(f"  a 12.7 GB file (MPI3D) at this rate: {12.7e3 / (size / first):.0f} s plus its "
          "disk read, once")


if __name__ == "__main__":
    main()
