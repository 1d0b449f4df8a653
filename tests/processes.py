"""Child processes in tests: each starts its own process group (``start_new_session``) and the
whole group is killed when the test is done with it, pass or fail, so no worker, pool helper or
resource tracker outlives a test. Waits are on an event (a process exits) or a file (a
checkpoint appears), bounded only by :data:`HANG_SECONDS`, a deadline no loaded machine reaches:
it only turns a hang into a failure.

The group helpers read ``/proc`` (Linux); tests that need them skip elsewhere.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

#: Bounds a wait that only a hang could reach (15 minutes); never a measure of speed.
HANG_SECONDS = 900.0
#: How often a wait looks at its condition.
POLL_SECONDS = 0.05
PROC = Path("/proc")
needs_proc = pytest.mark.skipif(not (PROC / "self" / "stat").exists(),
                                reason="process groups are read from /proc (Linux)")


def run(command: list[str], *, timeout: float = HANG_SECONDS,
        **options) -> subprocess.CompletedProcess:
    """``subprocess.run(command, capture_output=True, text=True)`` in a new process group, which
    is killed afterwards whatever happened; a run past ``timeout`` fails the test with its
    output."""
    with started(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                 **options) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(process.pid)
            stdout, stderr = process.communicate()
            pytest.fail(f"still running after {timeout:.0f} s: {command}\n"
                        f"{stdout[-2000:]}\n{stderr[-3000:]}")
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@contextmanager
def started(command: list[str], **options) -> Iterator[subprocess.Popen]:
    """``subprocess.Popen`` in a new process group; on leaving, the group is killed (SIGKILL)
    and the process reaped."""
    process = subprocess.Popen(command, start_new_session=True, **options)
    try:
        yield process
    finally:
        kill_group(process.pid)
        if process.poll() is None:
            process.wait()


def default_sigint() -> None:
    """``preexec_fn`` for a child that a test sends SIGINT: SIGINT's default action, whatever
    this process inherited (a shell starts background jobs with SIGINT ignored, and a Python
    started so installs no Ctrl-C handler: the child would never see the test's SIGINT)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def kill_group(pgid: int) -> None:
    """SIGKILL every process of the group ``pgid`` (none left is fine)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def wait_until(ready: Callable[[], bool], what: str, process: subprocess.Popen | None = None,
               timeout: float = HANG_SECONDS) -> None:
    """Poll ``ready`` until it holds; fail if ``process`` exits first or after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process is not None and process.poll() is not None:
            pytest.fail(f"the process exited ({process.returncode}) before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} after {timeout:.0f} s: the process hangs")
        time.sleep(POLL_SECONDS)


def wait_for_exit(process: subprocess.Popen, timeout: float = HANG_SECONDS) -> int:
    """``process.wait()``, failing the test if it still runs after ``timeout`` (a hang)."""
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {timeout:.0f} s: {process.args}")


def group_members(pgid: int) -> dict[int, str]:
    """The live (not zombie) processes of group ``pgid``: pid -> command line."""
    members = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # it exited meanwhile
            continue
        state, _ppid, group = stat[stat.rindex(")") + 2:].split()[:3]
        if int(group) == pgid and state not in ("Z", "X"):
            members[int(entry.name)] = command.strip()
    return members


def alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (a zombie is not)."""
    running = set()
    for pid in pids:
        try:
            stat = (PROC / str(pid) / "stat").read_text()
        except OSError:
            continue
        if stat[stat.rindex(")") + 2:].split()[0] not in ("Z", "X"):
            running.add(pid)
    return running


def listed(pid: int) -> bool:
    """Whether ``pid`` is in the process table at all, as a zombie too (not yet reaped)."""
    return (PROC / str(pid)).exists()
