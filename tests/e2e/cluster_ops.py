"""What the cluster-restart tests do to the local cluster (helpers, not tests)."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest


def dev_cluster():
    from kubeline.dev.cluster import DevCluster

    dev = DevCluster(log=lambda m: print(f"[dev] {m}", flush=True))
    if not dev.procs.get("kube-apiserver"):
        pytest.fail("the local cluster is not running")
    return dev


def pod_runs(cluster, namespace: str, name: str) -> None:
    cluster.kubectl("run", name, "-n", namespace, "--image=localhost/kubeline/pause:3.10",
                    "--image-pull-policy=Never", "--restart=Never")
    cluster.kubectl("wait", f"pod/{name}", "-n", namespace, "--for=condition=Ready",
                    "--timeout=120s", timeout=150)


def node_ready(cluster) -> bool:
    node = json.loads(cluster.kubectl("get", "nodes", "-o", "json").stdout)["items"][0]
    return {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"] == "True"


def kill_everything(dev) -> list[str]:
    """SIGKILL every process of the cluster (the supervisor first, so it restarts nothing)."""
    from kubeline.dev.cluster import SUPERVISOR

    procs = sorted(dev.procs.running(), key=lambda p: p.name != SUPERVISOR)
    for p in procs:
        os.kill(p.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while dev.procs.running() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert dev.procs.running() == [], "processes survived SIGKILL"
    return [p.name for p in procs]
