"""The results store: atomic writes, what counts as finished, run ids, load_results.

``make_store`` (also used by the report tests) writes a store by hand, exactly as ``run_one``
lays it out, so these tests need neither training nor metrics.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from disentangle_bench.atomic import read_json, write_json_atomic, write_text_atomic
from disentangle_bench.sweep import RunSpec, RunStatus, RunStore, load_results
from disentangle_bench.sweep.store import ARTIFACTS, METRICS, TRAIN_LOG, stray_temp_files
from disentangle_bench.training.trained_model import log_to_csv

TRAIN = {"dataset": "tiny", "steps": 100, "batch_size": 32, "lr": 1e-3, "latent_dim": 4,
         "architecture": "mlp", "device": "auto", "precision": "fp32",
         "checkpoint_every": 50, "log_every": 10}


def make_spec(model: str, hparams: dict, seed: int, **train) -> RunSpec:
    return RunSpec(train={"model": model, "hparams": hparams, "seed": seed, **TRAIN, **train},
                   metrics=("mig",), protocol={"mig": {"num_train": 100, "num_bins": 20}},
                   preset="smoke")


def fake_artifacts(kl: np.ndarray, rng: np.random.Generator, *, dims: int = 4,
                   steps: int = 5) -> dict[str, np.ndarray]:
    """Arrays in the layout of ``sweep.artifacts.compute_artifacts`` (16×16 grey images)."""
    images = (rng.random((8, 1, 16, 16)) > 0.7).astype(np.uint8) * 255
    return {
        "kl_per_dim": kl, "code_mean": np.zeros(dims), "code_std": np.ones(dims),
        "traversal_order": np.argsort(-kl, kind="stable"),
        "traversal_values": np.tile(np.linspace(-2, 2, steps), (dims, 1)),
        "traversals": (rng.random((2, dims, steps, 1, 16, 16)) * 255).astype(np.uint8),
        "base_inputs": images[:2], "inputs": images,
        "reconstructions": (rng.random((8, 1, 16, 16)) * 255).astype(np.uint8),
        "reconstruction_nll": rng.random(50) * 10, "prior_range": np.asarray(kl.sum() > 0),
    }


def finish_run(store: RunStore, spec: RunSpec, mig: float, kl: np.ndarray,
               rng: np.random.Generator) -> None:
    """Write a finished run the way ``run_one`` does (config, log, artifacts, metrics last)."""
    run_dir = store.prepare(spec)
    log = [{"step": s, "loss": 100.0 / s, "reconstruction": 90.0 / s, "kl": float(kl.sum()),
            "kl_per_dim": kl.tolist()} for s in (10, 20, 30)]
    write_text_atomic(run_dir / TRAIN_LOG, log_to_csv(log))
    arrays = fake_artifacts(kl, rng)
    np.savez_compressed(run_dir / ARTIFACTS, **arrays)
    summary = {"reconstruction": float(arrays["reconstruction_nll"].mean()),
               "kl": float(kl.sum()), "active_units": int((kl > 0.01).sum())}
    store.write_metrics(spec, {"metrics": {"mig": {"scores": {"discrete_mig": mig},
                                                   "protocol": {}, "seconds": 0.1}},
                               "summary": summary, "seconds": 1.0, "train_seconds": 0.5,
                               "metrics_seconds": 0.5})


def make_store(root: Path, seeds=(0, 1)) -> tuple[RunStore, dict[str, float]]:
    """AE, VAE and β-VAE β∈{2, 4} × ``seeds``, MIG = β/10 + seed/100 (AE: 0.05 + seed/100);
    one extra β=8 run that failed. Returns the store and the MIG written per run id."""
    store = RunStore(root)
    rng = np.random.default_rng(0)
    written = {}
    for model, hparams, base in [("ae", {}, 0.05), ("vae", {}, 0.1),
                                 ("beta_vae", {"beta": 2.0}, 0.2),
                                 ("beta_vae", {"beta": 4.0}, 0.4)]:
        for seed in seeds:
            spec = make_spec(model, hparams, seed)
            kl = (np.zeros(4) if model == "ae"
                  else np.array([3.0, 1.0, 0.005, 0.0]) / hparams.get("beta", 1.0))
            finish_run(store, spec, base + seed / 100, kl, rng)
            written[spec.run_id] = base + seed / 100
    failed = make_spec("beta_vae", {"beta": 8.0}, 0)
    store.prepare(failed)
    store.write_error(failed.run_id, RuntimeError("loss is NaN at step 7"), phase="training")
    store.write_sweep({"run_ids": [*written, failed.run_id], "command": "run_benchmark.py test",
                       "budget": "preset smoke: test"})
    return store, written


# --- atomic writes -----------------------------------------------------------------------------
def test_atomic_write_replaces_whole_file_or_nothing(tmp_path, monkeypatch):
    path = tmp_path / "metrics.json"
    write_json_atomic(path, {"score": 1})
    assert read_json(path) == {"score": 1}

    def killed(*args, **kwargs):  # the process dies between writing the temp file and renaming
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        write_json_atomic(path, {"score": 2, "padding": "x" * 100_000})
    assert read_json(path) == {"score": 1}  # the old file, whole
    assert stray_temp_files(tmp_path) == []  # the temp file was cleaned up


def test_read_json_treats_a_truncated_file_as_missing(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text('{"run_id": "x", "metrics": {"mig": ')
    assert read_json(path) is None


# --- run ids -----------------------------------------------------------------------------------
def test_run_id_depends_on_results_relevant_fields_only():
    base = make_spec("beta_vae", {"beta": 4.0}, 0)
    assert base.run_id == make_spec("beta_vae", {"beta": 4.0}, 0).run_id
    assert base.run_id.startswith("beta_vae-") and len(base.run_id) == len("beta_vae-") + 12
    changed = [make_spec("beta_vae", {"beta": 2.0}, 0), make_spec("beta_vae", {"beta": 4.0}, 1),
               make_spec("beta_vae", {"beta": 4.0}, 0, steps=101),
               make_spec("beta_vae", {"beta": 4.0}, 0, precision="bf16"),
               make_spec("beta_vae", {"beta": 4.0}, 0, device="cuda"),
               RunSpec(train=base.train, metrics=base.metrics,
                       protocol={"mig": {"num_train": 200, "num_bins": 20}}, preset="smoke"),
               RunSpec(train=base.train, metrics=base.metrics, protocol=base.protocol,
                       preset="smoke", version="9.9")]
    assert len({spec.run_id for spec in changed} | {base.run_id}) == len(changed) + 1
    # how often it checkpoints does not change the numbers (resume is exact), hence not the id
    assert make_spec("beta_vae", {"beta": 4.0}, 0, checkpoint_every=7).run_id == base.run_id


def test_spec_round_trips_through_its_dict():
    spec = make_spec("beta_vae", {"beta": 4.0}, 3)
    again = RunSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec and again.run_id == spec.run_id


# --- what counts as finished -------------------------------------------------------------------
def test_finished_only_when_metrics_json_is_valid_for_this_config(tmp_path):
    store = RunStore(tmp_path)
    spec = make_spec("vae", {}, 0)
    assert store.status(spec.run_id) is RunStatus.MISSING
    run_dir = store.prepare(spec)
    assert store.status(spec.run_id) is RunStatus.INCOMPLETE
    metrics = run_dir / METRICS

    metrics.write_text('{"run_id": "' + spec.run_id + '", "metrics": {"mig"')  # half-written
    assert store.status(spec.run_id) is RunStatus.INCOMPLETE and not store.is_finished(spec)

    record = {"run_id": spec.run_id, "config_hash": "0" * 64, "metrics": {}}
    metrics.write_text(json.dumps(record))  # a stale file from another config
    assert not store.is_finished(spec)

    store.write_metrics(spec, {"metrics": {"mig": {"scores": {"discrete_mig": 0.3}}}})
    assert store.status(spec.run_id) is RunStatus.FINISHED and store.is_finished(spec)


def test_failed_run_records_error_and_traceback(tmp_path):
    store = RunStore(tmp_path)
    spec = make_spec("vae", {}, 0)
    store.prepare(spec)
    try:
        raise FloatingPointError("non-finite loss at step 12")
    except FloatingPointError as error:
        store.write_error(spec.run_id, error, phase="training")
    assert store.status(spec.run_id) is RunStatus.FAILED
    error = store.read_error(spec.run_id)
    assert error["error_type"] == "FloatingPointError"
    assert error["message"] == "non-finite loss at step 12"
    assert "raise FloatingPointError" in error["traceback"]
    store.write_metrics(spec, {"metrics": {}})  # a later successful retry clears the error
    assert store.read_error(spec.run_id) is None


# --- load_results ------------------------------------------------------------------------------
def test_load_results_one_row_per_run_with_config_and_scores(tmp_path):
    store, written = make_store(tmp_path)
    frame = load_results(tmp_path)
    assert len(frame) == len(written) + 1
    finished = frame[frame["status"] == "finished"].set_index("run_id")
    for run_id, mig in written.items():
        assert finished.loc[run_id, "mig.discrete_mig"] == mig
    for column in ("model", "seed", "steps", "lr", "latent_dim", "preset", "hparams.beta",
                   "reconstruction", "kl", "active_units", "label"):
        assert column in frame.columns
    failed = frame[frame["status"] == "failed"].iloc[0]
    assert failed["error"] == "RuntimeError: loss is NaN at step 7"
    assert np.isnan(failed["mig.discrete_mig"])
    labels = set(frame["label"])
    assert {"ae", "vae", "beta_vae(beta=2)", "beta_vae(beta=4)", "beta_vae(beta=8)"} == labels
    vae = finished[finished["model"] == "vae"].iloc[0]
    assert vae["kl"] == pytest.approx(4.005) and vae["active_units"] == 2
