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
