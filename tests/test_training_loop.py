"""The training loop: config, determinism, exact resume, divergence, persistence."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from disentangle_bench.data import get_dataset
from disentangle_bench.models.beta_vae import BetaVAE
from disentangle_bench.training import (
    ConfigMismatch,
    TrainConfig,
    TrainedModel,
    TrainingDiverged,
    train,
)
from disentangle_bench.training.loop import resolve_precision

SMALL_FACTOR_VAE = {"gamma": 5.0, "discriminator_width": 32, "discriminator_depth": 2}


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def config(**overrides) -> TrainConfig:
    fields = dict(
        model="beta_vae", dataset="tiny", architecture="mlp", steps=30, lr=1e-3,
        log_every=4, checkpoint_every=5, device="cpu", precision="fp32",
    )  # fmt: skip
    fields.update(overrides)
    return TrainConfig(**fields)


def observations(n: int = 50) -> np.ndarray:
    return get_dataset("tiny").sample_observations(n, np.random.default_rng(1))


def without_timing(log):
    return [{k: v for k, v in row.items() if k != "images_per_s"} for row in log]


def assert_same_weights(a: TrainedModel, b: TrainedModel) -> None:
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


# ---- config -----------------------------------------------------------------------------------
def test_config_round_trips_through_json():
    cfg = config(hparams={"beta": np.float64(2.0)}, seed=np.int64(3), lr=np.float32(0.5))
    data = json.loads(json.dumps(cfg.to_dict()))
    assert TrainConfig.from_dict(data) == cfg and data["seed"] == 3 and data["lr"] == 0.5
    assert type(cfg.hparams["beta"]) is float and cfg.resolved_hparams() == {"beta": 2.0}


def test_default_config_is_the_paper_protocol():
    cfg = TrainConfig()
    assert (cfg.steps, cfg.batch_size, cfg.lr, cfg.latent_dim) == (300_000, 64, 1e-4, 10)
    assert cfg.architecture == "conv"


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"lr": -1.0}, "lr must be a positive"),
        ({"steps": 0}, "steps must be an integer >= 1"),
        ({"device": "tpu"}, "device must be one of auto, cpu, cuda"),
        ({"precision": "fp16"}, "precision must be one of"),
        ({"dataset": "nope"}, "unknown dataset 'nope'"),
        ({"model": "nope"}, "unknown model 'nope'"),
        ({"hparams": {"beta": -2.0}}, "beta must be a finite number >= 0"),
        ({"architecture": "resnet"}, "architecture must be one of"),
    ],
)
def test_invalid_configs_raise_one_clear_line(overrides, message):
    with pytest.raises(ValueError, match=message) as info:
        config(**overrides).validate()
    assert "\n" not in str(info.value)


def test_unknown_config_fields_are_rejected():
    with pytest.raises(ValueError, match="unknown TrainConfig field.*betta.*valid:"):
        TrainConfig.from_dict({"model": "vae", "betta": 1})


def test_auto_precision_keeps_fp32_on_cpus_without_native_bf16(monkeypatch):
    import disentangle_bench.training.loop as loop

    monkeypatch.setattr(loop, "cpu_has_native_bf16", lambda: False)
    assert resolve_precision("auto", torch.device("cpu")) == "fp32"
    monkeypatch.setattr(loop, "cpu_has_native_bf16", lambda: True)
    assert resolve_precision("auto", torch.device("cpu")) == "bf16"
    assert resolve_precision("fp32", torch.device("cpu")) == "fp32"


# ---- determinism and resume -------------------------------------------------------------------
def test_same_config_same_weights_and_log_and_global_state_untouched():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a, b = train(config(), progress=False), train(config(), progress=False)
    assert torch.equal(torch.get_rng_state(), before)
    assert not torch.are_deterministic_algorithms_enabled()
    assert_same_weights(a, b)
    assert without_timing(a.log) == without_timing(b.log)
    c = train(config(seed=1), progress=False)
    assert not torch.equal(a.model.encoder.mean.weight, c.model.encoder.mean.weight)


@pytest.mark.parametrize("model, hparams", [("factor_vae", SMALL_FACTOR_VAE), ("annealed_vae", {})])
def test_resume_after_interruption_is_bitwise_identical(tmp_path, model, hparams):
    cfg = config(model=model, hparams=hparams)
    uninterrupted = train(cfg, tmp_path / "a", progress=False)
    partial = train(cfg, tmp_path / "b", progress=False, stop_at=13)  # mid log window
    assert partial.step == 13 and not partial.finished
    assert not (tmp_path / "b" / "model.pt").exists()
    assert TrainedModel.load(tmp_path / "b").step == 13
    resumed = train(cfg, tmp_path / "b", progress=False)
    assert resumed.finished and resumed.step == 30
    assert_same_weights(uninterrupted, resumed)
    assert without_timing(uninterrupted.log) == without_timing(resumed.log)
    assert [row["step"] for row in resumed.log] == [4, 8, 12, 16, 20, 24, 28, 30]


def test_checkpoint_every_may_change_on_resume_but_nothing_else(tmp_path):
    train(config(), tmp_path, progress=False, stop_at=10)
    with pytest.raises(ConfigMismatch, match=r"different config \(lr: 0.001 there vs 0.002 now\)"):
        train(config(lr=2e-3), tmp_path, progress=False)
    resumed = train(config(checkpoint_every=7), tmp_path, progress=False)
    assert_same_weights(resumed, train(config(), progress=False))


def test_a_finished_run_is_loaded_not_retrained(tmp_path, monkeypatch):
    first = train(config(), tmp_path, progress=False)
    import disentangle_bench.training.loop as loop

    def fail(*args, **kwargs):
        raise AssertionError("retrained")

    monkeypatch.setattr(loop._Run, "train_until", fail)
    again = train(config(), tmp_path, progress=False)
    assert_same_weights(first, again)
    with pytest.raises(ConfigMismatch, match="seed: 0 there vs 2 now"):
        train(config(seed=2), tmp_path, progress=False)


# ---- divergence -------------------------------------------------------------------------------
def test_non_finite_loss_raises_and_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    original = BetaVAE.regulariser

    def poisoned(self, kl, mean, logvar, z, step):
        value, extras = original(self, kl, mean, logvar, z, step)
        return (value * math.nan if step >= 17 else value), extras

    monkeypatch.setattr(BetaVAE, "regulariser", poisoned)
    with pytest.raises(TrainingDiverged, match="non-finite loss at step 17") as info:
        train(config(), tmp_path, progress=False)
    assert info.value.step == 17
    assert [s for s, _ in info.value.last_finite] == [12, 13, 14, 15, 16]
    assert "last finite losses: step 12:" in str(info.value) and "intact" in str(info.value)
    assert not (tmp_path / "model.pt").exists()
    checkpoint = TrainedModel.load(tmp_path)
    assert checkpoint.step == 15  # the checkpoint before the divergence
    assert np.isfinite(checkpoint.encode(observations())).all()
    monkeypatch.undo()
    resumed = train(config(), tmp_path, progress=False)  # the checkpoint is usable for resume
    assert_same_weights(resumed, train(config(), progress=False))


# ---- the trained model ------------------------------------------------------------------------
def test_save_load_encode_identical(tmp_path):
    trained = train(config(model="dip_vae_ii"), progress=False)
    trained.save(tmp_path / "saved")
    loaded = TrainedModel.load(tmp_path / "saved")
    x = observations()
    assert np.array_equal(trained.encode(x), loaded.encode(x))
    for a, b in zip(trained.posterior(x), loaded.posterior(x)):
        assert np.array_equal(a, b)
    assert np.array_equal(trained.reconstruction_nll(x), loaded.reconstruction_nll(x))
    assert loaded.config == trained.config and loaded.log == trained.log
    assert loaded.latent_dim == 10 and loaded.step == 30


def test_representation_functions_shapes_and_values():
    trained = train(config(latent_dim=6), progress=False)
    x = observations(70)
    codes = trained.encode(x, batch_size=32)
    assert codes.shape == (70, 6) and codes.dtype == np.float32
    mean, logvar = trained.posterior(x)
    assert np.allclose(mean, codes, atol=1e-6) and logvar.shape == (70, 6)
    probabilities = trained.decode(codes)
    assert probabilities.shape == (70, 1, 16, 16)
    assert probabilities.min() >= 0 and probabilities.max() <= 1
    nll = trained.reconstruction_nll(x)
    expected = -(x * np.log(probabilities) + (1 - x) * np.log1p(-probabilities)).sum((1, 2, 3))
    assert nll.shape == (70,) and np.allclose(nll, expected, rtol=1e-3)
    assert trained.encode(x[:0]).shape == (0, 6)
    with pytest.raises(ValueError, match=r"observations must have shape \(n, 1, 16, 16\)"):
        trained.encode(x[:, 0])


def test_ae_has_codes_but_no_posterior():
    trained = train(config(model="ae"), progress=False)
    assert trained.encode(observations()).shape == (50, 10)
    assert all(row["kl"] == 0 for row in trained.log)
    with pytest.raises(ValueError, match="no posterior variance"):
        trained.posterior(observations())


def test_training_log_files(tmp_path):
    trained = train(config(model="beta_tcvae", steps=10, log_every=5), tmp_path, progress=False)
    assert json.loads((tmp_path / "train_log.json").read_text()) == trained.log
    lines = (tmp_path / "train_log.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert header[:5] == ["step", "loss", "reconstruction", "kl", "tc"]
    assert "kl_dim_9" in header and "images_per_s" in header and len(lines) == 3
    row = trained.log[-1]
    assert row["step"] == 10 and len(row["kl_per_dim"]) == 10
    assert sum(row["kl_per_dim"]) == pytest.approx(row["kl"], rel=1e-5)
    assert row["images_per_s"] > 0


def test_progress_bar_shows_loss_reconstruction_and_kl(capsys):
    train(config(steps=8), progress=True)
    err = capsys.readouterr().err
    assert "8/8" in err and "loss=" in err and "recon=" in err and "kl=" in err
    train(config(steps=8), progress=False)
    assert capsys.readouterr().err == ""


def test_conv_model_encodes_64x64_images_consistently_with_its_encoder():
    from disentangle_bench.models import get_model

    cfg = config(architecture="conv", dataset="tiny")
    model = get_model("vae", observation_shape=(3, 64, 64), architecture="conv", seed=0)
    trained = TrainedModel(model, cfg, [], observation_shape=(3, 64, 64), step=0)
    x = np.random.default_rng(0).random((5, 3, 64, 64), dtype=np.float32)
    with torch.inference_mode():
        reference = model.encoder(torch.from_numpy(x).contiguous())[0].numpy()
    assert np.allclose(trained.encode(x), reference, atol=1e-5)


def test_conv_network_resume_is_bitwise_identical_too(tmp_path):
    # The real setup (conv network, channels-last, 64x64), kept tiny: batch 8, 6 steps.
    cfg = config(dataset="dsprites-procedural", architecture="conv", batch_size=8, steps=6,
                 log_every=2, checkpoint_every=2)  # fmt: skip
    uninterrupted = train(cfg, progress=False)
    train(cfg, tmp_path, progress=False, stop_at=3)
    resumed = train(cfg, tmp_path, progress=False)
    assert_same_weights(uninterrupted, resumed)
    assert without_timing(uninterrupted.log) == without_timing(resumed.log)


@pytest.mark.parametrize("model, hparams", [("factor_vae", SMALL_FACTOR_VAE), ("beta_vae", {})])
def test_a_step_callback_sees_each_checkpoint_and_changes_no_number(tmp_path, model, hparams):
    from disentangle_bench.training import StepCallback

    cfg = config(model=model, hparams=hparams)
    seen = []

    def score(step, trained):
        assert not trained.model.training and trained.step == step
        seen.append((step, trained.encode(observations(8)).copy()))

    plain = train(cfg, progress=False)
    watched = train(cfg, tmp_path / "a", progress=False, callback=StepCallback(12, score))
    assert [step for step, _ in seen] == [12, 24, 30]  # every 12th step and the last
    assert_same_weights(plain, watched)
    assert without_timing(plain.log) == without_timing(watched.log)
    np.testing.assert_array_equal(seen[-1][1], watched.encode(observations(8)))
    # a resumed run calls back only for the steps it trains
    seen.clear()
    train(cfg, tmp_path / "b", progress=False, stop_at=13, callback=StepCallback(12, score))
    resumed = train(cfg, tmp_path / "b", progress=False, callback=StepCallback(12, score))
    assert [step for step, _ in seen] == [12, 24, 30]
    assert_same_weights(plain, resumed)
    with pytest.raises(ValueError, match="every must be >= 1"):
        StepCallback(0, score)
