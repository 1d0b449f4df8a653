"""The data file is part of a trained model's id: two files of one dataset name are two models,
one file is one model, and a generated dataset's ids are those of the formula without it."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pytest
import realformat as rf
from test_data_dsprites_file import FILE_NAME, real_format_arrays, write_npz

import disentangle_bench
from disentangle_bench.data import DatasetError, files, get_dataset
from disentangle_bench.data.files import ENV_VAR, file_digests
from disentangle_bench.sweep import RunSpec, RunStore
from disentangle_bench.sweep.grid import SweepRequest, expand
from disentangle_bench.sweep.presets import get_preset
from disentangle_bench.sweep.run import check_dataset_file
from disentangle_bench.sweep.spec import content_hash, model_identity
from disentangle_bench.sweep.store import CONFIG


def plan(dataset: str, **kwargs) -> RunSpec:
    """The one RunSpec of a smoke β-VAE sweep on ``dataset`` (nothing trained)."""
    request = SweepRequest(models=["beta_vae"], preset=get_preset("smoke"), dataset=dataset,
                           dataset_kwargs=kwargs, steps=10, batch_size=8, latent_dim=4,
                           architecture="mlp", precision="fp32", device="cpu",
                           metrics=["mig"], grids={"beta_vae": {"beta": [4.0]}})
    (spec,) = expand(request)
    return spec


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def two_files(tmp_path):
    """Two reduced dSprites files in the real format, same name, different images."""
    paths = []
    for folder, seed in (("reduced", 0), ("other", 1)):
        (tmp_path / folder).mkdir()
        paths.append(write_npz(tmp_path / folder / FILE_NAME, real_format_arrays(seed=seed)))
    return paths


def test_two_files_of_one_dataset_name_are_two_models(two_files, monkeypatch):
    first, second = two_files
    assert sha256(first) != sha256(second)
    monkeypatch.setenv(ENV_VAR, str(first.parent))
    on_first = plan("dsprites")
    again = plan("dsprites")
    monkeypatch.setenv(ENV_VAR, str(second.parent))
    on_second = plan("dsprites")
    assert on_first.train == on_second.train  # the config alone cannot tell them apart
    assert on_first.dataset_sha256 == sha256(first)
    assert on_second.dataset_sha256 == sha256(second)
    assert on_first.model_id != on_second.model_id
    assert again.model_id == on_first.model_id  # the same file is the same model
    # the field is what separates them: without it both get the old formula's id
    blind = [dataclasses.replace(s, dataset_sha256="") for s in (on_first, on_second)]
    assert blind[0].model_id == blind[1].model_id != on_first.model_id


def test_generated_dataset_ids_are_the_formula_without_the_field():
    for dataset in ("tiny", "dsprites-procedural"):
        spec = plan(dataset)
        assert spec.dataset_sha256 == "" and "dataset_sha256" not in spec.identity()
        assert spec.plugins == {} and spec.eval_every == 0
        old_id = f"beta_vae-{content_hash(model_identity(spec.train))[:12]}"
        assert spec.model_id == old_id


def test_the_store_keeps_the_file_identity(two_files, monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(two_files[0].parent))
    spec = plan("dsprites")
    store = RunStore(tmp_path / "out")
    store.prepare(spec)
    config = json.loads((store.model_dir(spec.model_id) / CONFIG).read_text())
    assert config["dataset_sha256"] == config["identity"]["dataset_sha256"] == sha256(
        two_files[0])
    assert RunSpec.from_dict(spec.to_dict()).model_id == spec.model_id  # workers see it too


def test_a_changed_file_is_refused_for_its_model(two_files, monkeypatch):
    first, second = two_files
    dataset = get_dataset("dsprites", path=first)
    check_dataset_file(dataset, sha256(first), "beta_vae-x")  # the right file passes
    check_dataset_file(dataset, "", "beta_vae-x")  # nothing recorded: nothing to check
    with pytest.raises(DatasetError, match="beta_vae-x belongs to the 'dsprites' file") as error:
        check_dataset_file(get_dataset("dsprites", path=second), sha256(first), "beta_vae-x")
    assert "\n" not in str(error.value)
    with pytest.raises(DatasetError, match="has no file"):
        check_dataset_file(get_dataset("tiny"), sha256(first), "beta_vae-x")


def test_variants_and_scream_identify_their_files(two_files, tmp_path):
    first, _ = two_files
    color = get_dataset("color-dsprites", source="file", path=first)
    assert color.file_sha256() == sha256(first)
    assert get_dataset("color-dsprites").file_sha256() is None
    painting = rf.write_painting(tmp_path / "scream.jpg")
    procedural = get_dataset("scream-dsprites", painting=painting)
    assert procedural.file_sha256() == sha256(painting)  # the painting is its only file
    on_file = get_dataset("scream-dsprites", source="file", path=first, painting=painting)
    lines = f"{sha256(first)}  dsprites.sha256\n{sha256(painting)}  painting.sha256\n"
    assert on_file.file_sha256() == hashlib.sha256(lines.encode()).hexdigest()


def test_hashing_a_big_file_says_so_once(tmp_path, monkeypatch, capsys):
    path = tmp_path / "big.bin"
    path.write_bytes(np.arange(4096, dtype=np.uint8).tobytes())
    monkeypatch.setattr(files, "BIG_FILE_BYTES", 4096)
    assert file_digests(path)["sha256"] == sha256(path)
    said = capsys.readouterr()
    assert said.out == "" and said.err.count("\n") == 1
    assert said.err.startswith(f"hashing {path} (0.0 GB) once for its SHA256")
    assert file_digests(path)["sha256"] == sha256(path)  # from the cache: silent
    assert capsys.readouterr().err == ""
    small = tmp_path / "small.bin"
    small.write_bytes(b"x" * 4095)
    file_digests(small)
    assert capsys.readouterr().err == ""


def test_external_entries_on_two_files_are_two_entries(two_files, monkeypatch, tmp_path):
    def represent(observations):
        return observations.reshape(len(observations), -1)[:, :4].astype(np.float64)

    rows = []
    for path in two_files:
        monkeypatch.setenv(ENV_VAR, str(path.parent))
        rows.append(disentangle_bench.evaluate_representation(
            represent, "dsprites", out=tmp_path / "out", name="ext", metrics=["mig"],
            preset="smoke", protocol={"mig": {"num_train": 200}}))
    ids = [r["run_id"].iloc[0] for r in rows]
    assert ids[0] != ids[1]
    store = RunStore(tmp_path / "out")
    assert [store.read_config(i)["dataset_sha256"] for i in ids] == [sha256(p) for p in two_files]


def test_evaluate_dir_checks_the_file_its_models_recorded(two_files, monkeypatch, tmp_path):
    from disentangle_bench.sweep.evaluate import _model_file_sha256
    from disentangle_bench.sweep.run import dataset_provenance

    monkeypatch.setenv(ENV_VAR, str(two_files[0].parent))
    spec = plan("dsprites")
    store = RunStore(tmp_path / "out")
    store.prepare(spec)
    config = store.read_config(spec.model_id)
    assert _model_file_sha256(store, spec.model_id, config) == sha256(two_files[0])
    # a model stored before the field: the file its trained.json recorded
    older = {k: v for k, v in config.items() if k != "dataset_sha256"}
    store.write_trained(spec.model_id, spec.config_hash, {
        "dataset": dataset_provenance(get_dataset("dsprites", path=two_files[1]))})
    assert _model_file_sha256(store, spec.model_id, older) == sha256(two_files[1])
    store.write_trained(spec.model_id, spec.config_hash,
                        {"dataset": dataset_provenance(get_dataset("tiny"))})
    assert _model_file_sha256(store, spec.model_id, older) == ""


def test_folder_datasets_are_identified_by_all_their_files(tmp_path):
    cars = rf.write_cars(tmp_path / "cars")
    files_ = sorted(cars.glob("car_*_mesh.mat"))
    lines = "".join(f"{sha256(f)}  {f.name}\n" for f in files_)
    expected = hashlib.sha256(lines.encode()).hexdigest()
    assert get_dataset("cars3d", path=cars).file_sha256() == expected
    norb = rf.write_norb(tmp_path / "norb")
    before = get_dataset("smallnorb", path=norb).file_sha256()
    assert before is not None and len(before) == 64
    changed = rf.write_norb(tmp_path / "norb2", seed=1)
    assert get_dataset("smallnorb", path=changed).file_sha256() != before
