"""A step Pod's outputs-committed Event: which ones count (its run's own running Pod, by
name and uid), what the planner makes of it (the attempt's manifest is read, flagged early),
and that its mark goes once the Pod ends."""

from __future__ import annotations

import dataclasses

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


def test_a_committed_pod_counts_as_succeeded_until_it_ends() -> None:
    ctl = _controller(POD)
    ctl.outputs_committed("ml", "p-1", POD.name, "u-1")
    (seen,) = ctl.with_commits(KEY, [POD])
    assert seen.phase == "Succeeded" and seen.committed
    ended = dataclasses.replace(POD, phase="Failed")  # the exit after the commit
    (seen,) = ctl.with_commits(KEY, [ended])
    assert seen.phase == "Failed" and not seen.committed
    assert ctl.committed == {}  # the mark went with the Pod


def test_the_planner_records_a_committed_pods_manifest_as_early() -> None:
    step = StepSpec(name="train", id="train", function="f", entrypoint="m:f", code_hash="0")
    state = type("S", (), {"now": 7.0})()
    out = Plan()
    committed = dataclasses.replace(POD, phase="Succeeded", committed=True)
    assert _plan_running(state, step, 1, committed, out) == ("done", "", "")  # type: ignore[arg-type]
    (record,) = out.actions
    assert isinstance(record, A.RecordOutputs)
    assert record.early and record.manifest_uri is None  # the attempt's own manifest URI


def test_observe_pod_keeps_the_uid() -> None:
    pod = observe_pod({"metadata": {"name": "p", "uid": "u-9", "labels": {
        "kubeline.dev/run": "r", "kubeline.dev/step": "s"}}, "status": {"phase": "Running"}})
    assert pod is not None and pod.uid == "u-9" and not pod.committed


def test_a_finished_runs_committed_pod_may_exit_on_its_own_first() -> None:
    """The run finished while the Pod of its last step was still exiting (recorded from its
    Event): it is not deleted for the grace period, then it is; other Pods are at once."""
    from types import SimpleNamespace

    from kubeline.resources.models import PipelineRunSpec, PipelineRunStatus, StepStatus
    from kubeline_operator.planner import COMMITTED_EXIT_GRACE_SECONDS, _plan_finished

    status = PipelineRunStatus(phase="completed", steps=[
        StepStatus(name="train", phase="completed", pod=POD.name,
                   end_time="2026-12-01T19:00:00.000000Z")])
    other = dataclasses.replace(POD, name="p-1-stray-1", uid="u-3")
    ended = 1796151600.0  # 2026-12-01T19:00:00Z

    def deleted(now: float) -> tuple[list[str], float | None]:
        state = SimpleNamespace(pods=[POD, other], status=status, now=now,
                                spec=PipelineRunSpec())
        out = _plan_finished(state)  # type: ignore[arg-type]
        return [a.pod for a in out.actions if isinstance(a, A.DeletePod)], out.requeue_after

    assert deleted(ended + 1) == (["p-1-stray-1"], COMMITTED_EXIT_GRACE_SECONDS - 1)
    assert deleted(ended + COMMITTED_EXIT_GRACE_SECONDS)[0] == [POD.name, "p-1-stray-1"]
