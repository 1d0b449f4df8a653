"""Unsupervised Disentanglement Ranking (Duan et al. 2020, "Unsupervised Model Selection for
Variational Disentangled Representation Learning", ICLR 2020), as disentanglement_lib's
``evaluation/udr/metrics/udr.py`` (``compute_udr_sklearn``) computes it.

Its input is a group of models (the same configuration trained with different seeds), each
represented by its codes on the *same* observations and its mean KL per latent dimension.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

CORRELATIONS = ("lasso", "spearman")


def relative_strength(matrix: np.ndarray) -> float:
    """Duan et al.'s disentanglement of an (a × b) similarity matrix R >= 0:

        UDR_ij = 1/2 * ( mean_b max_a R² / sum_a R  +  mean_a max_b R² / sum_b R ),

    where an all-zero row or column contributes 0 (dlib's ``nan_to_num``). 1 for a permutation
    matrix (one-to-one latents), lower when a latent matches several of the other model's."""
    matrix = np.asarray(matrix, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        columns = np.nan_to_num(matrix.max(axis=0) ** 2 / matrix.sum(axis=0), nan=0.0)
        rows = np.nan_to_num(matrix.max(axis=1) ** 2 / matrix.sum(axis=1), nan=0.0)
    return float((columns.mean() + rows.mean()) / 2)


def _varying(codes: np.ndarray) -> np.ndarray:
    """Which columns of ``codes`` take more than one value."""
    return (codes != codes[:1]).any(axis=0) if len(codes) else np.zeros(codes.shape[1], bool)


def _standardise(codes: np.ndarray) -> np.ndarray:
    std = codes.std(axis=0)
    return (codes - codes.mean(axis=0)) / np.where(std > 0, std, 1.0)


def similarity(codes_a: np.ndarray, codes_b: np.ndarray, method: str = "lasso",
               seed: int = 0) -> np.ndarray:
    """``R[a, b]`` between latent a of model A and latent b of model B (standardised codes):
    ``"lasso"``: ``|coef|`` of ``Lasso(alpha=0.1)`` regressing all of B's latents on A's;
    ``"spearman"``: |Spearman rank correlation| of each pair."""
    import scipy.stats
    from sklearn.linear_model import Lasso

    if method == "lasso":
        model = Lasso(alpha=0.1, random_state=seed).fit(codes_a, codes_b)
        return np.abs(np.asarray(model.coef_).reshape(codes_b.shape[1], codes_a.shape[1])).T
    if method == "spearman":
        # a constant (zeroed, dead) latent has no rank correlation: 0, as dlib's nan_to_num
        # makes it; only latents that vary are handed to scipy (which warns on constant ones)
        r = np.zeros((codes_a.shape[1], codes_b.shape[1]))
        vary_a, vary_b = _varying(codes_a), _varying(codes_b)
        if vary_a.any() and vary_b.any():
            d = int(vary_a.sum())
            rho = np.atleast_2d(scipy.stats.spearmanr(codes_a[:, vary_a],
                                                      codes_b[:, vary_b]).statistic)
            if rho.shape == (1, 1):  # one latent a side: scipy returns the scalar
                rho = np.array([[1.0, rho[0, 0]], [rho[0, 0], 1.0]])
            r[np.ix_(vary_a, vary_b)] = np.nan_to_num(np.abs(rho[:d, d:]), nan=0.0)
        return r
    raise ValueError(f"unknown UDR correlation {method!r}; use one of {', '.join(CORRELATIONS)}")


def udr(
    codes: Sequence[np.ndarray],
    kl: Sequence[np.ndarray],
    *,
    correlation: str = "lasso",
    kl_threshold: float = 0.01,
    seed: int = 0,
) -> dict:
    """UDR score of each model of a group.

    ``codes[m]`` (n, d) are model m's mean codes on the same n observations, ``kl[m]`` (d,)
    its mean KL per latent (nats). Each model's codes are standardised and latents with
    ``kl <= 0.01`` zeroed (dlib hard-codes 0.01 here); for every ordered pair (i, j), i != j,
    ``R_ij`` = :func:`similarity` of i's and j's codes, restricted to the latents with
    ``kl > kl_threshold`` in each model, and ``UDR_ij`` = :func:`relative_strength` of it.
    A model's score is the median of ``UDR_ji`` over the other models j (dlib takes column i).

    Degenerate models: ``UDR_ij`` is undefined (NaN) when i or j has no active latent (dlib
    raises), only constant codes on its active latents (dlib gives 0) or non-finite codes.
    A model's median is then taken over its defined pairs; a degenerate model, or one whose
    every other seed is degenerate, scores NaN and its ``reasons`` entry says why.

    Protocol (dlib ``config/tests/methods/udr/udr.gin``; Duan et al. §4): 1,000 observations,
    Lasso with alpha 0.1 (or Spearman), KL threshold 0.01, seeds of the same configuration
    (the paper uses 5-10 per configuration; the median needs at least 2 models).

    Returns ``{"model_scores": [float per model], "pairwise": (m, m) nested list (diagonal 0,
    NaN where undefined), "reasons": [None, or why the model's score is NaN]}``.
    """
    if len(codes) != len(kl) or len(codes) < 2:
        raise ValueError(f"UDR needs codes and KLs of at least 2 models, got {len(codes)} codes "
                         f"and {len(kl)} KL vectors")
    if correlation not in CORRELATIONS:
        raise ValueError(f"unknown UDR correlation {correlation!r}; use one of "
                         f"{', '.join(CORRELATIONS)}")
    codes = [np.asarray(c, dtype=np.float64) for c in codes]
    kl = [np.asarray(k, dtype=np.float64).reshape(-1) for k in kl]
    if len({c.shape for c in codes}) != 1 or any(len(k) != c.shape[1] for c, k in zip(codes, kl)):
        raise ValueError("every model needs codes of the same shape (n, d) and d KL values")
    problems = [_degenerate(c, k, kl_threshold) for c, k in zip(codes, kl)]
    prepared = [np.zeros_like(c) if problem else _standardise(c) * (k > 0.01)
                for c, k, problem in zip(codes, kl, problems)]
    active = [k > kl_threshold for k in kl]
    m = len(codes)
    pairwise = np.zeros((m, m))
    for i in range(m):
        for j in range(m):
            if i == j:
                continue
            if problems[i] or problems[j]:
                pairwise[i, j] = np.nan
                continue
            r = similarity(prepared[i], prepared[j], correlation, seed)
            pairwise[i, j] = relative_strength(r[active[i]][:, active[j]])
    scores, reasons = zip(*(_model_score(pairwise, problems, i) for i in range(m)))
    return {"model_scores": list(scores), "pairwise": pairwise.tolist(), "reasons": list(reasons)}


def _degenerate(codes: np.ndarray, kl: np.ndarray, kl_threshold: float) -> str | None:
    """Why a model cannot be compared with its seeds (no active latent, non-finite codes)."""
    if not np.isfinite(codes).all():
        return "its codes are not finite (NaN or inf)"
    active = kl > kl_threshold
    if not active.any():
        return (f"no active latent (every latent's KL <= {kl_threshold:g} nats): UDR compares "
                f"active latents across seeds")
    if not _varying(codes[:, active]).any():
        return "its active latents' codes are constant: they carry nothing to compare"
    return None


def _model_score(pairwise: np.ndarray, problems: list[str | None],
                 i: int) -> tuple[float, str | None]:
    """Model i's median over its defined pairs ``UDR_ji``, or NaN with the reason."""
    if problems[i]:
        return math.nan, problems[i]
    column = np.delete(pairwise[:, i], i)
    defined = column[np.isfinite(column)]
    if not len(defined):
        return math.nan, ("no other seed of the configuration has an active latent and finite "
                          "codes to compare with")
    return float(np.median(defined)), None
