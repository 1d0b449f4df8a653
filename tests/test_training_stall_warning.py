"""Shared cores (issue 16): a run whose throughput collapses says so once, on stderr; and the
default thread count is the number of free cores."""

from __future__ import annotations

import pytest

from disentangle_bench.data import get_dataset
from disentangle_bench.training import TrainConfig, free_cores, train


class _Clock:
    """A stand-in for the loop's ``time`` module: only batches move it."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now


class _Stalling:
    """The tiny dataset, with every training batch after the first ``after`` taking 100 times
    longer on the loop's clock: what cores taken by other processes do to training steps."""

    def __init__(self, clock: _Clock, after: int):
        self._dataset, self._calls, self.clock, self.after = get_dataset("tiny"), 0, clock, after

    def __getattr__(self, name):
        return getattr(self._dataset, name)

    def sample(self, n, rng):  # what each training batch calls
        self._calls += 1
        self.clock.now += 0.001 if self._calls <= self.after else 0.1
        return self._dataset.sample(n, rng)


def test_a_collapse_in_throughput_is_reported_once(monkeypatch, capsys):
    from disentangle_bench.training import loop

    clock = _Clock()
    monkeypatch.setattr(loop, "time", clock)
    config = TrainConfig(model="beta_vae", dataset="tiny", steps=60, batch_size=16, lr=1e-3,
                         latent_dim=4, architecture="mlp", device="cpu", precision="fp32",
                         log_every=10, checkpoint_every=0)
    trained = train(config, progress=False, dataset=_Stalling(clock, after=30))
    rates = [row["images_per_s"] for row in trained.log]
    assert rates[0] == pytest.approx(16_000) and rates[-1] == pytest.approx(160)
    err = capsys.readouterr().err
    assert err.count("warning: beta_vae seed 0 slowed to 160 images/s from 16000") == 1, err
    assert "OMP_NUM_THREADS=1" in err


def test_a_steady_run_gets_no_warning(monkeypatch, capsys):
    from disentangle_bench.training import loop

    clock = _Clock()
    monkeypatch.setattr(loop, "time", clock)
    config = TrainConfig(model="beta_vae", dataset="tiny", steps=40, batch_size=16, lr=1e-3,
                         latent_dim=4, architecture="mlp", device="cpu", precision="fp32",
                         log_every=10, checkpoint_every=0)
    train(config, progress=False, dataset=_Stalling(clock, after=10**9))
    assert "slowed" not in capsys.readouterr().err


@pytest.mark.parametrize("cores, load, expected", [(2, 0.3, 2), (2, 1.2, 1), (2, 8.0, 1),
                                                   (16, 3.9, 13), (4, 0.0, 4)])
def test_free_cores_subtracts_the_load_average(cores, load, expected):
    assert free_cores(cores, load) == expected


def test_default_threads_are_the_free_cores_shared_by_the_jobs(monkeypatch):
    from disentangle_bench.sweep.executors import local

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr("disentangle_bench.training.threads.usable_cores", lambda: 8)
    monkeypatch.setattr("os.getloadavg", lambda: (2.5, 2.0, 2.0))
    assert local.LocalExecutor(jobs=1).threads == 6  # 8 cores, 2 busy
    assert local.LocalExecutor(jobs=2).threads == 3
    assert local.LocalExecutor(jobs=2, threads=4).threads == 4  # --threads wins
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert local.LocalExecutor(jobs=1).threads == 2  # as does an explicit OMP_NUM_THREADS


def test_in_process_runs_use_the_chosen_threads_and_record_them(tmp_path, capsys):
    import json

    import torch

    from disentangle_bench.cli import main

    before = torch.get_num_threads()
    out = tmp_path / "out"
    argv = ["--dataset", "tiny", "--preset", "smoke", "--models", "ae", "--steps", "5",
            "--metrics", "mig", "--threads", "3", "--no-report", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    assert "in-process, 3 torch thread(s)" in capsys.readouterr().out
    (trained,) = out.rglob("trained.json")
    assert json.loads(trained.read_text())["environment"]["torch_threads"] == "3"
    (metrics,) = out.rglob("evals/mig-*.json")
    assert json.loads(metrics.read_text())["environment"]["torch_threads"] == "3"
    assert torch.get_num_threads() == before  # restored for the caller
