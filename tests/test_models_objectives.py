"""Model registry, architectures and the objectives' loss definitions (no training here)."""

from __future__ import annotations

import math

import pytest
import torch

from disentangle_bench.models import (
    check_model_hparams,
    get_model,
    list_models,
    model_defaults,
)
from disentangle_bench.models.annealed_vae import capacity
from disentangle_bench.models.base import bernoulli_nll, gaussian_kl_per_dim
from disentangle_bench.models.beta_tcvae import kl_decomposition, total_correlation
from disentangle_bench.models.dip_vae import covariance, dip_penalty

TINY = (1, 16, 16)
ALL_MODELS = [
    "ae", "annealed_vae", "beta_tcvae", "beta_vae", "dip_vae_i", "dip_vae_ii", "factor_vae", "vae",
]  # fmt: skip


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def test_the_shared_one_thread_fixture_applies_to_this_file(request):
    assert "one_thread" in request.fixturenames  # from tests/conftest.py, via pytestmark
    assert torch.get_num_threads() == 1


def batch(n: int = 32, seed: int = 0) -> torch.Tensor:
    return (torch.rand((n, *TINY), generator=torch.Generator().manual_seed(seed)) > 0.7).float()


def mlp(name: str, **hparams) -> torch.nn.Module:
    return get_model(name, observation_shape=TINY, architecture="mlp", seed=3, **hparams)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---- registry ---------------------------------------------------------------------------------
def test_registry_lists_the_eight_models():
    assert list_models() == sorted(ALL_MODELS)


def test_unknown_model_error_lists_known_models():
    with pytest.raises(ValueError, match="unknown model 'betavae'.*beta_tcvae, beta_vae"):
        get_model("betavae", observation_shape=TINY)


def test_unknown_model_dataset_and_metric_names_raise_the_same_one_line_error():
    from disentangle_bench.data import UnknownNameError, get_dataset
    from disentangle_bench.metrics import metric_spec

    lookups = {"model": lambda: get_model("betavae", observation_shape=TINY),
               "dataset": lambda: get_dataset("dsprite"), "metric": lambda: metric_spec("mgi")}
    for kind, lookup in lookups.items():
        with pytest.raises(UnknownNameError) as info:
            lookup()
        # callers catch either: registry lookups KeyError, argument checks ValueError
        assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)
        text = str(info.value)
        assert text.startswith(f"unknown {kind} '") and "known" in text and "\n" not in text


def test_unknown_hyperparameter_lists_valid_ones():
    with pytest.raises(ValueError, match=r"unknown hyperparameter\(s\) gama .*valid: beta"):
        check_model_hparams("beta_vae", {"gama": 1.0})
    with pytest.raises(ValueError, match="valid: none"):
        check_model_hparams("vae", {"beta": 2.0})


@pytest.mark.parametrize(
    "name, hparams",
    [
        ("beta_vae", {"beta": -1.0}),
        ("beta_vae", {"beta": float("nan")}),
        ("beta_tcvae", {"beta": "4"}),
        ("annealed_vae", {"iteration_threshold": 0}),
        ("annealed_vae", {"c_max": -5.0}),
        ("factor_vae", {"gamma": -10.0}),
        ("factor_vae", {"discriminator_width": 0}),
        ("dip_vae_i", {"lambda_od": -1.0}),
    ],
)
def test_bad_hyperparameter_values_are_rejected(name, hparams):
    with pytest.raises(ValueError, match=next(iter(hparams))):
        check_model_hparams(name, hparams)


def test_defaults_are_the_documented_ones():
    assert model_defaults("annealed_vae") == {
        "gamma": 1000.0, "c_max": 25.0, "iteration_threshold": 100000,
    }  # fmt: skip
    assert model_defaults("factor_vae")["gamma"] == 40.0
    assert model_defaults("dip_vae_i") == {"lambda_od": 10.0, "lambda_d": 100.0}
    assert model_defaults("dip_vae_ii") == {"lambda_od": 10.0, "lambda_d": 10.0}
    assert model_defaults("ae") == {} and model_defaults("vae") == {}
    model_defaults("beta_vae")["beta"] = 99.0  # a fresh dict each time
    assert model_defaults("beta_vae")["beta"] == 4.0


def test_same_seed_same_weights_other_seed_other_weights():
    a, b = mlp("beta_vae").state_dict(), mlp("beta_vae").state_dict()
    c = get_model("beta_vae", observation_shape=TINY, architecture="mlp", seed=4).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["encoder.mean.weight"], c["encoder.mean.weight"])


def test_initialisation_is_glorot_uniform_with_zero_biases():
    model = mlp("vae")
    weight = model.encoder.body[1].weight  # Linear(256 pixels -> 256)
    bound = math.sqrt(6.0 / (256 + 256))
    assert weight.abs().max() <= bound and weight.abs().max() > 0.9 * bound
    assert torch.count_nonzero(model.encoder.body[1].bias) == 0


