"""A step Pod's outputs-committed Event: which ones count (its run's own running Pod, by
name and uid), what the planner makes of it (the attempt's manifest is read, flagged early),
and that its mark goes once the Pod ends."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from kubeline.resources.models import StepSpec
from kubeline_operator import actions as A
from kubeline_operator.controller import Controller
from kubeline_operator.observe import PodObservation, observe_pod
from kubeline_operator.planner import Plan, _plan_running
from kubeline_operator.settings import OperatorSettings
from kubeline_operator.stores import Stores

pytestmark = pytest.mark.unit

KEY = ("ml", "p-1")
POD = PodObservation(name="p-1-train-1", step="train", attempt=1, phase="Running", uid="u-1")


def _controller(*pods: PodObservation) -> Controller:
    stores = Stores()
    for pod in pods:
        stores.remember_pod(*KEY, pod)
    ctl = Controller(OperatorSettings(), api=None, stores=stores, store=None)  # type: ignore[arg-type]
    ctl.runs[KEY] = {"metadata": {"namespace": "ml", "name": "p-1"}}
    return ctl


def test_only_a_running_pod_of_the_run_with_its_uid_counts() -> None:
    ctl = _controller(POD, dataclasses.replace(POD, name="p-1-done-1", phase="Succeeded",
                                               uid="u-2"))
    ctl.outputs_committed("ml", "other-run", POD.name, "u-1")  # not a run this operator knows
    ctl.outputs_committed("ml", "p-1", POD.name, "forged")  # another uid: an older Pod's name
    ctl.outputs_committed("ml", "p-1", "p-1-nope-1", "u-1")  # no such Pod
    ctl.outputs_committed("ml", "p-1", "p-1-done-1", "u-2")  # ended already: its exit counts
    assert ctl.committed == {}
    ctl.outputs_committed("ml", "p-1", POD.name, "u-1")
    assert ctl.committed == {KEY: {POD.name: "u-1"}}


def test_a_committed_pod_is_flagged_until_it_ends_and_keeps_its_phase() -> None:
    ctl = _controller(POD)
    ctl.outputs_committed("ml", "p-1", POD.name, "u-1")
    (seen,) = ctl.with_commits(KEY, [POD])
    # Still running: it holds its slot and a finished run cleans it up as a live Pod.
    assert seen.committed and seen.phase == "Running" and seen.active
    ended = dataclasses.replace(POD, phase="Failed")  # the exit after the commit
    (seen,) = ctl.with_commits(KEY, [ended])
    assert seen.phase == "Failed" and not seen.committed
    assert ctl.committed == {}  # the mark went with the Pod


def test_the_planner_records_a_committed_pods_manifest_as_early() -> None:
    step = StepSpec(name="train", id="train", function="f", entrypoint="m:f", code_hash="0")
    state = type("S", (), {"now": 7.0})()
    out = Plan()
    committed = dataclasses.replace(POD, committed=True)
    assert _plan_running(state, step, 1, committed, out) == ("done", "", "")  # type: ignore[arg-type]
    (record,) = out.actions
    assert isinstance(record, A.RecordOutputs)
    assert record.early and record.manifest_uri is None  # the attempt's own manifest URI


def test_observe_pod_keeps_the_uid() -> None:
    pod = observe_pod({"metadata": {"name": "p", "uid": "u-9", "labels": {
        "kubeline.dev/run": "r", "kubeline.dev/step": "s"}}, "status": {"phase": "Running"}})
    assert pod is not None and pod.uid == "u-9" and not pod.committed


def _completed(end: str = "2026-12-01T19:00:00.000000Z", phase: str = "completed") -> Any:
    from kubeline.resources.models import PipelineRunStatus, StepStatus

    return PipelineRunStatus(phase=phase, snapshot="snap", pipeline="p", steps=[
        StepStatus(name="train", phase="completed", attempts=1, pod=POD.name, end_time=end,
                   outputs={"out": "av-train"})])


ENDED = 1796151600.0  # 2026-12-01T19:00:00Z


@pytest.mark.parametrize("flagged", [False, True], ids=["after-restart", "marked"])
def test_a_finished_runs_committed_pod_may_exit_on_its_own_first(flagged: bool) -> None:
    """The run finished while the Pod of its last step was still exiting (recorded from its
    Event): it is not deleted for the grace period, then it is; other Pods are at once. The
    same whether this operator still holds the Pod's mark or not (a restart)."""
    from types import SimpleNamespace

    from kubeline.resources.models import PipelineRunSpec
    from kubeline_operator.planner import COMMITTED_EXIT_GRACE_SECONDS, _plan_finished

    lingering = dataclasses.replace(POD, committed=flagged)
    other = dataclasses.replace(POD, name="p-1-stray-1", uid="u-3")

    def deleted(now: float) -> tuple[list[str], float | None]:
        state = SimpleNamespace(pods=[lingering, other], status=_completed(), now=now,
                                spec=PipelineRunSpec())
        out = _plan_finished(state)  # type: ignore[arg-type]
        return [a.pod for a in out.actions if isinstance(a, A.DeletePod)], out.requeue_after

    assert deleted(ENDED + 1) == (["p-1-stray-1"], COMMITTED_EXIT_GRACE_SECONDS - 1)
    assert deleted(ENDED + COMMITTED_EXIT_GRACE_SECONDS)[0] == [POD.name, "p-1-stray-1"]


