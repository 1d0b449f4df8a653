"""Ctrl-C that stops training cleanly: the first SIGINT asks, the second insists.

Below every layer (like ``atomic``) and free of torch: the training loop checks the flag, the
sweep's executors install the handlers and forward the request to their workers.

Inside :func:`graceful_interrupts` (installed by the sweep's in-process executor and by each pool
worker) the first SIGINT does not raise wherever the interpreter happens to be: while a training
loop runs (:func:`training_section`) it only sets a flag, and the loop, at the end of the current
step, writes a checkpoint and raises ``KeyboardInterrupt`` — an exception raised in the middle of
an optimizer step would leave a half-updated model that no checkpoint may hold. Outside a training
loop (evaluation, start-up) the first SIGINT raises ``KeyboardInterrupt`` at once, as usual. A
second SIGINT always raises at once. :func:`request_stop` sets the same flag without a signal
(a pool's parent forwards it to its workers as SIGUSR1, which never escalates).

After a stop request the process starts no new run (:func:`check_not_stopped`).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_state = {"stop": False, "training": 0, "sigints": 0}
#: The signal a pool's parent sends its workers to ask them to stop (POSIX only).
STOP_SIGNAL = getattr(signal, "SIGUSR1", None)


def stop_requested() -> bool:
    """True once a stop was asked for (first Ctrl-C or :func:`request_stop`)."""
    return _state["stop"]


def request_stop() -> None:
    """Ask the running training loop to checkpoint and stop after its current step."""
    _state["stop"] = True


def reset() -> None:
    """Forget a stop request (tests; a new sweep in the same process)."""
    _state.update(stop=False, sigints=0)


def check_not_stopped() -> None:
    """Raise ``KeyboardInterrupt`` if a stop was requested: no new run starts after Ctrl-C."""
    if _state["stop"]:
        raise KeyboardInterrupt


@contextmanager
def training_section() -> Iterator[None]:
    """Mark a training loop: inside it the first SIGINT only requests a stop (see above)."""
    _state["training"] += 1
    try:
        yield
    finally:
        _state["training"] -= 1


def _on_sigint(signum, frame) -> None:
    _state["sigints"] += 1
    _state["stop"] = True
    if _state["sigints"] > 1 or not _state["training"]:
        raise KeyboardInterrupt


def _on_stop_signal(signum, frame) -> None:
    _state["stop"] = True


@contextmanager
def graceful_interrupts() -> Iterator[None]:
    """Install the handlers described in the module docstring (main thread only; elsewhere a
    no-op), restoring the previous ones on exit."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    reset()
    previous = {signal.SIGINT: signal.signal(signal.SIGINT, _on_sigint)}
    if STOP_SIGNAL is not None:
        previous[STOP_SIGNAL] = signal.signal(STOP_SIGNAL, _on_stop_signal)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def install_for_worker() -> None:
    """Install the handlers for the life of a pool worker process."""
    signal.signal(signal.SIGINT, _on_sigint)
    if STOP_SIGNAL is not None:
        signal.signal(STOP_SIGNAL, _on_stop_signal)