# ---- architectures ----------------------------------------------------------------------------
@pytest.mark.parametrize("architecture", ["conv", "conv_paper"])
@pytest.mark.parametrize("channels", [1, 3])
def test_conv_architectures_shapes(architecture, channels):
    model = get_model("vae", observation_shape=(channels, 64, 64), architecture=architecture)
    mean, logvar = model.encoder(torch.rand(2, channels, 64, 64))
    assert mean.shape == logvar.shape == (2, 10)
    assert model.decoder(mean).shape == (2, channels, 64, 64)


def test_conv_variants_differ_only_in_encoder_kernels_3_and_4():
    code = get_model("vae", observation_shape=(1, 64, 64), architecture="conv")
    paper = get_model("vae", observation_shape=(1, 64, 64), architecture="conv_paper")
    code_convs = [m for m in code.encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    paper_convs = [m for m in paper.encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.kernel_size for c in code_convs] == [(4, 4), (4, 4), (2, 2), (2, 2)]
    assert [c.kernel_size for c in paper_convs] == [(4, 4)] * 4
    assert [c.out_channels for c in code_convs] == [32, 32, 64, 64]
    assert sum(p.numel() for p in code.decoder.parameters()) == sum(
        p.numel() for p in paper.decoder.parameters()
    )


def test_conv_parameter_count_matches_disentanglement_lib():
    # conv_encoder + deconv_decoder for 1 channel, 10 latents, counted from the TF layer shapes.
    encoder = (16 * 32 + 32) + (16 * 32 * 32 + 32) + (4 * 32 * 64 + 64) + (4 * 64 * 64 + 64)
    encoder += (1024 * 256 + 256) + 2 * (256 * 10 + 10)
    decoder = (10 * 256 + 256) + (256 * 1024 + 1024) + (16 * 64 * 64 + 64) + (16 * 64 * 32 + 32)
    decoder += (16 * 32 * 32 + 32) + (16 * 32 * 1 + 1)
    model = get_model("vae", observation_shape=(1, 64, 64))
    assert sum(p.numel() for p in model.encoder.parameters()) == encoder
    assert sum(p.numel() for p in model.decoder.parameters()) == decoder


def test_conv_architecture_rejects_other_image_sizes():
    with pytest.raises(ValueError, match="need 64x64 images, got 16x16.*architecture 'mlp'"):
        get_model("vae", observation_shape=TINY, architecture="conv")
    with pytest.raises(ValueError, match="unknown architecture 'resnet'"):
        get_model("vae", observation_shape=TINY, architecture="resnet")


# ---- loss definitions -------------------------------------------------------------------------
def test_vae_loss_is_reconstruction_plus_analytic_kl():
    model, x = mlp("vae"), batch()
    out = model.loss(x, 0, gen())
    mean, logvar = model.posterior(x)
    expected_kl = (0.5 * (mean**2 + logvar.exp() - logvar - 1)).sum(1).mean()
    assert torch.allclose(out.kl, expected_kl, rtol=1e-5)
    assert out.kl_per_dim.shape == (10,)
    assert torch.allclose(out.kl_per_dim.sum(), out.kl, rtol=1e-5)
    assert torch.allclose(out.loss, out.reconstruction + out.kl, rtol=1e-6)


def test_bernoulli_nll_sums_pixels_in_nats():
    logits = torch.zeros(2, 1, 4, 4)  # p = 0.5 everywhere -> log 2 per pixel
    nll = bernoulli_nll(logits, torch.ones(2, 1, 4, 4))
    assert torch.allclose(nll, torch.full((2,), 16 * math.log(2.0)))


def test_gaussian_kl_is_zero_for_the_prior():
    assert torch.count_nonzero(gaussian_kl_per_dim(torch.zeros(3, 4), torch.zeros(3, 4))) == 0


def test_ae_has_no_kl_term_and_a_deterministic_code():
    model, x = mlp("ae"), batch()
    a, b = model.loss(x, 0, gen(0)), model.loss(x, 0, gen(1))
    assert a.kl == 0 and torch.count_nonzero(a.kl_per_dim) == 0
    assert torch.equal(a.loss, a.reconstruction) and torch.equal(a.loss, b.loss)
    assert not model.has_posterior


def test_doubling_beta_doubles_the_kl_weight():
    x = batch()
    one, two = (
        mlp("beta_vae", beta=1.0).loss(x, 0, gen()),
        mlp("beta_vae", beta=2.0).loss(x, 0, gen()),
    )
    assert torch.equal(one.reconstruction, two.reconstruction) and torch.equal(one.kl, two.kl)
    assert torch.allclose(two.loss - two.reconstruction, 2 * (one.loss - one.reconstruction))
    assert torch.allclose(one.loss - one.reconstruction, one.kl)


def test_annealed_capacity_follows_its_linear_schedule():
    model, x = mlp("annealed_vae", gamma=10.0, c_max=5.0, iteration_threshold=100), batch()
    for step, expected in [(0, 0.0), (20, 1.0), (50, 2.5), (100, 5.0), (1000, 5.0)]:
        out = model.loss(x, step, gen())
        assert out.extras["capacity"].item() == pytest.approx(expected)
        assert capacity(5.0, step, 100) == pytest.approx(expected)
        expected_loss = out.reconstruction + 10.0 * (out.kl - expected).abs()
        assert torch.allclose(out.loss, expected_loss)


def test_beta_tcvae_decomposition_adds_up_to_the_kl():
    model, x = mlp("beta_tcvae"), batch(256)
    mean, logvar = model.posterior(x)
    mean, logvar = 2 * mean, logvar - 1.0  # make the posteriors distinct and peaked
    kl_analytic = gaussian_kl_per_dim(mean, logvar).sum(1).mean()
    terms = []
    for seed in range(20):
        z = mean + torch.exp(0.5 * logvar) * torch.randn(mean.shape, generator=gen(seed))
        parts = kl_decomposition(z, mean, logvar, dataset_size=192)
        total = parts["mutual_information"] + parts["total_correlation"]
        assert torch.allclose(total + parts["dimensionwise_kl"], parts["kl"], rtol=1e-4, atol=1e-3)
        constant = (model.latent_dim - 1) * math.log(256 * 192)
        tc_without_constant = total_correlation(z, mean, logvar)
        assert torch.allclose(parts["total_correlation"], tc_without_constant + constant, atol=1e-3)
        terms.append(parts["kl"])
    # The Monte-Carlo KL estimate the terms add up to is an unbiased estimate of the analytic KL.
    assert torch.stack(terms).mean().item() == pytest.approx(kl_analytic.item(), rel=0.02)


def test_beta_tcvae_penalises_tc_with_beta_minus_one():
    x = batch()
    one, six = (
        mlp("beta_tcvae", beta=1.0).loss(x, 0, gen()),
        mlp("beta_tcvae", beta=6.0).loss(x, 0, gen()),
    )
    assert torch.allclose(one.loss, one.reconstruction + one.kl)
    assert torch.allclose(six.loss, six.reconstruction + six.kl + 5.0 * six.extras["tc"], rtol=1e-5)


def test_tc_is_near_zero_for_independent_codes_and_large_for_duplicated_ones():
    g = gen(0)
    mean = torch.randn(512, 4, generator=g)
    logvar = torch.full_like(mean, -4.0)
    z = mean + 0.1353 * torch.randn(mean.shape, generator=g)
    independent = kl_decomposition(z, mean, logvar, 512)["total_correlation"]
    mean_dup = mean[:, :1].repeat(1, 4)
    z_dup = mean_dup + 0.1353 * torch.randn(mean.shape, generator=g)
    duplicated = kl_decomposition(z_dup, mean_dup, logvar, 512)["total_correlation"]
    assert duplicated > independent + 3.0


def test_dip_penalties_use_the_right_covariance():
    model_i, model_ii, x = mlp("dip_vae_i"), mlp("dip_vae_ii"), batch()
    mean, logvar = model_i.posterior(x)
    cov_i = torch.cov(mean.T, correction=0)
    assert torch.allclose(covariance(mean), cov_i, atol=1e-6)
    out = model_i.loss(x, 0, gen())
    assert torch.allclose(out.extras["dip_penalty"], dip_penalty(cov_i, 10.0, 100.0), rtol=1e-4)
    mean2, logvar2 = model_ii.posterior(x)
    cov_ii = torch.diag(logvar2.exp().mean(0)) + torch.cov(mean2.T, correction=0)
    out2 = model_ii.loss(x, 0, gen())
    assert torch.allclose(out2.extras["dip_penalty"], dip_penalty(cov_ii, 10.0, 10.0), rtol=1e-4)
    identity = torch.eye(3)
    assert dip_penalty(identity, 5.0, 5.0) == 0
    assert dip_penalty(identity * 2, 1.0, 3.0) == pytest.approx(9.0)  # 3 * 3 * (2 - 1)^2
    assert dip_penalty(identity + 1, 2.0, 0.0) == pytest.approx(12.0)  # 2 * 6 off-diagonal ones


def test_factor_vae_permutes_each_dimension_within_the_batch():
    from disentangle_bench.models.factor_vae import permute_dims

    z = torch.arange(40.0).reshape(10, 4)
    permuted = permute_dims(z, gen(0))
    for j in range(4):  # every column is a permutation of itself ...
        assert torch.equal(permuted[:, j].sort().values, z[:, j])
    assert not torch.equal(permuted, z)  # ... and the rows are mixed


def test_factor_vae_loss_adds_gamma_times_discriminator_tc():
    model = mlp("factor_vae", gamma=7.0, discriminator_width=32, discriminator_depth=2)
    out = model.loss(batch(), 0, gen())
    assert torch.allclose(out.loss, out.reconstruction + out.kl + 7.0 * out.extras["tc"], rtol=1e-5)
    assert out.discriminator_loss is not None and out.discriminator_loss > 0
    assert 0.0 <= out.extras["discriminator_accuracy"] <= 1.0
    # An untrained discriminator is near chance: its cross-entropy is close to log 2.
    assert out.discriminator_loss.item() == pytest.approx(math.log(2.0), abs=0.1)
