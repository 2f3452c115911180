"""A step Pod refused by a ResourceQuota or an admission check waits (QuotaExceeded,
retried with backoff) and fails only past the step's timeout; other refusals fail at once."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from kubeline.resources.models import (
    PipelineRunSpec,
    PipelineRunStatus,
    SnapshotSpec,
    StepSpec,
    StepStatus,
)
from kubeline.resources.reasons import EventReason, Reason
from kubeline_operator import actions as A
from kubeline_operator.api import ApiError
from kubeline_operator.effects import Effects, refused_backoff
from kubeline_operator.metrics import count_changes
from kubeline_operator.narration import narrate
from kubeline_operator.observe import refusal_waits
from kubeline_operator.planner import RunState, StepResolution, plan
from kubeline_operator.pod_spec import RunRef
from kubeline_operator.run_status import apply
from kubeline_operator.settings import OperatorSettings
from kubeline_operator.snapshots import Snap
from kubeline_operator.stores import Stores
from kubeline_operator.timeutil import to_rfc3339_precise

pytestmark = pytest.mark.unit

QUOTA = ('pods "r1-train-1" is forbidden: exceeded quota: one-pod, requested: pods=1, '
         'used: pods=1, limited: pods=1')
WEBHOOK = 'admission webhook "pods.example.com" denied the request: the node pool is full'
POLICY = ("pods \"r1-train-1\" is forbidden: ValidatingAdmissionPolicy 'pin' with binding "
          "'pin' denied request: busy")
WEBHOOK_DOWN = 'Internal error occurred: failed calling webhook "pods.example.com": timeout'
PSA = ('pods "r1-train-1" is forbidden: violates PodSecurity "restricted:latest": '
       'runAsNonRoot != true')
RBAC = ('pods is forbidden: User "system:serviceaccount:x:y" cannot create resource "pods" '
        'in API group "" in the namespace "ml"')
MUST = 'pods "r1-train-1" is forbidden: failed quota: cpu: must specify limits.cpu for: step'
LIMIT_RANGE = 'pods "r1-train-1" is forbidden: maximum cpu usage per Container is 1, but limit is 2'


@pytest.mark.parametrize(("status", "message", "waits"), [
    (403, QUOTA, True), (403, WEBHOOK, True), (400, WEBHOOK, True), (403, POLICY, True),
    (422, POLICY, True), (500, WEBHOOK_DOWN, True),
    (403, 'pods "r1-train-1" is forbidden: status unknown for quota: one-pod, resource: pods',
     True),  # a quota the controller has not counted yet
    (403, PSA, False), (403, RBAC, False), (403, MUST, False), (403, LIMIT_RANGE, False),
    (422, 'Pod "x" is invalid: spec.containers[0].image: Required value', False),
    (500, "etcdserver: request timed out", False),
])
def test_which_refusals_wait(status: int, message: str, waits: bool) -> None:
    assert refusal_waits(status, message) is waits


STEP = StepSpec(name="train", id="train", function="train", entrypoint="steps:train",
                code_hash="0" * 64, timeout_seconds=60)
SNAP = SnapshotSpec(pipeline="p", pipeline_name="p", image="img:1", steps=[STEP])
RUN = RunRef(name="r1", uid="u", namespace="ml", pipeline="p", snapshot="s")


class RefusingApi:
    """Answers Pod creations from a script of errors (None: created)."""

    def __init__(self, *answers: ApiError | None) -> None:
        self.answers = list(answers)
        self.created: list[str] = []

    async def create_pod(self, namespace: str, body: dict[str, Any]) -> bool:
        answer = self.answers.pop(0)
        if answer is not None:
            raise answer
        self.created.append(body["metadata"]["name"])
        return True


def _effects(api: RefusingApi) -> Effects:
    return Effects(OperatorSettings(s3_bucket="b"), api=api,  # type: ignore[arg-type]
                   stores=Stores(), store=None, models=None)  # type: ignore[arg-type]


def _create(effects: Effects, attempt: int = 1) -> list[A.Action]:
    action = A.CreatePod("train", attempt, f"r1-train-{attempt}", {}, {})
    return asyncio.run(effects.create_pod(RUN, Snap("s", SNAP, "p"), action))


def test_a_quota_refusal_waits_then_the_pod_is_created(monkeypatch: pytest.MonkeyPatch) -> None:
    api = RefusingApi(ApiError(403, QUOTA), ApiError(403, QUOTA), None)
    effects = _effects(api)
    clock = [1000.0]
    monkeypatch.setattr("kubeline_operator.effects.time.time", lambda: clock[0])
    (first,) = _create(effects)
    assert isinstance(first, A.WaitForPod) and first.first
    assert first.reason == Reason.QUOTA_EXCEEDED == "QuotaExceeded"
    assert "exceeded quota: one-pod" in first.message and "step timeout of 60s" in first.message
    assert 1.0 <= first.next_time - first.time <= 2.0
    clock[0] += 5
    (second,) = _create(effects)
    assert isinstance(second, A.WaitForPod) and not second.first
    assert "refused 2x over 5s" in second.message
    assert _create(effects) == [] and api.created == ["r1-train-1"]
    assert effects.refused == {}  # forgotten once the Pod exists


def test_a_refusal_past_the_step_timeout_fails_the_step(monkeypatch: pytest.MonkeyPatch) -> None:
    effects = _effects(RefusingApi(ApiError(403, QUOTA), ApiError(403, POLICY)))
    clock = [1000.0]
    monkeypatch.setattr("kubeline_operator.effects.time.time", lambda: clock[0])
    (wait,) = _create(effects)
    assert isinstance(wait, A.WaitForPod)
    clock[0] += 61
    (failed,) = _create(effects)
    assert isinstance(failed, A.MarkStepFailed) and failed.reason == Reason.QUOTA_EXCEEDED
    assert "past the step timeout of 60s" in failed.message and "ValidatingAdmissionPolicy" \
        in failed.message


def test_the_wait_never_runs_past_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    effects = _effects(RefusingApi(*[ApiError(403, QUOTA)] * 8))
    clock = [1000.0]
    monkeypatch.setattr("kubeline_operator.effects.time.time", lambda: clock[0])
    for _ in range(7):
        (wait,) = _create(effects)
        assert isinstance(wait, A.WaitForPod)
        assert wait.next_time <= 1000.0 + 60 + 0.5
        clock[0] = wait.next_time
    assert refused_backoff(10, random.Random(1)) <= 15.0


def test_other_refusals_fail_at_once() -> None:
    for message in (PSA, RBAC, MUST):
        (failed,) = _create(_effects(RefusingApi(ApiError(403, message))))
        assert isinstance(failed, A.MarkStepFailed)
        assert failed.reason == Reason.POD_CREATE_FAILED and message in failed.message


def test_a_waiting_step_is_pending_not_started_and_told_once() -> None:
    running = A.MarkStepRunning("train", 1, "r1-train-1", 1000.0, Reason.CACHE_MISS, "miss")
    wait = A.WaitForPod("train", 1, None, 1010.0, Reason.QUOTA_EXCEEDED, "waiting: refused",
                        1000.0)
    status = apply(PipelineRunStatus(phase="running", steps=[StepStatus(name="train")]),
                   [running, wait], 1000.0)
    ss = status.steps[0]
    assert (ss.phase, ss.attempts, ss.pod, ss.start_time) == ("pending", 0, None, None)
    assert ss.reason == "QuotaExceeded" and ss.message == "waiting: refused"
    assert ss.next_retry_time == to_rfc3339_precise(1010.0)
    assert status.counts is not None and status.counts.running == 0
    events = narrate([running, wait])
    assert [(e.type, e.reason) for e in events] == [("Warning", EventReason.QUOTA_EXCEEDED)]
    again = A.WaitForPod("train", 1, None, 1020.0, Reason.QUOTA_EXCEEDED, "again", 1010.0,
                         first=False)
    assert narrate([running, again]) == []
    # A retried attempt that waits shows the last attempt's Pod.
    retried = apply(PipelineRunStatus(phase="running", steps=[StepStatus(
        name="train", phase="retrying", attempts=1, pod="r1-train-1",
        start_time="2026-01-01T00:00:00Z")]),
        [A.MarkStepRunning("train", 2, "r1-train-2", 1000.0, Reason.RETRYING),
         A.WaitForPod("train", 2, "r1-train-1", 1010.0, Reason.QUOTA_EXCEEDED, "w", 1000.0)],
        1000.0).steps[0]
    assert (retried.attempts, retried.pod, retried.start_time) == (
        1, "r1-train-1", "2026-01-01T00:00:00Z")


def test_a_cache_miss_whose_pod_was_refused_is_counted_once() -> None:
    from kubeline_operator.metrics import CACHE_MISSES, POD_REFUSALS

    misses, refusals = CACHE_MISSES._value.get(), POD_REFUSALS._value.get()
    running = A.MarkStepRunning("train", 1, "r1-train-1", 1000.0, Reason.CACHE_MISS, "miss")
    count_changes([running, A.WaitForPod("train", 1, None, 1010.0, "QuotaExceeded", "w", 1000)])
    assert (CACHE_MISSES._value.get(), POD_REFUSALS._value.get()) == (misses, refusals + 1)
    count_changes([running])
    assert CACHE_MISSES._value.get() == misses + 1


def _plan_at(now: float, next_retry: float) -> Any:
    ss = StepStatus(name="train", phase="pending", reason="QuotaExceeded",
                    next_retry_time=to_rfc3339_precise(next_retry))
    state = RunState(name="r1", created=900.0, spec=PipelineRunSpec(snapshot="s"),
                     status=PipelineRunStatus(phase="running", snapshot="s", pipeline="p",
                                              steps=[ss]),
                     now=now, snapshot_name="s", snapshot=SNAP,
                     resolutions={"train": StepResolution(cache=None, cache_enabled=False)})
    return plan(state)


def test_the_planner_tries_the_refused_pod_again_when_due() -> None:
    early = _plan_at(1005.0, 1010.0)
    assert not [a for a in early.actions if isinstance(a, A.CreatePod)]
    assert early.requeue_after == pytest.approx(5.0)
    due = _plan_at(1010.0, 1010.0)
    (create,) = [a for a in due.actions if isinstance(a, A.CreatePod)]
    assert (create.attempt, create.pod) == (1, "r1-train-1")  # the same attempt and Pod name
