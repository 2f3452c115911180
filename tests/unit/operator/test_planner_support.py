"""Pure helpers around the planner: status transitions, DAG validation, Pod summaries,
manifests -> ArtifactVersions, Pipeline pointers, model stages, settings, work queue."""

from __future__ import annotations

import asyncio
import json

import pytest
from kubeline.resources.json_values import merge_patch
from kubeline.resources.models import (
    CachedFrom,
    CacheInfo,
    PipelineRunStatus,
    SnapshotSpec,
    StepInput,
    StepOutput,
    StepSpec,
)
from kubeline.resources.names import next_version
from kubeline_operator import actions as A
from kubeline_operator.artifacts import (
    ManifestError,
    artifact_info,
    artifact_version_body,
    parse_manifest,
)
from kubeline_operator.bookkeeping import admit_run, finish_run
from kubeline_operator.dag import validate_snapshot
from kubeline_operator.observe import classify_failure, observe_pod
from kubeline_operator.ratelimit import TokenBucket
from kubeline_operator.run_status import apply
from kubeline_operator.settings import OperatorSettings
from kubeline_operator.workqueue import WorkQueue

pytestmark = pytest.mark.unit
T = 1_700_000_000.0


def st(sid: str, ups: tuple[str, ...] = (), after: tuple[str, ...] = ()) -> StepSpec:
    return StepSpec(name=sid, id=sid, function=sid, entrypoint=f"m:{sid}", code_hash="0",
                    inputs=[StepInput(name=f"i_{u}", step=u, output="out") for u in ups],
                    outputs=[StepOutput(name="out", materializer="m.M")], after=list(after))


def snap(*steps: StepSpec) -> SnapshotSpec:
    return SnapshotSpec(pipeline="p", pipeline_name="p", image="i", steps=list(steps))


# ------------------------------------------------------------------ status transitions


def test_apply_run_lifecycle_progress_and_conditions() -> None:
    s0 = PipelineRunStatus()
    s1 = apply(s0, [A.InitRun("snap", "p", ("a", "b", "c"), {"a": {"x": 1}, "b": {}}, T)], T)
    assert s1.phase == "running" and s1.progress == "0/3" and s1.parameters == {"a": {"x": 1}}
    assert s1.conditions[0].status == "Unknown"
    key = CacheInfo(key="k" * 64)
    s2 = apply(s1, [
        A.MarkCached("a", key, CachedFrom(run="r0", step="a"), {"out": "av1"}, T + 1),
        A.MarkStepRunning("b", 1, "pod-b", T + 1, "CacheMiss", "miss", key),
    ], T + 1)
    assert s2.progress == "1/3" and s2.cached_steps == 1 and s2.counts.running == 1
    b = s2.steps[1]
    assert (b.phase, b.attempts, b.pod, b.cache) == ("running", 1, "pod-b", key)
    s3 = apply(s2, [A.ScheduleRetry("b", T + 20, "StepFailed", "boom", T + 5)], T + 5)
    assert s3.steps[1].phase == "retrying" and "attempt 1 failed: boom" in s3.steps[1].message
    s4 = apply(s3, [A.MarkStepCompleted("b", {"out": "av2"}, T + 30),
                    A.MarkStepSkipped("c", "RunFailed", "x"),
                    A.FinishRun("failed", "StepFailed", "step 'c' failed", T + 72, "c")], T + 72)
    assert s4.phase == "failed" and s4.failed_step == "c" and s4.duration == "1m12s"
    assert s4.steps[1].next_retry_time is None and s4.steps[1].outputs == {"out": "av2"}
    cond = s4.conditions[0]
    assert (cond.type, cond.status, cond.reason) == ("Succeeded", "False", "StepFailed")


def test_apply_leaves_its_input_unchanged() -> None:
    s1 = apply(PipelineRunStatus(), [A.InitRun("snap", "p", ("a", "b"), {}, T)], T)
    key = CacheInfo(key="k" * 64)
    s2 = apply(s1, [A.MarkStepRunning("a", 1, "pod-a", T, "CacheMiss", "miss", key)], T + 1)
    before = s2.to_k8s()
    s3 = apply(s2, [A.MarkStepCompleted("a", {"out": "av1"}, T + 2),
                    A.ScheduleRetry("b", T + 9, "StepFailed", "boom", T + 2),
                    A.FinishRun("failed", "StepFailed", "x", T + 3, "b")], T + 3)
    assert s2.to_k8s() == before and s3.to_k8s() != before
    assert s1.steps[0].phase == "pending" and s2.steps[0].phase == "running"


