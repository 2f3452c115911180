"""Start components one at a time, each only once the ones before it are ready.

A component that exits while ``up`` waits (on it or on a later one) is started
again, at most ``max_restarts`` times; then ``up`` fails naming the component,
the cause and its log, with the log's last lines.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kubeline.dev.health import Probe, last_error_line, run_probe
from kubeline.dev.procs import ProcessTable

Log = Callable[[str], None]


class ComponentFailed(RuntimeError):
    """A component did not become ready: which one, why, and where its log is."""

    def __init__(self, component: str, cause: str, log_path: str, tail: str = "") -> None:
        self.component, self.cause, self.log_path, self.tail = component, cause, log_path, tail
        lines = [f"{component}: {cause}", f"  log: {log_path}"]
        if tail.strip():
            lines.append("  last lines of the log:")
            lines += ["    " + line for line in tail.splitlines()]
        super().__init__("\n".join(lines))


@dataclass
class Component:
    """A process of the cluster: how to start it and how to tell it is ready."""

    name: str
    start: Callable[[], object]
    probe: Probe
    timeout: float = 60.0


@dataclass
class Bringup:
    """One ``up``: the components started so far, the time waited on each, the restarts."""

    procs: ProcessTable
    log: Log
    deadline: float
    max_restarts: int = 3
    interval: float = 0.25
    started: list[Component] = field(default_factory=list)
    waits: dict[str, float] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)

    def ensure(self, comp: Component) -> float:
        """Start ``comp`` (unless it runs) and wait until it is ready; seconds waited."""
        t0 = time.monotonic()
        if comp not in self.started:
            self.started.append(comp)
        comp.start()
        self.wait(comp.name, comp.probe, comp.timeout, blame=comp.name)
        self.waits[comp.name] = self.waits.get(comp.name, 0.0) + time.monotonic() - t0
        return self.waits[comp.name]

    def wait(self, what: str, probe: Probe, timeout: float, blame: str,
             watch: list[Component] | None = None) -> float:
        """Poll ``probe`` until ready, restarting any watched component that exits (by default
        every component started so far). On timeout fail naming ``blame``'s log."""
        watched = self.started if watch is None else watch
        t0 = time.monotonic()
        end = min(t0 + timeout, self.deadline)
        while True:
            reason = run_probe(probe)
            if reason is None:
                return time.monotonic() - t0
            for comp in list(watched):
                if not self.procs.get(comp.name):
                    self._revive(comp)
            if time.monotonic() >= end:
                limit = "up's deadline" if end == self.deadline else f"{timeout:.0f}s"
                raise ComponentFailed(
                    blame, f"{what} not ready after {time.monotonic() - t0:.0f}s ({limit}): "
                    f"{reason}", str(self.procs.log_file(blame)), self.procs.tail(blame))
            time.sleep(self.interval)

    def _revive(self, comp: Component) -> None:
        tail = self.procs.tail(comp.name)
        err = last_error_line(tail) or (tail.splitlines() or ["(empty log)"])[-1]
        count = self.restarts.get(comp.name, 0) + 1
        if count > self.max_restarts:
            raise ComponentFailed(
                comp.name, f"exited {count} times during up (restarted {count - 1}); "
                f"last error: {err}", str(self.procs.log_file(comp.name)), tail)
        self.restarts[comp.name] = count
        self.log(f"{comp.name} exited during up ({err}); restarting it "
                 f"({count}/{self.max_restarts})")
        comp.start()
        # Wait for it (and the components it depends on, started before it) before going on.
        upto = self.started[: self.started.index(comp) + 1] if comp in self.started else [comp]
        self.wait(comp.name, comp.probe, comp.timeout, blame=comp.name, watch=upto)

    def summary(self) -> str:
        parts = [f"{name} {secs:.1f}s" for name, secs in self.waits.items()]
        text = "waited on: " + ", ".join(parts)
        if self.restarts:
            text += "; restarted: " + ", ".join(f"{n} x{c}" for n, c in self.restarts.items())
        return text
