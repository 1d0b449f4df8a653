"""Encode each distinct observation once per evaluation (the code cache of :func:`evaluate`).

The β-VAE score's published protocol encodes 1.92 M images and the FactorVAE score 0.97 M, but
dSprites has 737,280 distinct images. When a dataset declares ``deterministic = True`` (an
observation is a pure function of its factors and rendering draws nothing from the generator),
an evaluation can encode each distinct image once and let every metric read its codes:

1. **Plan.** Every metric's factor draws are made up front, exactly as the metric will make
   them (its registry entry's ``factor_draws``, e.g. ``beta_vae_factor_draws``, and the shared
   i.i.d. draws),
   and reduced to the sorted distinct row-major indices: ``D`` distinct of ``T`` drawn images.
2. **Choose.** The cache encodes the ``D`` distinct indices in groups of exactly ``chunk_size``
   images (the last group padded by repeating its last index), i.e. ``ceil(D / chunk) * chunk``
   images; the direct path encodes ``T``. ``mode="auto"`` takes the cache only when that is
   fewer images. Encoding the whole dataset up front is never cheaper: ``D <= N``, with equality
   only when every image is drawn, and then the two are the same work.
3. **Bound memory.** The cache holds ``D * (d * itemsize + 8)`` bytes (codes, float32 when that
   is exact, else float64, plus the int64 index). When that exceeds ``max_bytes`` the evaluation
   falls back to the direct path (chunked rendering and encoding of the drawn images), having
   spent at most one group of encoding to learn ``d``. Planning briefly holds a mask over the
   grid (``N`` bytes, when that is within ``max_bytes``; else 8 bytes per drawn index) and, one
   array at a time, the factor draws a metric itself holds.
4. **Serve.** The metrics run unchanged on :meth:`CodeCache.view`, a view of the dataset whose
   "observations" are row-major indices, and :meth:`CodeCache.lookup` as ``represent``. An index
   the plan missed makes the lookup render and encode that whole request directly, exactly as the
   direct path would (counted in ``misses``; tests assert there are none).

Scores equal the direct path's when ``represent``'s code for an image does not depend on which
other images share its call. Every call the cache makes has exactly ``chunk_size`` images, so a
representation that batches internally (the conv encoder: 64 images per forward pass) sees only
full batches. On the development CPU (AVX2 EPYC, fp32) the conv encoder's last bits depend on the
batch size only for batches of 1-3 images (1 thread) or 1-11 images not a multiple of 4
(2 threads); the direct path's partial batches at the published and preset sizes hold 4, 8 or
16 images, so cached and direct codes, and hence scores, are identical there (tested with a
trained MLP, measured with a trained conv encoder by ``benchmarks/metrics_speed.py --model``).

A cache belongs to one evaluation of one ``represent``; it is never shared between models.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable

import numpy as np

from .utils import encode

#: Default bound on the cache's memory: 256 MiB, enough for the codes of MPI3D's 1.04 M images
#: at 24 float32 latents, of dSprites' 737,280 at 80.
DEFAULT_MAX_CACHE_BYTES = 256 * 2**20
MODES = ("auto", "on", "off")

_RENDER_RNG_SEED = 0  # deterministic datasets ignore the generator; any one will do


class CodeCache:
    """Codes of ``represent`` for the sorted distinct row-major ``indices`` of ``dataset``."""

    def __init__(self, dataset, represent, indices: np.ndarray, chunk_size: int):
        self.dataset, self.represent = dataset, represent
        self.indices = np.asarray(indices, dtype=np.int64)
        self.chunk_size = int(chunk_size)
        self.codes: np.ndarray | None = None
        self.misses = 0
        self.encoded_images = 0

    @property
    def nbytes(self) -> int:
        return self.indices.nbytes + (0 if self.codes is None else self.codes.nbytes)

    def fill(self, max_bytes: int) -> bool:
        """Encode every index in groups of ``chunk_size``; ``False`` (and nothing kept) as soon
        as the codes would need more than ``max_bytes``."""
        for start in range(0, len(self.indices), self.chunk_size):
            group = self.indices[start:start + self.chunk_size]
            padded = np.pad(group, (0, self.chunk_size - len(group)), mode="edge")
            codes = self._encode(padded)[:len(group)]
            self.encoded_images += len(padded)
            if not self._store(start, codes, max_bytes):
                self.codes = None
                return False
        return True

    def _encode(self, indices: np.ndarray) -> np.ndarray:
        factors = self.dataset.factors_of(indices)
        rng = np.random.default_rng(_RENDER_RNG_SEED)
        return encode(self.represent, self.dataset.sample_observations_from_factors(factors, rng))

    def _store(self, start: int, codes: np.ndarray, max_bytes: int) -> bool:
        exact32 = np.array_equal(codes.astype(np.float32).astype(np.float64), codes)
        dtype = np.float32 if exact32 and (self.codes is None or self.codes.dtype == np.float32) \
            else np.float64
        needed = self.indices.nbytes + len(self.indices) * codes.shape[1] * np.dtype(dtype).itemsize
        if needed > max_bytes:
            return False
        if self.codes is None:
            self.codes = np.empty((len(self.indices), codes.shape[1]), dtype=dtype)
        elif self.codes.dtype != dtype:
            self.codes = self.codes.astype(dtype)
        self.codes[start:start + len(codes)] = codes
        return True

    def lookup(self, indices: np.ndarray) -> np.ndarray:
        """Codes of the row-major ``indices`` (the ``represent`` of :meth:`view`). If any index
        is not cached, the whole request is rendered and encoded directly."""
        indices = np.asarray(indices, dtype=np.int64)
        if len(self.indices):
            position = np.minimum(np.searchsorted(self.indices, indices), len(self.indices) - 1)
            if np.array_equal(self.indices[position], indices):
                return self.codes[position]
        self.misses += int(np.count_nonzero(~np.isin(indices, self.indices)))
        return self._encode(indices)

    def view(self) -> IndexView:
        """The dataset as the metrics see it on the cached path."""
        return IndexView(self.dataset)


class IndexView:
    """``dataset`` whose observations are their row-major indices (int64, shape (n,)), to be
    encoded by :meth:`CodeCache.lookup`; everything else is the dataset's."""

    def __init__(self, dataset):
        self._dataset = dataset

    def __getattr__(self, name: str):
        return getattr(self._dataset, name)

    def sample_observations_from_factors(self, factors: np.ndarray, rng) -> np.ndarray:
        return self._dataset.index_of(factors)


