"""Progress for a terminal and for a log: :func:`progress_bar` is a tqdm bar when stderr is a
terminal (or a notebook), and a :class:`LineProgress` otherwise, which writes whole lines, never
bar frames (``\\r``), so a redirected run (CI, ``nohup``, ``> log 2>&1``) stays short.

A :class:`LineProgress` writes a line when it reaches its total (or is closed before it), and,
for a bar of ``every`` percent steps (the training steps of one model), at each ``every`` % mark
that comes at least ``min_seconds`` after its previous line: at most ``100 / every`` lines a bar,
and one for a run that ends within ``min_seconds``. A bar without ``every`` (one update per model,
as the sweep's) writes a line at every update.
"""

from __future__ import annotations

import sys
import time
from typing import Any

#: Percent steps of a long bar's intermediate lines, and the least time between two lines.
EVERY_PERCENT = 25
MIN_SECONDS = 30.0


def interactive() -> bool:
    """Whether stderr is a terminal or a notebook (where tqdm draws bars in place)."""
    isatty = getattr(sys.stderr, "isatty", None)
    if isatty is not None and isatty():
        return True
    ipython = sys.modules.get("IPython")
    shell = getattr(ipython, "get_ipython", lambda: None)() if ipython is not None else None
    return shell is not None and hasattr(shell, "kernel")


def progress_bar(*, total: int, desc: str, unit: str, disable: bool = False, initial: int = 0,
                 every: int | None = None, **tqdm_options: Any) -> Any:
    """A progress bar with tqdm's ``update`` / ``set_postfix`` / ``set_postfix_str`` /
    ``refresh`` / ``close``: ``tqdm.auto.tqdm`` (with ``tqdm_options``) when
    :func:`interactive`, else a :class:`LineProgress` (``every``: percent steps of its
    intermediate lines; None: a line per update)."""
    if interactive():
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit, disable=disable, initial=initial,
                    **tqdm_options)
    return LineProgress(total=total, desc=desc, unit=unit, disable=disable, initial=initial,
                        every=every)


class LineProgress:
    """Progress as whole lines on stderr (see the module docstring)."""

    def __init__(self, *, total: int, desc: str, unit: str, disable: bool = False,
                 initial: int = 0, every: int | None = None,
                 min_seconds: float = MIN_SECONDS) -> None:
        self.total, self.desc, self.unit, self.disable = int(total), desc, unit, disable
        self.n, self.every, self.min_seconds = int(initial), every, min_seconds
        self.postfix = ""
        self.started = self.last_line = time.monotonic()
        self.written: int | None = None  # the count the last line showed
        self.closed = False

    def update(self, n: int = 1) -> None:
        """Advance by ``n``; write a line when one is due."""
        before, self.n = self.n, self.n + int(n)
        if self._due(before):
            self._write()

    def set_postfix(self, ordered_dict: dict | None = None, refresh: bool = True,
                    **values: Any) -> None:
        """Values shown after the count (``key=value``, sorted by key, as tqdm)."""
        items = {**(ordered_dict or {}), **dict(sorted(values.items()))}
        self.postfix = ", ".join(f"{key}={value}" for key, value in items.items())

    def set_postfix_str(self, text: str = "", refresh: bool = True) -> None:
        """Text shown after the count."""
        self.postfix = str(text)

    def refresh(self) -> None:
        """Nothing to redraw: lines are written when due."""

    def close(self) -> None:
        """Write the last state if it was not written (a bar stopped early, or all cached)."""
        if not self.closed and self.written != self.n:
            self._write()
        self.closed = True

    def _due(self, before: int) -> bool:
        """A line after an update from ``before``: at the total, at every update without
        ``every``, else at a new ``every`` % mark ``min_seconds`` after the last line."""
        if self.n >= self.total or self.every is None:
            return True
        mark = int(100 * self.n / self.total) // self.every
        crossed = mark != int(100 * before / self.total) // self.every
        return crossed and time.monotonic() - self.last_line >= self.min_seconds

    def _write(self) -> None:
        if self.disable or self.closed:
            return
        now = time.monotonic()
        percent = f" ({100 * self.n / self.total:.0f} %)" if self.total else ""
        text = (f"{self.desc}: {self.n}/{self.total} {self.unit}s{percent} in "
                f"{_duration(now - self.started)}" + (f", {self.postfix}" if self.postfix else ""))
        print(text, file=sys.stderr, flush=True)
        self.written, self.last_line = self.n, now


def _duration(seconds: float) -> str:
    """``42 s`` or ``3 min 05 s``."""
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"
