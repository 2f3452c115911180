"""SIGTERM in a step Pod: stop the step, say why, exit within seconds.

The runtime is its container's PID 1, and Linux delivers to PID 1 no signal it has no
handler for: without one, a deleted step Pod (a cancelled run, a sibling that failed, a step
timeout, the Pod of a completed step that does not exit) went on until its termination
grace (30 s) ran out and the kubelet killed it.

- While the step runs (its outcome not written yet), SIGTERM raises :class:`StepTerminated`
  in the main thread, where the step function runs: the function stops there (like
  ``KeyboardInterrupt``, ``except Exception`` does not catch it), the attempt fails with that
  reason in its termination message (``kubectl describe pod``) and its saved log, and the
  process exits with :data:`EXIT_TERMINATED`.
- Once the outcome is written, the step is over: SIGTERM ends the process with the step's
  own code, at once if it only waits for a non-daemon thread, else after the bounded rest
  (saving the log, telling the operator).
- Either way the process ends at most :data:`STOP_SECONDS` after the signal (code stuck in a
  C call, or that catches ``BaseException``): the termination message says so.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from types import FrameType
from typing import NoReturn

from kubeline.runtime.messages import failure_message, write_termination

#: Exit code of a step stopped by SIGTERM (128 + 15, as a shell reports it).
EXIT_TERMINATED = 128 + signal.SIGTERM
#: Seconds from SIGTERM to the process's exit at the latest (the Pod's grace is 30 s).
STOP_SECONDS = 5.0


class StepTerminated(BaseException):
    """The step process got SIGTERM: its Pod is being deleted (the run was cancelled, a
    sibling step failed, the step timed out, or someone deleted or evicted the Pod)."""


class _Guard:
    """Where the step process is, as far as SIGTERM is concerned."""

    def __init__(self, termination_log: str = "") -> None:
        self.termination_log = termination_log
        self.outcome: int | None = None  # the exit code, once the outcome is written
        self.exiting = False  # only the process exit is left (exit_now)
        self.signalled: float | None = None  # monotonic time of the first SIGTERM


_guard = _Guard()


def install(termination_log: str) -> None:
    """Handle SIGTERM in this process (call from the main thread, before the step starts)."""
    global _guard
    _guard = _Guard(termination_log)
    signal.signal(signal.SIGTERM, _on_sigterm)


def outcome_written(code: int) -> None:
    """The attempt's termination message is written: a later SIGTERM no longer stops it."""
    _guard.outcome = code


def signalled() -> bool:
    """SIGTERM was received."""
    return _guard.signalled is not None


def exiting(code: int) -> None:
    """Only the process exit is left: a SIGTERM from now on ends the process with ``code``
    at once (it may be waiting for a non-daemon thread of the step)."""
    _guard.outcome = code
    _guard.exiting = True


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    if _guard.exiting and _guard.outcome is not None:
        _say("SIGTERM while the step process exits: exiting now")
        _exit(_guard.outcome)
    if _guard.signalled is not None:
        return  # a second SIGTERM: the first one is being handled
    _guard.signalled = time.monotonic()
    threading.Thread(target=_deadline, name="kubeline-sigterm-deadline", daemon=True).start()
    if _guard.outcome is not None:
        _say("SIGTERM after the step ended: exiting once its log is saved")
        return
    # Said by the failure path (into the step's saved log too): a print from here could
    # re-enter a stream, or the log capture's lock, that this interrupted.
    raise StepTerminated(
        "the step was stopped by SIGTERM: its Pod is being deleted (the run was cancelled, "
        "another step failed, the step timed out, or the Pod was deleted or evicted)")


def _deadline() -> None:
    time.sleep(STOP_SECONDS)
    code = _guard.outcome
    if code is None:
        exc = StepTerminated(
            f"the step did not stop within {STOP_SECONDS:g}s of SIGTERM (its code did not "
            "return to Python, or caught the interruption); its process was ended")
        write_termination(_guard.termination_log, failure_message(exc))
        code = EXIT_TERMINATED
    _say(f"ending the step process {STOP_SECONDS:g}s after SIGTERM")
    _exit(code)


def _say(message: str) -> None:
    """To the container's log, straight to fd 2 (safe in a signal handler: no lock)."""
    with contextlib.suppress(OSError):
        os.write(2, f"kubeline: {message}\n".encode())


def _exit(code: int) -> NoReturn:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, RuntimeError):  # RuntimeError: reentrant
            stream.flush()
    os._exit(code)
