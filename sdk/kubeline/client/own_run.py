"""A step that reads its own run sees its upstream steps finished, with their outputs.

The operator creates a step's Pod as soon as the steps it depends on finished, and writes
the run's status batched, after the Pods (``KUBELINE_STATUS_BATCH_SECONDS``; one writer of
the status). A step that reads its own run through the Client (ZenML's
``get_step_context().pipeline_run``, or ``Client().get_pipeline_run(name)`` as the docs'
fan-in example does) may therefore read it before those steps are recorded. Every run the
Client reads passes :func:`settled`: when it is the running step's own run
(``kubeline.context.own_run``, set by the step runtime from the invocation's ``upstream``)
and its status does not show those steps finished yet, the Client watches the run until it
does, for at most ``UPSTREAM_STATUS_WAIT_SECONDS``, then fails saying what it waited for.
Anywhere else (outside a step Pod, another run) it is a no-op without I/O.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from kubeline.context import OwnRun, own_run
from kubeline.errors import KubelineError, NotFoundError
from kubeline.resources.invocation import UPSTREAM_STATUS_WAIT_SECONDS
from kubeline.resources.names import PIPELINE_RUNS
from kubeline.resources.phases import SUCCESS_PHASES, TERMINAL_RUN_PHASES

WATCH_SECONDS = 30
MAX_WATCH_FAILURES = 2
POLL_SECONDS = 0.5


class RunReader(Protocol):
    """What :func:`settled` reads a run with (``kubeline.kube.Kube``)."""

    def get(self, plural: str, name: str) -> dict[str, Any]: ...

    def watch(self, plural: str, name: str, resource_version: str | None = None,
              timeout_seconds: int = 60) -> Any: ...


def unfinished_upstream(obj: dict[str, Any], upstream: Sequence[str]) -> list[str]:
    """The steps of ``upstream`` that the run object's status does not show completed or
    cached, in order (pure)."""
    steps = (obj.get("status") or {}).get("steps") or []
    phases = {s.get("name"): s.get("phase") for s in steps if isinstance(s, dict)}
    return [u for u in upstream if phases.get(u) not in SUCCESS_PHASES]


def upstream_to_wait_for(obj: dict[str, Any], run: OwnRun | None) -> tuple[str, ...]:
    """``run``'s upstream steps when ``obj`` is that run (name, namespace and uid), else ()."""
    if run is None or not run.upstream:
        return ()
    meta = obj.get("metadata") or {}
    if meta.get("name") != run.name:
        return ()
    if run.namespace and meta.get("namespace") not in (None, run.namespace):
        return ()
    if run.uid and meta.get("uid") not in (None, run.uid):
        return ()
    return run.upstream


def settled(obj: dict[str, Any], kube: Callable[[], RunReader],
            timeout: float = UPSTREAM_STATUS_WAIT_SECONDS) -> dict[str, Any]:
    """``obj``, or (the running step's own run, its upstream steps not recorded yet) the
    run as soon as its status shows them finished, read with ``kube()``; raises after
    ``timeout`` seconds."""
    upstream = upstream_to_wait_for(obj, own_run())
    if not upstream or not unfinished_upstream(obj, upstream):
        return obj
    return wait_for_upstream(kube(), obj, upstream, timeout)


def wait_for_upstream(kube: RunReader, obj: dict[str, Any], upstream: Sequence[str],
                      timeout: float, clock: Callable[[], float] = time.monotonic,
                      sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Watch the run (polling once a watch failed twice) until its status shows every step
    of ``upstream`` completed or cached; a clear error when it ended first or after
    ``timeout`` seconds."""
    name = obj["metadata"]["name"]
    started = clock()
    failures = 0
    while True:
        missing = unfinished_upstream(obj, upstream)
        if not missing:
            return obj
        phase = (obj.get("status") or {}).get("phase")
        if phase in TERMINAL_RUN_PHASES:
            raise KubelineError(
                f"run {name} ended ({phase}) but its status does not show this step's upstream "
                f"step(s) {', '.join(missing)} completed")
        remaining = timeout - (clock() - started)
        if remaining <= 0:
            raise KubelineError(
                f"run {name}: its status still does not show this step's upstream step(s) "
                f"{', '.join(missing)} completed after {timeout:g}s; the operator records a "
                "finished step in the run's status within KUBELINE_STATUS_BATCH_SECONDS of its "
                "end: is the operator running? (kubectl -n kubeline-system get pods; "
                f"kubectl describe pipelinerun {name})")
        if failures >= MAX_WATCH_FAILURES:
            sleep(min(POLL_SECONDS, remaining))
            obj = kube.get(PIPELINE_RUNS, name)
            continue
        seconds = max(1, min(WATCH_SECONDS, int(remaining) + 1))
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        opened, events = clock(), 0
        try:
            for kind, new in kube.watch(PIPELINE_RUNS, name, rv, seconds):
                events += 1
                if kind == "DELETED":
                    raise NotFoundError(f"run {name} was deleted while this step waited for "
                                        f"its upstream step(s) {', '.join(missing)}")
                if kind in ("ADDED", "MODIFIED") and isinstance(new, dict):
                    obj = new
                    if not unfinished_upstream(obj, upstream) or clock() - started >= timeout:
                        break
            # A watch that ended at once with nothing to say counts as failed (no busy loop).
            failures = 0 if events or clock() - opened >= 1 else failures + 1
        except NotFoundError:
            raise
        except (KubelineError, OSError, ValueError):
            failures += 1  # e.g. 410 Gone: read the run again, then watch from there
            obj = kube.get(PIPELINE_RUNS, name)
