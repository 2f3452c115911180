"""The run planner: (run, snapshot, status, observed Pods, lookups, now) -> actions. Pure.

The planner never does I/O. Everything it needs arrives in a :class:`RunState`:
the snapshot, the run's spec and status, summaries of the run's step Pods, the
resolved inputs and cache lookups of the steps that are ready to start
(:class:`StepResolution`, computed by the controller for the ids returned by
:func:`ready_steps`), the free Pod slots and the time. It returns a
:class:`Plan`: actions plus when to look at the run again.

Level-triggered: the plan depends only on the current state, so planning the
same state twice gives the same actions, and a restarted operator that sees
Pods the status does not mention yet adopts them instead of creating new ones.
The controller applies a plan and plans again until nothing changes, so a
chain of cache hits or a completed step and its ready successors are handled
in one pass.

Failure policy is fail-fast: when a step fails for good, running siblings are
stopped (``cancelled``), steps not started are ``skipped`` and the run is
``failed`` with the step and its message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kubeline.resources.models import (
    CachedFrom,
    CacheInfo,
    PipelineRunSpec,
    PipelineRunStatus,
    SnapshotSpec,
    StepSpec,
    StepStatus,
    TriggerProvenance,
)
from kubeline.resources.names import step_pod_name
from kubeline.resources.phases import SUCCESS_PHASES, TERMINAL_RUN_PHASES, TERMINAL_STEP_PHASES
from kubeline.resources.reasons import Reason
from kubeline.resources.run_config import run_config_problems

from kubeline_operator.actions import (
    Action,
    ArtifactInfo,
    CreatePod,
    DeletePod,
    DeleteRun,
    FinishRun,
    InitRun,
    MarkCached,
    MarkStepCancelled,
    MarkStepFailed,
    MarkStepRunning,
    MarkStepSkipped,
    RecordOutputs,
    ScheduleRetry,
)
from kubeline_operator.dag import Dag, effective_parameters
from kubeline_operator.models_plan import ModelResolution, needs_models
from kubeline_operator.observe import (
    PERMANENT_WAITING,
    TRANSIENT_WAITING,
    PodObservation,
    classify_failure,
    parse_termination_message,
)
from kubeline_operator.timeutil import parse_time

TERMINAL_STEP = TERMINAL_STEP_PHASES
SUCCESS_STEP = SUCCESS_PHASES
TERMINAL_RUN = TERMINAL_RUN_PHASES


@dataclass(frozen=True)
class PlannerSettings:
    """Tunables of the planner."""

    max_pods_per_run: int = 100
    image_pull_grace_seconds: float = 120.0
    snapshot_grace_seconds: float = 30.0


@dataclass(frozen=True)
class CacheHit:
    run: str
    step: str
    outputs: Mapping[str, str]


@dataclass(frozen=True)
class StepResolution:
    """What the controller resolved for a ready step: inputs, cache key, cache hit or error."""

    inputs: Mapping[str, ArtifactInfo] = field(default_factory=dict)
    cache: CacheInfo | None = None
    cache_enabled: bool = True
    hit: CacheHit | None = None
    error: tuple[str, str] | None = None  # (reason, message), e.g. InputNotFound


@dataclass
class RunState:
    """Everything the planner looks at for one run."""

    name: str
    created: float
    spec: PipelineRunSpec
    status: PipelineRunStatus
    now: float
    snapshot_name: str | None = None
    snapshot: SnapshotSpec | None = None
    pipeline: str | None = None
    snapshot_missing: str | None = None  # why no snapshot was found (grace applies)
    snapshot_invalid: str | None = None  # why the snapshot cannot run (fails at once)
    pods: Sequence[PodObservation] = ()
    resolutions: Mapping[str, StepResolution] = field(default_factory=dict)
    global_slots: int = 1 << 30
    settings: PlannerSettings = field(default_factory=PlannerSettings)
    # The run's model version and model-artifact inputs, resolved by the controller just
    # before admission (None: not resolved yet; the run is admitted once they are).
    model_resolution: ModelResolution | None = None
    # Whether spec.triggeredBy is verified, checked by the controller (None: no triggeredBy).
    trigger: TriggerProvenance | None = None


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)
    requeue_after: float | None = None  # seconds until the run must be looked at again
    waiting_for_slots: bool = False

    def wake(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        if self.requeue_after is None or seconds < self.requeue_after:
            self.requeue_after = seconds


# ----------------------------------------------------------------- helpers


def _pods_by_step(pods: Sequence[PodObservation]) -> dict[str, dict[int, PodObservation]]:
    out: dict[str, dict[int, PodObservation]] = {}
    for pod in pods:
        out.setdefault(pod.step, {})[pod.attempt] = pod
    return out


def _status_by_id(status: PipelineRunStatus) -> dict[str, StepStatus]:
    return {s.name: s for s in status.steps}


def ready_steps(state: RunState) -> list[str]:
    """Ids of pending or due-for-retry steps whose upstream steps all succeeded.

    The controller resolves inputs and cache lookups for exactly these steps.
    """
    if state.snapshot is None or not state.status.steps or state.status.phase in TERMINAL_RUN:
        return []
    dag = Dag.of(state.snapshot)
    by_id = _status_by_id(state.status)
    out = []
    for step in dag.steps:
        ss = by_id.get(step.id)
        if ss is None or ss.phase not in ("pending", "retrying"):
            continue
        if all(by_id.get(u) and by_id[u].phase in SUCCESS_STEP for u in dag.upstream[step.id]):
            out.append(step.id)
    return out


def retry_delay(step: StepSpec, failed_attempts: int) -> float | None:
    """Seconds before the next attempt, or None when no retry is left."""
    policy = step.retry
    if policy is None or failed_attempts > policy.max_retries:
        return None
    delay = policy.backoff_seconds * policy.backoff_factor ** (failed_attempts - 1)
    return min(delay, policy.max_backoff_seconds)


# ----------------------------------------------------------------- plan


def plan(state: RunState) -> Plan:
    """The actions that move the run towards its terminal state."""
    status = state.status
    if status.phase in TERMINAL_RUN:
        return _plan_finished(state)
    if not status.steps:
        return _plan_admission(state)
    if state.snapshot is None:
        return _abort(
            state,
            "failed",
            Reason.SNAPSHOT_NOT_FOUND,
            f"snapshot '{status.snapshot}' was deleted while the run was running",
        )
    if state.spec.cancel:
        return _abort(state, "cancelled", Reason.CANCELLED, "run cancelled (spec.cancel is true)")
    return _plan_steps(state)


def _plan_admission(state: RunState) -> Plan:
    out = Plan()
    now = state.now
    if state.spec.cancel:
        out.actions.append(
            FinishRun("cancelled", Reason.CANCELLED, "run cancelled before it started", now)
        )
        return out
    if state.snapshot_invalid:
        out.actions.append(
            FinishRun("failed", Reason.INVALID_SNAPSHOT, state.snapshot_invalid, now))
        return out
    if state.snapshot is None:
        waited = now - state.created
        grace = state.settings.snapshot_grace_seconds
        if waited < grace:
            out.wake(grace - waited)
            return out
        message = state.snapshot_missing or "no snapshot found for the run"
        out.actions.append(FinishRun("failed", Reason.SNAPSHOT_NOT_FOUND, message, now))
        return out
    dag = Dag.of(state.snapshot)
    problems = run_config_problems(dag.parameters, (state.snapshot.config_template,
                                                    state.spec.config))
    if problems:
        out.actions.append(
            FinishRun("failed", Reason.INVALID_RUN_CONFIGURATION, "; ".join(problems), now)
        )
        return out
    params = effective_parameters(dag, state.snapshot.config_template, state.spec.config)
    models = state.model_resolution
    if needs_models(state.snapshot):
        if models is None:
            return out  # resolved by the controller first
        if models.error is not None:
            out.actions.append(FinishRun("failed", models.error[0], models.error[1], now))
            return out
    out.actions.append(
        InitRun(
            snapshot=state.snapshot_name or "",
            pipeline=state.pipeline or state.snapshot.pipeline,
            step_ids=tuple(s.id for s in dag.steps),
            parameters=params,
            time=now,
            model=models.model if models else None,
            model_artifacts=tuple(models.artifacts) if models else (),
            trigger=state.trigger,
        )
    )
    return out


def admits(state: RunState) -> bool:
    """Whether the run would be admitted now if its models resolved (the controller creates
    a run's model version only then)."""
    if state.status.steps or state.status.phase in TERMINAL_RUN or state.spec.cancel:
        return False
    if state.snapshot is None or state.snapshot_invalid:
        return False
    dag = Dag.of(state.snapshot)
    return not run_config_problems(dag.parameters, (state.snapshot.config_template,
                                                    state.spec.config))


def _plan_steps(state: RunState) -> Plan:
    assert state.snapshot is not None
    out = Plan()
    now = state.now
    dag = Dag.of(state.snapshot)
    by_id = _status_by_id(state.status)
    pods = _pods_by_step(state.pods)
    params = state.status.parameters or {}
    active = sum(1 for p in state.pods if p.active)
    slots = min(state.settings.max_pods_per_run - active, state.global_slots)
    ready = set(ready_steps(state))
    failure: tuple[str, str, str] | None = None  # (step id, reason, message)
    handled: set[str] = set()  # steps given a terminal or recording action in this plan

    for step in dag.steps:
        ss = by_id.get(step.id)
        if ss is None:
            continue
        if ss.phase == "failed" and failure is None:
            failure = (step.id, ss.reason or Reason.STEP_FAILED, ss.message or "step failed")
        if ss.phase in TERMINAL_STEP:
            continue
        step_pods = pods.get(step.name, {})
        attempt, pod = ss.attempts, step_pods.get(ss.attempts)
        phase = ss.phase
        newer = [a for a in step_pods if a > ss.attempts]
        if newer:
            # A Pod the status does not know yet (operator restarted after creating it): adopt.
            attempt = max(newer)
            pod = step_pods[attempt]
            phase = "running"
            out.actions.append(
                MarkStepRunning(
                    step.id, attempt, pod.name, pod.created or now,
                    reason=Reason.POD_ADOPTED, message=f"adopted existing pod {pod.name}",
                    cache=ss.cache,
                )
            )
        if phase == "running":
            result = _plan_running(state, step, attempt, pod, out)
            if result is not None:
                handled.add(step.id)
                if result[0] == "failed" and failure is None:
                    failure = (step.id, result[1], result[2])
            continue
        if step.id not in ready:
            continue
        if phase == "retrying" or ss.next_retry_time:  # a retry, or a Pod refused (quota)
            due = parse_time(ss.next_retry_time) or now
            if due > now:
                out.wake(due - now)
                continue
        res = state.resolutions.get(step.id)
        if res is None:
            continue
        if res.error is not None:
            out.actions.append(MarkStepFailed(step.id, res.error[0], res.error[1], now))
            handled.add(step.id)
            if failure is None:
                failure = (step.id, res.error[0], res.error[1])
            continue
        if res.hit is not None and res.cache is not None and res.cache_enabled:
            out.actions.append(
                MarkCached(
                    step.id, res.cache, CachedFrom(run=res.hit.run, step=res.hit.step),
                    dict(res.hit.outputs), now,
                )
            )
            handled.add(step.id)
            continue
        if slots <= 0:
            out.waiting_for_slots = True
            continue
        slots -= 1
        next_attempt = attempt + 1
        pod_name = step_pod_name(state.name, step.name, next_attempt)
        out.actions.append(
            CreatePod(step.id, next_attempt, pod_name, dict(params.get(step.id, {})),
                      dict(res.inputs))
        )
        if not res.cache_enabled:
            reason, message = Reason.CACHE_DISABLED, "caching is disabled for this step"
        elif phase == "retrying":
            reason, message = Reason.RETRYING, f"attempt {next_attempt} after: {ss.message or ''}"
        else:
            reason, message = Reason.CACHE_MISS, "no cached result matches the cache key"
        out.actions.append(
            MarkStepRunning(step.id, next_attempt, pod_name, now, reason, message, res.cache)
        )
        if step.timeout_seconds:
            out.wake(step.timeout_seconds)

    _stop_lingering_pods(state, out, Reason.POD_LINGERED)
    if failure is not None:
        _fail_run(state, dag, failure, handled, out)
        return out
    phases = [by_id[s.id].phase for s in dag.steps if s.id in by_id]
    if phases and all(p in SUCCESS_STEP for p in phases):
        if all(p == "cached" for p in phases):
            out.actions.append(
                FinishRun("cached", Reason.ALL_STEPS_CACHED,
                          "every step was served from the cache", now)
            )
        else:
            out.actions.append(FinishRun("completed", Reason.COMPLETED, "all steps completed", now))
    return out


def _plan_running(
    state: RunState, step: StepSpec, attempt: int, pod: PodObservation | None, out: Plan
) -> tuple[str, str, str] | None:
    """Actions for a running step; returns ('failed'|'retry'|'done', reason, message) or None."""
    now = state.now
    if pod is None or (pod.deleting and not pod.terminal):
        name = pod.name if pod else step_pod_name(state.name, step.name, attempt)
        return _fail_or_retry(
            step, attempt, Reason.POD_DELETED,
            f"step pod {name} (attempt {attempt}) was deleted before it finished", now, out,
        )
    if pod.phase == "Succeeded" or pod.committed:
        msg = parse_termination_message(pod.termination_message)
        manifest = msg.manifest if msg is not None else None
        out.actions.append(RecordOutputs(step.id, attempt, pod.name, manifest, pod.finished or now,
                                         early=pod.committed))
        return ("done", "", "")
    if pod.phase == "Failed":
        reason, message = classify_failure(pod)
        return _fail_or_retry(step, attempt, reason, message, pod.finished or now, out)
    # Pending, Running or Unknown: check the image and the timeout.
    if pod.waiting_reason in PERMANENT_WAITING:
        out.actions.append(DeletePod(pod.name, PERMANENT_WAITING[pod.waiting_reason]))
        out.actions.append(
            MarkStepFailed(step.id, PERMANENT_WAITING[pod.waiting_reason],
                           _waiting_text(pod), now)
        )
        return ("failed", PERMANENT_WAITING[pod.waiting_reason], _waiting_text(pod))
    if pod.waiting_reason in TRANSIENT_WAITING:
        waited = now - (pod.created or now)
        grace = state.settings.image_pull_grace_seconds
        if waited >= grace:
            reason = TRANSIENT_WAITING[pod.waiting_reason]
            message = f"{_waiting_text(pod)} (for {int(waited)}s)"
            out.actions.append(DeletePod(pod.name, reason))
            out.actions.append(MarkStepFailed(step.id, reason, message, now))
            return ("failed", reason, message)
        out.wake(grace - waited)
    if step.timeout_seconds:
        started = pod.created or now
        deadline = started + step.timeout_seconds
        if now >= deadline:
            out.actions.append(DeletePod(pod.name, Reason.STEP_TIMEOUT))
            return _fail_or_retry(
                step, attempt, Reason.STEP_TIMEOUT,
                f"attempt {attempt} exceeded the step timeout of {step.timeout_seconds}s", now, out,
            )
        out.wake(deadline - now)
    return None


def _waiting_text(pod: PodObservation) -> str:
    return f"step pod {pod.name} cannot start: {pod.waiting_reason}: {pod.waiting_message or ''}"


def _fail_or_retry(
    step: StepSpec, attempt: int, reason: str, message: str, now: float, out: Plan
) -> tuple[str, str, str]:
    delay = retry_delay(step, attempt)
    if delay is None:
        if step.retry and step.retry.max_retries:
            message = f"{message} (after {attempt} attempts)"
        out.actions.append(MarkStepFailed(step.id, reason, message, now))
        return ("failed", reason, message)
    out.actions.append(ScheduleRetry(step.id, now + delay, reason, message, now))
    out.wake(delay)
    return ("retry", reason, message)


def _fail_run(
    state: RunState, dag: Dag, failure: tuple[str, str, str], handled: set[str], out: Plan
) -> None:
    """Fail fast: stop running siblings, skip the rest, fail the run naming the step."""
    failed_id, reason, message = failure
    now = state.now
    by_id = _status_by_id(state.status)
    pods = _pods_by_step(state.pods)
    for step in dag.steps:
        ss = by_id.get(step.id)
        if ss is None or step.id in handled or ss.phase in TERMINAL_STEP:
            continue
        # Pods this plan meant to create are not created after all.
        out.actions = [
            a for a in out.actions
            if not (isinstance(a, CreatePod) and a.step == step.id)
            and not (
                isinstance(a, MarkStepRunning) and a.step == step.id
                and a.reason != Reason.POD_ADOPTED
            )
        ]
        live = [p for p in pods.get(step.name, {}).values() if p.active]
        for pod in live:
            out.actions.append(DeletePod(pod.name, Reason.RUN_FAILED))
        if ss.phase in ("running", "retrying") or live:
            out.actions.append(MarkStepCancelled(
                step.id, Reason.RUN_FAILED, f"stopped because step '{failed_id}' failed", now))
        else:
            out.actions.append(MarkStepSkipped(
                step.id, Reason.RUN_FAILED, f"not run because step '{failed_id}' failed"))
    out.actions.append(FinishRun(
        "failed", reason, f"step '{failed_id}' failed: {message}", now, failed_step=failed_id))
    out.requeue_after = None


def _abort(state: RunState, phase: str, reason: str, message: str) -> Plan:
    """Stop every live Pod, end unfinished steps and finish the run with ``phase``."""
    out = Plan()
    now = state.now
    for pod in state.pods:
        if pod.active:
            out.actions.append(DeletePod(pod.name, reason))
    for ss in state.status.steps:
        if ss.phase in TERMINAL_STEP:
            continue
        if phase == "cancelled" or ss.phase in ("running", "retrying"):
            out.actions.append(MarkStepCancelled(ss.name, reason, message, now))
        else:
            out.actions.append(MarkStepSkipped(ss.name, reason, message))
    out.actions.append(FinishRun(phase, reason, message, now))
    return out


#: Seconds the Pod of a completed step may go on running after the step ended (it was
#: recorded from its outputs-committed Event, before its exit), before it is deleted.
COMMITTED_EXIT_GRACE_SECONDS = 30.0


def _stop_lingering_pods(state: RunState, out: Plan, reason: str) -> set[str]:
    """The live Pods of completed steps (recorded from their outputs-committed Event, so
    possibly still exiting): each is left to exit on its own for
    ``COMMITTED_EXIT_GRACE_SECONDS`` after its step ended (the run is looked at again
    then), and deleted with ``reason`` past it (e.g. a process that hangs after its outputs
    were committed: a non-daemon thread). Returns the names of the Pods so handled."""
    ended = {ss.pod: parse_time(ss.end_time) for ss in state.status.steps
             if ss.phase == "completed" and ss.pod}
    handled = set()
    for pod in state.pods:
        if not pod.active or pod.name not in ended:
            continue
        handled.add(pod.name)
        end = ended[pod.name]
        if end is not None and state.now < end + COMMITTED_EXIT_GRACE_SECONDS:
            out.wake(end + COMMITTED_EXIT_GRACE_SECONDS - state.now)
        else:
            out.actions.append(DeletePod(pod.name, reason))
    return handled


def _plan_finished(state: RunState) -> Plan:
    """A finished run: make sure no Pod is left running; apply the TTL.

    The Pod of a completed step may still be exiting (the step was recorded from its
    outputs-committed Event): it gets the grace of ``_stop_lingering_pods`` first."""
    out = Plan()
    lingering = _stop_lingering_pods(state, out, Reason.RUN_FINISHED)
    for pod in state.pods:
        if pod.active and pod.name not in lingering:
            out.actions.append(DeletePod(pod.name, Reason.RUN_FINISHED))
    ttl = state.spec.ttl_seconds_after_finished
    end = parse_time(state.status.end_time)
    if ttl is None or end is None:
        return out
    expires = end + ttl
    if state.now < expires:
        out.wake(expires - state.now)
        return out
    for pod in state.pods:
        if not pod.deleting and not any(
            isinstance(a, DeletePod) and a.pod == pod.name for a in out.actions
        ):
            out.actions.append(DeletePod(pod.name, Reason.TTL_EXPIRED))
    if state.spec.delete_after_ttl:
        out.actions.append(DeleteRun(Reason.TTL_EXPIRED))
    return out
