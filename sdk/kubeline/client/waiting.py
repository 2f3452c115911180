"""``RunView.wait()``: follow a run with a watch (polling as a fallback) until it ends."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TextIO

from kubeline.client._base import TERMINAL_PHASES
from kubeline.client.progress import make_reporter, outcome_line
from kubeline.errors import KubelineError, NotFoundError, RunFailedError
from kubeline.resources.phases import UNSUCCESSFUL_RUN_PHASES

if TYPE_CHECKING:
    from kubeline.client.runs import RunView

WATCH_SECONDS = 60
MAX_WATCH_FAILURES = 2


def wait_for_run(
    run: RunView, timeout: float | None = None, show_progress: bool = True,
    raise_on_failure: bool = False, poll_interval: float = 1.0, stream: TextIO | None = None,
) -> RunView:
    """Block until ``run`` reaches a terminal phase; returns it refreshed."""
    deadline = time.monotonic() + timeout if timeout is not None else None
    reporter = make_reporter(show_progress, stream)
    kube = run._client.kube
    watch_failures = 0
    try:
        run.refresh()
        reporter.update(run)
        while run.status not in TERMINAL_PHASES:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError(
                    f"run {run.name} still {run.status} after {timeout}s "
                    f"(progress {run.progress or '?'}); wait longer or `kubeline run watch`"
                )
            if watch_failures < MAX_WATCH_FAILURES:
                seconds = WATCH_SECONDS if remaining is None else max(1, min(WATCH_SECONDS,
                                                                             int(remaining) + 1))
                try:
                    rv = run.metadata.get("resourceVersion")
                    for kind, obj in kube.watch(run.plural, run.name, rv, seconds):
                        if kind == "DELETED":
                            raise NotFoundError(f"run {run.name} was deleted while waiting")
                        run._replace(obj)
                        reporter.update(run)
                        if run.status in TERMINAL_PHASES:
                            break
                    watch_failures = 0
                except NotFoundError:
                    raise
                except (KubelineError, OSError, ValueError):
                    watch_failures += 1  # e.g. 410 Gone: re-read and watch again
                    run.refresh()
                    reporter.update(run)
            else:
                time.sleep(poll_interval if remaining is None else min(poll_interval, remaining))
                run.refresh()
                reporter.update(run)
    finally:
        if run.status in TERMINAL_PHASES:
            reporter.finish(run)
        else:
            reporter.close()
    if raise_on_failure and run.status in UNSUCCESSFUL_RUN_PHASES:
        raise run_failed_error(run)
    return run


def run_failed_error(run: RunView) -> RunFailedError:
    """The error for a failed or cancelled run: the outcome line, then the failed step's own
    message (its exception as the step Pod reported it); carries the run as ``err.run``."""
    step = run.failed_step
    step_message = None
    if step:
        status = next((s for s in run.step_statuses if s.get("name") == step), {})
        step_message = status.get("message")
    text = outcome_line(run)
    if step_message and step_message not in text:
        text += f"\nstep {step} failed with: {step_message}"
    return RunFailedError(text, run=run, failed_step=step, step_message=step_message)
