"""Synthetic representations that change one property at a time, after Carbonneau et al. 2022
("Measuring disentanglement: a review of metrics", IEEE TNNLS), section VI.

Three independent factors with 10 equally likely values each; the ideal code is one code per
factor, ``z_k = v_k / 9`` in [0, 1]. Each variant breaks exactly one property of it:

- ``modularity``: one code holds two factors jointly (``(10 v_0 + v_1) / 99``), the other holds
  ``v_2``: each factor is still in exactly one code (compact) and fully recoverable, but a code
  depends on two factors. (``v_1`` is a sawtooth of that code: linear read-outs of it suffer too.)
- ``compactness``: each factor is spread over two codes that each see half of its information
  (a factor's value is ``5 * coarse + fine``; one code holds ``coarse``, the other ``fine``) —
  every code still depends on one factor only.
- ``explicitness``: the information is made less decodable by a strong additive noise
  (noise 0.15 relative to the unit range: neighbouring values overlap).
- ``noise``: extra codes of pure noise next to the ideal ones (the ideal codes are untouched).
- ``nonlinear``: each code is a non-monotonic bijective-on-the-grid function of its factor
  (a permutation of the 10 values), which keeps every mutual information and every code's
  dependence on one factor but defeats linear read-outs.
- ``mixing``: an invertible linear mix, each code the mean of two factors and each factor in two
  codes: breaks modularity *and* compactness, keeps every factor linearly decodable.
- ``duplicated``: every ideal code twice (independent jitter): compactness broken by redundancy,
  each code still depends on one factor, all information present.

Every variant is a pure function of ``(n, seed)``.
"""

from __future__ import annotations

import numpy as np

SIZES = (10, 10, 10)
VARIANTS = (
    "ideal", "modularity", "compactness", "explicitness", "noise", "nonlinear", "mixing",
    "duplicated",
)


def factors_sample(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng([seed, 99])
    return np.stack([rng.integers(s, size=n) for s in SIZES], axis=1)


def codes_for(variant: str, factors: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng([seed, VARIANTS.index(variant)])
    ideal = factors / 9.0
    jitter = 1e-3 * rng.normal(size=ideal.shape)  # breaks ties, changes no property
    if variant == "ideal":
        return ideal + jitter
    if variant == "modularity":
        joint = (10 * factors[:, 0] + factors[:, 1]) / 99.0
        codes = np.stack([joint, ideal[:, 2]], axis=1)
        return codes + 1e-3 * rng.normal(size=codes.shape)
    if variant == "compactness":
        coarse, fine = factors // 5, factors % 5
        codes = np.concatenate([coarse / 1.0, fine / 4.0], axis=1)
        return codes + 1e-3 * rng.normal(size=codes.shape)
    if variant == "explicitness":
        return ideal + 0.15 * rng.normal(size=ideal.shape)
    if variant == "noise":
        return np.concatenate([ideal + jitter, rng.normal(size=ideal.shape)], axis=1)
    if variant == "nonlinear":
        permutation = np.array([0, 5, 2, 8, 1, 9, 4, 7, 3, 6]) / 9.0
        return permutation[factors] + jitter
    if variant == "mixing":
        mix = np.array([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.0, 1.0, 1.0]]) / 2.0
        return ideal @ mix + jitter
    if variant == "duplicated":
        codes = np.concatenate([ideal, ideal], axis=1)
        return codes + 1e-3 * rng.normal(size=codes.shape)
    raise KeyError(variant)


def suite(n: int = 2000, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{variant: (factors, codes)}`` on one shared factor sample."""
    factors = factors_sample(n, seed)
    return {variant: (factors, codes_for(variant, factors, seed)) for variant in VARIANTS}


def split_suite(n_train: int = 2000, n_test: int = 1000, seed: int = 0) -> dict:
    """``{variant: (factors_train, codes_train, factors_test, codes_test)}``."""
    full = suite(n_train + n_test, seed)
    return {
        variant: (f[:n_train], c[:n_train], f[n_train:], c[n_train:])
        for variant, (f, c) in full.items()
    }
