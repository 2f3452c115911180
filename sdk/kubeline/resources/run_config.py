"""What a run's configuration may set and what it decides, written once.

The compiler (a pipeline's ``steps`` options), ``Client.trigger_pipeline`` (before it
creates a run) and the operator (any run, e.g. one applied with kubectl) all ask
:func:`run_config_problems` (the UI's run form :func:`run_config_issues`, the same problems
placed on their step and parameter); every parameter value goes through :func:`parameter_problem`,
the one place for per-parameter checks. :func:`effective_enable_cache` decides whether a
step may be served from the cache (the operator plans with it, the Client shows it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubeline.resources.json_values import JSON_TYPES, has_json_type, is_json, json_type, type_name
from kubeline.resources.models import RunConfiguration, SnapshotSpec, StepInput, StepSpec


def input_source(inp: StepInput) -> str:
    """Where an input's value comes from, as a message says it."""
    if inp.artifact is not None:
        return f"artifact '{inp.artifact.name}'"
    if inp.model_artifact is not None:
        ref = inp.model_artifact
        return f"artifact '{ref.artifact}' of model '{ref.model}'"
    return f"output '{inp.output}' of step '{inp.step}'"


@dataclass(frozen=True)
class StepParameters:
    """What a run configuration may set on one step."""

    id: str  # the invocation id
    name: str  # the DNS name (configurations may use either)
    types: Mapping[str, str | None]  # parameter -> JSON type name (None: any type)
    inputs: Mapping[str, str] = field(default_factory=dict)  # input name -> its source
    required: frozenset[str] = frozenset()  # no default: a run must give a value
    any_parameter: bool = False  # the function takes **kwargs: any name is a parameter
    annotations: Mapping[str, str] = field(default_factory=dict)  # parameter -> as written

    @classmethod
    def of(cls, step: StepSpec) -> StepParameters:
        """A snapshot step's parameters: the defaults' keys and JSON types, plus what the
        compiler recorded in ``extra`` (``requiredParameters``; ``parameterTypes``, the JSON
        type of each annotated parameter; ``parameterAnnotations``, the annotation as
        written, for messages)."""
        types: dict[str, str | None] = {k: json_type(v) for k, v in step.parameters.items()}
        required = [str(n) for n in step.extra.get("requiredParameters") or []]
        for name in required:
            types.setdefault(name, None)
        for name, typ in (step.extra.get("parameterTypes") or {}).items():
            if typ in JSON_TYPES:
                types[str(name)] = typ
            else:
                types.setdefault(str(name), None)
        annotations = {str(k): str(v)
                       for k, v in (step.extra.get("parameterAnnotations") or {}).items()}
        return cls(id=step.id, name=step.name, types=types,
                   inputs={i.name: input_source(i) for i in step.inputs},
                   required=frozenset(required), annotations=annotations)


def parameter_problem(step: StepParameters, name: str, value: Any) -> str | None:
    """What is wrong with setting parameter ``name`` of ``step`` to ``value``; None if nothing."""
    if name in step.inputs:
        return (f"step '{step.id}': '{name}' is an input fed by {step.inputs[name]}, not a "
                "parameter, and cannot be set in the run configuration")
    if name not in step.types and not step.any_parameter:
        known = ", ".join(sorted(step.types)) or "none"
        return f"step '{step.id}' has no parameter '{name}' (its parameters: {known})"
    if not is_json(value):
        return (f"step '{step.id}': parameter '{name}' is a {type_name(value)}, not a JSON "
                "value")
    expected = step.types.get(name)
    if expected and not has_json_type(value, expected):
        declared = step.annotations.get(name)
        wanted = (f"of type {declared} (JSON {expected})" if declared
                  else f"of JSON type {expected} (like its default)")
        return (f"step '{step.id}': parameter '{name}' must be {wanted}, got "
                f"{type(value).__name__} {value!r}")
    return None


@dataclass(frozen=True)
class ConfigProblem:
    """One problem of a run configuration: its message, and the step and parameter it is
    about (None when it is about no single one, e.g. an unknown step)."""

    message: str
    step: str | None = None  # the step's invocation id
    parameter: str | None = None


def run_config_issues(steps: Sequence[StepParameters], configs: Iterable[RunConfiguration],
                      check_required: bool = True) -> list[ConfigProblem]:
    """Everything wrong with running ``steps`` with ``configs`` (applied in order), each
    named and placed; [] if nothing. ``check_required``: a parameter without default must
    get a value from one of the configurations."""
    by_key: dict[str, StepParameters] = {}
    for step in steps:
        by_key.setdefault(step.id, step)
        by_key.setdefault(step.name, step)
    problems: list[ConfigProblem] = []
    given: dict[str, dict[str, Any]] = {step.id: {} for step in steps}
    for config in configs:
        for key, step_config in config.steps.items():
            target = by_key.get(key)
            if target is None:
                known = ", ".join(s.id for s in steps) or "none"
                problems.append(ConfigProblem(
                    f"run configuration names unknown step '{key}' (steps: {known})"))
                continue
            for name, value in step_config.parameters.items():
                problem = parameter_problem(target, name, value)
                if problem:
                    problems.append(ConfigProblem(problem, target.id, name))
                given[target.id][name] = value
    if check_required:
        for step in steps:
            for name in sorted(step.required):
                if given[step.id].get(name) is None:
                    problems.append(ConfigProblem(
                        f"step '{step.id}' needs parameter '{name}' (it has no default): set "
                        f"steps.{step.id}.parameters.{name} in the run configuration",
                        step.id, name))
    return problems


def run_config_problems(steps: Sequence[StepParameters], configs: Iterable[RunConfiguration],
                        check_required: bool = True) -> list[str]:
    """The messages of :func:`run_config_issues`: what the operator, the Client and the
    UI's run form report."""
    return [p.message for p in run_config_issues(steps, configs, check_required)]


def pipeline_enable_cache(snapshot: SnapshotSpec, run_config: RunConfiguration) -> bool:
    """The run-wide cache switch: the run's configuration, else the snapshot's configuration
    template, else the snapshot's own."""
    for value in (run_config.enable_cache, snapshot.config_template.enable_cache):
        if value is not None:
            return value
    return snapshot.enable_cache


def effective_enable_cache(step: StepSpec, snapshot: SnapshotSpec,
                           run_config: RunConfiguration) -> bool:
    """Whether ``step`` may be served from the cache in a run with ``run_config``.

    A step-level setting in the run configuration (then in the snapshot's configuration
    template, where the compiler puts a step's own explicit setting: ZenML's rule that the
    step's wins over the pipeline's) decides outright. Otherwise the step's own switch must
    be on and so must the run-wide one (:func:`pipeline_enable_cache`).
    """
    for config in (run_config, snapshot.config_template):
        for key, step_config in config.steps.items():
            if step_config.enable_cache is not None and key in (step.id, step.name):
                return step_config.enable_cache
    return step.enable_cache and pipeline_enable_cache(snapshot, run_config)
