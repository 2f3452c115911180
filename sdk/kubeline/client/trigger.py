"""Pure planning for ``Client.trigger_pipeline``: check a run configuration against a snapshot
and build the PipelineRun to create. No I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from kubeline.errors import ConfigurationError, InvalidRunConfiguration
from kubeline.resources import names
from kubeline.resources.models import RunConfiguration, StepSpec
from kubeline.resources.run_config import StepParameters, run_config_problems
from kubeline.resources.run_objects import new_run_name as new_run_name  # re-exported
from kubeline.resources.run_objects import pipeline_run, run_object_name

LABEL_TRIGGERED_BY_RUN = names.LABEL_TRIGGERED_BY_RUN
LABEL_TRIGGERED_BY_STEP = names.LABEL_TRIGGERED_BY_STEP

def check_run_configuration(config: Mapping[str, Any], snapshot: Mapping[str, Any]) -> None:
    """Refuse a run configuration (wire form) the operator would refuse: an unknown step or
    parameter, a value of the wrong JSON type, a required parameter left unset (the rule of
    :mod:`kubeline.resources.run_config`, applied after the snapshot's template as the
    operator applies it). The error names every problem and what is known."""
    spec = snapshot.get("spec") or {}
    snap_name = snapshot.get("metadata", {}).get("name", "?")
    try:
        steps = [StepParameters.of(StepSpec.model_validate(s)) for s in spec.get("steps") or []]
        template = RunConfiguration.model_validate(spec.get("configTemplate") or {})
        run_config = RunConfiguration.model_validate(dict(config))
    except ValidationError as exc:
        raise ConfigurationError(
            f"run configuration for snapshot {snap_name} does not parse: {exc}") from None
    problems = run_config_problems(steps, (template, run_config))
    if problems:
        raise InvalidRunConfiguration(
            f"run configuration for snapshot {snap_name}: " + "; ".join(problems))


def parse_invocation(raw: str | None) -> dict[str, str] | None:
    """``{"run", "step", "namespace"}`` from a step Pod's ``KUBELINE_INVOCATION``, else None."""
    if not raw:
        return None
    from kubeline.resources.invocation import Invocation, InvocationError

    try:
        inv = Invocation.from_env(raw)
    except InvocationError:
        return None
    return {"run": inv.run, "step": inv.step.id, "namespace": inv.namespace}


def step_permission_message(message: str, trigger: Mapping[str, str]) -> str:
    """What a step that may not start runs is told: the refusal and how to allow it."""
    ns = trigger.get("namespace") or "its namespace"
    return (
        f"step {trigger['step']!r} of run {trigger['run']} may not start pipeline runs: "
        f"{message}. Step Pods run under a ServiceAccount without API rights unless you allow "
        f"it: install the chart with --set steps.allowTriggeringRuns=true (a Role to get "
        f"pipelines/snapshots and create pipelineruns in namespace {ns})"
    )


def build_run(
    snapshot: Mapping[str, Any],
    config: Mapping[str, Any],
    triggered_by: Mapping[str, str] | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """The PipelineRun object that runs ``snapshot`` with ``config`` (wire form). Started
    from a step (``triggered_by`` with the step Pod's name as ``pod``), it names that Pod in
    an annotation the chart's admission policy admits only from that Pod's own token."""
    pipeline = str((snapshot.get("spec") or {}).get("pipeline") or "")
    pod = (triggered_by or {}).get("pod")
    return pipeline_run(name or run_object_name(pipeline, config), config,
                        snapshot=str(snapshot["metadata"]["name"]), pipeline=pipeline,
                        triggered_by=triggered_by,
                        annotations={names.ANNOTATION_TRIGGERED_FROM_POD: pod} if pod else None)
