"""Triggering snapshots: required step parameters (seed 004's trainer) and step permissions.

Running such a pipeline is a compile error; snapshotting it records the parameter as
required, the Client refuses a trigger that does not set it, and the step runtime fails with
a message naming it when a run (e.g. applied with kubectl) leaves it unset.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kubeline import pipeline, step
from kubeline.client.snapshots import full_config_template
from kubeline.client.trigger import check_run_configuration
from kubeline.errors import CompileError, ConfigurationError
from kubeline.resources.models import StepSpec
from kubeline.runtime.executor import check_required_parameters

pytestmark = pytest.mark.unit
ROOT = Path(__file__).parent


@step
def trainer(data_artifact_id: str, epochs: int = 3):
    return data_artifact_id, epochs


@step
def untyped(anything):
    return anything


@pipeline
def training_pipeline():
    trainer()
    untyped()


def _snapshot() -> dict:
    compiled = training_pipeline.compile(source_root=ROOT, allow_unset_parameters=True)
    return {"metadata": {"name": compiled.snapshot_name}, "spec": compiled.spec.to_k8s()}


def test_running_without_the_parameter_is_still_a_compile_error() -> None:
    with pytest.raises(CompileError, match="missing input 'data_artifact_id'"):
        training_pipeline.compile(source_root=ROOT)


def test_snapshot_records_required_parameters_and_their_types() -> None:
    steps = {s["id"]: s for s in _snapshot()["spec"]["steps"]}
    assert steps["trainer"]["parameters"] == {"data_artifact_id": None, "epochs": 3}
    assert steps["trainer"]["extra"] == {
        "requiredParameters": ["data_artifact_id"],
        # every annotated parameter's type is recorded (the run-configuration rule checks it)
        "parameterTypes": {"data_artifact_id": "string", "epochs": "integer"},
        "parameterAnnotations": {"data_artifact_id": "str", "epochs": "int"}}
    assert steps["untyped"]["extra"] == {"requiredParameters": ["anything"]}


def test_a_value_given_in_the_pipeline_options_is_not_required() -> None:
    configured = training_pipeline.with_options(
        steps={"trainer": {"parameters": {"data_artifact_id": "abc"}},
               "untyped": {"parameters": {"anything": 1}}})
    spec = configured.compile(source_root=ROOT, allow_unset_parameters=True).spec.to_k8s()
    assert all("requiredParameters" not in (s.get("extra") or {}) for s in spec["steps"])


def test_trigger_must_set_required_parameters_with_the_right_type() -> None:
    snap = _snapshot()
    ok = {"steps": {"trainer": {"parameters": {"data_artifact_id": "1234"}},
                    "untyped": {"parameters": {"anything": [1, 2]}}}}
    check_run_configuration(ok, snap)
    with pytest.raises(ConfigurationError, match=r"'trainer' needs parameter 'data_artifact_id'"
                       r".*steps\.trainer\.parameters\.data_artifact_id"):
        check_run_configuration({"steps": {"untyped": {"parameters": {"anything": 1}}}}, snap)
    with pytest.raises(ConfigurationError, match="step 'trainer': parameter 'data_artifact_id' "
                       "must be of type str \\(JSON string\\)"):
        check_run_configuration(
            {"steps": {"trainer": {"parameters": {"data_artifact_id": 5}}}}, snap)
    # The snapshot's template lists the parameter (as null): sent unchanged, it is refused.
    with pytest.raises(ConfigurationError, match="needs parameter"):
        check_run_configuration(full_config_template(snap["spec"]), snap)


def test_runtime_refuses_an_unset_required_parameter() -> None:
    step = StepSpec.model_validate(
        next(s for s in _snapshot()["spec"]["steps"] if s["id"] == "trainer"))
    check_required_parameters(step, {"data_artifact_id": "x", "epochs": 3})
    with pytest.raises(ConfigurationError, match=r"'trainer' needs parameter 'data_artifact_id'.*"
                       r"spec\.config\.steps\.trainer\.parameters\.data_artifact_id"):
        check_required_parameters(step, {"data_artifact_id": None, "epochs": 3})


# --------------------------------------------------------------- a step without trigger rights
class _DeniedKube:
    """A Kube whose every request is refused, as for the chart's default step ServiceAccount."""

    namespace = "ml"

    def _deny(self, *args: object, **kwargs: object) -> None:
        from kubeline.errors import PermissionDeniedError

        raise PermissionDeniedError(
            'permission denied on pipelines/training-pipeline: pipelines.kubeline.dev '
            '"training-pipeline" is forbidden: User "system:serviceaccount:ml:kubeline-step" '
            'cannot get resource "pipelines"')

    get = list = iter = create = _deny


def test_trigger_from_a_step_without_rights_says_how_to_allow_it(
        monkeypatch: pytest.MonkeyPatch) -> None:

    from kubeline.client import Client
    from kubeline.errors import PermissionDeniedError

    client = Client(kube=_DeniedKube())  # type: ignore[arg-type]
    with pytest.raises(PermissionDeniedError, match="forbidden") as plain:
        client.trigger_pipeline(pipeline_name_or_id="training_pipeline")
    assert "allowTriggeringRuns" not in str(plain.value)  # outside a step: the API's words only

    monkeypatch.setenv("KUBELINE_INVOCATION", _invocation("ml", "loads-1", "trigger_pipeline"))
    with pytest.raises(PermissionDeniedError) as info:
        client.trigger_pipeline(pipeline_name_or_id="training_pipeline")
    message = str(info.value)
    assert message.startswith("step 'trigger_pipeline' of run loads-1 may not start pipeline runs")
    assert "forbidden" in message and "steps.allowTriggeringRuns=true" in message
    assert "namespace ml" in message


def test_trigger_from_a_step_without_a_token_says_how_to_allow_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A step ServiceAccount without a mounted token cannot even reach the API server."""

    from kubeline.client import Client
    from kubeline.errors import ClusterUnreachableError

    class _NoToken:
        namespace = "ml"

        def get(self, *args: object, **kwargs: object) -> None:
            raise ClusterUnreachableError("no kubeconfig and no in-cluster service account")

    monkeypatch.setenv("KUBELINE_INVOCATION", _invocation("ml", "loads-1", "trigger_pipeline"))
    with pytest.raises(ClusterUnreachableError) as info:
        Client(kube=_NoToken()).trigger_pipeline(  # type: ignore[arg-type]
            snapshot_name_or_id="nightly")
    assert "no in-cluster service account" in str(info.value)
    assert "steps.allowTriggeringRuns=true" in str(info.value)


def _invocation(namespace: str, run: str, step_id: str) -> str:
    """A step Pod's KUBELINE_INVOCATION as the operator writes it (the contract's model)."""
    from kubeline.resources.invocation import Invocation

    step = StepSpec(name=step_id.replace("_", "-"), id=step_id, function=step_id,
                    entrypoint=f"steps:{step_id}", code_hash="0")
    return Invocation(namespace=namespace, pipeline="loads", run=run, step=step,
                      outputs_uri="s3://b/artifacts").to_json()
