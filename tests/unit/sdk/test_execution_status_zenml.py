"""ZenML 0.98's ``zenml.enums.ExecutionStatus`` names, as Kubeline answers them: every name
imports, stored phases parse as before, and ``is_finished`` / ``is_successful`` /
``is_failed`` give ZenML's answers except the one difference docs/authoring.md lists."""

from __future__ import annotations

import pytest
from fake_kube import R3, FakeKube, load_objects
from kubeline.client import Client
from kubeline.enums import NEVER_REPORTED, ExecutionStatus
from kubeline.resources import names as n
from kubeline.resources import phases

pytestmark = pytest.mark.unit

#: ZenML 0.98 (src/zenml/enums.py): name -> (is_finished, is_successful, is_failed).
ZENML = {
    "INITIALIZING": (False, False, False),
    "PROVISIONING": (False, False, False),
    "RUNNING": (False, False, False),
    "FAILED": (True, False, True),
    "COMPLETED": (True, True, False),
    "CACHED": (True, True, False),
    "SKIPPED": (True, True, False),
    "RETRYING": (False, False, False),
    "RETRIED": (True, False, False),
    "PAUSED": (False, False, False),
    "RESUMING": (False, False, False),
    "STOPPED": (True, False, False),
    "STOPPING": (False, False, False),
}
#: Where Kubeline answers otherwise on purpose (docs/authoring.md, differences).
DIFFERENT = {"SKIPPED": (True, False, False)}  # never ran because another step failed


@pytest.mark.parametrize("name", sorted(ZENML))
def test_every_zenml_name_answers_as_zenml(name: str) -> None:
    status = ExecutionStatus[name]
    assert (status.is_finished, status.is_successful, status.is_failed) == DIFFERENT.get(
        name, ZENML[name])


def test_stopped_is_the_cancelled_phase() -> None:
    assert ExecutionStatus.STOPPED is ExecutionStatus.CANCELLED
    assert ExecutionStatus.STOPPED.value == "cancelled"  # ZenML's value is "stopped"
    assert ExecutionStatus("cancelled") is ExecutionStatus.STOPPED
    assert ExecutionStatus("stopped") is ExecutionStatus.CANCELLED  # ZenML's value parses
    assert ExecutionStatus("initializing") is ExecutionStatus.INITIALIZING
    assert ExecutionStatus.INITIALIZING.value == "initialized"


def test_a_cancelled_run_reads_as_zenml_stopped() -> None:
    namespace, objects = load_objects()
    kube = FakeKube(objects, namespace)
    run_obj = kube.store[n.PIPELINE_RUNS][R3]
    run_obj["status"]["phase"] = "cancelled"
    run_obj["status"]["steps"][1]["phase"] = "cancelled"
    run = Client(kube=kube).get_pipeline_run(R3)  # type: ignore[arg-type]
    assert run.status == ExecutionStatus.STOPPED
    assert run.status is ExecutionStatus.STOPPED
    assert run.status.is_finished and not run.status.is_successful  # type: ignore[attr-defined]
    assert run.is_finished and not run.is_successful
    assert run.steps["svc_trainer"].status == ExecutionStatus.STOPPED
    assert run.status != ExecutionStatus.STOPPING


def test_states_kubeline_never_reports_are_their_own_members() -> None:
    stored = set(phases.RUN_PHASES) | set(phases.STEP_PHASES)
    assert {s.name for s in NEVER_REPORTED} == {
        "PROVISIONING", "RETRIED", "PAUSED", "RESUMING", "STOPPING"}
    for status in NEVER_REPORTED:
        assert status.value not in stored
        assert all(status != ExecutionStatus(phase) for phase in stored)
        assert ExecutionStatus(status.value) is status


def test_stored_phases_parse_to_the_same_members_as_before() -> None:
    for phase in set(phases.RUN_PHASES) | set(phases.STEP_PHASES):
        status = ExecutionStatus(phase)
        assert status.value == phase and status not in NEVER_REPORTED
    with pytest.raises(ValueError, match="'stopping_now' is not a valid ExecutionStatus"):
        ExecutionStatus("stopping_now")
