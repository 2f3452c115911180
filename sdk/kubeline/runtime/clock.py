"""When this step process started and entered the runtime (imported first by the package)."""

from __future__ import annotations

import os
import time

#: Epoch seconds at which ``kubeline.runtime`` began importing.
RUNTIME_ENTERED = time.time()


def process_start_time() -> float | None:
    """Epoch seconds at which this process started (``/proc/self/stat``), or None off Linux."""
    try:
        with open("/proc/self/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        ticks = int(fields[19])  # field 22, starttime: clock ticks after boot
        since_boot = time.clock_gettime(time.CLOCK_BOOTTIME)
        return time.time() - (since_boot - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):
        return None
