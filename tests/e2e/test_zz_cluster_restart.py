"""`kubeline dev down`/`up`, and `up` after every process was SIGKILLed (runs last)."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

pytestmark = pytest.mark.e2e


def _dev():
    from kubeline.dev.cluster import DevCluster

    dev = DevCluster(log=lambda m: print(f"[dev] {m}", flush=True))
    if not dev.procs.get("kube-apiserver"):
        pytest.fail("the local cluster is not running")
    return dev


def _pod_runs(cluster, namespace: str, name: str) -> None:
    cluster.kubectl("run", name, "-n", namespace, "--image=localhost/kubeline/pause:3.10",
                    "--image-pull-policy=Never", "--restart=Never")
    cluster.kubectl("wait", f"pod/{name}", "-n", namespace, "--for=condition=Ready",
                    "--timeout=120s", timeout=150)


def _node_ready(cluster) -> bool:
    node = json.loads(cluster.kubectl("get", "nodes", "-o", "json").stdout)["items"][0]
    return {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"] == "True"


def test_up_after_sigkill_recovers(cluster, namespace):
    dev = _dev()
    _pod_runs(cluster, namespace, "before")
    procs = dev.procs.running()
    assert {p.name for p in procs} >= {"etcd", "kube-apiserver", "kubelet", "containerd"}
    for p in procs:
        os.kill(p.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while dev.procs.running() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert dev.procs.running() == []
    dev.up()
    assert _node_ready(cluster)
    _pod_runs(cluster, namespace, "after-kill")


def test_down_then_up(cluster):
    dev = _dev()
    stopped = dev.down()
    assert "kube-apiserver" in stopped and "kubelet" in stopped
    assert dev.procs.running() == []
    home = str(dev.paths.home.resolve())
    with open("/proc/mounts") as f:
        mounts = f.read()
    assert home not in mounts, "mounts left under the state directory"
    assert not os.path.exists("/sys/class/net/kubeline0"), "bridge left behind"
    dev.up()
    assert _node_ready(cluster)
    ns = "restart-check"
    cluster.kubectl("create", "namespace", ns)
    try:
        _pod_runs(cluster, ns, "after-up")
    finally:
        cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)
