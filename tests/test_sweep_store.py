"""The results store: atomic writes, what counts as finished, model and evaluation ids,
corrupt files, load_results.

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
from disentangle_bench.sweep import (
    EvalSpec,
    LegacyStoreError,
    RunSpec,
    RunStatus,
    RunStore,
    load_results,
)
from disentangle_bench.sweep.store import (
    ARTIFACTS,
    CONFIG,
    TRAIN_LOG,
    TRAINED,
    stray_temp_files,
)
from disentangle_bench.training.trained_model import log_to_csv

TRAIN = {"dataset": "tiny", "steps": 100, "batch_size": 32, "lr": 1e-3, "latent_dim": 4,
         "architecture": "mlp", "device": "cpu", "precision": "fp32",
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
    """Write a finished run the way ``run_one`` does (config, log, artifacts, trained.json
    last of the model, then one file per evaluation)."""
    run_dir = store.prepare(spec)
    log = [{"step": s, "loss": 100.0 / s, "reconstruction": 90.0 / s, "kl": float(kl.sum()),
            "kl_per_dim": kl.tolist()} for s in (10, 20, 30)]
    write_text_atomic(run_dir / TRAIN_LOG, log_to_csv(log))
    arrays = fake_artifacts(kl, rng)
    np.savez_compressed(run_dir / ARTIFACTS, **arrays)
    summary = {"reconstruction": float(arrays["reconstruction_nll"].mean()),
               "kl": float(kl.sum()), "active_units": int((kl > 0.01).sum())}
    store.write_trained(spec.model_id, spec.config_hash,
                        {"summary": summary, "train_seconds": 0.5})
    for evaluation in spec.evaluations():
        store.write_eval(spec.model_id, evaluation,
                         {"scores": {"discrete_mig": mig}, "protocol": {}, "seconds": 0.5}, {})


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


# --- ids -------------------------------------------------------------------------------------
def test_model_id_hashes_only_what_determines_the_weights():
    base = make_spec("beta_vae", {"beta": 4.0}, 0)
    assert base.model_id == make_spec("beta_vae", {"beta": 4.0}, 0).model_id == base.run_id
    assert base.model_id.startswith("beta_vae-") and len(base.model_id) == len("beta_vae-") + 12
    changed = [make_spec("beta_vae", {"beta": 2.0}, 0), make_spec("beta_vae", {"beta": 4.0}, 1),
               make_spec("beta_vae", {"beta": 4.0}, 0, steps=101),
               make_spec("beta_vae", {"beta": 4.0}, 0, precision="bf16"),
               make_spec("beta_vae", {"beta": 4.0}, 0, device="cuda")]
    assert len({spec.model_id for spec in changed} | {base.model_id}) == len(changed) + 1
    # neither the metrics, their protocols, the evaluation seeds, the preset's name, the
    # package version nor how often it checkpoints changes the weights, hence not the id
    same = [RunSpec(train=base.train, metrics=("mig", "sap"),
                    protocol={"mig": {"num_train": 200, "num_bins": 20}, "sap": {}},
                    eval_seeds=(3, 4), preset="cpu", version="9.9"),
            make_spec("beta_vae", {"beta": 4.0}, 0, checkpoint_every=7)]
    assert {spec.model_id for spec in same} == {base.model_id}


def test_training_numerics_version_is_in_the_model_id(monkeypatch):
    import disentangle_bench.training as training

    before = make_spec("vae", {}, 0).model_id
    monkeypatch.setattr(training, "TRAINING_NUMERICS_VERSION", training.TRAINING_NUMERICS_VERSION
                        + 1)
    assert make_spec("vae", {}, 0).model_id != before


def test_auto_device_resolves_to_its_type_so_cpu_and_cuda_models_differ(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    on_cpu = make_spec("vae", {}, 0, device="auto").model_id
    assert on_cpu == make_spec("vae", {}, 0, device="cpu").model_id
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    on_gpu = make_spec("vae", {}, 0, device="auto")
    assert on_gpu.identity()["device"] == "cuda"
    assert on_gpu.model_id == make_spec("vae", {}, 0, device="cuda").model_id != on_cpu


def test_evaluation_id_hashes_metric_protocol_seed_and_metric_version(monkeypatch):
    import dataclasses

    from disentangle_bench.metrics import registry

    base = EvalSpec.of("mig", {"num_train": 100, "num_bins": 20}, 0)
    assert base.eval_id.startswith("mig-s0-")
    others = [EvalSpec.of("mig", {"num_train": 101, "num_bins": 20}, 0),
              EvalSpec.of("mig", {"num_train": 100, "num_bins": 20}, 1),
              EvalSpec.of("sap", {"num_train": 100, "num_bins": 20}, 0)]
    bumped = dataclasses.replace(registry.metric_spec("mig"), version=2)
    monkeypatch.setitem(registry._METRICS, "mig", bumped)
    others.append(EvalSpec.of("mig", {"num_train": 100, "num_bins": 20}, 0))
    assert len({e.eval_id for e in others} | {base.eval_id}) == len(others) + 1


def test_spec_round_trips_through_its_dict_and_reads_a_single_eval_seed():
    spec = make_spec("beta_vae", {"beta": 4.0}, 3)
    again = RunSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec and again.run_id == spec.run_id
    old = {k: v for k, v in spec.to_dict().items() if k != "eval_seeds"}
    assert RunSpec.from_dict({**old, "eval_seed": 5}).eval_seeds == (5,)


# --- what counts as finished -------------------------------------------------------------------
def test_trained_only_when_trained_json_is_valid_for_this_model(tmp_path):
    store = RunStore(tmp_path)
    spec = make_spec("vae", {}, 0)
    assert store.status(spec.run_id) is RunStatus.MISSING
    run_dir = store.prepare(spec)
    assert store.status(spec.run_id) is RunStatus.INCOMPLETE
    marker = run_dir / TRAINED

    marker.write_text('{"model_id": "' + spec.model_id + '", "summ')  # half-written
    assert store.status(spec.run_id) is RunStatus.INCOMPLETE and not store.is_trained(spec)
    assert "not valid JSON" in store.trained_problem(spec.model_id)

    record = {"model_id": spec.model_id, "model_hash": "0" * 64}
    marker.write_text(json.dumps(record))  # a stale file from another config
    assert not store.is_trained(spec)

    store.write_trained(spec.model_id, spec.config_hash, {"summary": {}})
    assert store.status(spec.run_id) is RunStatus.FINISHED and store.is_trained(spec)
    assert not store.is_finished(spec)  # its evaluation is still missing
    evaluation = spec.evaluations()[0]
    store.write_eval(spec.model_id, evaluation, {"scores": {"discrete_mig": 0.3}}, {})
    assert store.is_finished(spec)
    # an evaluation file of another protocol under the same name does not count
    stale = json.loads(store.eval_path(spec.model_id, evaluation.eval_id).read_text())
    stale["eval_hash"] = "0" * 64
    store.eval_path(spec.model_id, evaluation.eval_id).write_text(json.dumps(stale))
    assert not store.is_finished(spec)


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
    store.write_trained(spec.model_id, spec.config_hash, {})  # a later retry clears the error
    assert store.read_error(spec.run_id) is None


def test_a_directory_in_the_old_runs_layout_is_refused_with_one_line(tmp_path):
    (tmp_path / "runs" / "vae-0123456789ab").mkdir(parents=True)
    with pytest.raises(LegacyStoreError) as error:
        load_results(tmp_path)
    message = str(error.value)
    assert "\n" not in message and "runs/" in message and "new --out" in message


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


def test_load_results_has_one_row_per_model_and_evaluation_seed(tmp_path):
    store, written = make_store(tmp_path, seeds=(0,))
    run_id = next(iter(written))
    spec_record = store.read_config(run_id)
    spec = RunSpec(train=spec_record["train"], metrics=("mig",),
                   protocol={"mig": {"num_train": 100, "num_bins": 20}}, eval_seeds=(0, 1, 2))
    assert spec.model_id == run_id
    for evaluation in spec.evaluations()[1:]:
        store.write_eval(run_id, evaluation, {"scores": {"discrete_mig": evaluation.seed}}, {})
    manifest = store.read_sweep()
    store.write_sweep({**manifest, "evaluation": {"protocol": {"mig": spec.protocol["mig"]},
                                                  "eval_seeds": [0, 1, 2]}})
    frame = load_results(tmp_path)
    rows = frame[frame["run_id"] == run_id].set_index("eval_seed")
    assert list(rows.index) == [0, 1, 2] and (rows["status"] == "finished").all()
    assert rows.loc[1, "mig.discrete_mig"] == 1 and rows.loc[2, "mig.discrete_mig"] == 2
    # every other model lacks seeds 1 and 2: those rows say so instead of vanishing
    other = frame[(frame["run_id"] != run_id) & (frame["eval_seed"] == 2)
                  & (frame["model"] != "beta_vae")]
    assert len(other) and (other["status"] == "incomplete").all()
    assert other["error"].str.contains("not evaluated yet: mig").all()


def test_corrupt_config_json_is_reported_with_file_and_reason(tmp_path):
    store, written = make_store(tmp_path)
    run_id = next(iter(written))
    (store.model_dir(run_id) / CONFIG).write_text("{not json")
    frame = load_results(tmp_path)
    row = frame[frame["run_id"] == run_id]
    assert len(row) == 1 and row["status"].iloc[0] == "failed"  # reported, not dropped
    error = row["error"].iloc[0]
    assert str(store.model_dir(run_id) / CONFIG) in error and "not valid JSON" in error


def test_corrupt_evaluation_file_is_reported_with_file_and_reason(tmp_path):
    store, written = make_store(tmp_path)
    run_id = next(iter(written))
    path = next(store.evals_dir(run_id).glob("mig-*.json"))
    path.write_text('{"model_id": "' + run_id + '", "res')
    frame = load_results(tmp_path)
    row = frame[frame["run_id"] == run_id].iloc[0]
    assert row["status"] == "failed"
    assert str(path) in row["error"] and "not valid JSON" in row["error"]
