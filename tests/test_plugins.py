"""A user's plugin package, written here into a temporary directory, adds an objective and a
metric without touching the package: the CLI trains and scores it (in spawned workers too),
records the plugin's version in the run id, and refuses broken plugins with one line."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from processes import run

from disentangle_bench.data import get_dataset, register_dataset, unregister_dataset
from disentangle_bench.data.tiny import TinySquares
from disentangle_bench.models import (
    Objective,
    get_model,
    list_models,
    register_model,
    unregister_model,
)

ROOT = Path(__file__).resolve().parents[1]

PLUGIN = '''
"""A plugin: an L1-penalised VAE and the mean absolute code as a metric."""
import numpy as np

from disentangle_bench.metrics import MetricSpec, integer, register_metric
from disentangle_bench.models import Objective, register_model

__version__ = "{version}"


class L1VAE(Objective):
    name = "l1_vae"
    defaults = {{"beta": 1.0, "l1": 0.5}}

    def regulariser(self, kl, mean, logvar, z, step):
        l1 = mean.abs().sum(1).mean()
        return self.beta * kl + self.l1 * l1, {{"l1": l1.detach()}}


def mean_abs_code(inputs, protocol):
    draw = inputs.samples("train", protocol["num_train"], protocol["seed"])
    return {{"mean_abs": float(np.abs(draw["codes"]).mean())}}


register_model("l1_vae", L1VAE)
register_metric(MetricSpec(
    name="code_l1", compute=mean_abs_code, kind="samples", display_name="mean |code|",
    protocol={{"num_train": 1000}}, presets={{"smoke-sweep": {{"num_train": 64}}}},
    rules={{"num_train": integer(2)}}))
'''


def _write_plugin(directory: Path, version: str = "0.3", name: str = "mybench_plugin") -> None:
    (directory / f"{name}.py").write_text(PLUGIN.format(version=version))


def _cli(args: list[str], pythonpath: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(pythonpath), str(ROOT)]),
           "OMP_NUM_THREADS": "1"}
    return run([sys.executable, str(ROOT / "run_benchmark.py"), *args], cwd=cwd, env=env)


SWEEP = ["--plugin", "mybench_plugin", "--models", "l1_vae", "--preset", "smoke", "--dataset",
         "tiny", "--architecture", "mlp", "--steps", "5", "--metrics", "mig", "code_l1",
         "--quiet", "--no-report"]


def test_plugin_objective_and_metric_train_and_score_in_worker_processes(tmp_path):
    _write_plugin(tmp_path)
    out = tmp_path / "results"
    # --jobs 2: the run executes in a freshly spawned worker, which must load the plugin itself
    done = _cli([*SWEEP, "--out", str(out), "--jobs", "2"], tmp_path, tmp_path)
    assert done.returncode == 0, done.stderr
    summary = (out / "summary.md").read_text()
    assert "code_l1.mean_abs" in summary and "l1_vae" in summary
    (config,) = out.glob("models/*/config.json")
    record = json.loads(config.read_text())
    assert record["plugins"] == {"mybench_plugin": {"version": "0.3"}}
    evaluation = json.loads((out / "sweep.json").read_text())["evaluation"]
    assert evaluation["protocol"]["code_l1"] == {"num_train": 64}  # the entry's smoke size
    assert evaluation["plugins"] == {"mybench_plugin": {"version": "0.3"}}
    # a results file never decides what code is imported: the report asks for the plugin
    refused = _cli(["report", str(out)], tmp_path, tmp_path)
    assert refused.returncode == 2
    assert "not loaded: add --plugin mybench_plugin" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    (scored,) = config.parent.glob("evals/code_l1-*.json")
    assert json.loads(scored.read_text())["result"]["scores"]["mean_abs"] > 0
    log = (config.parent / "train_log.csv").read_text()
    assert "l1" in log.splitlines()[0].split(",")  # the objective's extra reached the log


def test_a_changed_plugin_version_gives_new_run_ids():
    from disentangle_bench.sweep import RunSpec

    base = RunSpec(train={"model": "vae", "seed": 0, "dataset": "tiny"}, metrics=("mig",),
                   protocol={"mig": {"num_train": 10}})
    v3 = RunSpec(**{**base.__dict__, "plugins": {"p": {"version": "0.3"}}})
    v4 = RunSpec(**{**base.__dict__, "plugins": {"p": {"version": "0.4"}}})
    assert len({base.run_id, v3.run_id, v4.run_id}) == 3
    assert RunSpec.from_dict(v3.to_dict()).run_id == v3.run_id
    assert "plugins" not in base.identity()  # ids of plugin-free runs are unchanged
    # evaluations too: a changed plugin (it may replace a metric) is a new evaluation
    ids = {spec.evaluations()[0].eval_id for spec in (base, v3, v4)}
    assert len(ids) == 3 and "plugins" not in base.evaluations()[0].identity()


def test_entry_point_plugins_load_without_the_option(tmp_path):
    _write_plugin(tmp_path)
    dist = tmp_path / "mybench_plugin-0.3.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mybench-plugin\nVersion: 0.3\n")
    (dist / "entry_points.txt").write_text(
        "[disentangle_bench.plugins]\nmybench = mybench_plugin\n")
    args = [a for a in SWEEP if a not in ("--plugin", "mybench_plugin")]
    done = _cli([*args, "--dry-run"], tmp_path, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "code_l1" in done.stdout and "l1_vae" in done.stdout


@pytest.mark.parametrize("source, message", [
    (None, "plugin 'missing_plugin' failed to load: ModuleNotFoundError"),
    ("from disentangle_bench.models import register_model\n"
     "from disentangle_bench.models.vae import VAE\nregister_model('vae', VAE)\n",
     "model 'vae' is already registered"),
    ("from disentangle_bench.metrics import MetricSpec, register_metric\n"
     "register_metric(MetricSpec(name='mig', compute=print, kind='samples', "
     "display_name='x', protocol={}))\n", "metric 'mig' is already registered"),
])
def test_broken_or_clashing_plugins_are_one_line_usage_errors(tmp_path, source, message):
    if source is not None:
        (tmp_path / "missing_plugin.py").write_text(source)
    done = _cli(["--plugin", "missing_plugin", "--dataset", "tiny", "--dry-run"], tmp_path,
                tmp_path)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


class _Shift(Objective):
    name = "shift_vae"
    defaults = {"beta": 1.0}

    def regulariser(self, kl, mean, logvar, z, step):
        return self.beta * kl, {}


class _Renamed(TinySquares):
    name = "tiny-copy"


def test_register_model_and_dataset_in_process():
    register_model("shift_vae", _Shift)
    register_dataset("tiny-copy", _Renamed)
    try:
        assert "shift_vae" in list_models()
        model = get_model("shift_vae", observation_shape=(1, 16, 16), architecture="mlp",
                          latent_dim=3)
        assert isinstance(model, _Shift)
        assert get_dataset("tiny-copy").name == "tiny-copy"
        with pytest.raises(ValueError, match="model 'shift_vae' is already registered"):
            register_model("shift_vae", _Shift)
        with pytest.raises(ValueError, match="dataset 'tiny' is already registered"):
            register_dataset("tiny", _Renamed)
        with pytest.raises(TypeError, match="Objective subclass"):
            register_model("not_a_model", torch.nn.Linear)
    finally:
        unregister_model("shift_vae")
        unregister_dataset("tiny-copy")
    assert "shift_vae" not in list_models()


def test_plugin_record_names_version_or_source_hash(tmp_path, monkeypatch):
    from disentangle_bench import plugins

    (tmp_path / "unversioned_plugin.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        plugins.load_plugins(["unversioned_plugin"])
        first = plugins.plugin_record()["unversioned_plugin"]
        assert set(first) == {"source_sha256"}
        plugins._forget("unversioned_plugin")
        (tmp_path / "unversioned_plugin.py").write_text("X = 2\n")
        plugins.load_plugins(["unversioned_plugin"])
        assert plugins.plugin_record()["unversioned_plugin"] != first
        with pytest.raises(plugins.PluginError, match="planned with"):
            plugins.ensure_plugins({"unversioned_plugin": first})
    finally:
        plugins._forget("unversioned_plugin")


def test_the_training_loop_names_no_model():
    tree = ast.parse((ROOT / "disentangle_bench/training/loop.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.ImportFrom):
            names.update([node.module or "", *(alias.name for alias in node.names)])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.add(node.value if len(node.value) < 40 else "")  # keys, not docstrings
    text = " ".join(names).lower()
    assert "discriminator" not in text and "factor_vae" not in text


def test_plugin_options_are_taken_from_anywhere_in_the_command():
    from disentangle_bench.cli import UsageError, _take_plugins

    assert _take_plugins(["report", "DIR", "--plugin", "a", "--plugin=b.c:f"]) == (
        ["a", "b.c:f"], ["report", "DIR"])
    with pytest.raises(UsageError, match="--plugin expects a module name"):
        _take_plugins(["--plugin", "--dry-run"])
