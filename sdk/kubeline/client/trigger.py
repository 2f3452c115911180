"""Pure planning for ``Client.trigger_pipeline``: check a run configuration against a snapshot
and build the PipelineRun to create. No I/O here.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from kubeline.errors import ConfigurationError
from kubeline.resources import names

LABEL_TRIGGERED_BY_RUN = names.LABEL_TRIGGERED_BY_RUN
LABEL_TRIGGERED_BY_STEP = names.LABEL_TRIGGERED_BY_STEP

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "array": (list, tuple),
    "object": (dict,),
}


def json_type(value: Any) -> str | None:
    """The JSON type name of a default value; None for null (no constraint)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return None


def _matches(value: Any, expected: str) -> bool:
    if value is None:
        return True  # an explicit null resets to "no value"; the step decides
    types = _JSON_TYPES.get(expected)
    if types is None:
        return True
    if isinstance(value, bool) and expected != "boolean":
        return False
    return isinstance(value, types)


def step_parameter_types(step: Mapping[str, Any]) -> dict[str, str | None]:
    """Known parameters of one snapshot step and their JSON types (None: any type).

    A step's parameters are the keys of its ``parameters`` defaults (a ``null`` default
    means required or untyped), plus ``extra.parameterTypes`` ({name: JSON type}) and
    ``extra.requiredParameters`` when the compiler records them.
    """
    extra = step.get("extra") or {}
    known: dict[str, str | None] = {
        k: json_type(v) for k, v in (step.get("parameters") or {}).items()
    }
    for name in extra.get("requiredParameters") or []:
        known.setdefault(str(name), None)
    for name, typ in (extra.get("parameterTypes") or {}).items():
        if typ in _JSON_TYPES:
            known[str(name)] = typ
        else:
            known.setdefault(str(name), None)
    return known


def check_run_configuration(config: Mapping[str, Any], snapshot: Mapping[str, Any]) -> None:
    """Reject a run configuration (wire form) that names an unknown step or parameter,
    or gives a parameter a value of the wrong JSON type. Says which and what is known.
    """
    spec = snapshot.get("spec") or {}
    snap_name = snapshot.get("metadata", {}).get("name", "?")
    by_key: dict[str, Mapping[str, Any]] = {}
    for step in spec.get("steps") or []:
        by_key[step["id"]] = step
        by_key.setdefault(step["name"], step)
    step_ids = ", ".join(s["id"] for s in spec.get("steps") or [])
    for step_key, step_cfg in (config.get("steps") or {}).items():
        step = by_key.get(step_key)
        if step is None:
            raise ConfigurationError(
                f"run configuration names unknown step {step_key!r}: snapshot {snap_name} "
                f"has steps {step_ids}"
            )
        known = step_parameter_types(step)
        for param, value in ((step_cfg or {}).get("parameters") or {}).items():
            if param not in known:
                listed = ", ".join(sorted(known)) or "none"
                raise ConfigurationError(
                    f"run configuration: step {step['id']!r} has no parameter {param!r} "
                    f"(its parameters: {listed})"
                )
            expected = known[param]
            if expected and not _matches(value, expected):
                raise ConfigurationError(
                    f"run configuration: parameter {param!r} of step {step['id']!r} must be "
                    f"of JSON type {expected} (like its default), got {type(value).__name__} "
                    f"{value!r}"
                )
    _check_required(config, spec.get("steps") or [], snap_name)


def _check_required(config: Mapping[str, Any], steps: list[Mapping[str, Any]],
                    snap_name: str) -> None:
    """Each ``extra.requiredParameters`` (no default in the snapshot) must get a value."""
    given = config.get("steps") or {}
    for step in steps:
        required = (step.get("extra") or {}).get("requiredParameters") or []
        cfg = given.get(step["id"]) or given.get(step["name"]) or {}
        params = cfg.get("parameters") or {}
        for param in required:
            if params.get(param) is None:
                raise ConfigurationError(
                    f"run configuration: step {step['id']!r} needs parameter {param!r} (it has "
                    f"no default in snapshot {snap_name}): set "
                    f"steps.{step['id']}.parameters.{param}"
                )


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


def new_run_name(pipeline: str, now: datetime | None = None) -> str:
    """A readable, unique, DNS-safe run name: ``<pipeline>-<yyyymmdd-hhmmss>-<4 hex>``."""
    now = now or datetime.now(UTC)
    suffix = f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    base = names.dns_name(pipeline, 63 - len(suffix) - 1)
    return f"{base}-{suffix}"


def build_run(
    snapshot: Mapping[str, Any],
    config: Mapping[str, Any],
    triggered_by: Mapping[str, str] | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """The PipelineRun object that runs ``snapshot`` with ``config`` (wire form)."""
    spec = snapshot.get("spec") or {}
    pipeline = str(spec.get("pipeline") or "")
    snap_name = str(snapshot["metadata"]["name"])
    labels = {
        names.LABEL_PIPELINE: names.label_value(pipeline),
        names.LABEL_SNAPSHOT: names.label_value(snap_name),
    }
    run_spec: dict[str, Any] = {"snapshot": snap_name, "config": dict(config)}
    if triggered_by:
        run_spec["triggeredBy"] = {"run": triggered_by["run"], "step": triggered_by["step"]}
        labels[LABEL_TRIGGERED_BY_RUN] = names.label_value(triggered_by["run"])
        labels[LABEL_TRIGGERED_BY_STEP] = names.label_value(triggered_by["step"])
    run_name = config.get("runName")
    object_name = name or (names.dns_name(run_name) if run_name else new_run_name(pipeline))
    return {
        "apiVersion": names.API_VERSION,
        "kind": "PipelineRun",
        "metadata": {"name": object_name, "labels": labels},
        "spec": run_spec,
    }