def plan_indices(
    dataset, factor_draws: Iterable[np.ndarray], mask_bytes: int = DEFAULT_MAX_CACHE_BYTES
) -> tuple[np.ndarray, int]:
    """Sorted distinct row-major indices of all ``factor_draws`` and the number of drawn images.

    A boolean mask over the grid (``len(dataset)`` bytes) when that is at most ``mask_bytes``,
    else one sort of all drawn indices (8 bytes each). Not ``np.unique``/``np.union1d``: their
    hashing took 5.5 s per call on the published draws (numpy 2.3, loaded AVX2 EPYC); the whole
    plan with the mask, factor draws included, 2.3 s."""
    size = len(dataset)
    seen = np.zeros(size, dtype=bool) if size <= mask_bytes else None
    parts, drawn = [], 0
    for factors in factor_draws:
        indices = dataset.index_of(factors)
        drawn += len(indices)
        if seen is not None:
            seen[indices] = True
        else:
            parts.append(indices)
    if seen is not None:
        return np.flatnonzero(seen).astype(np.int64), drawn
    merged = np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
    return merged[np.r_[True, merged[1:] != merged[:-1]]] if len(merged) else merged, drawn


def build_code_cache(
    dataset,
    represent,
    factor_draws: Iterable[np.ndarray],
    *,
    mode: str = "auto",
    stochastic_represent: bool = False,
    chunk_size: int = 8192,
    max_bytes: int = DEFAULT_MAX_CACHE_BYTES,
) -> tuple[CodeCache | None, dict]:
    """The filled cache for one evaluation, or ``None`` for the direct path; and a JSON record
    ``{"path", "reason", "distinct_images", "drawn_images", "encoded_images", "bytes",
    "max_bytes", "seconds"}`` (``misses`` is added after the metrics ran)."""
    if mode not in MODES:
        raise ValueError(f"code_cache must be one of {', '.join(MODES)}, got {mode!r}")
    info = {"path": "direct", "reason": "", "distinct_images": None, "drawn_images": None,
            "encoded_images": 0, "bytes": 0, "max_bytes": int(max_bytes), "seconds": 0.0}
    stochastic = stochastic_represent or getattr(represent, "stochastic", False)
    if mode == "off":
        info["reason"] = "code_cache='off'"
    elif not getattr(dataset, "deterministic", False):
        info["reason"] = f"dataset {dataset.name!r} is not deterministic (observations are random)"
    elif stochastic:
        info["reason"] = "represent is marked stochastic"
    if info["reason"]:
        return None, info
    started = time.perf_counter()
    indices, drawn = plan_indices(dataset, factor_draws, max_bytes)
    encoded = math.ceil(len(indices) / chunk_size) * chunk_size
    info.update(distinct_images=int(len(indices)), drawn_images=int(drawn))
    cache = CodeCache(dataset, represent, indices, chunk_size)
    if mode == "auto" and encoded >= drawn:
        info["reason"] = f"no saving: {encoded} images to cache vs {drawn} drawn"
    elif len(indices) * 12 > max_bytes:  # 8-byte index + at least one float32 code each
        info["reason"] = f"{len(indices)} distinct images exceed max_bytes={max_bytes}"
    elif not cache.fill(max_bytes):
        info["reason"] = f"the codes of {len(indices)} distinct images exceed max_bytes={max_bytes}"
    else:
        info.update(path="cached", reason=f"{len(indices)} distinct of {drawn} drawn images")
    kept = info["path"] == "cached"
    info.update(encoded_images=cache.encoded_images, bytes=int(cache.nbytes) if kept else 0,
                seconds=time.perf_counter() - started)
    return (cache if kept else None), info
