"""Events told from a pass's status changes (pure): what ``kubectl describe`` shows."""

from __future__ import annotations

import pytest
from kubeline.resources.models import CachedFrom, CacheInfo
from kubeline_operator import actions as A
from kubeline_operator.narration import Event, narrate

pytestmark = pytest.mark.unit


def test_each_change_tells_its_event() -> None:
    changes: list[A.Action] = [
        A.InitRun(snapshot="snap-1", pipeline="p", step_ids=("a", "b"), parameters={}, time=1.0),
        A.MarkStepRunning(step="a", pod="run-a-1", attempt=1, reason="CacheMiss", time=1.0),
        A.MarkCached(step="b", cache=CacheInfo(key="k" * 64), outputs={"out": "av-1"},
                     cached_from=CachedFrom(run="old-run", step="b"), time=1.0),
        A.MarkStepCompleted(step="a", outputs={"out": "av-2"}, time=2.0),
        A.FinishRun(phase="completed", reason="AllStepsDone", message="2 steps", time=2.0),
    ]
    assert narrate(changes) == [
        Event("Normal", "RunStarted", "run started: 2 steps from snapshot snap-1"),
        Event("Normal", "StepStarted", "step a attempt 1: pod run-a-1 (CacheMiss)"),
        Event("Normal", "CacheHit", "step b reused outputs of run old-run, step b"),
        Event("Normal", "StepCompleted", "step a completed"),
        Event("Normal", "RunCompleted", "AllStepsDone: 2 steps"),
    ]


def test_failures_and_retries_are_warnings() -> None:
    events = narrate([
        A.ScheduleRetry(step="a", reason="Error", message="exit 1", time=10.0, next_time=40.0),
        A.MarkStepFailed(step="a", reason="Error", message="exit 1", time=50.0),
        A.FinishRun(phase="failed", reason="StepFailed", message="step a failed", time=50.0,
                    failed_step="a"),
    ])
    assert events == [
        Event("Warning", "StepRetrying", "step a failed (Error: exit 1); retrying in 30s"),
        Event("Warning", "StepFailed", "step a: Error: exit 1"),
        Event("Warning", "RunFailed", "StepFailed: step a failed"),
    ]


def test_adopted_pods_and_effects() -> None:
    events = narrate([
        A.MarkStepRunning(step="a", pod="run-a-2", attempt=2, reason="PodAdopted", time=1.0),
        A.CreatePod(step="b", pod="run-b-1", attempt=1, parameters={}),
        A.DeletePod(pod="run-a-1", reason="Cancelled"),
    ])
    assert events == [Event("Normal", "PodAdopted", "step a attempt 2: pod run-a-2 (PodAdopted)")]
