"""``up``'s one-at-a-time start: readiness waits, bounded restarts, failures that name the
component, the cause and the log (real child processes, no cluster)."""

from __future__ import annotations

import sys
import time

import pytest
from kubeline.dev.bringup import Bringup, Component, ComponentFailed
from kubeline.dev.procs import ProcessTable


@pytest.fixture
def procs(tmp_path):
    table = ProcessTable(tmp_path / "pids", tmp_path / "logs")
    yield table
    for p in table.running():
        table.stop(p.name, timeout=2)


def _script(tmp_path, name: str, body: str) -> list[str]:
    path = tmp_path / f"{name}.py"
    path.write_text(body)
    return [sys.executable, str(path)]


def _run(procs, **kw) -> Bringup:
    return Bringup(procs, log=kw.pop("log", lambda m: None), deadline=time.monotonic() + 60,
                   interval=0.05, **kw)


def test_a_component_that_exits_is_restarted_until_it_stays_up(procs, tmp_path):
    """Exits twice (like the kubelet before the CRI answered), then runs: two restarts."""
    counter = tmp_path / "starts"
    argv = _script(tmp_path, "flaky", (
        "import pathlib, sys, time\n"
        f"p = pathlib.Path({str(counter)!r})\n"
        "n = int(p.read_text()) + 1 if p.exists() else 1\n"
        "p.write_text(str(n))\n"
        "if n < 3:\n"
        "    print('E1201 00:00:00.0 1 run.go:72] server is not initialized yet', flush=True)\n"
        "    sys.exit(1)\n"
        "pathlib.Path(str(p) + '.ready').touch()\n"
        "time.sleep(60)\n"
    ))
    ready = tmp_path / "starts.ready"
    logs: list[str] = []
    run = _run(procs, log=logs.append)
    comp = Component("flaky", lambda: procs.start("flaky", argv),
                     lambda: None if ready.exists() else "no ready file", timeout=20)
    run.ensure(comp)
    assert counter.read_text() == "3"
    assert run.restarts == {"flaky": 2}
    assert "flaky" in run.waits
    assert any("server is not initialized yet" in line and "(1/3)" in line for line in logs)
    assert "restarted: flaky x2" in run.summary()


def test_a_component_that_keeps_exiting_fails_with_its_log(procs, tmp_path):
    argv = _script(tmp_path, "dies", "print('F1201 boom: cannot bind', flush=True)\n"
                                     "raise SystemExit(3)\n")
    run = _run(procs, max_restarts=2)
    comp = Component("dies", lambda: procs.start("dies", argv), lambda: "not yet", timeout=20)
    with pytest.raises(ComponentFailed) as err:
        run.ensure(comp)
    exc = err.value
    assert exc.component == "dies"
    assert "exited 3 times during up" in exc.cause and "cannot bind" in exc.cause
    assert exc.log_path == str(procs.log_file("dies"))
    assert "F1201 boom" in exc.tail
    text = str(exc)
    assert text.startswith("dies: exited 3 times") and f"log: {exc.log_path}" in text


def test_a_component_never_ready_times_out_with_the_reason(procs, tmp_path):
    argv = _script(tmp_path, "slow", "import time\nprint('starting', flush=True)\n"
                                     "time.sleep(60)\n")
    run = _run(procs)
    comp = Component("slow", lambda: procs.start("slow", argv),
                     lambda: "HTTP 500: failing checks: etcd", timeout=0.5)
    start = time.monotonic()
    with pytest.raises(ComponentFailed) as err:
        run.ensure(comp)
    assert time.monotonic() - start < 5
    assert err.value.component == "slow"
    assert "slow not ready after" in err.value.cause
    assert "failing checks: etcd" in err.value.cause


def test_up_deadline_bounds_every_wait(procs, tmp_path):
    argv = _script(tmp_path, "slow", "import time\ntime.sleep(60)\n")
    run = Bringup(procs, log=lambda m: None, deadline=time.monotonic() + 0.3, interval=0.05)
    with pytest.raises(ComponentFailed, match="up's deadline"):
        run.ensure(Component("slow", lambda: procs.start("slow", argv), lambda: "no",
                             timeout=60))


def test_a_dependency_that_dies_during_a_later_wait_is_brought_back_first(procs, tmp_path):
    """containerd dies while up waits on the kubelet: containerd is restarted and waited on,
    then the wait goes on."""
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    run = _run(procs)
    base = Component("base", lambda: procs.start("base", sleeper),
                     lambda: None if procs.get("base") else "down", timeout=10)
    run.ensure(base)
    first_pid = procs.get("base").pid
    polls = {"n": 0}

    def later_probe():
        polls["n"] += 1
        if polls["n"] == 2:
            procs.stop("base", timeout=2)
            procs.start("base", [sys.executable, "-c", "raise SystemExit(1)"])
            time.sleep(0.3)  # it has exited: a crash as seen by up
        return None if polls["n"] > 4 else "waiting"

    run.wait("later", later_probe, 10, blame="base")
    assert run.restarts == {"base": 1}
    assert procs.get("base") and procs.get("base").pid != first_pid
