"""spec.triggeredBy is verified only from the step Pod's own token (operator side, pure)."""

from kubeline.resources.models import PipelineRunStatus, TriggerRef
from kubeline.resources.names import ANNOTATION_TRIGGERED_FROM_POD
from kubeline_operator.actions import InitRun
from kubeline_operator.provenance import check_trigger
from kubeline_operator.run_status import apply

REF = TriggerRef(run="parent-1", step="trigger")
PARENT = {"metadata": {"name": "parent-1"},
          "status": {"steps": [{"name": "load", "pod": "parent-1-load-1"},
                               {"name": "trigger", "pod": "parent-1-trigger-1"}]}}
CLAIM = {ANNOTATION_TRIGGERED_FROM_POD: "parent-1-trigger-1"}


def test_the_pod_of_the_named_step_verifies_it() -> None:
    got = check_trigger(REF, CLAIM, PARENT, policy=True)
    assert got.verified
    assert got.message == ("created with the ServiceAccount token of Pod parent-1-trigger-1, "
                           "the Pod of step trigger of run parent-1")


def test_another_step_s_pod_does_not() -> None:
    got = check_trigger(REF, {ANNOTATION_TRIGGERED_FROM_POD: "parent-1-load-1"}, PARENT,
                        policy=True)
    assert not got.verified
    assert got.message == ("unverified: created by Pod parent-1-load-1, but step trigger of run "
                           "parent-1 ran in Pod parent-1-trigger-1")


def test_no_claim_no_run_or_no_policy_is_unverified() -> None:
    assert "no kubeline.dev/triggered-from-pod annotation" in (
        check_trigger(REF, {}, PARENT, policy=True).message or "")
    assert "run parent-1 does not exist" in (
        check_trigger(REF, CLAIM, None, policy=True).message or "")
    off = check_trigger(REF, CLAIM, PARENT, policy=False)
    assert not off.verified and "steps.provenancePolicy" in (off.message or "")
    not_run = check_trigger(TriggerRef(run="parent-1", step="later"), CLAIM, PARENT, policy=True)
    assert not not_run.verified and "ran in no Pod" in (not_run.message or "")


def test_the_check_lands_in_the_status_when_the_run_starts() -> None:
    checked = check_trigger(REF, CLAIM, PARENT, policy=True)
    st = apply(PipelineRunStatus(), [InitRun(snapshot="s", pipeline="p", step_ids=("a",),
                                             parameters={}, time=1.0, trigger=checked)], 1.0)
    assert st.to_k8s()["triggeredBy"] == {"verified": True, "message": checked.message}
    plain = apply(PipelineRunStatus(), [InitRun(snapshot="s", pipeline="p", step_ids=("a",),
                                                parameters={}, time=1.0)], 1.0)
    assert "triggeredBy" not in plain.to_k8s()
