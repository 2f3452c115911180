"""Polling for integration and e2e tests: wait until a check holds, or fail saying what for.

The one poll helper of the test tree (``from polling import wait_for``); a module of its own,
not ``conftest``, so it imports the same way in a single file and in a whole-tree session."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(what: str, check: Callable[[], T], timeout: float = 60.0,
             interval: float = 0.5) -> T:
    """Call ``check`` every ``interval`` seconds until it returns something truthy; return that.

    After ``timeout`` seconds raise ``AssertionError("timed out after ...s waiting for <what>")``
    with the last value seen. An exception from ``check`` propagates at once (a broken check
    is a failure, not a reason to keep waiting)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} "
                                 f"(last: {value!r:.200})")
        time.sleep(interval)
