"""Objectives declare their optimisers: the loop builds and steps whatever they declare."""

import pytest
import torch
from torch import nn

from disentangle_bench.models import (
    ADAM,
    Objective,
    OptimizerGroup,
    register_model,
    unregister_model,
)
from disentangle_bench.training import TrainConfig, train


class OffsetVAE(Objective):
    """A β-VAE plus a scalar trained by its own SGD towards 3 (loss (offset − 3)²)."""

    name = "offset_vae"
    defaults = {"beta": 1.0}

    def __init__(self, encoder, decoder, **hparams):
        super().__init__(encoder, decoder, **hparams)
        self.offset = nn.Parameter(torch.zeros(1))

    def optimizers(self, lr):
        main = [p for name, p in self.named_parameters() if name != "offset"]
        return [OptimizerGroup("model", main, "loss", options={"lr": lr, **ADAM}),
                OptimizerGroup("offset", [self.offset], "offset_loss", torch.optim.SGD,
                               {"lr": 0.1})]

    def regulariser(self, kl, mean, logvar, z, step):
        return self.beta * kl, {}

    def loss(self, x, step, generator=None):
        out = super().loss(x, step, generator)
        out.extra_losses["offset_loss"] = ((self.offset - 3.0) ** 2).sum()
        return out


@pytest.fixture
def offset_vae():
    register_model("offset_vae", OffsetVAE)
    yield
    unregister_model("offset_vae")


def _config(**changes):
    return TrainConfig(model="offset_vae", dataset="tiny", steps=12, batch_size=8, lr=1e-3,
                       latent_dim=3, architecture="mlp", device="cpu", precision="fp32",
                       checkpoint_every=4, log_every=4, **changes)


def test_declared_groups_are_built_and_stepped_on_their_own_loss(offset_vae):
    trained = train(_config(), progress=False)
    # SGD on (o − 3)²: o ← o − 0.1 · 2 (o − 3), so 3 − o shrinks by 0.8 per step
    assert trained.model.offset.item() == pytest.approx(3 * (1 - 0.8 ** 12), rel=1e-5)


def test_declared_groups_resume_bitwise(offset_vae, tmp_path):
    whole = train(_config(), progress=False)
    train(_config(), tmp_path, progress=False, stop_at=6)
    resumed = train(_config(), tmp_path, progress=False)
    for (name, a), b in zip(whole.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), name
    assert [r["loss"] for r in whole.log] == [r["loss"] for r in resumed.log]


def test_main_group_must_come_first(offset_vae, monkeypatch):
    monkeypatch.setattr(OffsetVAE, "optimizers",
                        lambda self, lr: [OptimizerGroup("offset", [self.offset], "offset_loss")])
    with pytest.raises(ValueError, match="main optimiser, minimising 'loss', first"):
        train(_config(), progress=False)
