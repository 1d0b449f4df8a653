"""Code in the docs runs as written on a fresh clone (no dataset files, nothing defined
beforehand)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _python_block_after(path: Path, heading: str) -> str:
    text = path.read_text()
    section = text[text.index(heading):]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


def test_models_md_training_snippet_runs_on_a_fresh_clone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISENTANGLE_BENCH_DATA", str(tmp_path / "no-data-files-here"))
    namespace: dict = {}
    exec(compile(_python_block_after(DOCS / "models.md", "## Training"), "models.md", "exec"),
         namespace)
    codes = namespace["codes"]
    assert codes.shape == (100, namespace["config"].latent_dim) and codes.dtype == np.float32
    assert (tmp_path / "runs" / "bvae").is_dir()


def test_claims_md_states_the_cpu_presets_share_of_the_papers_steps():
    from disentangle_bench.sweep.presets import get_preset

    share = 100 * get_preset("cpu").steps / get_preset("paper").steps
    text = " ".join((DOCS / "claims.md").read_text().split())
    assert f"the default `cpu` preset trains {share:.2g} % of the paper's steps" in text


def test_claims_verification_cites_public_sources_not_internal_ids():
    text = (DOCS / "claims-verification.md").read_text()
    assert not re.search(r"\bid \d{6,}|read_file|stored (index|source)|corpus", text), \
        re.search(r".{60}(\bid \d{6,}|read_file|stored (index|source)|corpus).{20}", text)
    for public in ("https://github.com/cianeastwood/qedr", "arXiv:1811.12359v4 §5.1",
                   "OpenReview `Sy2fzU9gl`", "https://github.com/YannDubs/disentangling-vae/issues/64"):
        assert public in text
