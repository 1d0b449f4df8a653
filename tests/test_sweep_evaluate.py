"""Train once, evaluate many: adding metrics, evaluation seeds or a package version to a
finished sweep trains nothing; corrupt store files are reported and repaired; any encoder
(torch.export file, Python function) is scored like a trained model; files that need pickled
code are refused.

One small sweep (tiny dataset, mlp, 40 steps, two fast metrics) is trained once per module;
each test works on its own copy (``shutil.copytree`` keeps modification times).
"""

from __future__ import annotations

import json
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import disentangle_bench
from disentangle_bench.cli import main
from disentangle_bench.sweep import load_results

SWEEP = ["--preset", "smoke", "--dataset", "tiny", "--latent-dim", "3", "--models", "ae", "vae",
         "--steps", "40", "--batch-size", "32", "--checkpoint-every", "20", "--quiet",
         "--no-report"]
METRICS = ["mig", "sap"]
#: Per model: every file training wrote. None of them may change once the model is trained.
MODEL_FILES = ("checkpoint/*", "trained.json", "artifacts.npz", "train_log.csv")


def sweep(out: Path, *extra_metrics: str) -> int:
    return main([*SWEEP, "--metrics", *METRICS, *extra_metrics, "--out", str(out)])


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "results"
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert sweep(out) == 0
    finally:
        torch.set_num_threads(previous)
    return out


@pytest.fixture
def store(finished, tmp_path) -> Path:
    copy = tmp_path / "results"
    shutil.copytree(finished, copy)
    return copy


def training_files(out: Path) -> dict[Path, tuple[bytes, int]]:
    """Bytes and modification time of every file training wrote, per model."""
    files = {}
    for model_dir in (out / "models").iterdir():
        for pattern in MODEL_FILES:
            for path in model_dir.glob(pattern):
                files[path] = (path.read_bytes(), path.stat().st_mtime_ns)
    assert len(files) >= 2 * 6, sorted(files)  # checkpoint.pt, model.pt, ... for both models
    return files


# --- nothing is retrained ------------------------------------------------------------------------
def test_adding_a_metric_to_a_finished_sweep_trains_nothing(store, capsys):
    before = training_files(store)
    capsys.readouterr()
    assert sweep(store, "modularity_explicitness") == 0  # --metrics mig sap + a new metric
    out = capsys.readouterr().out
    assert "2 runs (2 evaluated)" in out
    assert training_files(store) == before  # byte-identical and untouched
    summary = pd.read_csv(store / "summary.csv")
    assert summary["modularity_explicitness.modularity_score.mean"].notna().all()
    assert summary["mig.discrete_mig.mean"].notna().all()  # the old scores are still there


def test_a_new_package_version_reuses_the_trained_models(store, capsys, monkeypatch):
    before = training_files(store)
    monkeypatch.setattr(disentangle_bench, "__version__", "99.0.0")
    capsys.readouterr()
    assert sweep(store) == 0
    assert "2 runs (2 cached)" in capsys.readouterr().out
    assert json.loads((store / "sweep.json").read_text())["version"] == "99.0.0"
    assert training_files(store) == before


