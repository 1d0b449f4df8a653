"""Every example in docs/extending.md runs, in order, in a fresh directory: ``# file: PATH``
blocks are written, other Python blocks executed, each shell line run (``pip install`` into a
temporary target, not this environment)."""

import os
import re
import sys
from pathlib import Path

from processes import run

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "extending.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def blocks() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(DOC.read_text())]


def test_the_doc_has_every_kind_of_example():
    kinds = [kind for kind, _ in blocks()]
    files = [body.splitlines()[0] for _, body in blocks() if body.startswith("# file: ")]
    assert {"python", "bash", "toml"} <= set(kinds)
    assert files == ["# file: my_objectives.py", "# file: my_metrics.py",
                     "# file: my_datasets.py", "# file: pyproject.toml"]


def test_every_example_in_extending_md_runs(tmp_path):
    site = tmp_path / "site"
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(site), str(tmp_path), str(ROOT)])}
    (tmp_path / "run_benchmark.py").symlink_to(ROOT / "run_benchmark.py")
    ran = 0
    for kind, body in blocks():
        first = body.splitlines()[0]
        if first.startswith("# file: "):
            path = tmp_path / first.removeprefix("# file: ").strip()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body)
            continue
        if kind == "python":
            commands = [[sys.executable, "-c", body]]
        elif kind == "bash":
            commands = [["bash", "-c", _local_pip(line, site)] for line in body.splitlines()
                        if line.strip() and not line.startswith("#")]
        else:
            raise AssertionError(f"a {kind} block without '# file:' cannot be run")
        for command in commands:
            done = run(command, cwd=tmp_path, env=env)
            assert done.returncode == 0, f"{command[-1][:200]}\n{done.stdout}\n{done.stderr}"
            ran += 1
    assert ran >= 9
    # the walk ended where the doc says: a report, the new metric's column, the plugin's record
    assert (tmp_path / "results/l1/report.html").exists()
    assert "code_redundancy.redundancy" in (tmp_path / "results/l1-redundancy/summary.md"
                                            ).read_text()
    assert list(site.glob("disentangle_l1-0.1.0.dist-info/entry_points.txt"))


def _local_pip(line: str, site: Path) -> str:
    return re.sub(r"^pip install ", f"{sys.executable} -m pip install -q --no-deps "
                  f"--no-build-isolation --no-index --target {site} ", line)
