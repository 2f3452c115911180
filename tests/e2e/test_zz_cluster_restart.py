"""`kubeline dev down`/`up`, `up` after every process was SIGKILLed, the supervisor, and
`status` on a broken cluster. Marked ``cluster_restart``: they run after every other test.

Each test leaves the cluster up and healthy (it ends with ``up`` and a Pod running)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from cluster_ops import dev_cluster, kill_everything, node_ready, pod_runs
from leftover_namespaces import create_scratch_namespace

pytestmark = [pytest.mark.e2e, pytest.mark.cluster_restart]


def test_up_after_sigkill_recovers(cluster, namespace):
    from kubeline.dev.cluster import COMPONENTS, SUPERVISOR

    dev = dev_cluster()
    pod_runs(cluster, namespace, "before")
    killed = kill_everything(dev)
    assert set(killed) == {*COMPONENTS, SUPERVISOR}
    status = dev.status()
    assert {c["name"]: c["state"] for c in status["components"]} == {
        name: "crashed" for name in (*COMPONENTS, SUPERVISOR)}
    dev.up()
    assert node_ready(cluster)
    assert set(dev.last_up["waits"]) >= {*COMPONENTS, "node Ready", "probe Pod"}
    assert dev.procs.get(SUPERVISOR), "up starts the supervisor"
    pod_runs(cluster, namespace, "after-kill")


def test_down_then_up(cluster):
    dev = dev_cluster()
    stopped = dev.down()
    assert {"kube-apiserver", "kubelet", "supervisor"} <= set(stopped)
    assert dev.procs.running() == []
    assert all(c["state"] == "stopped" for c in dev.status()["components"])
    home = str(dev.paths.home.resolve())
    with open("/proc/mounts") as f:
        mounts = f.read()
    assert home not in mounts, "mounts left under the state directory"
    assert not os.path.exists("/sys/class/net/kubeline0"), "bridge left behind"
    dev.up()
    assert node_ready(cluster)
    ns = create_scratch_namespace(cluster, f"restart-check-{uuid.uuid4().hex[:6]}")
    try:
        pod_runs(cluster, ns, "after-up")
    finally:
        cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)


def test_the_supervisor_restarts_a_killed_kubelet(cluster, namespace):
    from kubeline.dev.restart_log import read_events

    dev = dev_cluster()
    old = dev.procs.get("kubelet").pid
    os.kill(old, signal.SIGKILL)

    def events() -> list[str]:
        """The supervisor's kubelet events from the restart of the killed one on."""
        evs = [e for e in read_events(dev.paths) if e.get("component") == "kubelet"]
        first = next((i for i, e in enumerate(evs) if e.get("oldPid") == old), len(evs))
        return [e["event"] for e in evs[first:]]

    deadline = time.monotonic() + 90
    while events() != ["restarted", "ready"] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert events() == ["restarted", "ready"], dev.procs.tail("supervisor")
    assert dev.procs.get("kubelet").pid != old
    assert f"restarted component=kubelet oldPid={old}" in dev.procs.tail("supervisor", 50)
    health = {c["name"]: c for c in dev.status()["components"]}["kubelet"]
    assert health["restarts"] >= 1
    pod_runs(cluster, namespace, "after-supervisor")


def test_status_names_a_crashed_component_and_its_last_error(cluster):
    """With the supervisor stopped, a killed kube-proxy shows as crashed with its log's last
    error line; ``up`` brings it back."""
    from kubeline.dev.cluster import SUPERVISOR

    dev = dev_cluster()
    dev.procs.stop(SUPERVISOR)
    pid = dev.procs.get("kube-proxy").pid
    with open(dev.procs.log_file("kube-proxy"), "a") as f:
        f.write('E1201 00:00:00.000000 1 test.go:1] "marker error written by the test"\n')
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    try:
        health = {c["name"]: c for c in dev.status()["components"]}
        assert health["kube-proxy"]["state"] == "crashed"
        assert "marker error written by the test" in health["kube-proxy"]["detail"]
        assert health[SUPERVISOR]["state"] == "stopped"
        assert health["kubelet"]["state"] == "ready"
        assert dev.health_problem().startswith("kube-proxy is crashed: ")
    finally:
        dev.up()
    assert dev.procs.get("kube-proxy") and dev.procs.get(SUPERVISOR)
    assert dev.health_problem() is None


def test_up_gives_up_on_a_component_that_keeps_exiting(cluster):
    """The kubelet cannot bind its port (taken by the test): up restarts it a bounded number
    of times, then fails naming the kubelet, the cause and its log, with the log's tail."""
    from kubeline.dev.bringup import ComponentFailed
    from kubeline.dev.cluster import MAX_UP_RESTARTS, SUPERVISOR

    dev = dev_cluster()
    dev.procs.stop(SUPERVISOR)
    dev.procs.stop("kubelet")
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        deadline = time.monotonic() + 20
        while True:  # the stopped kubelet's listener may take a moment to close
            try:
                blocker.bind(("0.0.0.0", 10250))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        blocker.listen()
        start = time.monotonic()
        with pytest.raises(ComponentFailed) as err:
            dev.up(timeout=180)
        took = time.monotonic() - start
        exc = err.value
        print(f"up failed after {took:.0f}s:\n{exc}")
        assert exc.component == "kubelet"
        assert f"exited {MAX_UP_RESTARTS + 1} times during up" in exc.cause
        assert "address already in use" in str(exc)
        assert exc.log_path == str(dev.procs.log_file("kubelet"))
        assert took < 150
    finally:
        blocker.close()
        dev.up()
    assert dev.health_problem() is None


ROOT = Path(__file__).resolve().parents[2]
BROKEN_SESSION_LIMIT_S = 300.0


def test_a_stopped_kubelet_fails_a_test_session_fast_and_clearly(cluster):
    """With the kubelet (and the supervisor) stopped, a pytest session of real cluster tests
    ends within 5 minutes, every cluster test failing with the reason, instead of each one
    waiting on Pending Pods until its timeout. The kubelet is restored afterwards."""
    from kubeline.dev.cluster import SUPERVISOR

    dev = dev_cluster()
    dev.procs.stop(SUPERVISOR)
    dev.procs.stop("kubelet")
    try:
        start = time.monotonic()
        try:
            out = subprocess.run(
                [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA",
                 "--cluster=existing", "tests/e2e/test_cluster.py"],
                cwd=ROOT, capture_output=True, text=True, timeout=BROKEN_SESSION_LIMIT_S,
                env={**os.environ, "KUBELINE_TEST_KUBECONFIG": str(dev.paths.kubeconfig)},
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"the session against the broken cluster still ran after "
                        f"{BROKEN_SESSION_LIMIT_S:.0f}s:\n{exc.stdout}")
        took = time.monotonic() - start
        text = out.stdout + out.stderr
        print(f"session against a stopped kubelet ended in {took:.0f}s:\n{text[-3000:]}")
        assert out.returncode == 1, text
        assert took < BROKEN_SESSION_LIMIT_S
        errors = [line for line in text.splitlines() if line.startswith("ERROR ")]
        assert len(errors) >= 6 and " passed" not in text.splitlines()[-1], text
        reason = "the cluster is broken, so this test cannot run: kubelet is stopped"
        assert text.count(reason) >= len(errors), text
        assert str(dev.procs.log_file("kubelet")) in text, "the reason names the log"
    finally:
        dev.up()
    assert dev.health_problem() is None
    assert node_ready(cluster)
