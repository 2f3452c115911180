"""Snapshots and the run form's JSON (pure, no I/O).

The form is generated from each step's typed parameters (:class:`StepParameters`, what the
compiler recorded), and a configuration is checked with :func:`run_config_issues`, the rule
the operator and ``Client.trigger_pipeline`` apply: the browser shows the same messages
because the same function writes them. YAML is read and written here too, so the browser
needs no YAML parser of its own.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from kubeline.errors import ConfigurationError
from kubeline.resources.models import RunConfiguration, SnapshotSpec, StepSpec
from kubeline.resources.run_config import ConfigProblem, StepParameters, run_config_issues

if TYPE_CHECKING:
    from kubeline.client.snapshots import SnapshotView

#: The form widget for each JSON type; a parameter of no known type takes JSON.
WIDGETS = {"integer": "number", "number": "number", "boolean": "checkbox", "string": "text",
           "array": "json", "object": "json"}
MAX_YAML = 256 * 1024


def snapshot_row(snap: SnapshotView) -> dict[str, Any]:
    """One row of a pipeline's snapshot list."""
    return {
        "objectName": snap.object_name,
        "name": snap.name,
        "displayName": snap.sp.display_name,
        "description": snap.description,
        "pipeline": snap.spec.get("pipeline"),
        "pipelineName": snap.pipeline_name,
        "created": snap.metadata.get("creationTimestamp"),
        "steps": len(snap.steps),
        "runCount": snap.run_count,
        "runnable": snap.runnable,
        "validationMessage": snap.validation_message,
        "tags": snap.tags,
    }


def template(spec: dict[str, Any]) -> dict[str, Any]:
    """The snapshot's full configuration template (every step, every default), as the
    snake_case run configuration a user writes (YAML or ``PipelineRunConfiguration``)."""
    from kubeline.client.snapshots import full_config_template

    config = RunConfiguration.model_validate(full_config_template(spec))
    return dump(config)


def dump(config: RunConfiguration) -> dict[str, Any]:
    """A configuration as plain snake_case JSON; unset fields left out, null parameters kept
    (a required parameter without a value)."""
    out = config.model_dump(mode="json", exclude_none=True)
    for sid, step in config.steps.items():
        out["steps"][sid]["parameters"] = dict(step.parameters)
    return out


def form(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The run form: per step, its parameters with type, widget, default and whether a run
    must give a value, in the snapshot's step order."""
    values = template(spec)["steps"]
    out = []
    for raw in spec.get("steps") or []:
        step = StepParameters.of(StepSpec.model_validate(raw))
        defaults = raw.get("parameters") or {}
        current = (values.get(step.id) or {}).get("parameters") or {}
        fields = []
        for name in sorted(step.types):
            typ = step.types[name]
            fields.append({
                "name": name,
                "jsonType": typ,
                "annotation": step.annotations.get(name),
                "widget": WIDGETS.get(typ or "", "json"),
                "required": name in step.required,
                "hasDefault": name in defaults and name not in step.required,
                "default": defaults.get(name),
                "value": current.get(name),
            })
        out.append({"id": step.id, "name": step.name, "function": raw.get("function"),
                    "parameters": fields})
    return out


def parse_config(data: Any, source: str = "run configuration") -> RunConfiguration:
    """A run configuration from JSON (snake_case or camelCase keys), or a clear error."""
    if data is None:
        return RunConfiguration()
    if not isinstance(data, dict):
        raise ConfigurationError(f"{source} must be a mapping, not {type(data).__name__}")
    try:
        return RunConfiguration.model_validate(data)
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                            for e in exc.errors())
        raise ConfigurationError(f"invalid {source}: {details}") from None


def parse_yaml(text: str) -> Any:
    """The data of a YAML document (safe loader only), or a clear error."""
    import yaml

    if len(text) > MAX_YAML:
        raise ConfigurationError(f"the YAML is larger than {MAX_YAML // 1024} KiB")
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"the run configuration is not valid YAML: {exc}") from None


def to_yaml(config: RunConfiguration) -> str:
    import yaml

    return str(yaml.safe_dump(dump(config), sort_keys=False, allow_unicode=True))


def problems(spec: dict[str, Any], config: RunConfiguration) -> list[ConfigProblem]:
    """What the operator would refuse in a run of ``spec`` with ``config`` (applied after the
    snapshot's template, as the operator applies it)."""
    steps = [StepParameters.of(StepSpec.model_validate(s)) for s in spec.get("steps") or []]
    base = RunConfiguration.model_validate(spec.get("configTemplate") or {})
    return run_config_issues(steps, (base, config))


def check(spec: dict[str, Any], body: dict[str, Any]) -> tuple[RunConfiguration | None,
                                                                dict[str, Any]]:
    """The configuration a form request carries (``config`` as JSON, or ``yaml`` text) and
    what the browser shows: its problems (with step and parameter), its JSON and its YAML.
    A configuration that does not parse has one problem and no JSON."""
    try:
        if body.get("yaml") is not None:
            config = parse_config(parse_yaml(str(body["yaml"])))
        else:
            config = parse_config(body.get("config"))
    except ConfigurationError as exc:
        return None, {"problems": [{"message": str(exc), "step": None, "parameter": None}],
                      "config": None, "yaml": None}
    found = problems(spec, config)
    return config, {
        "problems": [{"message": p.message, "step": p.step, "parameter": p.parameter}
                     for p in found],
        "config": dump(config),
        "yaml": to_yaml(config),
    }


def snapshot_from_run(snapshot: dict[str, Any], run_config: dict[str, Any], name: str,
                      description: str | None) -> dict[str, Any]:
    """A new Snapshot of the run's snapshot, named ``name``, whose configuration template is
    what that run ran with (the template, then the run's configuration; not its run name or
    tags). Its object name is content-addressed, as the compiler names snapshots."""
    from kubeline.compiler import snapshot_name
    from kubeline.resources.names import LABEL_PIPELINE

    spec = copy.deepcopy(snapshot.get("spec") or {})
    merged = RunConfiguration.model_validate(spec.get("configTemplate") or {})
    run = RunConfiguration.model_validate(run_config or {})
    if run.enable_cache is not None:
        merged.enable_cache = run.enable_cache
    for sid, step in run.steps.items():
        target = merged.steps.setdefault(sid, type(step)())
        target.parameters = {**target.parameters, **step.parameters}
        if step.enable_cache is not None:
            target.enable_cache = step.enable_cache
    spec["configTemplate"] = merged.to_k8s()
    spec["displayName"] = name
    if description:
        spec["description"] = description
    else:
        spec.pop("description", None)
    typed = SnapshotSpec.model_validate(spec)
    pipeline = typed.pipeline
    return {"apiVersion": snapshot.get("apiVersion"), "kind": "Snapshot",
            "metadata": {"name": snapshot_name(typed), "labels": {LABEL_PIPELINE: pipeline}},
            "spec": typed.to_k8s()}