def test_status_patch_nulls_removed_keys() -> None:
    assert merge_patch({"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 5}) == {"b": 5, "c": None}


def test_status_of_1000_steps_stays_small() -> None:
    ids = tuple(f"step_{i}" for i in range(1000))
    s = apply(PipelineRunStatus(), [A.InitRun("snap", "p", ids, {}, T)], T)
    key = CacheInfo(key="k" * 64, parts={p: "d" * 64 for p in ("code", "image", "parameters",
                                                                "inputs", "outputs", "env",
                                                                "cacheVersion")})
    s = apply(s, [A.MarkStepRunning(i, 1, f"run-{i}-1", T, "CacheMiss", "no cached result", key)
                  for i in ids], T)
    s = apply(s, [A.MarkStepCompleted(i, {"out": f"p-{i}-out-1-abcdef12"}, T) for i in ids], T)
    assert len(json.dumps(s.to_k8s())) < 1_000_000


# ------------------------------------------------------------------ DAG validation


@pytest.mark.parametrize(("steps", "problem"), [
    ((st("a"), st("a")), "step name 'a' is used by steps #0 and #1"),
    ((st("a", ("zz",)),), "unknown step 'zz'"),
    ((st("a", ("b",)), st("b", ("a",))), "cycle"),
    ((st("b", ("a",)), st("a")), "listed after it"),
    ((st("a", after=("nope",)),), "'after' unknown step 'nope'"),
])
def test_snapshot_validation(steps: tuple[StepSpec, ...], problem: str) -> None:
    problems = validate_snapshot(snap(*steps))
    assert any(problem in p for p in problems), problems


def test_valid_snapshot_has_no_problems() -> None:
    assert validate_snapshot(snap(st("a"), st("b", ("a",)), st("c", ("a", "b")))) == []


def test_input_referencing_undeclared_output() -> None:
    bad = st("b").model_copy(update={"inputs": [StepInput(name="x", step="a", output="nope")]})
    assert any("does not declare" in p for p in validate_snapshot(snap(st("a"), bad)))


# ------------------------------------------------------------------ Pod summaries


def test_observe_failed_pod_and_classify() -> None:
    pod = {
        "metadata": {"name": "r-a-1", "creationTimestamp": "2024-01-01T00:00:00Z",
                     "labels": {"kubeline.dev/run": "r", "kubeline.dev/step": "a",
                                "kubeline.dev/attempt": "1"}},
        "status": {"phase": "Failed", "containerStatuses": [{"name": "step", "state": {
            "terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2024-01-01T00:01:00Z",
                           "message": json.dumps({"ok": False, "type": "KeyError",
                                                  "message": "'petal'"})}}}]},
    }
    obs = observe_pod(pod)
    assert obs is not None and obs.attempt == 1 and obs.exit_code == 1 and not obs.active
    assert obs.finished - obs.created == 60
    assert classify_failure(obs) == ("StepFailed", "KeyError: 'petal'")
    assert observe_pod({"metadata": {"name": "x", "labels": {}}}) is None


def _exited_pod(phase: str, exit_code: int, reason: str, **meta: object) -> dict:
    return {
        "metadata": {"name": "r-a-1", "labels": {"kubeline.dev/run": "r",
                                                  "kubeline.dev/step": "a"}, **meta},
        "status": {"phase": phase, "containerStatuses": [{"name": "step", "state": {
            "terminated": {"exitCode": exit_code, "reason": reason,
                           "finishedAt": "2024-01-01T00:01:00Z",
                           "message": json.dumps({"ok": exit_code == 0})}}}]},
    }


def test_a_pod_whose_step_container_completed_counts_as_succeeded_before_its_phase() -> None:
    early = observe_pod(_exited_pod("Running", 0, "Completed"))
    assert early is not None and early.phase == "Succeeded" and early.terminal
    assert not early.active and early.termination_message == '{"ok": true}'
    # A failure waits for the kubelet's phase (and its reason: deadline, eviction).
    failing = observe_pod(_exited_pod("Running", 1, "Error"))
    assert failing is not None and failing.phase == "Running" and failing.active
    # A Pod being deleted keeps its phase: the planner reports the deletion.
    deleting = observe_pod(_exited_pod("Running", 0, "Completed",
                                       deletionTimestamp="2024-01-01T00:01:00Z"))
    assert deleting is not None and deleting.phase == "Running" and not deleting.terminal
    still_running = _exited_pod("Running", 0, "Completed")
    still_running["status"]["containerStatuses"].append(
        {"name": "other", "state": {"running": {"startedAt": "2024-01-01T00:00:00Z"}}})
    obs = observe_pod(still_running)
    assert obs is not None and obs.phase == "Running"


def test_observe_waiting_pod() -> None:
    obs = observe_pod({
        "metadata": {"name": "p", "deletionTimestamp": "2024-01-01T00:00:00Z",
                     "labels": {"kubeline.dev/run": "r", "kubeline.dev/step": "a"}},
        "status": {"phase": "Pending", "containerStatuses": [{"name": "step", "state": {
            "waiting": {"reason": "ErrImagePull", "message": "not found"}}}]},
    })
    assert obs is not None and obs.waiting_reason == "ErrImagePull" and obs.deleting
    assert not obs.active


# ------------------------------------------------------------------ artifacts


STEP = StepSpec(name="trainer", id="trainer", function="t", entrypoint="m:t", code_hash="0",
                outputs=[StepOutput(name="model", materializer="m.Pickle", data_type="sk.SVC"),
                         StepOutput(name="acc", materializer="m.Builtin",
                                    artifact_name="accuracy")])
MANIFEST = {"outputs": {
    "model": {"uri": "s3://b/model", "materializer": "m.Pickle", "dataType": "sk.SVC",
              "contentHash": "h" * 64, "metadata": {"storage_size": 12},
              "visualizations": [{"uri": "s3://b/v.html", "type": "html"}]},
    "acc": {"uri": "s3://b/acc", "version": "gold"},
}}


def test_parse_manifest_names_and_versions() -> None:
    outs = {o.output: o for o in parse_manifest(MANIFEST, STEP, "training_pipeline")}
    assert outs["model"].artifact_name == "training_pipeline::trainer::model"
    assert outs["model"].version is None and outs["model"].content_hash == "h" * 64
    assert outs["acc"].artifact_name == "accuracy" and outs["acc"].version == "gold"
    assert outs["acc"].materializer == "m.Builtin"


def test_manifest_missing_output_is_named() -> None:
    with pytest.raises(ManifestError, match="declared output 'acc'"):
        parse_manifest({"outputs": {"model": MANIFEST["outputs"]["model"]}}, STEP, "p")


def test_artifact_version_body_labels_and_round_trip() -> None:
    out = parse_manifest(MANIFEST, STEP, "training_pipeline")[0]
    body = artifact_version_body(out, "3", "ml", "training-pipeline", "run-1", STEP, "k" * 64)
    labels = body["metadata"]["labels"]
    assert labels["kubeline.dev/version"] == "3" and labels["kubeline.dev/cache-key"] == "k" * 63
    assert labels["kubeline.dev/run"] == "run-1" and labels["kubeline.dev/step"] == "trainer"
    assert body["metadata"]["annotations"]["kubeline.dev/name"] == out.artifact_name
    assert body["spec"]["producer"] == {"pipeline": "training-pipeline", "run": "run-1",
                                        "step": "trainer", "output": "model"}
    body["metadata"]["uid"] = "u1"
    info = artifact_info(body)
    assert (info.version, info.content_hash, info.id) == ("3", "h" * 64, "u1")


def test_next_version() -> None:
    assert next_version([]) == "1"
    assert next_version(["1", "2", "gold", "10"]) == "11"


# ------------------------------------------------------------------ pipeline pointers


def test_admit_run_counts_once() -> None:
    patch, index = admit_run({"runCount": 2, "recentRuns": ["r2", "r1"]}, "r3")
    assert index == 3
    assert patch == {"runCount": 3, "lastRun": "r3", "recentRuns": ["r3", "r2", "r1"]}
    again, index2 = admit_run(patch, "r3")
    assert again is None and index2 == 3
    _, index_r1 = admit_run(patch, "r1")
    assert index_r1 == 1


def test_recent_runs_bounded() -> None:
    patch, _ = admit_run({"runCount": 50, "recentRuns": [f"r{i}" for i in range(50, 0, -1)]}, "x")
    assert len(patch["recentRuns"]) == 50 and patch["recentRuns"][0] == "x"


def test_last_successful_only_moves_forward() -> None:
    status = {"recentRuns": ["r3", "r2", "r1"], "lastSuccessfulRun": "r2"}
    assert finish_run(status, "r3", True) == {"lastSuccessfulRun": "r3"}
    assert finish_run(status, "r1", True) is None
    assert finish_run(status, "r3", False) is None
    assert finish_run({"recentRuns": ["r1"]}, "r1", True) == {"lastSuccessfulRun": "r1"}


# ------------------------------------------------------------------ settings, rate, queue


def test_settings_from_env() -> None:
    s = OperatorSettings.from_env({
        "KUBELINE_WATCH_NAMESPACES": "a, b", "KUBELINE_MAX_PODS_PER_RUN": "7",
        "KUBELINE_API_QPS": "5", "KUBELINE_S3_BUCKET": "bk"})
    assert s.namespaces == ("a", "b") and s.planner.max_pods_per_run == 7 and s.api_qps == 5
    assert s.pod.service_account == "kubeline-step" and s.s3_bucket == "bk" and not s.peering
    with pytest.raises(ValueError, match="KUBELINE_MAX_PODS_GLOBAL must be an integer"):
        OperatorSettings.from_env({"KUBELINE_MAX_PODS_GLOBAL": "lots"})


def test_token_bucket_limits_rate() -> None:
    async def scenario() -> None:
        bucket = TokenBucket(rate=10, burst=2)
        assert bucket.try_take(now=bucket.updated) == 0
        assert bucket.try_take(now=bucket.updated) == 0
        assert bucket.try_take(now=bucket.updated) == pytest.approx(0.1)
        assert bucket.try_take(now=bucket.updated + 0.11) == 0

    asyncio.run(scenario())


def test_work_queue_dedups_and_reruns_dirty_keys() -> None:
    async def scenario() -> None:
        q = WorkQueue()
        q.add("a")
        q.add("a")
        assert len(q) == 1
        key = await q.get()
        q.add("a")  # changed while processing: must run again afterwards
        assert len(q) == 0
        q.done(key)
        assert len(q) == 1
        await q.get()
        q.done("a")
        q.add_after("b", 0.01)
        assert await asyncio.wait_for(q.get(), 1) == "b"

    asyncio.run(scenario())
