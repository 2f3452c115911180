"""Pure and process-level pieces of `kubeline dev` (no cluster started)."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest
import yaml
from kubeline.dev import gobuild, network
from kubeline.dev.cluster import ClusterState, DevCluster
from kubeline.dev.paths import DevPaths
from kubeline.dev.procs import ProcessTable, wait_for


@pytest.fixture
def table(tmp_path):
    procs = ProcessTable(tmp_path / "pids", tmp_path / "logs")
    yield procs
    for p in procs.running():
        procs.stop(p.name, timeout=2)


def test_process_table_starts_finds_and_stops(table):
    proc = table.start("sleeper", [sys.executable, "-c", "import time; print('up', flush=True); "
                                   "time.sleep(60)"])
    assert table.get("sleeper") == proc
    assert table.start("sleeper", ["false"]) == proc, "a running process is not started twice"
    wait_for("log line", lambda: "up" in table.tail("sleeper"), 10)
    assert table.stop("sleeper", timeout=5) is True
    assert table.get("sleeper") is None
    assert table.stop("sleeper") is False


def test_stale_pid_file_is_not_ours(table, tmp_path):
    """A PID file whose process start time differs (a recycled PID) is never taken for ours:
    the process counts as crashed, and stopping it signals nothing and removes the file."""
    proc = table.start("short", [sys.executable, "-c", "import time; time.sleep(30)"])
    pid_file = tmp_path / "pids" / "short.pid"
    pid_file.write_text(f"{proc.pid} {proc.start_ticks + 12345}\n")
    assert table.get("short") is None
    assert table.crashed("short")
    assert table.stop("short") is False
    assert not pid_file.exists() and not table.crashed("short")
    assert Path(f"/proc/{proc.pid}").exists(), "the real process was not signalled"
    os.kill(proc.pid, signal.SIGKILL)
    os.waitpid(proc.pid, 0)


def test_crash_is_told_from_a_stop_and_restart_repeats_the_command(table):
    """A process that dies leaves its PID file (crashed); ``restart`` starts the same command
    line with the same extra environment; ``stop`` leaves no file (stopped, not crashed)."""
    argv = [sys.executable, "-c", "import os, time; print('run', os.environ['X'], flush=True); "
            "time.sleep(60)"]
    first = table.start("svc", argv, env={"X": "42"})
    wait_for("first run's line", lambda: "run 42" in table.tail("svc"), 10)
    os.kill(first.pid, signal.SIGKILL)
    wait_for("the kill", lambda: table.get("svc") is None, 5)
    assert table.crashed("svc") and table.recorded("svc") == first
    second = table.restart("svc", why="restarted by a test")
    assert second.pid != first.pid and table.get("svc") == second
    wait_for("second run's line", lambda: table.tail("svc").count("run 42") == 2, 10)
    assert "restarted by a test" in table.tail("svc")
    assert not table.crashed("svc")
    table.stop("svc", timeout=5)
    assert not table.crashed("svc") and table.recorded("svc") is None


def test_wait_for_fails_fast_when_a_process_died():
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="etcd exited"):
        wait_for("etcd", lambda: False, timeout=30, alive=lambda: "etcd exited")
    assert time.monotonic() - start < 2
    with pytest.raises(TimeoutError, match="waiting for nothing"):
        wait_for("nothing", lambda: False, timeout=0.3, interval=0.05)


def test_guard_rules_cover_pod_and_service_ranges():
    rules = network.guard_rules(network.HostNetwork("192.0.2.2", "eth0"))
    flat = [" ".join(r) for r in rules]
    assert any(r.startswith("FORWARD -s 10.244.0.0/16 -o eth0") and r.endswith("REJECT")
               for r in flat)
    assert any(r.startswith("OUTPUT -d 10.96.0.0/16 -o eth0") for r in flat)
    assert all(network.GUARD_COMMENT in r for r in flat)


def test_cni_config_keeps_pods_unmasqueraded(tmp_path):
    path = network.write_cni_config(tmp_path / "net.d", tmp_path / "ipam")
    conf = json.loads(path.read_text())
    bridge = conf["plugins"][0]
    assert bridge["bridge"] == network.BRIDGE and bridge["ipMasq"] is False
    assert bridge["ipam"]["ranges"] == [[{"subnet": network.NODE_POD_RANGE}]]
    assert bridge["ipam"]["dataDir"] == str(tmp_path / "ipam")


def test_tool_keys_follow_their_inputs(monkeypatch):
    monkeypatch.setattr(gobuild, "go_version", lambda: "go version go1.26.8 linux/amd64")
    tool = gobuild.TOOLS["hyperkube"]
    key = gobuild.tool_key(tool)
    assert key == gobuild.tool_key(tool), "stable"
    assert "-X k8s.io/component-base/version.gitVersion=v1.34" in tool.ldflags
    changed = gobuild.Tool(tool.name, module=tool.module, ldflags=tool.ldflags + " -X a.b=c")
    assert gobuild.tool_key(changed) != key
    monkeypatch.setattr(gobuild, "go_version", lambda: "go version go1.27.0 linux/amd64")
    assert gobuild.tool_key(tool) != key, "a new Go version rebuilds"


def test_bench_only_tools_are_built_only_when_named(monkeypatch):
    built: list[str] = []
    monkeypatch.setattr(gobuild, "tool_path", lambda name, log=print: built.append(name))
    gobuild.build_all(log=lambda m: None)
    assert "workflow-controller" not in built and "kwok" in built and "hyperkube" in built
    built.clear()
    gobuild.build_all(["workflow-controller"], log=lambda m: None)
    assert built == ["workflow-controller"]
    argo = gobuild.TOOLS["workflow-controller"]
    assert argo.package == f"{gobuild.ARGO_MODULE}/cmd/workflow-controller@{gobuild.ARGO_VERSION}"
    assert gobuild.ARGO_VERSION == "v4.0.5", "pinned"


def test_missing_go_says_how_to_install(monkeypatch):
    monkeypatch.setattr(gobuild.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="Go is not installed"):
        gobuild.go_version()


def test_node_configs_render(tmp_path, monkeypatch):
    dev = DevCluster(DevPaths(tmp_path), log=lambda m: None)
    dev.paths.config.mkdir(parents=True)
    monkeypatch.setattr(network, "cni_bin_dir", lambda: "/usr/lib/cni")
    kubelet = yaml.safe_load(dev.kubelet_config())
    assert kubelet["cgroupDriver"] == "cgroupfs" and kubelet["failCgroupV1"] is False
    assert kubelet["imageGCHighThresholdPercent"] == 100, "local images cannot be re-pulled"
    assert "127.0.0.1" in (tmp_path / "config" / "pod-resolv.conf").read_text()
    containerd = dev.containerd_config()
    assert 'sandbox_image = "localhost/kubeline/pause:3.10"' in containerd
    assert "restrict_oom_score_adj" in containerd
    assert str(dev.paths.containerd_socket) in containerd


def test_s3_settings_use_the_secret_layout():
    st = ClusterState(node_ip="192.0.2.2", iface="eth0", s3_access_key="a", s3_secret_key="s")
    assert st.s3_settings() == {
        "bucket": "kubeline", "endpoint": "http://192.0.2.2:7070", "region": "us-east-1",
        "accessKeyId": "a", "secretAccessKey": "s",
    }
    assert st.server == "https://192.0.2.2:6443"


def test_prerequisite_errors_name_the_packages(tmp_path, monkeypatch):
    dev = DevCluster(DevPaths(tmp_path), log=lambda m: None)
    monkeypatch.setattr("kubeline.dev.cluster.shutil.which",
                        lambda name: None if name in ("runc", "ctr") else "/usr/bin/" + name)
    with pytest.raises(RuntimeError) as err:
        dev.check_prerequisites()
    assert "apt-get install -y" in str(err.value)
    assert "runc" in str(err.value) and "containerd" in str(err.value)


def test_a_zombie_leader_with_live_threads_still_counts_as_running(table, tmp_path):
    """The main thread exits (a zombie leader) while another thread runs: the process still
    holds its files and ports, so it is not taken for dead."""
    script = tmp_path / "leader_exits.py"
    script.write_text(
        "import ctypes, platform, threading, time\n"
        "threading.Thread(target=time.sleep, args=(30,)).start()\n"
        "time.sleep(0.2)\n"
        "print('leader exiting', flush=True)\n"
        "ctypes.CDLL(None).syscall({'x86_64': 60, 'aarch64': 93}[platform.machine()], 0)\n"
    )
    proc = table.start("leader", [sys.executable, str(script)])
    wait_for("the leader's exit", lambda: Path(f"/proc/{proc.pid}/stat").read_text()
             .rsplit(")", 1)[1].split()[0] == "Z", 10)
    assert table.get("leader") == proc, "a live thread keeps it running"
    assert table.stop("leader", timeout=5) is True
    assert table.get("leader") is None


def test_s3_server_runs_with_accounts_and_an_old_one_is_restarted(tmp_path):
    """versitygw keeps its accounts in ``s3-iam`` (outside the bucket folders); one started
    by an older ``up`` without them is restarted once, a current one is left running."""
    dev = DevCluster(DevPaths(tmp_path), log=lambda m: None)
    fake = tmp_path / "versitygw"
    fake.write_text("#!/bin/sh\nexec sleep 60\n")
    fake.chmod(0o755)
    dev._tools["versitygw"] = str(fake)
    st = ClusterState(node_ip="127.0.0.1", iface="lo", s3_access_key="a", s3_secret_key="s")
    try:
        old = dev.procs.start("versitygw", [str(fake), "--port", "127.0.0.1:7070", "posix",
                                            str(dev.paths.s3_data)])
        dev._start_s3(st)
        new = dev.procs.get("versitygw")
        assert new is not None and new.pid != old.pid
        argv = dev.procs.recorded_argv("versitygw")
        assert argv is not None and argv[argv.index("--iam-dir") + 1] == str(dev.paths.s3_iam)
        assert dev.paths.s3_iam.is_dir() and not dev.paths.s3_iam.is_relative_to(
            dev.paths.s3_data)
        dev._start_s3(st)
        assert dev.procs.get("versitygw") == new
    finally:
        dev.procs.stop("versitygw", timeout=2)
