import warnings

import numpy as np
import pytest
import scipy.stats
from sklearn import linear_model, preprocessing

from disentangle_bench.metrics.udr import relative_strength, udr


def test_relative_strength_known_answers():
    assert relative_strength(np.eye(4)) == pytest.approx(1.0)
    assert relative_strength(np.eye(4)[[2, 0, 3, 1]]) == pytest.approx(1.0)
    assert relative_strength(np.ones((4, 4))) == pytest.approx(0.25)  # max²/sum = 1/4
    assert relative_strength(np.zeros((3, 3))) == 0.0
    # one latent of A matching two of B equally: columns 1/1 each, rows 2/2 and 0
    assert relative_strength(np.array([[1.0, 1.0], [0.0, 0.0]])) == pytest.approx(
        (np.mean([1.0, 1.0]) + np.mean([0.5, 0.0])) / 2)


def group(n=1000, models=4, rotate=False, seed=0):
    """Models of one 'configuration': the same 3 factors seen through each model's own
    permutation, signs and scales (disentangled), or its own random rotation (entangled);
    plus one dead latent per model (KL 0)."""
    rng = np.random.default_rng(seed)
    factors = rng.uniform(-1, 1, size=(n, 3))
    codes, kls = [], []
    for _ in range(models):
        if rotate:
            q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
            z = factors @ q
        else:
            z = factors[:, rng.permutation(3)] * rng.choice([-1, 1], 3) * rng.uniform(0.5, 2, 3)
        z = z + 0.05 * rng.normal(size=z.shape)
        codes.append(np.hstack([z, 0.01 * rng.normal(size=(n, 1))]))
        kls.append(np.array([1.0, 1.0, 1.0, 0.001]))
    return codes, kls


def test_disentangled_seeds_agree_rotated_ones_do_not():
    for method in ("lasso", "spearman"):
        agree = udr(*group(), correlation=method)["model_scores"]
        rotated = udr(*group(rotate=True), correlation=method)["model_scores"]
        assert min(agree) > 0.85, method
        assert max(rotated) < min(agree) - 0.2, method


def dlib_udr(codes, kls, method):
    """Standalone re-reading of dlib's compute_udr_sklearn on given representations."""
    reps = []
    for c, k in zip(codes, kls):
        z = preprocessing.StandardScaler().fit(c).transform(c)
        reps.append(z * np.greater(k, 0.01))
    masks = [k > 0.01 for k in kls]
    m = len(reps)
    dis = np.zeros((m, m))
    for i in range(m):
        for j in range(m):
            if i == j:
                continue
            if method == "lasso":
                model = linear_model.Lasso(random_state=0, alpha=0.1).fit(reps[i], reps[j])
                corr = np.transpose(np.absolute(model.coef_))
            else:
                corr = np.array([[scipy.stats.spearmanr(reps[i][:, a], reps[j][:, b],
                                                        nan_policy="omit")[0]
                                  for b in range(reps[j].shape[1])]
                                 for a in range(reps[i].shape[1])])
                corr = np.absolute(corr)
            corr = corr[masks[i], ...][..., masks[j]]
            with np.errstate(divide="ignore", invalid="ignore"):
                x = np.nanmean(np.nan_to_num(corr.max(axis=0) ** 2 / corr.sum(axis=0), 0))
                y = np.nanmean(np.nan_to_num(corr.max(axis=1) ** 2 / corr.sum(axis=1), 0))
            dis[i, j] = (x + y) / 2
    return [np.median(np.delete(dis[:, i], i)) for i in range(m)]


@pytest.mark.filterwarnings("ignore:An input array is constant")  # dead latents, in dlib too
@pytest.mark.parametrize("method", ["lasso", "spearman"])
@pytest.mark.parametrize("rotate", [False, True])
def test_oracle_disentanglement_lib(method, rotate):
    codes, kls = group(n=500, models=3, rotate=rotate, seed=1)
    ours = udr(codes, kls, correlation=method)["model_scores"]
    np.testing.assert_allclose(ours, dlib_udr(codes, kls, method), atol=1e-12)


def test_bad_groups_are_one_line_errors():
    codes, kls = group(models=2)
    with pytest.raises(ValueError, match="at least 2 models"):
        udr(codes[:1], kls[:1])
    with pytest.raises(ValueError, match="correlation"):
        udr(codes, kls, correlation="pearson")


NO_ACTIVE = "no active latent"


def test_a_group_without_active_latents_is_nan_with_the_reason():
    codes, kls = group(n=200, models=3)
    result = udr(codes, [np.zeros_like(k) for k in kls])
    assert all(np.isnan(result["model_scores"]))
    assert all(reason.startswith(NO_ACTIVE) for reason in result["reasons"])
    pairwise = np.array(result["pairwise"])
    assert np.isnan(pairwise[~np.eye(3, dtype=bool)]).all() and (np.diag(pairwise) == 0).all()


@pytest.mark.parametrize("method", ["lasso", "spearman"])
def test_a_degenerate_seed_is_left_out_of_the_others_median(method):
    codes, kls = group(n=300, models=3, seed=2)
    pair = udr(codes[:2], kls[:2], correlation=method)
    assert pair["reasons"] == [None, None]
    for broken_codes, broken_kl, reason in [
            (codes[2], np.zeros(4), NO_ACTIVE),
            (np.ones_like(codes[2]), kls[2], "codes are constant"),
            (np.where(np.eye(300, 4, dtype=bool), np.nan, codes[2]), kls[2], "not finite")]:
        result = udr([*codes[:2], broken_codes], [*kls[:2], broken_kl], correlation=method)
        # the two sound seeds score exactly what they score between themselves
        assert result["model_scores"][:2] == pair["model_scores"]
        assert np.isnan(result["model_scores"][2]) and reason in result["reasons"][2]
        alone = udr([codes[0], broken_codes], [kls[0], broken_kl], correlation=method)
        assert np.isnan(alone["model_scores"]).all()
        assert alone["reasons"][0].startswith("no other seed")


def test_spearman_on_dead_latents_warns_nothing_and_one_live_latent_matches_itself():
    codes, kls = group(n=200, models=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scipy warns on constant inputs; none reach it
        assert min(udr(codes, kls, correlation="spearman")["model_scores"]) > 0.85
        z = np.random.default_rng(0).normal(size=(200, 1))
        one = [np.hstack([z, np.zeros((200, 1))]), np.hstack([np.zeros((200, 1)), -2 * z])]
        result = udr(one, [np.array([1.0, 0.0]), np.array([0.0, 1.0])], correlation="spearman")
    assert result["model_scores"] == pytest.approx([1.0, 1.0])  # |ρ| = 1 between the live ones
