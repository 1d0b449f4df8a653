"""The package imports only what pyproject.toml declares (its dependencies or an extra)."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _declared() -> set[str]:
    """Distribution names in [project] dependencies and optional-dependencies (with the names
    in an extra's brackets, e.g. dask[distributed] -> dask, distributed)."""
    text = (ROOT / "pyproject.toml").read_text()
    dependencies = re.search(r"\ndependencies = \[(.*?)\n\]", text, re.S).group(1)
    extras = text.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    requirements = [line.split("=", 1)[1] for line in extras.splitlines() if "=" in line]
    names = set()
    for requirement in re.findall(r'"([A-Za-z0-9_.\-]+(?:\[[^\]]*\])?)[^"]*"',
                                  dependencies + "".join(requirements)):
        base, _, bracket = requirement.partition("[")
        names |= {base, *(n for n in bracket.rstrip("]").split(",") if n)}
    return {_normal(n) for n in names}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_top_level_modules() -> dict[str, str]:
    """Third-party top-level module -> a file of the package that imports it."""
    found = {}
    for path in sorted((ROOT / "disentangle_bench").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top not in sys.stdlib_module_names and top != "disentangle_bench":
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def test_every_third_party_import_of_the_package_is_declared():
    declared = _declared()
    assert {"torch", "scikit-learn", "joblib", "threadpoolctl"} <= declared
    distributions = packages_distributions()
    undeclared = {module: where for module, where in _imported_top_level_modules().items()
                  if not {_normal(d) for d in distributions.get(module, [module])} & declared}
    assert undeclared == {}, f"imported but not in pyproject.toml: {undeclared}"


def _lowest_versions_script():
    """``.ci/lowest_versions.py``, which CI runs to pin each dependency at its lower bound."""
    spec = importlib.util.spec_from_file_location("lowest_versions",
                                                  ROOT / ".ci" / "lowest_versions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ci_pins_every_dependency_at_its_lower_bound():
    """CI's lowest environment installs each dependency at its '>=' bound, torch's being the
    oldest release CI installs (2.13: older ones are multi-GB CUDA downloads)."""
    pins = _lowest_versions_script().lowest_versions(ROOT / "pyproject.toml")
    text = (ROOT / "pyproject.toml").read_text()
    required = re.search(r"\ndependencies = \[(.*?)\n\]", text, re.S).group(1)
    names = {_normal(n) for n in re.findall(r'^\s*"([A-Za-z0-9_.\-]+)', required, re.M)}
    assert len(pins) == len(names) >= 10
    assert {_normal(pin.split("==")[0]) for pin in pins} == names
    assert "torch==2.13" in pins and "scikit-learn==1.9" in pins


def test_a_dependency_without_a_single_lower_bound_stops_ci(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = [\n    "numpy>=1.24",\n    "scipy<2",\n]\n')
    with pytest.raises(SystemExit, match="scipy<2"):
        _lowest_versions_script().lowest_versions(tmp_path / "pyproject.toml")
