"""The outputs-committed Event (docs/operator.md, "when a step is done"; docs/security.md).

With the chart's step RBAC, each step Pod posts one ``KubelineOutputsCommitted`` Event on
itself once its outputs, manifest and log are written, and the operator records the step
from the verified manifest without waiting for the kubelet to report the exit. The chart's
admission policy admits that Event only on the requester's own Pod; and an Event posted
before the manifest exists (here: by the step itself, mid-function) does not complete the
step: the downstream step still gets the real output.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from polling import wait_for
from step_rbac import chart_step_rbac

pytestmark = pytest.mark.e2e

PIPELINES = '''
import json
import os
import time

from kubeline import pipeline, step


def post(reason, pod, uid):
    """Post an Event with this Pod's own token (as kubeline.runtime.commit_signal does)."""
    import http.client
    import ssl

    from kubeline.runtime.commit_signal import event_body

    sa = "/var/run/secrets/kubernetes.io/serviceaccount"
    namespace = open(f"{sa}/namespace").read().strip()
    body = event_body(namespace, pod, uid, "some-run", "s3://nowhere/manifest.json")
    body["reason"] = reason
    conn = http.client.HTTPSConnection(
        os.environ["KUBERNETES_SERVICE_HOST"], int(os.environ["KUBERNETES_SERVICE_PORT"]),
        context=ssl.create_default_context(cafile=f"{sa}/ca.crt"), timeout=10)
    conn.request("POST", f"/api/v1/namespaces/{namespace}/events", body=json.dumps(body),
                 headers={"Authorization": "Bearer " + open(f"{sa}/token").read().strip(),
                          "Content-Type": "application/json"})
    response = conn.getresponse()
    return [response.status, response.read().decode()[:600]]


@step(enable_cache=False)
def announce_early() -> dict:
    """Announces its outputs committed before there are any, then takes its time."""
    from kubeline.runtime.commit_signal import post_committed

    from kubeline import get_step_context

    run = get_step_context().pipeline_run
    told = post_committed(run.namespace, run.name, "s3://nowhere/manifest.json")
    time.sleep(3)
    own = os.environ["KUBELINE_POD_NAME"], os.environ["KUBELINE_POD_UID"]
    return {"told": told, "returned": time.time(),
            "other_pod": post("KubelineOutputsCommitted", "someone-else", own[1]),
            "other_reason": post("Started", *own)}


@step(enable_cache=False)
def downstream(report: dict) -> dict:
    return {"report": report, "started": time.time()}


@pipeline(enable_cache=False)
def committed_pipe():
    downstream(announce_early())


@step(enable_cache=False, timeout=120)
def lingers() -> int:
    """Returns, but its process never exits: a non-daemon thread goes on."""
    import threading

    threading.Thread(target=time.sleep, args=(3600,), daemon=False).start()
    print("lingers returned")
    return 5


@step(enable_cache=False)
def after(x: int) -> int:
    return x + 1


@pipeline(enable_cache=False)
def lingering_pipe():
    after(lingers())
'''


@pytest.fixture
def pipes(step_namespace: str, operator: Any, cluster: Any, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Any:
    chart_step_rbac(cluster, step_namespace)  # steps may post their outputs-committed Event
    monkeypatch.setenv("KUBELINE_NAMESPACE", step_namespace)
    (tmp_path / "committed_pipes.py").write_text(PIPELINES)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("committed_pipes", None)
    import committed_pipes

    yield committed_pipes
    sys.modules.pop("committed_pipes", None)


def _commit_events(cluster: Any, namespace: str) -> dict[str, dict[str, Any]]:
    out = cluster.kubectl("get", "events", "-n", namespace, "-o", "json", "--field-selector",
                          "reason=KubelineOutputsCommitted").stdout
    return {e["involvedObject"]["name"]: e for e in json.loads(out)["items"]}


def test_steps_announce_their_outputs_and_an_early_announcement_completes_nothing(
        pipes: Any, step_namespace: str, cluster: Any) -> None:
    run = pipes.committed_pipe()
    assert run.status == "completed", (run.status, run.message)
    result = run.steps["downstream"].output.load()
    report = result["report"]
    # Posted mid-function, before any output existed: admitted (its own Pod), yet the step
    # was completed only from its manifest, after the function returned.
    assert report["told"].startswith("sent"), report["told"]
    assert result["started"] > report["returned"], result
    # The policy admits the Event only on the requester's own Pod, with the one reason.
    for key in ("other_pod", "other_reason"):
        status, message = report[key]
        assert status == 403, (key, status, message)
        assert "step-events" in message and "its own Pod" in message, message
    # Each step Pod announced its outputs once they were written: one Event on each Pod,
    # labelled and annotated with the run.
    events = _commit_events(cluster, step_namespace)
    for name in ("announce_early", "downstream"):
        pod = run.steps[name].pod
        assert pod in events, (pod, sorted(events))
        event = events[pod]
        assert event["metadata"]["annotations"]["kubeline.dev/run"] == run.name
        assert event["involvedObject"]["kind"] == "Pod" and event["type"] == "Normal"
    assert events[run.steps["announce_early"].pod]["count"] >= 1


def test_a_step_whose_process_hangs_after_its_outputs_completes_and_its_pod_is_stopped(
        pipes: Any, step_namespace: str, cluster: Any) -> None:
    """A step that returned but whose process cannot exit (a non-daemon thread) is done once
    its outputs are committed: the run goes on and finishes (without the Event the step would
    run into its timeout). Its Pod is left running for the grace, then deleted."""
    from kubeline_operator.planner import COMMITTED_EXIT_GRACE_SECONDS

    run = pipes.lingering_pipe()
    assert run.status == "completed", (run.status, run.message)
    assert run.steps["after"].output.load() == 6
    lingering = run.steps["lingers"]
    assert lingering.end_time is not None
    ended = lingering.end_time.timestamp()
    assert "lingers returned" in lingering.logs()

    def pod() -> dict[str, Any] | None:
        got = cluster.kubectl("get", "pod", lingering.pod, "-n", step_namespace, "-o", "json",
                              check=False)
        return json.loads(got.stdout) if got.returncode == 0 else None

    now = pod()
    assert now is not None and not now["metadata"].get("deletionTimestamp"), now
    assert now["status"].get("phase") in ("Pending", "Running"), now["status"]
    wait_for(f"the lingering Pod {lingering.pod} to be deleted",
             lambda: (p := pod()) is None or bool(p["metadata"].get("deletionTimestamp")),
             timeout=COMMITTED_EXIT_GRACE_SECONDS + 45, interval=1)
    deleted = time.monotonic()
    assert time.time() >= ended + COMMITTED_EXIT_GRACE_SECONDS - 1, "deleted before the grace"
    assert "lingers returned" in lingering.logs()  # still, as the Pod goes (then: saved)
    # SIGTERM ends a process that only waits for its threads at once (not after the
    # Pod's 30 s termination grace): the Pod is gone in seconds.
    wait_for(f"the lingering Pod {lingering.pod} to be gone", lambda: pod() is None,
             timeout=20, interval=0.5)
    assert time.monotonic() - deleted < 15, "the deleted Pod took its whole grace to go"
