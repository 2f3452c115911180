"""A ResourceQuota that admits one step Pod at a time: a 1 -> 4 -> 1 fan-out still completes
(refused Pods wait with reason QuotaExceeded and are tried again), and a step the quota never
admits fails with QuotaExceeded once its timeout has passed."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

PIPELINES = '''
from kubeline import pipeline, step


@step(enable_cache=False)
def split() -> int:
    return 10


@step(enable_cache=False)
def work(n: int, k: int) -> int:
    return n * k


@step(enable_cache=False)
def join(a: int, b: int, c: int, d: int) -> int:
    return a + b + c + d


@pipeline(enable_cache=False)
def quota_fanout():
    n = split()
    join(work(n, k=1, id="w1"), work(n, k=2, id="w2"), work(n, k=3, id="w3"),
         work(n, k=4, id="w4"))


@step(enable_cache=False, timeout=20)
def never_admitted() -> int:
    return 1


@pipeline(enable_cache=False)
def quota_timeout():
    never_admitted()
'''


def _quota(cluster: Any, namespace: str, pods: int) -> None:
    cluster.kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "ResourceQuota",
        "metadata": {"name": "step-pods", "namespace": namespace},
        "spec": {"hard": {"pods": str(pods)}}}))


def _events(cluster: Any, namespace: str, run: str) -> list[dict[str, Any]]:
    out = cluster.kubectl("get", "events", "-n", namespace, "-o", "json",
                          "--field-selector", f"involvedObject.name={run}").stdout
    return list(json.loads(out)["items"])


@pytest.fixture
def pipes(step_namespace: str, operator: Any, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("KUBELINE_NAMESPACE", step_namespace)
    (tmp_path / "quota_pipes.py").write_text(PIPELINES)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("quota_pipes", None)
    import quota_pipes

    yield quota_pipes
    sys.modules.pop("quota_pipes", None)


def test_a_one_pod_quota_still_completes_a_fan_out(pipes: Any, step_namespace: str,
                                                   cluster: Any) -> None:
    _quota(cluster, step_namespace, 1)
    run = pipes.quota_fanout()
    assert run.status == "completed", (run.status, run.message)
    assert run.steps["join"].output.load() == 100
    steps = [run.steps[s] for s in ("split", "w1", "w2", "w3", "w4", "join")]
    assert all(s.status == "completed" for s in steps)
    # Some of the four parallel Pods were refused and waited: the run's Events say so.
    waits = [e for e in _events(cluster, step_namespace, run.name)
             if e["reason"] == "QuotaExceeded"]
    assert waits and all(e["type"] == "Warning" for e in waits), waits
    assert any("exceeded quota: step-pods" in e["message"] for e in waits), waits
    described = cluster.kubectl("describe", "pipelinerun", run.name, "-n", step_namespace).stdout
    assert "QuotaExceeded" in described
    # One Pod at a time: no two steps' Pods ran at once.
    spans = sorted((s.start_time, s.end_time) for s in steps)
    assert all(None not in span for span in spans), spans
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end, spans
    attempts = [s.attempts for s in steps]
    assert attempts == [1] * 6, attempts  # waiting is not an attempt


def test_a_step_the_quota_never_admits_fails_after_its_timeout(
        pipes: Any, step_namespace: str, cluster: Any) -> None:
    from kubeline.errors import RunFailedError

    _quota(cluster, step_namespace, 0)
    with pytest.raises(RunFailedError) as failed:
        pipes.quota_timeout()
    step = failed.value.run.steps["never_admitted"]
    assert step.status == "failed" and step.reason == "QuotaExceeded", step.reason
    assert "past the step timeout of 20s" in (step.message or "")
    assert "exceeded quota: step-pods" in (step.message or "")
    waited = (step.end_time - failed.value.run.start_time).total_seconds()
    assert waited >= 20, waited