def test_evaluate_with_two_more_evaluation_seeds_trains_nothing(store, capsys):
    before = training_files(store)
    capsys.readouterr()
    assert main(["evaluate", str(store), "--eval-seeds", "0", "1", "2", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "8 evaluations computed, nothing trained" in out  # 2 models x 2 metrics x 2 seeds
    assert training_files(store) == before
    summary = pd.read_csv(store / "summary.csv")
    assert list(summary["n_eval"]) == [3, 3] and list(summary["eval_seeds"]) == ["0 1 2"] * 2
    assert summary["mig.discrete_mig.eval_sd"].notna().all()
    report = (store / "report.md").read_text()
    assert "| eval seeds per model | 3 | 3 |" in report
    results = load_results(store)
    assert len(results) == 6 and (results["status"] == "finished").all()
    # the mean is over the three evaluation seeds of each model
    vae = results[results["model"] == "vae"]
    vae_row = summary[summary["label"] == "vae"].iloc[0]
    assert vae_row["mig.discrete_mig.mean"] == pytest.approx(vae["mig.discrete_mig"].mean())
    assert vae_row["mig.discrete_mig.eval_sd"] == pytest.approx(vae["mig.discrete_mig"].std())
    # idempotent: a second call computes nothing and rewrites no evaluation
    stamps = {p: p.stat().st_mtime_ns for p in (store / "models").rglob("evals/*.json")}
    assert main(["evaluate", str(store), "--eval-seeds", "0", "1", "2", "--quiet",
                 "--no-report"]) == 0
    assert "0 evaluations computed" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


# --- corrupt files -------------------------------------------------------------------------------
def test_corrupt_config_and_evaluation_are_reported_then_repaired(store, capsys):
    before = training_files(store)
    ae, vae = sorted((store / "models").iterdir())
    (ae / "config.json").write_text("<html>not json</html>")
    broken = next((vae / "evals").glob("mig-*.json"))
    broken.write_text('{"model_id": "' + vae.name + '", "resu')
    capsys.readouterr()
    assert main(["report", str(store)]) == 0
    err = capsys.readouterr().err
    assert f"{ae / 'config.json'}: not valid JSON" in err
    assert f"{broken}: not valid JSON" in err
    report = (store / "report.md").read_text()
    assert "## Runs that did not finish" in report and str(broken) in report

    assert sweep(store) == 0  # re-running repairs both, retraining nothing
    assert json.loads((ae / "config.json").read_text())["model_id"] == ae.name
    assert json.loads(broken.read_text())["metric"] == "mig"
    assert training_files(store) == before
    assert (load_results(store)["status"] == "finished").all()


# --- any encoder ---------------------------------------------------------------------------------
class _Means(torch.nn.Module):
    """The encoder of a trained objective, returning the posterior means."""

    def __init__(self, objective: torch.nn.Module):
        super().__init__()
        self.objective = objective

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.objective.posterior(x)[0]


def _vae_encoder(store: Path) -> torch.nn.Module:
    from disentangle_bench.training import TrainedModel

    vae = next(p for p in (store / "models").iterdir() if p.name.startswith("vae-"))
    return _Means(TrainedModel.load(vae / "checkpoint").model).eval()


def _numpy(module: torch.nn.Module):
    def represent(observations: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.from_numpy(np.asarray(observations, np.float32))).numpy()

    return represent


def test_an_exported_encoder_scores_exactly_like_the_same_encoder_in_process(store, tmp_path):
    encoder = _vae_encoder(store)
    example = torch.zeros(4, 1, 16, 16)
    program = torch.export.export(encoder, (example,),
                                  dynamic_shapes=({0: torch.export.Dim("batch")},))
    path = tmp_path / "encoder.pt2"
    torch.export.save(program, str(path))

    assert main(["evaluate", str(store), "--encoder", str(path), "--dataset", "tiny",
                 "--name", "exported", "--quiet", "--no-report"]) == 0
    in_process = disentangle_bench.evaluate_representation(
        _numpy(encoder), "tiny", name="in_process", metrics=["mig", "sap"], preset="smoke")
    stored = load_results(store)
    exported = stored[stored["label"] == "exported [encoder encoder.pt2]"]
    assert len(exported) == 1 and exported["status"].iloc[0] == "finished"
    columns = [c for c in in_process.columns if c.startswith(("mig.", "sap."))]
    assert len(columns) >= 3
    for column in columns:
        assert exported[column].iloc[0] == in_process[column].iloc[0], column
    # the entry is in the table beside the trained models, labelled by its source
    summary = pd.read_csv(store / "summary.csv")
    assert "exported [encoder encoder.pt2]" in list(summary["label"])
    assert len(summary) == 3


def test_represent_takes_any_python_function(store, tmp_path, monkeypatch, capsys):
    package = tmp_path / "plugin_codes"
    package.mkdir()
    (package / "__init__.py").write_text(
        "import numpy as np\n\n"
        "def first_pixels(observations):\n"
        "    return np.asarray(observations, np.float64).reshape(len(observations), -1)[:, :3]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["evaluate", str(store), "--represent", "plugin_codes:first_pixels",
                 "--dataset", "tiny", "--quiet"]) == 0  # with the report: no decoder, no seed
    results = load_results(store)
    row = results[results["source"] == "represent plugin_codes:first_pixels"]
    assert len(row) == 1 and row["status"].iloc[0] == "finished"
    assert row["label"].iloc[0] == "first_pixels [represent plugin_codes:first_pixels]"
    assert np.isfinite(row["mig.discrete_mig"].iloc[0])
    report = (store / "report.md").read_text()
    assert "first_pixels [represent plugin_codes:first_pixels]" in report
    # evaluate DIR never imports a module a results file names (loading a file never
    # executes code from it): more evaluation seeds for the entry fail with one line that
    # says how to score it, and the module is not imported
    sys.modules.pop("plugin_codes", None)
    capsys.readouterr()
    assert main(["evaluate", str(store), "--eval-seeds", "0", "1", "--quiet",
                 "--no-report"]) == 1
    err = capsys.readouterr().err
    assert "evaluate DIR does not import" in err
    assert "--represent plugin_codes:first_pixels" in err
    assert "plugin_codes" not in sys.modules


def test_an_encoder_a_metric_fails_on_exits_1_not_as_a_usage_error(store, tmp_path,
                                                                  monkeypatch, capsys):
    (tmp_path / "nan_codes.py").write_text(
        "import numpy as np\n\n"
        "def represent(observations):\n"
        "    return np.full((len(observations), 3), np.nan)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["evaluate", str(store), "--represent", "nan_codes:represent", "--dataset",
                 "tiny", "--quiet", "--no-report"]) == 1
    err = _one_error_line(capsys.readouterr().err)
    assert err.startswith("FAILED ") and "NaN" in err


