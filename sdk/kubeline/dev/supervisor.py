"""The supervisor: restarts a component of the local cluster that dies while it runs.

``up`` starts it last (``python -m kubeline.dev.supervisor HOME``), tracked by a PID
file like every component; ``down`` stops it first. Each round it looks for a
component whose PID file outlived its process (a crash: a deliberate stop removes
the file), in start order, starts it again with the same command line and waits
until it is ready before looking at the next one. Restarts of one component are
spaced out (2 s doubling to 60 s while it keeps dying). Every restart is logged in
``logs/supervisor.log`` and ``logs/supervisor-events.jsonl``. A round is skipped
while ``up`` or ``down`` holds the control lock.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubeline.dev.cluster import COMPONENTS, SUPERVISOR, DevCluster
from kubeline.dev.health import last_error_line, run_probe
from kubeline.dev.paths import DevPaths
from kubeline.dev.restart_log import events_file

READY_WAIT_S = 60.0
RECENT_S = 600.0


def backoff(recent_restarts: int) -> float:
    """Seconds to wait before restarting a component restarted ``recent_restarts`` times in
    the last ten minutes: none for the first, then 2, 4, ... up to 60."""
    return 0.0 if recent_restarts == 0 else min(60.0, 2.0 ** recent_restarts)


@dataclass
class Supervisor:
    """Restarts crashed components of one local cluster (``dev`` is a ``DevCluster``)."""

    dev: Any
    interval: float = 2.0
    components: tuple[str, ...] = ()  # default: every component, in start order
    history: dict[str, list[float]] = field(default_factory=dict)

    def _event(self, **fields: Any) -> None:
        fields = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **fields}
        self.dev.paths.logs.mkdir(parents=True, exist_ok=True)
        with open(events_file(self.dev.paths), "a") as f:
            f.write(json.dumps(fields) + "\n")
        text = " ".join(f"{k}={v}" for k, v in fields.items() if k not in ("time", "event"))
        print(f"{fields['time']} {fields['event']} {text}", flush=True)

    def due(self, name: str, now: float) -> bool:
        recent = [t for t in self.history.get(name, []) if now - t < RECENT_S]
        self.history[name] = recent
        return not recent or now - recent[-1] >= backoff(len(recent))

    def tick(self) -> list[str]:
        """One round; returns the components it restarted."""
        restarted: list[str] = []
        with self.dev.control(wait=False) as got:
            if not got:
                return restarted
            for name in self.components or COMPONENTS:
                if self.dev.procs.crashed(name) and self.due(name, time.monotonic()):
                    self.restart(name)
                    restarted.append(name)
        return restarted

    def restart(self, name: str) -> None:
        procs = self.dev.procs
        tail = procs.tail(name, 200)
        why = last_error_line(tail) or (tail.splitlines() or ["(empty log)"])[-1]
        old = procs.recorded(name)
        self.history.setdefault(name, []).append(time.monotonic())
        proc = procs.restart(name, why="restarted by the supervisor")
        self._event(event="restarted", component=name, oldPid=old.pid if old else None,
                    pid=proc.pid, lastError=why)
        t0 = time.monotonic()
        probe = self.dev.probe(name)
        reason: str | None = "it exited again"
        while time.monotonic() - t0 < READY_WAIT_S and procs.get(name):
            reason = run_probe(probe)
            if reason is None:
                break
            time.sleep(0.5)
        after = round(time.monotonic() - t0, 1)
        if reason is None:
            self._event(event="ready", component=name, pid=proc.pid, after=after)
        else:
            self._event(event="not-ready", component=name, pid=proc.pid, after=after,
                        reason=reason)

    def mine(self) -> bool:
        """Whether the supervisor PID file still names this process (else another took over)."""
        rec = self.dev.procs.recorded(SUPERVISOR)
        return rec is not None and rec.pid == os.getpid()

    def run(self) -> None:
        self._event(event="started", pid=os.getpid())
        while self.mine():
            self.tick()
            time.sleep(self.interval)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m kubeline.dev.supervisor CLUSTER_HOME", file=sys.stderr)
        return 2
    dev = DevCluster(DevPaths(Path(args[0])), log=lambda m: print(m, flush=True))
    # The PID file is written right after the fork; give it a moment.
    for _ in range(50):
        rec = dev.procs.recorded("supervisor")
        if rec is not None and rec.pid == os.getpid():
            break
        time.sleep(0.1)
    Supervisor(dev).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
