"""Learning-rate schedule, lr warm-up and KL warm-up (``TrainConfig`` fields added for issue 13)."""

import math

import pytest
import torch

from disentangle_bench.models import OptimizerGroup
from disentangle_bench.sweep.spec import RunSpec, model_identity
from disentangle_bench.training import LATER_FIELDS, TrainConfig, train


def _config(**changes):
    base = dict(model="beta_vae", hparams={"beta": 4.0}, dataset="tiny", steps=20, batch_size=8,
                lr=1e-3, latent_dim=3, architecture="mlp", device="cpu", precision="fp32",
                checkpoint_every=0, log_every=1)
    return TrainConfig(**{**base, **changes})


def test_learning_rate_formula():
    config = _config(lr=2e-3, steps=100, lr_schedule="cosine", warmup_steps=10)
    assert config.learning_rate(0) == pytest.approx(2e-3 * 0.1 * 1.0)
    cosine_at_4 = 0.5 * (1 + math.cos(0.04 * math.pi))
    assert config.learning_rate(4) == pytest.approx(2e-3 * 0.5 * cosine_at_4)
    assert config.learning_rate(50) == pytest.approx(1e-3)  # half-way down the cosine
    assert config.learning_rate(99) < 2e-3 * 1e-3
    constant = _config(lr=2e-3, steps=100)
    assert {constant.learning_rate(t) for t in range(100)} == {2e-3}


def test_regulariser_weight_is_linear_then_one():
    config = _config(kl_warmup_steps=8)
    assert [config.regulariser_weight(t) for t in (0, 2, 8, 15)] == [0.0, 0.25, 1.0, 1.0]
    assert _config().regulariser_weight(0) == 1.0


@pytest.mark.parametrize("changes", [{"lr_schedule": "linear"}, {"warmup_steps": -1},
                                     {"kl_warmup_steps": 1.5}])
def test_bad_schedule_fields_raise_one_line(changes):
    with pytest.raises(ValueError, match=next(iter(changes))):
        _config(**changes).validate()


def test_the_loop_steps_the_main_optimiser_at_the_scheduled_rate(monkeypatch):
    seen: list[float] = []
    build = OptimizerGroup.build

    def recording_build(group):
        optimizer = build(group)
        original = optimizer.step

        def step(*args, **kwargs):
            seen.append(optimizer.param_groups[0]["lr"])
            return original(*args, **kwargs)

        optimizer.step = step
        return optimizer

    monkeypatch.setattr(OptimizerGroup, "build", recording_build)
    config = _config(lr_schedule="cosine", warmup_steps=5)
    train(config, progress=False)
    assert seen == pytest.approx([config.learning_rate(t) for t in range(config.steps)])
    assert seen[0] < seen[4] and seen[-1] < seen[6]


def test_kl_warm_up_scales_the_regulariser_in_the_loss():
    trained = train(_config(kl_warmup_steps=10), progress=False)
    for row in trained.log:  # log_every=1: row for step s holds step s - 1
        t = row["step"] - 1
        expected = row["reconstruction"] + min(1.0, t / 10) * 4.0 * row["kl"]
        assert row["loss"] == pytest.approx(expected, rel=1e-5, abs=1e-4)
    assert trained.log[0]["loss"] == pytest.approx(trained.log[0]["reconstruction"])


def test_schedules_change_the_weights_and_default_runs_are_unchanged():
    def weights(config):
        torch.manual_seed(0)
        return torch.cat([p.flatten() for p in train(config, progress=False).model.parameters()])

    plain = weights(_config())
    assert torch.equal(plain, weights(_config(lr_schedule="constant", warmup_steps=0)))
    assert not torch.equal(plain, weights(_config(lr_schedule="cosine")))
    assert not torch.equal(plain, weights(_config(kl_warmup_steps=10)))


def test_fields_at_their_old_value_keep_model_ids():
    identity = model_identity(_config().to_dict())
    assert not set(LATER_FIELDS) & set(identity)
    spec = RunSpec(train=_config().to_dict(), metrics=(), protocol={})
    cosine = RunSpec(train=_config(lr_schedule="cosine").to_dict(), metrics=(), protocol={})
    assert spec.model_id != cosine.model_id
    assert "lr_schedule" in model_identity(_config(lr_schedule="cosine").to_dict())
