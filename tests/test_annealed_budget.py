"""AnnealedVAE under any preset: the capacity schedule scales with the run's steps (issue 13).

Unscaled, the study's threshold (100,000 steps) left a short run's capacity near 0 and every
latent collapsed; scaled, C reaches c_max a third of the way through the run.
"""

from __future__ import annotations

import pytest

from disentangle_bench.models.annealed_vae import capacity, scaled_iteration_threshold
from disentangle_bench.sweep.grid import SweepRequest, expand
from disentangle_bench.sweep.presets import get_preset
from disentangle_bench.training import TrainConfig, train

ACTIVE_KL = 0.01  # nats: the unsupervised metric's active-unit threshold


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def test_rule_keeps_the_studys_third():
    assert scaled_iteration_threshold(300_000) == 100_000  # the paper protocol is unchanged
    assert scaled_iteration_threshold(1_500) == 500
    assert scaled_iteration_threshold(1) == 1


def annealed_specs(preset: str, steps: int | None = None, grids=None):
    request = SweepRequest(models=["annealed_vae"], preset=get_preset(preset), dataset="tiny",
                           steps=steps, latent_dim=4, metrics=["mig"],
                           grids={"annealed_vae": grids or {"c_max": [5.0]}})
    return [spec.train for spec in expand(request)]


@pytest.mark.parametrize("preset, steps", [("cpu", None), ("smoke", None), ("cpu", 300),
                                           ("paper", None)])
def test_sweep_scales_the_threshold_and_capacity_reaches_c_max_there(preset, steps):
    (config,) = annealed_specs(preset, steps)
    total = config["steps"]
    threshold = config["hparams"]["iteration_threshold"]
    assert threshold == scaled_iteration_threshold(total)
    c_max = config["hparams"]["c_max"]
    assert capacity(c_max, threshold, threshold) == c_max
    assert capacity(c_max, threshold - 1, threshold) < c_max
    assert capacity(c_max, total, threshold) == c_max  # reached well before the run ends


def test_an_explicit_threshold_is_kept():
    (config,) = annealed_specs("cpu", 300, {"c_max": [5.0], "iteration_threshold": [1234]})
    assert config["hparams"]["iteration_threshold"] == 1234


def test_budget_line_states_the_scaled_schedule():
    line = get_preset("cpu").budget_line(steps=900)
    assert "AnnealedVAE capacity reaches c_max at step 300 (1/3 of the steps)" in line


def last_log_row(config: dict) -> dict:
    return train(TrainConfig.from_dict(config), progress=False).log[-1]


def test_a_short_run_reaches_c_max_and_keeps_latents_active():
    (config,) = annealed_specs("cpu", 300)
    config.update(batch_size=32, device="cpu", precision="fp32", log_every=50,
                  checkpoint_every=0)
    row = last_log_row(config)
    assert row["capacity"] == pytest.approx(5.0)  # the last window is past the threshold
    assert row["kl"] > 2.5  # KL tracks C (γ = 1000)
    assert sum(k > ACTIVE_KL for k in row["kl_per_dim"]) >= 2
    # the same run with the study's unscaled threshold collapses every latent
    config["hparams"]["iteration_threshold"] = 100_000
    collapsed = last_log_row(config)
    assert collapsed["capacity"] < 0.02
    assert all(k < ACTIVE_KL for k in collapsed["kl_per_dim"])
