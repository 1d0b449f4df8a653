"""Print ``name==version`` for every dependency of pyproject.toml at the lowest version its
``>=`` bound allows, for CI's lowest-versions environment (pip cannot resolve to the lowest
versions itself). A dependency without a ``>=`` bound is an error: its floor could not be
tested."""

from __future__ import annotations

import re
import sys
from pathlib import Path

BOUND = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*>=\s*([0-9][0-9.]*)")
#: ``dependencies = [...]`` of ``[project]`` (read as text: ``tomllib`` is Python 3.11+).
DEPENDENCIES = re.compile(r"^dependencies\s*=\s*\[(.*?)^\]", re.S | re.M)


def dependencies(pyproject: Path) -> list[str]:
    """The requirement strings of ``[project].dependencies``, comments left out."""
    block = DEPENDENCIES.search(pyproject.read_text())
    if block is None:
        raise SystemExit(f"no dependencies = [...] in {pyproject}")
    lines = (line.split("#", 1)[0] for line in block.group(1).splitlines())
    return re.findall(r'"([^"]+)"', "\n".join(lines))


def lowest_versions(pyproject: Path) -> list[str]:
    """``name==floor`` for each ``name>=floor`` in ``[project].dependencies``."""
    pins = []
    for dependency in dependencies(pyproject):
        match = BOUND.fullmatch(dependency.strip())
        if match is None:
            raise SystemExit(f"no single '>=' lower bound to pin in {dependency!r}")
        pins.append(f"{match[1]}=={match[2]}")
    return pins


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]
    print("\n".join(lowest_versions(root / "pyproject.toml")))
