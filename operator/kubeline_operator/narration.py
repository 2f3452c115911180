"""What a run's Events say: one Kubernetes Event per planner decision worth telling (pure).

``kubectl describe pipelinerun`` shows these; the operator posts them best effort.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kubeline.resources.reasons import FINISH_EVENTS, EventReason, Reason

from kubeline_operator import actions as A


@dataclass(frozen=True)
class Event:
    """A Kubernetes Event about a run: ``type`` is ``Normal`` or ``Warning``."""

    type: str
    reason: EventReason
    message: str


def refused_pods(changes: Iterable[A.Action]) -> set[tuple[str, int]]:
    """(step, attempt) of the Pods a quota or admission check refused in ``changes``: their
    ``MarkStepRunning`` did not start anything."""
    return {(a.step, a.attempt) for a in changes if isinstance(a, A.WaitForPod)}


def narrate(changes: Iterable[A.Action]) -> list[Event]:
    """The Events telling the status changes ``changes`` (effects and silent ones tell none)."""
    changes = list(changes)
    refused = refused_pods(changes)
    events: list[Event] = []
    for a in changes:
        if isinstance(a, A.MarkStepRunning) and (a.step, a.attempt) in refused:
            continue  # its Pod was refused: WaitForPod tells it
        if isinstance(a, A.WaitForPod):
            if a.first:
                events.append(Event("Warning", EventReason.QUOTA_EXCEEDED,
                                    f"step {a.step}: {a.message}"))
        elif isinstance(a, A.InitRun):
            events.append(Event("Normal", EventReason.RUN_STARTED,
                                f"run started: {len(a.step_ids)} steps from snapshot {a.snapshot}"))
        elif isinstance(a, A.MarkStepRunning):
            reason = (EventReason.POD_ADOPTED if a.reason == Reason.POD_ADOPTED
                      else EventReason.STEP_STARTED)
            events.append(Event("Normal", reason,
                                f"step {a.step} attempt {a.attempt}: pod {a.pod} ({a.reason})"))
        elif isinstance(a, A.MarkCached):
            events.append(Event("Normal", EventReason.CACHE_HIT,
                                f"step {a.step} reused outputs of run {a.cached_from.run}, "
                                f"step {a.cached_from.step}"))
        elif isinstance(a, A.MarkStepCompleted):
            events.append(Event("Normal", EventReason.STEP_COMPLETED, f"step {a.step} completed"))
        elif isinstance(a, A.ScheduleRetry):
            delay = max(a.next_time - a.time, 0)
            events.append(Event("Warning", EventReason.STEP_RETRYING,
                                f"step {a.step} failed ({a.reason}: {a.message}); "
                                f"retrying in {delay:.0f}s"))
        elif isinstance(a, A.MarkStepFailed):
            events.append(Event("Warning", EventReason.STEP_FAILED,
                                f"step {a.step}: {a.reason}: {a.message}"))
        elif isinstance(a, A.MarkStepCancelled):
            events.append(Event("Normal", EventReason.STEP_CANCELLED,
                                f"step {a.step}: {a.message}"))
        elif isinstance(a, A.FinishRun):
            events.append(Event("Warning" if a.phase == "failed" else "Normal",
                                FINISH_EVENTS[a.phase], f"{a.reason}: {a.message}"))
    return events
