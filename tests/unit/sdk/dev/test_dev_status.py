"""``kubeline dev status`` tells crashed from stopped, with the last error line of the log
(a state directory of its own; no cluster)."""

from __future__ import annotations

import json
import os
import signal
import sys

from click.testing import CliRunner
from kubeline.cli.dev import dev as dev_group
from kubeline.dev.cluster import DevCluster
from kubeline.dev.paths import DevPaths
from kubeline.dev.procs import wait_for


def test_status_shows_crashed_with_its_last_error_and_stopped(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBELINE_DEV_HOME", str(tmp_path))
    cluster = DevCluster(DevPaths(tmp_path), log=lambda m: None)
    script = tmp_path / "fake_kubelet.py"
    script.write_text(
        "import time\n"
        "print('I1201 09:00:00.0 1 a.go:1] started', flush=True)\n"
        "print('E1201 09:00:01.0 1 run.go:72] \"command failed\" err=\"server is not "
        "initialized yet\"', flush=True)\n"
        "print('I1201 09:00:02.0 1 a.go:2] exiting', flush=True)\n"
        "time.sleep(60)\n")
    proc = cluster.procs.start("kubelet", [sys.executable, str(script)])
    wait_for("the log", lambda: "a.go:2] exiting" in cluster.procs.tail("kubelet"), 10)
    os.kill(proc.pid, signal.SIGKILL)
    wait_for("the kill", lambda: cluster.procs.get("kubelet") is None, 5)

    result = CliRunner().invoke(dev_group, ["status"])
    assert result.exit_code == 3, result.output  # nothing runs
    lines = result.output.splitlines()
    kubelet = lines.index(next(line for line in lines if line.startswith("kubelet ")))
    assert "crashed" in lines[kubelet]
    assert "server is not initialized yet" in lines[kubelet + 1]
    assert f"log: {tmp_path / 'logs' / 'kubelet.log'}" in lines[kubelet + 2]
    assert any(line.startswith("etcd ") and "stopped" in line for line in lines)

    info = json.loads(CliRunner().invoke(dev_group, ["status", "-o", "json"]).output)
    states = {c["name"]: c["state"] for c in info["components"]}
    assert states["kubelet"] == "crashed" and states["etcd"] == "stopped"
    assert states["supervisor"] == "stopped"
    assert not (tmp_path / "cluster.json").exists(), "status creates no cluster state"


def test_status_exits_1_when_a_running_component_is_not_ready(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBELINE_DEV_HOME", str(tmp_path))
    cluster = DevCluster(DevPaths(tmp_path), log=lambda m: None)
    cluster.procs.start("etcd", [sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        result = CliRunner().invoke(dev_group, ["status"])
        assert result.exit_code == 1, result.output
        line = next(x for x in result.output.splitlines() if x.startswith("etcd "))
        assert "running" in line and "pid" in line
        assert "not started by up" in result.output
    finally:
        cluster.procs.stop("etcd", timeout=5)
