"""The supervisor restarts a crashed component (not a stopped one), spaces out restarts,
logs each one, and yields to ``up``/``down`` (real child processes, no cluster)."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest
from kubeline.dev import restart_log, supervisor
from kubeline.dev.cluster import DevCluster
from kubeline.dev.paths import DevPaths
from kubeline.dev.procs import wait_for

SLEEPER = [sys.executable, "-c", "import time; print('E1201 0 x] up', flush=True); "
           "time.sleep(60)"]


@pytest.fixture
def dev(tmp_path):
    cluster = DevCluster(DevPaths(tmp_path), log=lambda m: None)
    cluster.probe = lambda name, st=None: (lambda: None)  # type: ignore[method-assign]
    yield cluster
    for p in cluster.procs.running():
        cluster.procs.stop(p.name, timeout=2)


def _kill(dev, name: str) -> int:
    wait_for(f"{name}'s log line", lambda: dev.procs.tail(name).endswith("x] up"), 10)
    pid = dev.procs.get(name).pid
    os.kill(pid, signal.SIGKILL)
    wait_for(f"{name} to die", lambda: dev.procs.get(name) is None, 5)
    return pid


def test_a_crashed_component_is_restarted_and_the_event_logged(dev, capsys):
    sup = supervisor.Supervisor(dev, components=("a", "b"))
    dev.procs.start("a", SLEEPER)
    dev.procs.start("b", SLEEPER)
    assert sup.tick() == []
    old = _kill(dev, "b")
    assert sup.tick() == ["b"]
    assert dev.procs.get("b") and dev.procs.get("b").pid != old
    assert dev.procs.get("a"), "the healthy one was left alone"
    started, ready = [e for e in restart_log.read_events(dev.paths) if e["component"] == "b"]
    assert started["event"] == "restarted" and started["oldPid"] == old
    assert started["lastError"] == "E1201 0 x] up", "the last error line of its log"
    assert ready["event"] == "ready" and ready["pid"] == dev.procs.get("b").pid
    assert restart_log.restart_counts(dev.paths) == {"b": 1}
    assert "restarted component=b" in capsys.readouterr().out


def test_a_stopped_component_stays_stopped(dev):
    sup = supervisor.Supervisor(dev, components=("a",))
    dev.procs.start("a", SLEEPER)
    dev.procs.stop("a", timeout=5)
    assert sup.tick() == [] and dev.procs.get("a") is None


def test_restarts_back_off_while_a_component_keeps_dying(dev, monkeypatch):
    sup = supervisor.Supervisor(dev, components=("a",))
    dev.procs.start("a", SLEEPER)
    _kill(dev, "a")
    assert sup.tick() == ["a"]
    _kill(dev, "a")
    assert sup.tick() == [], "the second restart waits 2 s"
    clock = time.monotonic() + 2.1
    monkeypatch.setattr(supervisor.time, "monotonic", lambda: clock)
    assert sup.tick() == ["a"]
    assert [supervisor.backoff(n) for n in (0, 1, 2, 3, 6, 9)] == [0, 2, 4, 8, 60, 60]


def test_the_supervisor_skips_a_round_while_up_or_down_holds_the_lock(dev):
    sup = supervisor.Supervisor(dev, components=("a",))
    dev.procs.start("a", SLEEPER)
    _kill(dev, "a")
    with dev.control():
        assert sup.tick() == []
    assert sup.tick() == ["a"]


def test_events_count_from_the_supervisors_last_start(dev):
    sup = supervisor.Supervisor(dev, components=("a",))
    sup._event(event="started", pid=1, component=None)
    sup._event(event="restarted", component="a", reason="x")
    sup._event(event="started", pid=2, component=None)
    sup._event(event="restarted", component="b", reason="y")
    assert restart_log.restart_counts(dev.paths) == {"b": 1}


def test_the_supervisor_process_restarts_a_killed_component(dev):
    """The real thing: ``python -m kubeline.dev.supervisor HOME`` as up starts it."""
    dev.procs.start("versitygw", SLEEPER)  # a component name the supervisor knows
    dev.start_supervisor()
    try:
        wait_for("supervisor start event",
                 lambda: restart_log.read_events(dev.paths)[:1] != [], 10)
        old = _kill(dev, "versitygw")
        wait_for("the restart", lambda: restart_log.restart_counts(dev.paths), 15)
        assert dev.procs.get("versitygw").pid != old
    finally:
        dev.procs.stop("supervisor", timeout=5)
    assert dev.procs.get("supervisor") is None
