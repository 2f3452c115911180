"""Apply the planner's status actions to a PipelineRunStatus (pure, one transition table).

Also derives what follows from the steps: counts, the ``done/total`` progress,
cached-step count, duration and the ``Succeeded`` condition.
"""

from __future__ import annotations

from collections.abc import Iterable

from kubeline.resources.models import Condition, PipelineRunStatus, RunProgress, StepStatus
from kubeline.resources.phases import SUCCESS_PHASES, UNSUCCESSFUL_RUN_PHASES
from kubeline.resources.reasons import Reason

from kubeline_operator.actions import (
    Action,
    FinishRun,
    InitRun,
    MarkCached,
    MarkStepCancelled,
    MarkStepCompleted,
    MarkStepFailed,
    MarkStepRunning,
    MarkStepSkipped,
    ScheduleRetry,
    WaitForPod,
)
from kubeline_operator.timeutil import (
    format_duration,
    parse_time,
    to_rfc3339,
    to_rfc3339_precise,
)

MAX_MESSAGE = 2048


def _clip(text: str | None, limit: int = MAX_MESSAGE) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return "…" + text[-(limit - 1):]


def apply(status: PipelineRunStatus, actions: Iterable[Action], now: float) -> PipelineRunStatus:
    """A new status with ``actions`` applied (effects are ignored) and summaries derived."""
    # Shallow copies suffice: every change below assigns fields, none mutates a nested value.
    st = status.model_copy()
    st.steps = [s.model_copy() for s in status.steps]
    steps = {s.name: s for s in st.steps}
    for action in actions:
        if isinstance(action, InitRun):
            st.phase = "running"
            st.snapshot = action.snapshot
            st.pipeline = action.pipeline
            st.start_time = st.start_time or to_rfc3339(action.time)
            st.steps = [StepStatus(name=i, phase="pending") for i in action.step_ids]
            params = {k: dict(v) for k, v in action.parameters.items() if v}
            st.parameters = params or None
            st.model = action.model
            st.model_artifacts = list(action.model_artifacts)
            st.triggered_by = action.trigger
            steps = {s.name: s for s in st.steps}
        elif isinstance(action, FinishRun):
            st.phase = action.phase  # type: ignore[assignment]
            st.reason = action.reason
            st.message = _clip(action.message)
            st.failed_step = action.failed_step
            st.end_time = to_rfc3339(action.time)
            start = parse_time(st.start_time)
            st.start_time = st.start_time or st.end_time
            st.duration = format_duration(action.time - start) if start else "0ms"
        else:
            ss = steps.get(getattr(action, "step", ""))
            if ss is not None:
                _apply_step(ss, action)
    _derive(st, now)
    return st


def _apply_step(ss: StepStatus, action: Action) -> None:
    if isinstance(action, MarkStepRunning):
        ss.phase = "running"
        ss.attempts = action.attempt
        ss.pod = action.pod
        ss.start_time = ss.start_time or to_rfc3339_precise(action.time)
        ss.next_retry_time = None
        ss.reason, ss.message = action.reason, _clip(action.message)
        if action.cache is not None:
            ss.cache = action.cache
    elif isinstance(action, MarkCached):
        ss.phase = "cached"
        ss.cache = action.cache
        ss.cached_from = action.cached_from
        ss.outputs = dict(action.outputs)
        ss.start_time = ss.end_time = to_rfc3339_precise(action.time)
        ss.reason = Reason.CACHE_HIT
        src = action.cached_from
        ss.message = f"outputs reused from run {src.run}, step {src.step}"
    elif isinstance(action, MarkStepCompleted):
        ss.phase = "completed"
        ss.outputs = dict(action.outputs)
        ss.metadata = dict(action.metadata) if action.metadata else None
        ss.run_metadata = dict(action.run_metadata) if action.run_metadata else None
        ss.metadata_uri = action.metadata_uri
        ss.end_time = to_rfc3339_precise(action.time)
        ss.next_retry_time = None
        ss.reason, ss.message = Reason.COMPLETED, None
    elif isinstance(action, ScheduleRetry):
        ss.phase = "retrying"
        ss.next_retry_time = to_rfc3339_precise(action.next_time)
        ss.reason = action.reason
        ss.message = _clip(f"attempt {ss.attempts} failed: {action.message}")
    elif isinstance(action, WaitForPod):
        ss.phase = "pending"
        ss.attempts = action.attempt - 1
        ss.pod = action.previous_pod
        if action.attempt == 1:
            ss.start_time = None  # nothing has started yet
        ss.next_retry_time = to_rfc3339_precise(action.next_time)
        ss.reason, ss.message = action.reason, _clip(action.message)
    elif isinstance(action, MarkStepFailed | MarkStepCancelled):
        ss.phase = "failed" if isinstance(action, MarkStepFailed) else "cancelled"
        ss.end_time = to_rfc3339_precise(action.time)
        ss.next_retry_time = None
        ss.reason, ss.message = action.reason, _clip(action.message)
    elif isinstance(action, MarkStepSkipped):
        ss.phase = "skipped"
        ss.reason, ss.message = action.reason, _clip(action.message)


def _derive(st: PipelineRunStatus, now: float) -> None:
    counts = RunProgress(total=len(st.steps))
    for ss in st.steps:
        if ss.phase == "completed":
            counts.completed += 1
        elif ss.phase == "cached":
            counts.cached += 1
        elif ss.phase == "failed":
            counts.failed += 1
        elif ss.phase in ("running", "retrying"):
            counts.running += 1
    st.counts = counts
    st.cached_steps = counts.cached
    st.progress = f"{counts.completed + counts.cached}/{counts.total}"
    if st.phase in SUCCESS_PHASES:
        cond = Condition(type="Succeeded", status="True", reason=st.reason or Reason.COMPLETED,
                         message=st.message or "")
    elif st.phase in UNSUCCESSFUL_RUN_PHASES:
        cond = Condition(type="Succeeded", status="False", reason=st.reason or Reason.FAILED,
                         message=st.message or "")
    elif st.phase == "running":
        cond = Condition(type="Succeeded", status="Unknown", reason=Reason.RUNNING,
                         message=f"{st.progress} steps done")
    else:
        cond = Condition(type="Succeeded", status="Unknown", reason=st.reason or Reason.INITIALIZED,
                         message=st.message or "")
    old = next((c for c in st.conditions if c.type == "Succeeded"), None)
    if old is not None and (old.status, old.reason) == (cond.status, cond.reason):
        cond.last_transition_time = old.last_transition_time
    else:
        cond.last_transition_time = to_rfc3339(now)
    st.conditions = [c for c in st.conditions if c.type != "Succeeded"] + [cond]