def test_a_finished_run_with_a_committed_pod_is_looked_at_again() -> None:
    """Through the controller's own view (the Pod's mark applied): the finished run is not
    forgotten while its last Pod may still exit, so a Pod that hangs after its Event (e.g. a
    non-daemon thread) is deleted after the grace instead of running on."""
    from kubeline.resources.models import PipelineRunSpec
    from kubeline_operator.planner import RunState, plan

    ctl = _controller(POD)
    ctl.outputs_committed("ml", "p-1", POD.name, "u-1")
    pods = ctl.with_commits(KEY, ctl.stores.run_pods(*KEY))
    state = RunState(name="p-1", created=ENDED - 60, spec=PipelineRunSpec(),
                     status=_completed(), now=ENDED + 5, pods=pods)
    out = plan(state)
    assert out.actions == [] and out.requeue_after == pytest.approx(25.0)
    state.now = ENDED + 31
    assert plan(state).actions == [A.DeletePod(POD.name, "RunFinished")]


def test_a_completed_steps_pod_that_hangs_mid_run_is_deleted_after_the_grace() -> None:
    """While the run goes on (a later step running), the Pod of a step completed from its
    Event that has still not exited after the grace is deleted (PodLingered); before it,
    the run is looked at again when the grace ends."""
    from kubeline.resources.models import (
        PipelineRunSpec,
        PipelineRunStatus,
        SnapshotSpec,
        StepInput,
        StepOutput,
        StepStatus,
    )
    from kubeline.resources.reasons import Reason
    from kubeline_operator.planner import COMMITTED_EXIT_GRACE_SECONDS, RunState, plan

    def spec(sid: str, inputs: list[StepInput]) -> StepSpec:
        return StepSpec(name=sid, id=sid, function=sid, entrypoint=f"m:{sid}", code_hash="0",
                        inputs=inputs, outputs=[StepOutput(name="out", materializer="m.B")])

    snap = SnapshotSpec(pipeline="p", pipeline_name="p", image="img:1", steps=[
        spec("train", []), spec("score", [StepInput(name="x", step="train", output="out")])])
    later = dataclasses.replace(POD, name="p-1-score-1", step="score", uid="u-4")
    status = PipelineRunStatus(phase="running", snapshot="snap", pipeline="p", steps=[
        *_completed(phase="running").steps,
        StepStatus(name="score", phase="running", attempts=1, pod=later.name)])
    state = RunState(name="p-1", created=ENDED - 60, spec=PipelineRunSpec(), status=status,
                     now=ENDED + 10, snapshot=snap, pods=[dataclasses.replace(POD, committed=True),
                                                          later])
    out = plan(state)
    assert not any(isinstance(a, A.DeletePod) for a in out.actions)
    assert out.requeue_after == pytest.approx(COMMITTED_EXIT_GRACE_SECONDS - 10)
    state.now = ENDED + COMMITTED_EXIT_GRACE_SECONDS
    assert plan(state).actions == [A.DeletePod(POD.name, Reason.POD_LINGERED)]


def test_a_triggered_run_whose_parent_is_forgotten_reads_the_parent_from_the_api() -> None:
    """spec.triggeredBy is checked against the triggering run as the API has it when this
    operator no longer holds it (it finished and was forgotten first)."""
    import asyncio

    from kubeline.resources.models import PipelineRunSpec, PipelineRunStatus
    from kubeline.resources.names import ANNOTATION_TRIGGERED_FROM_POD
    from kubeline_operator.api import Gone

    parent = {"metadata": {"name": "p-1", "namespace": "ml"}, "status": {
        "phase": "completed", "steps": [{"name": "train", "pod": POD.name}]}}

    class Api:
        def __init__(self, runs: dict[str, Any]) -> None:
            self.runs, self.gets = runs, []

        async def get(self, plural: str, namespace: str, name: str) -> dict[str, Any]:
            self.gets.append((plural, namespace, name))
            if name not in self.runs:
                raise Gone(404, "not found")
            return self.runs[name]

    spec = PipelineRunSpec.model_validate({"triggeredBy": {"run": "p-1", "step": "train"}})
    meta = {"annotations": {ANNOTATION_TRIGGERED_FROM_POD: POD.name}}
    settings = OperatorSettings(provenance_policy=True)
    ctl = Controller(settings, api=Api({"p-1": parent}), stores=Stores(),  # type: ignore[arg-type]
                     store=None)  # type: ignore[arg-type]
    got = asyncio.run(ctl._trigger_provenance("ml", meta, spec, PipelineRunStatus()))
    assert got is not None and got.verified, got
    assert ctl.api.gets == [("pipelineruns", "ml", "p-1")]  # type: ignore[attr-defined]
    gone = Controller(settings, api=Api({}), stores=Stores(),  # type: ignore[arg-type]
                      store=None)  # type: ignore[arg-type]
    got = asyncio.run(gone._trigger_provenance("ml", meta, spec, PipelineRunStatus()))
    assert got is not None and not got.verified and "does not exist" in (got.message or "")
