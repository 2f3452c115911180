"""Table-driven tests of the pure run planner (no cluster)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from kubeline.resources.models import (
    CacheInfo,
    PipelineRunSpec,
    PipelineRunStatus,
    RetryPolicy,
    RunConfiguration,
    SnapshotSpec,
    StepInput,
    StepOutput,
    StepRunConfig,
    StepSpec,
    StepStatus,
)
from kubeline.resources.names import step_pod_name
from kubeline_operator import actions as A
from kubeline_operator.observe import PodObservation
from kubeline_operator.planner import (
    CacheHit,
    Plan,
    PlannerSettings,
    RunState,
    StepResolution,
    plan,
    ready_steps,
    retry_delay,
)
from kubeline_operator.timeutil import to_rfc3339, to_rfc3339_precise

pytestmark = pytest.mark.unit

RUN = "r1"
NOW = 1_700_000_000.0
KEY = CacheInfo(key="k" * 64, parts={"code": "c" * 64})


def step(
    sid: str, inputs: tuple[str, ...] = (), retries: int | None = None,
    timeout: int | None = None, params: dict[str, Any] | None = None,
) -> StepSpec:
    """A step with one output 'out'; inputs are 'upstream_id' (its 'out' output)."""
    return StepSpec(
        name=sid.replace("_", "-"), id=sid, function=sid, entrypoint=f"steps:{sid}",
        code_hash="0" * 64,
        inputs=[StepInput(name=f"in_{u}", step=u.replace("_", "-"), output="out") for u in inputs],
        outputs=[StepOutput(name="out", materializer="m.Builtin")],
        retry=RetryPolicy(max_retries=retries, backoff_seconds=10, backoff_factor=2)
        if retries is not None else None,
        timeout_seconds=timeout,
        parameters=params or {},
    )


def snapshot(*steps: StepSpec) -> SnapshotSpec:
    return SnapshotSpec(pipeline="p", pipeline_name="p", image="img:1", steps=list(steps))


CHAIN = snapshot(step("a"), step("b", ("a",)))
DIAMOND = snapshot(step("a"), step("b", ("a",)), step("c", ("a",)), step("d", ("b", "c")))
FANOUT = snapshot(step("w"), step("x"), step("y"), step("z"))
RETRY = snapshot(step("a", retries=2))
TIMEOUT = snapshot(step("a", timeout=60))
TIMEOUT_RETRY = snapshot(step("a", timeout=60, retries=1))
PARAMS = snapshot(step("trainer", params={"gamma": 0.1}))
# A parameter left to each run (a snapshot compiled with allow_unset_parameters).
REQUIRED = snapshot(step("trainer", params={"data": None}).model_copy(
    update={"extra": {"requiredParameters": ["data"]}}))
# A parameter typed by its annotation only (``size: int = None``), as the compiler records it.
TYPED = snapshot(step("trainer", params={"size": None}).model_copy(
    update={"extra": {"parameterTypes": {"size": "integer"},
                      "parameterAnnotations": {"size": "int"}}}))


def status(snap: SnapshotSpec, phase: str = "running", **steps: Any) -> PipelineRunStatus:
    """Run status with every step pending unless given as id=(phase, attempts[, extra])."""
    out = []
    for s in snap.steps:
        spec = steps.get(s.id, ("pending", 0))
        extra = spec[2] if len(spec) > 2 else {}
        out.append(StepStatus(name=s.id, phase=spec[0], attempts=spec[1],
                              outputs={"out": f"av-{s.id}"} if spec[0] in ("completed", "cached")
                              else {}, **extra))
    return PipelineRunStatus(phase=phase, snapshot="snap", pipeline="p", steps=out,
                             start_time=to_rfc3339(NOW - 100))


def pod(sid: str, attempt: int = 1, phase: str = "Running", **kw: Any) -> PodObservation:
    name = sid.replace("_", "-")
    return PodObservation(name=step_pod_name(RUN, name, attempt), step=name, attempt=attempt,
                          phase=phase, created=kw.pop("created", NOW - 10), **kw)


def fail_msg(message: str, type_: str = "ValueError") -> str:
    return json.dumps({"ok": False, "type": type_, "message": message})


MISS = StepResolution(cache=KEY)


def hit(run: str = "r0") -> StepResolution:
    return StepResolution(cache=KEY, hit=CacheHit(run=run, step="x", outputs={"out": "av-old"}))


@dataclass
class Case:
    id: str
    snap: SnapshotSpec | None
    status: PipelineRunStatus
    expect: list[tuple[Any, ...]]
    pods: list[PodObservation] = field(default_factory=list)
    res: dict[str, StepResolution] = field(default_factory=dict)
    spec: dict[str, Any] = field(default_factory=dict)
    kw: dict[str, Any] = field(default_factory=dict)
    requeue: float | None = None
    contains: str | None = None  # text expected in the FinishRun/MarkStepFailed message


def sig(action: Any, pod_names: dict[str, tuple[str, int]]) -> tuple[Any, ...]:
    match action:
        case A.InitRun():
            return ("InitRun",)
        case A.CreatePod(step=s, attempt=n):
            return ("CreatePod", s, n)
        case A.MarkStepRunning(step=s, attempt=n, reason=r):
            return ("Running", s, n, r)
        case A.MarkCached(step=s, cached_from=cf):
            return ("Cached", s, cf.run)
        case A.ScheduleRetry(step=s, reason=r):
            return ("Retry", s, r)
        case A.MarkStepFailed(step=s, reason=r):
            return ("Failed", s, r)
        case A.MarkStepCancelled(step=s):
            return ("Cancelled", s)
        case A.MarkStepSkipped(step=s):
            return ("Skipped", s)
        case A.FinishRun(phase=p, reason=r):
            return ("Finish", p, r)
        case A.DeletePod(pod=name):
            return ("DeletePod", *pod_names[name])
        case A.RecordOutputs(step=s, attempt=n):
            return ("Record", s, n)
        case A.DeleteRun():
            return ("DeleteRun",)
    raise AssertionError(f"unexpected action {action}")


INIT = PipelineRunStatus()

CASES = [
    # ---------------------------------------------------------------- admission
    Case("admit-initializes-steps", DIAMOND, INIT, [("InitRun",)]),
    Case("snapshot-missing-within-grace-waits", None, INIT, [], kw={"snapshot_missing": "gone"},
         requeue=20.0),
    Case("snapshot-missing-after-grace-fails", None, INIT,
         [("Finish", "failed", "SnapshotNotFound")],
         kw={"snapshot_missing": "snapshot 'nope' not found", "created": NOW - 31},
         contains="snapshot 'nope' not found"),
    Case("invalid-snapshot-fails-at-once", None, INIT, [("Finish", "failed", "InvalidSnapshot")],
         kw={"snapshot_invalid": "the steps form a cycle: a -> b -> a"}, contains="cycle"),
    Case("unknown-step-in-config", CHAIN, INIT,
         [("Finish", "failed", "InvalidRunConfiguration")],
         spec={"config": RunConfiguration(steps={"nope": StepRunConfig()})},
         contains="unknown step 'nope'"),
    Case("unknown-parameter-in-config", PARAMS, INIT,
         [("Finish", "failed", "InvalidRunConfiguration")],
         spec={"config": RunConfiguration(
             steps={"trainer": StepRunConfig(parameters={"gama": 1})})},
         contains="step 'trainer' has no parameter 'gama' (its parameters: gamma)"),
    Case("wrongly-typed-parameter-in-config", PARAMS, INIT,
         [("Finish", "failed", "InvalidRunConfiguration")],
         spec={"config": RunConfiguration(
             steps={"trainer": StepRunConfig(parameters={"gamma": "high"})})},
         contains="parameter 'gamma' must be of JSON type number"),
    Case("parameter-of-the-wrong-annotated-type", TYPED, INIT,
         [("Finish", "failed", "InvalidRunConfiguration")],
         spec={"config": RunConfiguration(
             steps={"trainer": StepRunConfig(parameters={"size": "three"})})},
         contains="step 'trainer': parameter 'size' must be of type int (JSON integer), got "
                  "str 'three'"),
    Case("parameter-of-the-annotated-type", TYPED, INIT, [("InitRun",)],
         spec={"config": RunConfiguration(
             steps={"trainer": StepRunConfig(parameters={"size": 3})})}),
    Case("required-parameter-unset", REQUIRED, INIT,
         [("Finish", "failed", "InvalidRunConfiguration")],
         contains="step 'trainer' needs parameter 'data' (it has no default)"),
    Case("required-parameter-set-by-the-run", REQUIRED, INIT, [("InitRun",)],
         spec={"config": RunConfiguration(
             steps={"trainer": StepRunConfig(parameters={"data": "abc"})})}),
    Case("cancel-before-start", DIAMOND, INIT, [("Finish", "cancelled", "Cancelled")],
         spec={"cancel": True}),
    # ---------------------------------------------------------------- scheduling
    Case("diamond-root-starts", DIAMOND, status(DIAMOND), [("CreatePod", "a", 1),
         ("Running", "a", 1, "CacheMiss")], res={"a": MISS}),
    Case("no-resolution-no-start", DIAMOND, status(DIAMOND), []),
    Case("diamond-fan-out", DIAMOND, status(DIAMOND, a=("completed", 1)),
         [("CreatePod", "b", 1), ("Running", "b", 1, "CacheMiss"),
          ("CreatePod", "c", 1), ("Running", "c", 1, "CacheMiss")],
         res={"b": MISS, "c": MISS}),
    Case("diamond-fan-in-waits-for-all", DIAMOND,
         status(DIAMOND, a=("completed", 1), b=("completed", 1), c=("running", 1)), [],
         pods=[pod("c")], res={"d": MISS}),
    Case("diamond-fan-in-starts", DIAMOND,
         status(DIAMOND, a=("completed", 1), b=("completed", 1), c=("cached", 0)),
         [("CreatePod", "d", 1), ("Running", "d", 1, "CacheMiss")], res={"d": MISS}),
    Case("all-completed-finishes", CHAIN, status(CHAIN, a=("completed", 1), b=("cached", 0)),
         [("Finish", "completed", "Completed")]),
    Case("all-cached-run-is-cached", CHAIN, status(CHAIN, a=("cached", 0), b=("cached", 0)),
         [("Finish", "cached", "AllStepsCached")]),
    Case("partial-cache-hits", FANOUT, status(FANOUT),
         [("Cached", "w", "r0"), ("CreatePod", "x", 1), ("Running", "x", 1, "CacheMiss"),
          ("Cached", "y", "r0"), ("CreatePod", "z", 1), ("Running", "z", 1, "CacheMiss")],
         res={"w": hit(), "x": MISS, "y": hit(), "z": MISS}),
    Case("cache-disabled-ignores-hit", CHAIN, status(CHAIN),
         [("CreatePod", "a", 1), ("Running", "a", 1, "CacheDisabled")],
         res={"a": StepResolution(cache=KEY, cache_enabled=False,
                                  hit=CacheHit("r0", "a", {"out": "x"}))}),
    Case("pod-succeeded-records-outputs", CHAIN, status(CHAIN, a=("running", 1)),
         [("Record", "a", 1)],
         pods=[pod("a", phase="Succeeded", termination_message='{"ok": true, "manifest": "s3://m"}')]),
    Case("input-not-found-fails", CHAIN, status(CHAIN, a=("completed", 1)),
         [("Failed", "b", "InputNotFound"), ("Finish", "failed", "InputNotFound")],
         res={"b": StepResolution(error=("InputNotFound", "ArtifactVersion av-a not found"))},
         contains="av-a not found"),
    # ---------------------------------------------------------------- failures
    Case("failure-mid-dag", DIAMOND,
         status(DIAMOND, a=("completed", 1), b=("running", 1), c=("running", 1)),
         [("Failed", "b", "StepFailed"), ("DeletePod", "c", 1), ("Cancelled", "c"),
          ("Skipped", "d"), ("Finish", "failed", "StepFailed")],
         pods=[pod("b", phase="Failed", exit_code=1, termination_message=fail_msg("bad input")),
               pod("c")],
         contains="step 'b' failed: ValueError: bad input"),
    Case("retry-scheduled-with-backoff", RETRY, status(RETRY, a=("running", 1)),
         [("Retry", "a", "StepFailed")],
         pods=[pod("a", phase="Failed", exit_code=1, termination_message=fail_msg("flaky"),
                   finished=NOW)], requeue=10.0),
    Case("retry-due-starts-next-attempt", RETRY,
         status(RETRY, a=("retrying", 1, {"next_retry_time": to_rfc3339_precise(NOW - 1)})),
         [("CreatePod", "a", 2), ("Running", "a", 2, "Retrying")],
         pods=[pod("a", phase="Failed", exit_code=1)], res={"a": MISS}),
    Case("retry-not-due-waits", RETRY,
         status(RETRY, a=("retrying", 1, {"next_retry_time": to_rfc3339_precise(NOW + 7)})),
         [], pods=[pod("a", phase="Failed", exit_code=1)], res={"a": MISS}, requeue=7.0),
    Case("retries-exhausted", RETRY, status(RETRY, a=("running", 3)),
         [("Failed", "a", "StepFailed"), ("Finish", "failed", "StepFailed")],
         pods=[pod("a", 3, phase="Failed", exit_code=1, termination_message=fail_msg("again"))],
         contains="after 3 attempts"),
    Case("cancel-stops-pods", DIAMOND,
         status(DIAMOND, a=("completed", 1), b=("running", 1), c=("running", 1)),
         [("DeletePod", "b", 1), ("DeletePod", "c", 1), ("Cancelled", "b"), ("Cancelled", "c"),
          ("Cancelled", "d"), ("Finish", "cancelled", "Cancelled")],
         pods=[pod("b"), pod("c")], spec={"cancel": True}),
    Case("pod-deleted-externally-fails", CHAIN, status(CHAIN, a=("running", 1)),
         [("Failed", "a", "PodDeleted"), ("Skipped", "b"), ("Finish", "failed", "PodDeleted")],
         contains="was deleted before it finished"),
    Case("pod-being-deleted-is-retried", RETRY, status(RETRY, a=("running", 1)),
         [("Retry", "a", "PodDeleted")], pods=[pod("a", deleting=True)], requeue=10.0),
    Case("pod-evicted-fails", CHAIN, status(CHAIN, a=("running", 1)),
         [("Failed", "a", "PodEvicted"), ("Skipped", "b"), ("Finish", "failed", "PodEvicted")],
         pods=[pod("a", phase="Failed", pod_reason="Evicted", pod_message="low on memory")],
         contains="low on memory"),
    Case("oom-killed", CHAIN, status(CHAIN, a=("running", 1)),
         [("Failed", "a", "OOMKilled"), ("Skipped", "b"), ("Finish", "failed", "OOMKilled")],
         pods=[pod("a", phase="Failed", exit_code=137, container_reason="OOMKilled")],
         contains="resources.memory"),
    Case("s3-outage-fails-with-message", CHAIN, status(CHAIN, a=("running", 1)),
         [("Failed", "a", "StepSetupFailed"), ("Skipped", "b"),
          ("Finish", "failed", "StepSetupFailed")],
         pods=[pod("a", phase="Failed", exit_code=2,
                   termination_message=fail_msg("S3 endpoint unreachable", "ArtifactStoreError"))],
         contains="ArtifactStoreError: S3 endpoint unreachable"),
    Case("s3-outage-retried", RETRY, status(RETRY, a=("running", 1)),
         [("Retry", "a", "StepSetupFailed")],
         pods=[pod("a", phase="Failed", exit_code=2,
                   termination_message=fail_msg("S3 down", "ArtifactStoreError"))], requeue=10.0),
    Case("restart-adopts-existing-pod", CHAIN, status(CHAIN),
         [("Running", "a", 1, "PodAdopted")], pods=[pod("a")], res={"a": MISS}),
    Case("restart-records-and-adopts", CHAIN, status(CHAIN, a=("running", 1)),
         [("Record", "a", 1), ("Running", "b", 1, "PodAdopted")],
         pods=[pod("a", phase="Succeeded"), pod("b")]),
    Case("restart-ignores-old-attempts", RETRY, status(RETRY, a=("running", 2)), [],
         pods=[pod("a", 1, phase="Failed", exit_code=1), pod("a", 2)]),
    Case("timeout-kills-and-fails", TIMEOUT, status(TIMEOUT, a=("running", 1)),
         [("DeletePod", "a", 1), ("Failed", "a", "StepTimeout"),
          ("Finish", "failed", "StepTimeout")], pods=[pod("a", created=NOW - 61)],
         contains="timeout of 60s"),
    Case("timeout-retried", TIMEOUT_RETRY, status(TIMEOUT_RETRY, a=("running", 1)),
         [("DeletePod", "a", 1), ("Retry", "a", "StepTimeout")],
         pods=[pod("a", created=NOW - 61)], requeue=10.0),
    Case("timeout-not-reached-wakes-at-deadline", TIMEOUT, status(TIMEOUT, a=("running", 1)),
         [], pods=[pod("a", created=NOW - 45)], requeue=15.0),
    Case("active-deadline-is-timeout", TIMEOUT, status(TIMEOUT, a=("running", 1)),
         [("Failed", "a", "StepTimeout"), ("Finish", "failed", "StepTimeout")],
         pods=[pod("a", phase="Failed", pod_reason="DeadlineExceeded")]),
    Case("image-pull-failure-after-grace", CHAIN, status(CHAIN, a=("running", 1)),
         [("DeletePod", "a", 1), ("Failed", "a", "ImagePullFailed"), ("Skipped", "b"),
          ("Finish", "failed", "ImagePullFailed")],
         pods=[pod("a", phase="Pending", created=NOW - 121, waiting_reason="ImagePullBackOff",
                   waiting_message='Back-off pulling image "nope:1"')],
         contains='pulling image "nope:1"'),
    Case("image-pull-within-grace-waits", CHAIN, status(CHAIN, a=("running", 1)), [],
         pods=[pod("a", phase="Pending", created=NOW - 100, waiting_reason="ErrImagePull")],
         requeue=20.0),
    Case("invalid-image-fails-at-once", CHAIN, status(CHAIN, a=("running", 1)),
         [("DeletePod", "a", 1), ("Failed", "a", "InvalidImageName"), ("Skipped", "b"),
          ("Finish", "failed", "InvalidImageName")],
         pods=[pod("a", phase="Pending", waiting_reason="InvalidImageName")]),
    Case("missing-secret-fails-after-grace", CHAIN, status(CHAIN, a=("running", 1)),
         [("DeletePod", "a", 1), ("Failed", "a", "ContainerConfigError"), ("Skipped", "b"),
          ("Finish", "failed", "ContainerConfigError")],
         pods=[pod("a", phase="Pending", created=NOW - 200,
                   waiting_reason="CreateContainerConfigError",
                   waiting_message='secret "kubeline-s3" not found')],
         contains='secret "kubeline-s3" not found'),
    Case("snapshot-deleted-mid-run", None, status(CHAIN, a=("running", 1)),
         [("DeletePod", "a", 1), ("Cancelled", "a"), ("Skipped", "b"),
          ("Finish", "failed", "SnapshotNotFound")], pods=[pod("a")]),
    # ---------------------------------------------------------------- concurrency
    Case("per-run-pod-bound", FANOUT, status(FANOUT),
         [("CreatePod", "w", 1), ("Running", "w", 1, "CacheMiss"),
          ("CreatePod", "x", 1), ("Running", "x", 1, "CacheMiss")],
         res={s: MISS for s in "wxyz"}, kw={"settings": PlannerSettings(max_pods_per_run=2)}),
    Case("running-pods-use-slots", FANOUT, status(FANOUT, w=("running", 1)),
         [("CreatePod", "x", 1), ("Running", "x", 1, "CacheMiss")],
         pods=[pod("w")], res={s: MISS for s in "xyz"},
         kw={"settings": PlannerSettings(max_pods_per_run=2)}),
    Case("global-pod-bound", FANOUT, status(FANOUT),
         [("CreatePod", "w", 1), ("Running", "w", 1, "CacheMiss")],
         res={s: MISS for s in "wxyz"}, kw={"global_slots": 1}),
    Case("cache-hits-need-no-slot", FANOUT, status(FANOUT), [("Cached", "w", "r0"),
         ("Cached", "x", "r0")], res={"w": hit(), "x": hit(), "y": MISS},
         kw={"global_slots": 0}),
    # ---------------------------------------------------------------- finished runs
    Case("finished-run-stops-leftover-pods", CHAIN, status(CHAIN, "failed"),
         [("DeletePod", "b", 1)], pods=[pod("b")]),
    Case("ttl-not-expired-waits", CHAIN,
         status(CHAIN, "completed").model_copy(update={"end_time": to_rfc3339(NOW - 10)}), [],
         spec={"ttl_seconds_after_finished": 60}, pods=[pod("a", phase="Succeeded")],
         requeue=50.0),
    Case("ttl-expired-deletes-pods-and-run", CHAIN,
         status(CHAIN, "completed").model_copy(update={"end_time": to_rfc3339(NOW - 100)}),
         [("DeletePod", "a", 1), ("DeletePod", "b", 1), ("DeleteRun",)],
         spec={"ttl_seconds_after_finished": 60, "delete_after_ttl": True},
         pods=[pod("a", phase="Succeeded"), pod("b", phase="Succeeded")]),
]


def run_case(case: Case) -> tuple[Plan, list[tuple[Any, ...]]]:
    kw = {"created": NOW - 10, **case.kw}
    state = RunState(
        name=RUN, spec=PipelineRunSpec(snapshot="snap", **case.spec), status=case.status,
        now=NOW, snapshot_name="snap" if case.snap else None, snapshot=case.snap,
        pods=case.pods, resolutions=case.res, **kw,
    )
    result = plan(state)
    names = {p.name: (p.step, p.attempt) for p in case.pods}
    return result, [sig(a, names) for a in result.actions]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_plan(case: Case) -> None:
    result, got = run_case(case)
    assert sorted(got, key=repr) == sorted(case.expect, key=repr)
    if case.requeue is not None:
        assert result.requeue_after == pytest.approx(case.requeue)
    if case.contains is not None:
        texts = [a.message for a in result.actions if isinstance(a, A.FinishRun | A.MarkStepFailed)]
        assert any(case.contains in t for t in texts), texts


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_plan_is_deterministic(case: Case) -> None:
    assert run_case(case)[1] == run_case(case)[1]


def test_failure_names_failed_step() -> None:
    case = next(c for c in CASES if c.id == "failure-mid-dag")
    result, _ = run_case(case)
    finish = next(a for a in result.actions if isinstance(a, A.FinishRun))
    assert finish.failed_step == "b"


def test_slots_exhausted_reported() -> None:
    case = next(c for c in CASES if c.id == "global-pod-bound")
    assert run_case(case)[0].waiting_for_slots


def test_pod_names_are_deterministic() -> None:
    case = next(c for c in CASES if c.id == "diamond-root-starts")
    result, _ = run_case(case)
    create = next(a for a in result.actions if isinstance(a, A.CreatePod))
    assert create.pod == step_pod_name(RUN, "a", 1)


def test_init_applies_parameter_overrides() -> None:
    state = RunState(
        name=RUN, created=NOW, now=NOW, status=INIT, snapshot=PARAMS, snapshot_name="snap",
        spec=PipelineRunSpec(snapshot="snap", config=RunConfiguration(
            steps={"trainer": StepRunConfig(parameters={"gamma": 0.5})})),
    )
    init = plan(state).actions[0]
    assert isinstance(init, A.InitRun)
    assert init.parameters == {"trainer": {"gamma": 0.5}}
    assert init.step_ids == ("trainer",)


def test_ready_steps_diamond() -> None:
    def ready(st: PipelineRunStatus) -> list[str]:
        return ready_steps(RunState(name=RUN, created=NOW, now=NOW, status=st, snapshot=DIAMOND,
                                    spec=PipelineRunSpec(snapshot="snap")))

    assert ready(status(DIAMOND)) == ["a"]
    assert ready(status(DIAMOND, a=("completed", 1))) == ["b", "c"]
    assert ready(status(DIAMOND, a=("cached", 0), b=("completed", 1), c=("running", 1))) == []
    assert ready(status(DIAMOND, a=("cached", 0), b=("completed", 1), c=("completed", 1))) == ["d"]


@pytest.mark.parametrize(
    ("failed_attempts", "expected"), [(1, 10.0), (2, 20.0), (3, 40.0), (4, None)]
)
def test_retry_backoff_is_exponential(failed_attempts: int, expected: float | None) -> None:
    st = step("a", retries=3)
    assert retry_delay(st, failed_attempts) == expected


def test_retry_backoff_is_capped() -> None:
    st = StepSpec(name="a", id="a", function="a", entrypoint="m:a", code_hash="0",
                  retry=RetryPolicy(max_retries=10, backoff_seconds=100, backoff_factor=10,
                                    max_backoff_seconds=300))
    assert retry_delay(st, 5) == 300
    assert retry_delay(StepSpec(name="a", id="a", function="a", entrypoint="m:a",
                                code_hash="0"), 1) is None


# ----------------------------------------------------------------------------- models


def _model_snapshot() -> SnapshotSpec:
    from kubeline.resources.models import ModelArtifactRef, ModelConfig

    predict = StepSpec(
        name="predict", id="predict", function="predict", entrypoint="steps:predict",
        code_hash="0" * 64, outputs=[StepOutput(name="out", materializer="m.Builtin")],
        inputs=[StepInput(name="model", model_artifact=ModelArtifactRef(
            model="iris", version="production", artifact="trained_model", type="model"))])
    return SnapshotSpec(pipeline="p", pipeline_name="p", image="img:1", steps=[predict],
                        model=ModelConfig(name="iris", version="production"))


def test_admission_waits_for_models_then_records_what_they_resolved_to() -> None:
    from kubeline.resources.models import ResolvedModelArtifact, RunModelVersion
    from kubeline_operator.dag import validate_snapshot
    from kubeline_operator.models_plan import ModelResolution
    from kubeline_operator.planner import admits
    from kubeline_operator.run_status import apply

    snap = _model_snapshot()
    assert validate_snapshot(snap) == []  # a model-artifact input is a valid input
    base = dict(name=RUN, created=NOW, spec=PipelineRunSpec(snapshot="s"),
                status=PipelineRunStatus(), now=NOW, snapshot_name="s", snapshot=snap,
                pipeline="p")
    waiting = RunState(**base)  # type: ignore[arg-type]
    assert admits(waiting) and plan(waiting).actions == []  # not resolved yet: no InitRun
    failed = plan(RunState(**base, model_resolution=ModelResolution(  # type: ignore[arg-type]
        error=("ModelVersionNotFound", "model 'iris' has no version in stage 'production'"))))
    (finish,) = failed.actions
    assert isinstance(finish, A.FinishRun) and finish.phase == "failed"
    assert finish.reason == "ModelVersionNotFound"  # before any Pod starts
    resolved = ModelResolution(
        model=RunModelVersion(name="iris", version="2", number=2, object="iris-2",
                              requested="production"),
        artifacts=[ResolvedModelArtifact(step="predict", input="model", model="iris",
                                         requested="production", version="2", number=2,
                                         artifact_version="tm-2")])
    admitted = plan(RunState(**base, model_resolution=resolved))  # type: ignore[arg-type]
    (init,) = admitted.actions
    assert isinstance(init, A.InitRun) and init.model is not None and init.model.version == "2"
    st = apply(PipelineRunStatus(), [init], NOW)
    assert st.model is not None and st.model.object == "iris-2"
    assert [(m.step, m.artifact_version) for m in st.model_artifacts] == [("predict", "tm-2")]
    assert not admits(RunState(**{**base, "status": st}))  # type: ignore[arg-type]
    cancelled = RunState(**{**base, "spec": PipelineRunSpec(snapshot="s", cancel=True)})  # type: ignore[arg-type]
    assert not admits(cancelled)


def test_model_artifact_inputs_use_what_the_run_resolved_and_key_the_cache_by_it() -> None:
    from kubeline.resources.models import ResolvedModelArtifact
    from kubeline_operator.actions import ArtifactInfo
    from kubeline_operator.dag import Dag
    from kubeline_operator.resolution import resolve_step

    snap = _model_snapshot()
    infos = {n: ArtifactInfo(n, f"uid-{n}", f"s3://b/{n}", "m.Sk", "sklearn.SVC",
                             "trained_model", n[-1], h) for n, h in
             (("tm-1", "a" * 64), ("tm-2", "b" * 64))}

    class Lookups:
        def by_name(self, namespace: str, name: str) -> ArtifactInfo | None:
            return infos.get(name)

        def by_id(self, namespace: str, uid: str) -> None:
            return None

        def latest(self, namespace: str, artifact: str, version: str | None) -> None:
            return None

        def candidates(self, namespace: str, key: str) -> list[Any]:
            return []

    def resolved(av: str) -> Any:
        st = PipelineRunStatus(steps=[StepStatus(name="predict")], model_artifacts=[
            ResolvedModelArtifact(step="predict", input="model", model="iris",
                                  version=av[-1], artifact_version=av)])
        return resolve_step(namespace="ml", snapshot=snap, dag=Dag.of(snap),
                            step=snap.steps[0], status=st, run_config=RunConfiguration(),
                            parameters={}, image="img:1", artifacts=Lookups(), cache=Lookups(),
                            now=NOW)

    one, two = resolved("tm-1"), resolved("tm-2")
    assert one.error is None and one.inputs["model"].artifact_version == "tm-1"
    assert two.inputs["model"].artifact_version == "tm-2"
    # Another production artifact: another cache key, so the step is not a cache hit.
    assert one.cache is not None and two.cache is not None and one.cache.key != two.cache.key
    gone = resolved("tm-9")
    assert gone.error is not None and gone.error[0] == "InputNotFound"
