"""How many torch threads a training run should use on this machine right now.

Intra-op threads meet at a barrier after every parallel operation; when another process holds a
core, the threads wait for the descheduled one, and small operations can slow down by orders of
magnitude (measured in benchmarks/shared_cores.py). So the default thread count is the number of
cores that are actually free, not the number of cores.
"""

from __future__ import annotations

import math
import os


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, e.g. under taskset or a container)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def free_cores(cores: int | None = None, load: float | None = None) -> int:
    """``max(1, cores - floor(load))``: the usable cores minus the 1-minute load average (the
    number of runnable processes, ours included, averaged). ``cores``/``load`` default to this
    machine's; without a load average (Windows) all cores count as free."""
    cores = usable_cores() if cores is None else int(cores)
    if load is None:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):
            load = 0.0
    return max(1, min(cores, cores - math.floor(load)))
