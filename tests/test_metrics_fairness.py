import numpy as np
import pytest

from disentangle_bench.data import GroundTruthDataset
from disentangle_bench.metrics.fairness import aggregate_fairness, fairness, inter_group_fairness


class FactorGrid(GroundTruthDataset):
    """Three factors; an observation is the factor vector itself (deterministic)."""

    name = "factor-grid"
    factor_names = ("a", "b", "c")
    factor_sizes = (4, 3, 1, 5)[:3]
    observation_shape = (3, 1, 1)

    def sample_observations_from_factors(self, factors, rng):
        factors = self._check_factors(factors)
        return factors.astype(np.float32)[:, :, None, None]


class FourFactors(FactorGrid):
    factor_names = ("a", "b", "colour", "c")
    factor_sizes = (4, 3, 1, 5)
    observation_shape = (4, 1, 1)


def ideal(observations):
    return observations.reshape(len(observations), -1)


def entangled(observations):
    """a and b only through their sum: a prediction of a moves when b is set."""
    x = observations.reshape(len(observations), -1)
    return np.stack([x[:, 0] + x[:, 1], x[:, 3]], axis=1)


def test_inter_group_fairness_known_answers():
    assert inter_group_fairness(np.array([[3, 3], [7, 7]])) == (0.0, 0.0)
    assert inter_group_fairness(np.array([[10, 0], [0, 10]])) == pytest.approx((0.5, 0.5))
    # overall (1/4, 3/4); TV 3/4 at value 0 (10 predictions), 1/4 at value 1 (30)
    assert inter_group_fairness(np.array([[10, 0], [0, 30]])) == pytest.approx((0.375, 0.75))


def test_aggregates_known_answers():
    matrix = np.array([[0, 1, 3], [2, 0, 2], [0, 4, 0]], dtype=float)
    scores = aggregate_fairness(matrix, "u")
    assert scores["u_mean_pred_mean_sens"] == pytest.approx((2 + 2 + 2) / 3)
    assert scores["u_max_pred_mean_sens"] == pytest.approx(2)
    assert scores["u_mean_pred_max_sens"] == pytest.approx((3 + 2 + 4) / 3)
    assert scores["u_max_pred_max_sens"] == pytest.approx(4)


def dlib_inter_group_fairness(counts):
    """Standalone re-reading of dlib's inter_group_fairness (which computes in float32)."""
    overall = np.sum(counts, axis=1, dtype=np.float32)
    overall /= overall.sum()
    normalized = np.array(counts, dtype=np.float32)
    per_class = np.sum(counts, axis=0)
    normalized /= np.expand_dims(per_class, 0)
    tv = np.sum(np.abs(normalized - np.expand_dims(overall, 1)), 0) / 2.0
    mean = tv * per_class / per_class.sum()
    return np.sum(mean), np.amax(tv)


def test_oracle_inter_group_fairness_within_float32():
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(200):
        counts = rng.integers(0, 50, size=(rng.integers(2, 12), rng.integers(2, 12))) + 1
        ours, ref = inter_group_fairness(counts), dlib_inter_group_fairness(counts)
        worst = max(worst, abs(ours[0] - ref[0]), abs(ours[1] - ref[1]))
    assert worst < 1e-6


def test_ideal_code_is_exactly_fair_entangled_is_not():
    dataset = FourFactors()
    kwargs = dict(num_train=300, num_test_points_per_class=20, predictor="gbt_fast")
    fair = fairness(dataset, ideal, **kwargs)
    unfair = fairness(dataset, entangled, **kwargs)
    # a target predicted from its own code cannot move when another factor is set (perfect
    # predictions are fair too: the predicted distribution is the sampled one at every value)
    assert fair["mean_fairness_mean_pred_mean_sens"] == 0.0
    assert fair["max_fairness_max_pred_max_sens"] == 0.0
    assert unfair["mean_fairness_mean_pred_mean_sens"] > 0.1
    assert fairness(dataset, entangled, **kwargs) == unfair  # deterministic given the seed


def test_needs_two_varying_factors():
    class OneFactor(FactorGrid):
        factor_sizes = (4, 1, 1)

    result = fairness(OneFactor(), ideal, num_train=50, num_test_points_per_class=5)
    assert np.isnan(result["mean_fairness_mean_pred_mean_sens"]) and "2 varying" in result["reason"]


def test_oracle_aggregates_match_dlib_row_reductions():
    """dlib's compute_scores_dict: {prefix}:{a}_pred:{b}_sens = a over targets of b over the
    sensitive factors of each target's row (diagonal left out)."""
    matrix = np.random.default_rng(1).uniform(size=(5, 5))
    rows = [[matrix[i, j] for j in range(5) if i != j] for i in range(5)]
    means, maxs = [np.mean(r) for r in rows], [np.amax(r) for r in rows]
    ours = aggregate_fairness(matrix, "mean_fairness")
    assert ours["mean_fairness_mean_pred_mean_sens"] == pytest.approx(np.mean(means), abs=1e-15)
    assert ours["mean_fairness_mean_pred_max_sens"] == pytest.approx(np.mean(maxs), abs=1e-15)
    assert ours["mean_fairness_max_pred_mean_sens"] == pytest.approx(np.amax(means), abs=1e-15)
    assert ours["mean_fairness_max_pred_max_sens"] == pytest.approx(np.amax(maxs), abs=1e-15)
