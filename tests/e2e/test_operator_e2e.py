"""The operator's failure handling with real Pods: retries, cancel, a killed operator, timeouts
and the TTL after a run finishes.

Each test writes a tiny pipeline into a temporary module (its code is packed and
run in the step Pods like any user's), runs it against the in-cluster operator
installed by the ``operator`` fixture, and checks the run's status, its Pods and
what ``kubectl describe pipelinerun`` shows.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from polling import wait_for

pytestmark = pytest.mark.e2e

OPERATOR_NAMESPACE = "kubeline-system"


def load_pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> Any:
    """Write ``source`` as a fresh module (unique name: each test's code is its own) and
    import it."""
    module = f"e2e_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(
        "import time\n\nfrom kubeline import StepRetryConfig, get_step_context, pipeline, step\n\n"
        + source
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        return importlib.import_module(module)
    finally:
        sys.modules.pop(module, None)


def run_json(cluster: Any, namespace: str, name: str) -> dict[str, Any]:
    return json.loads(cluster.kubectl("get", "pipelinerun", name, "-n", namespace, "-o",
                                      "json").stdout)


def step_pods(cluster: Any, namespace: str, run: str | None = None) -> list[dict[str, Any]]:
    selector = "kubeline.dev/component=step" + (f",kubeline.dev/run={run}" if run else "")
    out = cluster.kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "json").stdout
    return json.loads(out)["items"]


def wait_phase(cluster: Any, namespace: str, name: str, phases: set[str], timeout: float
               ) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        obj = run_json(cluster, namespace, name)
        return obj if (obj.get("status") or {}).get("phase") in phases else None

    return wait_for(f"run {name} to reach {sorted(phases)}", done, timeout)


def describe(cluster: Any, namespace: str, name: str) -> str:
    return cluster.kubectl("describe", "pipelinerun", name, "-n", namespace).stdout


def step_status(obj: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in obj["status"]["steps"] if s["name"] == step_id)


# ----------------------------------------------------------------------------- retries


def test_flaky_step_is_retried_and_the_run_completes(cluster, ns, tmp_path, monkeypatch):
    mod = load_pipeline(tmp_path, monkeypatch, (
        "@step(retry=StepRetryConfig(max_retries=2, delay=1, backoff=1))\n"
        "def flaky() -> int:\n"
        "    attempt = get_step_context().step_run.attempt\n"
        "    if attempt == 1:\n"
        "        raise RuntimeError(f'flaky failure on attempt {attempt}')\n"
        "    return attempt\n\n"
        "@pipeline(enable_cache=False)\n"
        "def flaky_pipe():\n"
        "    flaky()\n"
    ))
    run = mod.flaky_pipe()
    assert run.status == "completed", describe(cluster, ns, run.name)
    obj = run_json(cluster, ns, run.name)
    flaky = step_status(obj, "flaky")
    assert flaky["phase"] == "completed"
    assert flaky["attempts"] == 2
    assert run.steps["flaky"].outputs["output"].load() == 2
    # The operator moves on at the container's exit; the kubelet turns the last Pod's phase
    # Succeeded about a second later.
    want = {("1", "Failed"), ("2", "Succeeded")}

    def pod_phases() -> set[tuple[str, str]]:
        return {(p["metadata"]["labels"]["kubeline.dev/attempt"], p["status"]["phase"])
                for p in step_pods(cluster, ns, run.name)}

    wait_for(f"the step Pods' phases to be {sorted(want)}", lambda: pod_phases() == want,
             timeout=30)
    text = describe(cluster, ns, run.name)
    assert "StepRetrying" in text and "flaky failure on attempt 1" in text, text


# ----------------------------------------------------------------------------- cancel


def test_cancel_stops_the_run_and_its_pods(cluster, ns, tmp_path, monkeypatch):
    """The cancelled step's Pod stops on SIGTERM (the runtime is its PID 1 and handles it):
    gone in seconds, not after the 30 s termination grace, with its log saved saying why."""
    from kubeline.client import Client

    mod = load_pipeline(tmp_path, monkeypatch, (
        "@step\n"
        "def sleeper(seconds: int = 600) -> int:\n"
        "    print('sleeping now', flush=True)\n"
        "    time.sleep(seconds)\n"
        "    return seconds\n\n"
        "@pipeline(enable_cache=False, synchronous=False)\n"
        "def long_pipe():\n"
        "    sleeper()\n"
    ))
    run = mod.long_pipe()

    def sleeping() -> bool:
        pods = [p for p in step_pods(cluster, ns, run.name)
                if p["status"].get("phase") == "Running"]
        return bool(pods) and "sleeping now" in cluster.kubectl(
            "logs", pods[0]["metadata"]["name"], "-n", ns, check=False).stdout

    wait_for("the sleeper step to be sleeping", sleeping, timeout=180)
    cancelled = time.monotonic()
    Client().cancel_pipeline_run(run.name)
    obj = wait_phase(cluster, ns, run.name, {"cancelled", "failed", "completed"}, timeout=60)
    assert obj["status"]["phase"] == "cancelled", obj["status"]
    assert obj["status"]["reason"] == "Cancelled"
    assert step_status(obj, "sleeper")["phase"] == "cancelled"
    wait_for("the run's Pods to be gone", lambda: not step_pods(cluster, ns, run.name),
             timeout=60, interval=0.25)
    took = time.monotonic() - cancelled
    # Without a SIGTERM handler the Pod lived until its 30 s grace ran out.
    assert took < 15, f"the cancelled step's Pod took {took:.1f}s to go away"
    log = Client().get_pipeline_run(run.name).steps["sleeper"].logs()
    assert "sleeping now" in log and "StepTerminated" in log, log
    assert "the step was stopped by SIGTERM" in log, log
    text = describe(cluster, ns, run.name)
    assert "RunCancelled" in text and "Cancelled" in text, text


# ----------------------------------------------------------------------------- operator kill


def test_operator_killed_mid_run_completes_without_duplicate_pods(cluster, ns, tmp_path,
                                                                  monkeypatch):
    from kubeline_release import wait_operator_ready

    mod = load_pipeline(tmp_path, monkeypatch, (
        "@step\n"
        "def first(seconds: int = 6) -> int:\n"
        "    time.sleep(seconds)\n"
        "    return 1\n\n"
        "@step\n"
        "def second(x: int, seconds: int = 6) -> int:\n"
        "    time.sleep(seconds)\n"
        "    return x + 1\n\n"
        "@step\n"
        "def third(x: int) -> int:\n"
        "    return x + 1\n\n"
        "@pipeline(enable_cache=False, synchronous=False)\n"
        "def chain():\n"
        "    third(second(first()))\n"
    ))
    run = mod.chain()

    def first_running() -> bool:
        return any(p["metadata"]["labels"]["kubeline.dev/step"] == "first"
                   and p["status"].get("phase") == "Running"
                   for p in step_pods(cluster, ns, run.name))

    wait_for("step 'first' to run", first_running, timeout=180)
    cluster.kubectl("delete", "pod", "-l", "app.kubernetes.io/component=operator", "-n",
                    OPERATOR_NAMESPACE, "--grace-period=0", "--force", "--wait=false")
    wait_operator_ready(cluster, OPERATOR_NAMESPACE)
    obj = wait_phase(cluster, ns, run.name, {"completed", "failed", "cancelled"}, timeout=300)
    assert obj["status"]["phase"] == "completed", describe(cluster, ns, run.name)
    pods = step_pods(cluster, ns, run.name)
    keys = [(p["metadata"]["labels"]["kubeline.dev/step"],
             p["metadata"]["labels"]["kubeline.dev/attempt"]) for p in pods]
    assert sorted(keys) == [("first", "1"), ("second", "1"), ("third", "1")], keys
    assert all(step_status(obj, s)["attempts"] == 1 for s in ("first", "second", "third"))
    from kubeline.client import Client

    assert Client().get_pipeline_run(run.name).steps["third"].outputs["output"].load() == 3


# ----------------------------------------------------------------------------- timeout


def test_step_timeout_fails_the_step_with_step_timeout(cluster, ns, tmp_path, monkeypatch):
    mod = load_pipeline(tmp_path, monkeypatch, (
        "@step(timeout=5)\n"
        "def slow(seconds: int = 300) -> int:\n"
        "    time.sleep(seconds)\n"
        "    return seconds\n\n"
        "@pipeline(enable_cache=False)\n"
        "def slow_pipe():\n"
        "    slow()\n"
    ))
    started = time.monotonic()
    from kubeline.errors import RunFailedError

    with pytest.raises(RunFailedError, match="step timeout of 5s") as failed:
        mod.slow_pipe()
    run = failed.value.run
    assert run.status == "failed", describe(cluster, ns, run.name)
    assert time.monotonic() - started < 150, "the timeout did not stop the step promptly"
    obj = run_json(cluster, ns, run.name)
    slow = step_status(obj, "slow")
    assert slow["phase"] == "failed" and slow["reason"] == "StepTimeout", slow
    assert "step timeout of 5s" in slow["message"]
    assert obj["status"]["reason"] == "StepTimeout" and obj["status"]["failedStep"] == "slow"
    text = describe(cluster, ns, run.name)
    assert "StepTimeout" in text and "RunFailed" in text, text


# ----------------------------------------------------------------------------- TTL


def test_ttl_after_finished_deletes_the_pods(cluster, ns, tmp_path, monkeypatch):
    from kubeline.kube import Kube
    from kubeline.resources.names import PIPELINE_RUNS

    mod = load_pipeline(tmp_path, monkeypatch, (
        "@step\n"
        "def quick() -> int:\n"
        "    return 7\n\n"
        "@pipeline(enable_cache=False)\n"
        "def quick_pipe():\n"
        "    quick()\n"
    ))
    first = mod.quick_pipe()
    assert first.status == "completed"
    snapshot = run_json(cluster, ns, first.name)["status"]["snapshot"]
    name = f"ttl-{uuid.uuid4().hex[:8]}"
    Kube.connect(namespace=ns).create(PIPELINE_RUNS, {
        "apiVersion": "kubeline.dev/v1alpha1", "kind": "PipelineRun",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"snapshot": snapshot, "ttlSecondsAfterFinished": 3},
    })
    obj = wait_phase(cluster, ns, name, {"completed", "failed", "cancelled"}, timeout=180)
    assert obj["status"]["phase"] == "completed", describe(cluster, ns, name)
    wait_for(f"the TTL to delete run {name}'s Pods", lambda: not step_pods(cluster, ns, name),
             timeout=60)
    # The run itself stays (deleteAfterTtl is false), and so do other runs' Pods.
    assert run_json(cluster, ns, name)["status"]["phase"] == "completed"
    assert step_pods(cluster, ns, first.name), "the TTL of one run deleted another run's Pods"