def test_an_external_entry_says_what_it_is_for_the_claims(store):
    from disentangle_bench.report.claims import finished_runs
    from disentangle_bench.sweep import model_means

    encoder = _vae_encoder(store)
    rows = disentangle_bench.evaluate_representation(
        _numpy(encoder), "tiny", out=store, name="my_bvae", model="beta_vae",
        hparams={"beta": 4.0})
    assert list(rows["label"]) == ["my_bvae [represent test_sweep_evaluate:_numpy.<locals>."
                                   "represent]"]
    runs = finished_runs(model_means(load_results(store)))
    mine = runs[runs["run_id"] == rows["run_id"].iloc[0]].iloc[0]
    assert mine["claim_model"] == "beta_vae" and mine["hparams.beta"] == 4.0
    assert mine["dataset"] == "tiny" and np.isfinite(mine["mig.discrete_mig"])


# --- safe loading --------------------------------------------------------------------------------
def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_a_pickle_bearing_encoder_file_is_refused_with_one_line(store, tmp_path, capsys):
    path = tmp_path / "module.pt"
    torch.save(torch.nn.Linear(256, 3), path)  # a whole module: loading it runs pickled code
    capsys.readouterr()
    code = main(["evaluate", str(store), "--encoder", str(path), "--dataset", "tiny"])
    line = _one_error_line(capsys.readouterr().err)
    assert code == 2 and line.startswith(f"error: refusing to load {path}")
    assert "a torch.save file" in line and "torch.export.save" in line


def test_an_export_archive_of_any_file_name_loads_without_a_word_on_stderr(store, tmp_path,
                                                                           capfd):
    from disentangle_bench.sweep.evaluate import export_archive_problem, load_exported_encoder

    encoder = _vae_encoder(store)
    path = tmp_path / "encoder.bin"  # torch 2.14 logs a warning for a path not ending in .pt2
    torch.export.save(torch.export.export(encoder, (torch.zeros(2, 1, 16, 16),)), str(path))
    capfd.readouterr()
    assert export_archive_problem(path) is None
    observations = np.random.default_rng(0).random((2, 1, 16, 16), dtype=np.float32)
    codes = load_exported_encoder(path)(observations)
    np.testing.assert_array_equal(codes, _numpy(encoder)(observations))
    assert capfd.readouterr().err == ""


def test_a_zip_without_an_exported_program_is_refused_before_torch_reads_it(tmp_path,
                                                                            monkeypatch):
    from disentangle_bench.sweep import evaluate
    from disentangle_bench.training import UnsafeFileError

    def never(*args, **kwargs):
        raise AssertionError("torch.export.load was called")

    monkeypatch.setattr(torch.export, "load", never)
    path = tmp_path / "archive.pt2"
    with zipfile.ZipFile(path, "w") as archive:  # pt2's format record, but no program
        archive.writestr("archive/archive_format", "pt2")
        archive.writestr("archive/data/weights/weight_0", b"0")
    with pytest.raises(UnsafeFileError, match="not a torch.export archive \\(a zip without"):
        evaluate.load_exported_encoder(path)
    path.write_text("not a zip")
    with pytest.raises(UnsafeFileError, match="not a torch.export archive"):
        evaluate.load_exported_encoder(path)


def test_an_export_archive_with_pickled_objects_is_refused(store, tmp_path, capsys):
    encoder = _vae_encoder(store)
    path = tmp_path / "encoder.pt2"
    torch.export.save(torch.export.export(encoder, (torch.zeros(2, 1, 16, 16),)), str(path))
    with zipfile.ZipFile(path, "a") as archive:
        root = archive.namelist()[0].split("/")[0]
        archive.writestr(f"{root}/data/constants/opaque_obj_0", b"\x80\x04N.")
    capsys.readouterr()
    assert main(["evaluate", str(store), "--encoder", str(path), "--dataset", "tiny"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "pickled Python objects" in line and str(path) in line


def test_a_checkpoint_that_needs_pickled_code_is_refused(store, capsys):
    vae = next(p for p in (store / "models").iterdir() if p.name.startswith("vae-"))
    model_file = vae / "checkpoint" / "model.pt"
    torch.save({"format": 1, "model": torch.nn.Linear(2, 2)}, model_file)
    capsys.readouterr()
    code = main(["evaluate", str(store), "--eval-seeds", "0", "1", "--quiet", "--no-report"])
    captured = capsys.readouterr()
    assert code == 1
    assert f"refusing to load {model_file}: it needs pickled code" in captured.err
    failed = load_results(store)
    failed = failed[(failed["run_id"] == vae.name) & (failed["eval_seed"] == 1)]
    assert failed["status"].iloc[0] == "failed"
    assert "UnsafeFileError: refusing to load" in failed["error"].iloc[0]


# --- device ids ---------------------------------------------------------------------------------
def test_a_cuda_and_a_cpu_sweep_of_one_config_get_different_model_ids(monkeypatch):
    from disentangle_bench.cli import _plan

    args = [*SWEEP, "--precision", "fp32"]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    cpu = _plan(args)[1]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    cuda = _plan(args)[1]
    assert [s.train["device"] for s in cpu] == ["cpu", "cpu"]
    assert [s.train["device"] for s in cuda] == ["cuda", "cuda"]
    assert not {s.model_id for s in cpu} & {s.model_id for s in cuda}
