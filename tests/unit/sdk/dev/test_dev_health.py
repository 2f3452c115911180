"""How the local cluster tells a component's readiness and a node's health (pure parts)."""

from __future__ import annotations

import http.server
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from kubeline.dev import health


def test_last_error_line_finds_each_log_format():
    kubelet = (
        'I1201 09:11:00.1 123 server.go:1] "Starting kubelet"\n'
        'E1201 09:11:01.2 123 run.go:72] "command failed" err="failed to run Kubelet: validate '
        'CRI v1 runtime API for endpoint: rpc error: code = Unknown desc = server is not '
        'initialized yet"\n'
        "I1201 09:11:01.3 123 other.go:5] shutting down\n"
    )
    assert "server is not initialized yet" in health.last_error_line(kubelet)
    containerd = ('time="x" level=info msg="loading plugin"\n'
                  'time="x" level=fatal msg="failed to load plugin"\n')
    assert "failed to load plugin" in health.last_error_line(containerd)
    etcd = '{"level":"info","msg":"ok"}\n{"level":"fatal","msg":"bind: address in use"}\n'
    assert "address in use" in health.last_error_line(etcd)
    assert health.last_error_line("panic: runtime error\n\ngoroutine 1 [running]:\n") \
        == "panic: runtime error"
    assert health.last_error_line("all fine\nI1201 info line\n") is None


def test_cri_reason_reads_cristatus_results():
    ready = {"ready": True, "conditions": [{"type": "RuntimeReady", "status": True},
                                           {"type": "NetworkReady", "status": True}]}
    assert health.cri_reason(0, json.dumps(ready)) is None
    no_net = {"ready": False, "conditions": [
        {"type": "RuntimeReady", "status": True},
        {"type": "NetworkReady", "status": False, "reason": "NetworkPluginNotReady",
         "message": "cni plugin not initialized"}]}
    reason = health.cri_reason(1, json.dumps(no_net))
    assert reason == ("CRI runtime not ready: NetworkReady=false (NetworkPluginNotReady: "
                      "cni plugin not initialized)")
    early = {"ready": False, "conditions": [],
             "error": "rpc error: code = Unknown desc = server is not initialized yet"}
    assert health.cri_reason(2, json.dumps(early)) == (
        "CRI Status call failed: rpc error: code = Unknown desc = server is not initialized yet")
    assert "RuntimeReady not reported" in health.cri_reason(1, '{"conditions": []}')
    assert health.cri_reason(2, "garbage").startswith("cristatus exited 2")


def _node(ready: str, reason: str = "", message: str = "") -> dict:
    return {"metadata": {"name": "n1"}, "status": {"conditions": [
        {"type": "MemoryPressure", "status": "False"},
        {"type": "Ready", "status": ready, "reason": reason, "message": message}]}}


def test_node_problem_sees_unregistered_notready_and_a_stale_lease():
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    fresh = {"spec": {"renewTime": (now - timedelta(seconds=5)).isoformat()}}
    stale = {"spec": {"renewTime": (now - timedelta(seconds=95)).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")}}
    assert health.node_problem(_node("True"), fresh, now) is None
    assert health.node_problem(_node("True"), None, now) is None, "no lease: Ready decides"
    assert "not registered" in health.node_problem(None, None, now)
    assert health.node_problem(_node("False", "KubeletNotReady", "container runtime network "
                                     "not ready"), fresh, now) == (
        "node n1 is not Ready (KubeletNotReady: container runtime network not ready)")
    assert "not Ready" in health.node_problem(_node("Unknown"), fresh, now)
    problem = health.node_problem(_node("True"), stale, now)
    assert problem is not None and "not renewed its Lease for 95s" in problem
    restarted = now - timedelta(seconds=2)
    assert "not renewed its Lease since it started" in health.node_problem(
        _node("True"), fresh, now, since=restarted), "a Ready left by the previous kubelet"
    assert health.node_problem(_node("True"), fresh, now, since=now - timedelta(seconds=9)) \
        is None


def test_failing_checks_names_the_failed_readyz_checks():
    body = "[+]ping ok\n[-]etcd failed: reason withheld\n[-]poststarthook/rbac failed\n"
    assert health.failing_checks(body) == "failing checks: etcd, poststarthook/rbac"
    assert health.failing_checks("Unauthorized\n") == "Unauthorized"


@pytest.fixture
def server():
    replies = {"/ok": (200, "ok"), "/bad": (500, "[-]etcd failed\n")}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            code, body = replies.get(self.path, (404, "no"))
            self.send_response(code)
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


def test_http_and_port_probes_report_why(server):
    assert health.http_probe(server + "/ok")() is None
    assert health.http_probe(server + "/ok", ok=lambda b: b == "ok")() is None
    assert "HTTP 500: failing checks: etcd" in health.http_probe(server + "/bad")()
    assert "HTTP 200" in health.http_probe(server + "/ok", ok=lambda b: False)()
    refused = health.http_probe("http://127.0.0.1:1/healthz")()
    assert refused.startswith("http://127.0.0.1:1/healthz: ") and "refused" in refused
    port = int(server.rsplit(":", 1)[1])
    assert health.port_probe("127.0.0.1", port)() is None
    assert "refused" in health.port_probe("127.0.0.1", 1)()


def test_run_probe_turns_a_probe_bug_into_a_reason():
    def broken():
        raise KeyError("x")

    assert health.run_probe(broken) == "KeyError: 'x'"
