"""Fixtures shared by the test files."""

from __future__ import annotations

import pytest


@pytest.fixture
def one_thread():
    """torch on one thread for the test, then back: tiny networks gain nothing from threads,
    and on shared CPUs OpenMP threads can stall. Files of torch tests use it for every test
    (``pytestmark = pytest.mark.usefixtures("one_thread")``)."""
    import torch  # here, so that test files without torch do not pay for importing it

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """``(root, ReportPaths)`` of the report written from ``test_sweep_store.make_store``'s
    hand-written store (no training needed)."""
    from test_sweep_store import make_store

    from disentangle_bench.report import write_report

    root = tmp_path_factory.mktemp("store")
    make_store(root)
    return root, write_report(root)
