"""β-VAE score (Higgins et al. 2017, "β-VAE: Learning Basic Visual Concepts with a Constrained
Variational Framework", ICLR 2017), as in disentanglement_lib's
``evaluation/metrics/beta_vae.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .utils import encode, fit_quietly, logistic_regression, nan_scores

BETA_VAE_KEYS = ("train_accuracy", "eval_accuracy")


def _fixed_factor_pairs(dataset, num_votes, batch_size, varying, rng):
    """Factor arrays of ``num_votes`` votes: (votes, batch, F) twice, sharing one factor per vote,
    and the index (into ``varying``) of that factor."""
    label = rng.integers(len(varying), size=num_votes)
    shape = (num_votes, batch_size, dataset.num_factors)
    first = dataset.sample_factors(num_votes * batch_size, rng).reshape(shape)
    second = dataset.sample_factors(num_votes * batch_size, rng).reshape(shape)
    fixed = np.asarray(varying)[label]
    votes, pairs = np.arange(num_votes)[:, None], np.arange(batch_size)[None, :]
    second[votes, pairs, fixed[:, None]] = first[votes, pairs, fixed[:, None]]
    return first, second, label


def beta_vae_points(dataset, represent, num_points, *, batch_size, rng, chunk_size, varying):
    """Training points of the β-VAE score: features (num_points, n_codes) = mean over
    ``batch_size`` pairs sharing the value of one factor of ``|r(x1) - r(x2)|``, and labels
    (the index of the shared factor among ``varying``).

    All factors are drawn first, so the points do not depend on ``chunk_size`` (about how many
    images go to ``represent`` per call) unless the dataset renders with random nuisances.
    """
    first, second, labels = _fixed_factor_pairs(dataset, num_points, batch_size, varying, rng)
    votes_per_call = max(1, chunk_size // (2 * batch_size))
    features = []
    num_codes = None
    for start in range(0, num_points, votes_per_call):
        stop = min(start + votes_per_call, num_points)
        m = stop - start
        factors = np.concatenate([first[start:stop], second[start:stop]])
        observations = dataset.sample_observations_from_factors(
            factors.reshape(-1, dataset.num_factors), rng
        )
        codes = encode(represent, observations, num_codes)
        num_codes = codes.shape[1]
        codes = codes.reshape(2, m, batch_size, num_codes)
        features.append(np.abs(codes[0] - codes[1]).mean(axis=1))
    return np.concatenate(features), labels


def beta_vae_score(
    dataset,
    represent,
    *,
    seed: int = 0,
    batch_size: int = 64,
    num_train: int = 10000,
    num_eval: int = 5000,
    classifier: str = "liblinear_ovr",
    chunk_size: int = 8192,
) -> dict:
    """β-VAE score: accuracy of a linear classifier that tells which factor was held fixed.

    A point: draw a factor k uniformly among the varying factors, ``batch_size`` pairs of factor
    tuples i.i.d. uniform except that each pair shares the value of factor k; the feature is
    ``z_diff = 1/B sum_b |r(x1_b) - r(x2_b)|`` and the label k. A logistic regression is fitted
    on ``num_train`` points; the scores are its accuracy on them and on ``num_eval`` new points.

    Protocol (unsupervised_study_v1): B = 64, 10,000 train, 5,000 eval, ``LogisticRegression()``
    with library defaults — here explicit: ``classifier="liblinear_ovr"`` (scikit-learn < 0.22
    defaults, used by the study) or ``"lbfgs_multinomial"`` (>= 0.22). Constant factors are
    never held fixed. All factor draws come first; ``chunk_size`` (images per ``represent``
    call) only matters for datasets with random nuisance rendering.

    Returns ``{"train_accuracy", "eval_accuracy", "classifier_converged"}`` (1.0 / 0.0);
    NaN with ``"reason"`` with fewer than 2 varying factors or a constant representation.
    """
    if batch_size < 1 or num_train < 1 or num_eval < 1:
        raise ValueError("batch_size, num_train and num_eval must be positive")
    varying = tuple(dataset.varying_factors)
    if len(varying) < 2:
        return nan_scores(BETA_VAE_KEYS, "the β-VAE score needs at least 2 varying factors")
    rng = np.random.default_rng(seed)
    kwargs = dict(batch_size=batch_size, rng=rng, chunk_size=chunk_size, varying=varying)
    x_train, y_train = beta_vae_points(dataset, represent, num_train, **kwargs)
    x_eval, y_eval = beta_vae_points(dataset, represent, num_eval, **kwargs)
    if np.ptp(x_train, axis=0).max() == 0:
        return nan_scores(BETA_VAE_KEYS, "identical features for every point: constant codes")
    model, converged = fit_quietly(logistic_regression(classifier, seed), x_train, y_train)
    return {
        "train_accuracy": float(np.mean(model.predict(x_train) == y_train)),
        "eval_accuracy": float(np.mean(model.predict(x_eval) == y_eval)),
        "classifier_converged": float(converged),
    }


def beta_vae_factor_draws(
    dataset, *, seed: int = 0, batch_size: int = 64, num_train: int = 10000,
    num_eval: int = 5000, **_unused,
) -> Iterator[np.ndarray]:
    """The factor arrays (n, F) that :func:`beta_vae_score` renders, for a dataset whose
    rendering draws nothing from the generator (``dataset.deterministic``): the first and the
    second members of the train pairs, then of the eval pairs. Nothing for parameters the score
    rejects. The code cache plans with this."""
    varying = tuple(dataset.varying_factors)
    if len(varying) < 2 or min(batch_size, num_train, num_eval) < 1:
        return
    rng = np.random.default_rng(seed)
    for num_points in (num_train, num_eval):
        first, second, _ = _fixed_factor_pairs(dataset, num_points, batch_size, varying, rng)
        yield first.reshape(-1, dataset.num_factors)
        del first
        yield second.reshape(-1, dataset.num_factors)
