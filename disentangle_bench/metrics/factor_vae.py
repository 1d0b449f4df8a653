"""FactorVAE score (Kim & Mnih 2018, "Disentangling by Factorising", arXiv:1802.05983), as in
disentanglement_lib's ``evaluation/metrics/factor_vae.py`` with its active-dimension count fixed.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .utils import encode, nan_scores

FACTOR_VAE_KEYS = ("train_accuracy", "eval_accuracy", "num_active_dims")


def global_variances(dataset, represent, num_points, *, rng, chunk_size) -> np.ndarray:
    """Per-dimension variance (ddof=1) of the codes of ``num_points`` i.i.d. observations."""
    factors = dataset.sample_factors(num_points, rng)
    codes = []
    for start in range(0, num_points, chunk_size):
        observations = dataset.sample_observations_from_factors(
            factors[start:start + chunk_size], rng
        )
        codes.append(encode(represent, observations))
    return np.var(np.concatenate(codes), axis=0, ddof=1)


def _vote_factors(dataset, num_votes, batch_size, varying, rng):
    """Labels (num_votes,) and factors (num_votes, batch_size, F) of ``num_votes`` votes: factor
    ``varying[label]`` takes one value across each vote's batch."""
    labels = rng.integers(len(varying), size=num_votes)
    factors = dataset.sample_factors(num_votes * batch_size, rng).reshape(
        num_votes, batch_size, dataset.num_factors
    )
    fixed = np.asarray(varying)[labels]
    rows, batch = np.arange(num_votes)[:, None], np.arange(batch_size)[None, :]
    factors[rows, batch, fixed[:, None]] = factors[np.arange(num_votes), 0, fixed][:, None]
    return labels, factors


def factor_vae_votes(
    dataset, represent, num_votes, *, batch_size, rng, chunk_size, varying, scale, active
) -> np.ndarray:
    """Vote matrix (n_varying_factors, n_active_dims): for each vote a factor k (uniform among
    ``varying``) is fixed to one random value over a batch, and the vote goes to the active
    dimension of smallest normalised variance ``var_batch(z_d) / var_global(z_d)``. All factors
    are drawn before any image is encoded, so ``chunk_size`` does not change the votes (unless
    the dataset renders with random nuisances)."""
    votes = np.zeros((len(varying), int(active.sum())), dtype=np.int64)
    labels, factors = _vote_factors(dataset, num_votes, batch_size, varying, rng)
    votes_per_call = max(1, chunk_size // batch_size)
    for start in range(0, num_votes, votes_per_call):
        stop = min(start + votes_per_call, num_votes)
        observations = dataset.sample_observations_from_factors(
            factors[start:stop].reshape(-1, dataset.num_factors), rng
        )
        codes = encode(represent, observations).reshape(stop - start, batch_size, -1)
        local = np.var(codes[:, :, active], axis=1, ddof=1) / scale[active]
        np.add.at(votes, (labels[start:stop], np.argmin(local, axis=1)), 1)
    return votes


def factor_vae_score(
    dataset,
    represent,
    *,
    seed: int = 0,
    batch_size: int = 64,
    num_train: int = 10000,
    num_eval: int = 5000,
    num_variance_estimate: int = 10000,
    prune_threshold: float = 0.05,
    chunk_size: int = 8192,
) -> dict:
    """FactorVAE score: accuracy of the majority-vote classifier from "the least-varying
    normalised code dimension" to "the factor held fixed".

    1. Global variance ``s_d^2`` of each code over ``num_variance_estimate`` i.i.d. observations
       (ddof=1); dimensions with ``s_d < prune_threshold`` are inactive and ignored.
    2. A vote: factor k uniform among the varying factors, fixed to one random value over a
       batch of ``batch_size`` otherwise i.i.d. tuples; ``d* = argmin_d Var_batch(z_d) / s_d^2``
       over active d; ``V[k, d*] += 1``.
    3. Classifier: each dimension predicts the factor with most votes in its column;
       accuracy = ``sum_d max_k V[k, d] / sum V`` on ``num_train`` votes, and the accuracy of the
       same classifier on ``num_eval`` new votes.

    Protocol (unsupervised_study_v1): B = 64, 10,000 train, 5,000 eval, 10,000 points for the
    variance, threshold 0.05. ``num_active_dims`` is the number of active dimensions
    (disentanglement_lib reports the total number of dimensions here, a bug).

    Returns ``{"train_accuracy", "eval_accuracy", "num_active_dims"}``; NaN accuracies with a
    ``"reason"`` when no dimension is active or no factor varies.
    """
    if batch_size < 2:
        raise ValueError("batch_size must be >= 2 (a variance needs two samples)")
    if num_train < 1 or num_eval < 1 or num_variance_estimate < 2:
        raise ValueError("num_train, num_eval must be >= 1 and num_variance_estimate >= 2")
    varying = tuple(dataset.varying_factors)
    if not varying:
        return nan_scores(FACTOR_VAE_KEYS, "no varying factor to score")
    rng = np.random.default_rng(seed)
    scale = global_variances(dataset, represent, num_variance_estimate, rng=rng,
                             chunk_size=chunk_size)
    active = np.sqrt(scale) >= prune_threshold
    if not active.any():
        reason = f"no active dimension (all code stds < {prune_threshold})"
        scores = nan_scores(FACTOR_VAE_KEYS, reason)
        scores["num_active_dims"] = 0.0
        return scores
    kwargs = dict(batch_size=batch_size, rng=rng, chunk_size=chunk_size, varying=varying,
                  scale=scale, active=active)
    train_votes = factor_vae_votes(dataset, represent, num_train, **kwargs)
    eval_votes = factor_vae_votes(dataset, represent, num_eval, **kwargs)
    classifier = np.argmax(train_votes, axis=0)  # factor predicted by each active dimension
    columns = np.arange(train_votes.shape[1])
    return {
        "train_accuracy": float(train_votes[classifier, columns].sum() / train_votes.sum()),
        "eval_accuracy": float(eval_votes[classifier, columns].sum() / eval_votes.sum()),
        "num_active_dims": float(active.sum()),
    }


def factor_vae_factor_draws(
    dataset, *, seed: int = 0, batch_size: int = 64, num_train: int = 10000,
    num_eval: int = 5000, num_variance_estimate: int = 10000, **_unused,
) -> Iterator[np.ndarray]:
    """The factor arrays (n, F) that :func:`factor_vae_score` renders, in its order, for a
    dataset whose rendering draws nothing from the generator (``dataset.deterministic``): the
    variance sample, then the train and eval votes (drawn even if no dimension turns out to be
    active). Nothing for parameters the score rejects. The code cache plans with this."""
    varying = tuple(dataset.varying_factors)
    if not varying or batch_size < 2 or min(num_train, num_eval) < 1 or num_variance_estimate < 2:
        return
    rng = np.random.default_rng(seed)
    yield dataset.sample_factors(num_variance_estimate, rng)
    for num_votes in (num_train, num_eval):
        _, factors = _vote_factors(dataset, num_votes, batch_size, varying, rng)
        yield factors.reshape(-1, dataset.num_factors)
