"""Steps the SIGTERM tests run in a real step process (``kubeline.runtime.termination``)."""

from __future__ import annotations

import threading
import time

from kubeline import pipeline, step

ENTERED = "step function entered"


@step(enable_cache=False)
def waits() -> int:
    print(ENTERED, flush=True)
    time.sleep(120)
    return 1


@step(enable_cache=False)
def ignores_interrupts() -> int:
    """Catches everything, the interruption included, and goes on (user code can)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            print(ENTERED, flush=True)  # inside: SIGTERM may come as soon as it is printed
            time.sleep(120)
        except BaseException as exc:  # what the test is about
            print(f"caught {type(exc).__name__}", flush=True)
    return 1


@step(enable_cache=False)
def leaves_a_thread() -> int:
    """Returns, but its process cannot end: a non-daemon thread goes on."""
    threading.Thread(target=time.sleep, args=(120,), name="user-thread").start()
    print(ENTERED, flush=True)
    return 1


@pipeline
def waiting() -> None:
    waits()


@pipeline
def stubborn() -> None:
    ignores_interrupts()


@pipeline
def threaded() -> None:
    leaves_a_thread()
