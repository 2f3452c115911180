"""Tracing a ``@pipeline`` function: while it runs, each step call records an invocation.

The compiler activates a :class:`Tracer` (``tracing``); ``Step.__call__`` asks
:func:`active_tracer` whether it is being traced. Invocation ids are ``trainer``,
``trainer_2``, ... or an explicit ``id=``; a call returns :class:`OutputRef` placeholders
that later calls take as inputs.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubeline.errors import CompileError
from kubeline.resources.json_values import is_json, type_name
from kubeline.signature import OutputSpec, parameter_names, parse_outputs, type_hints, type_path

if TYPE_CHECKING:
    from kubeline.steps import Step

_TRACER: contextvars.ContextVar[Tracer | None] = contextvars.ContextVar(
    "kubeline_tracer", default=None
)
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
UNMATERIALIZED = "kubeline.artifacts.unmaterialized_artifact.UnmaterializedArtifact"


def active_tracer() -> Tracer | None:
    """The tracer of the pipeline being compiled in this context, if any."""
    return _TRACER.get()


@contextmanager
def tracing(tracer: Tracer) -> Iterator[Tracer]:
    """Make ``tracer`` the active one while the block runs."""
    token = _TRACER.set(tracer)
    try:
        yield tracer
    finally:
        _TRACER.reset(token)


class OutputRef:
    """A step output inside a pipeline being compiled: pass it to another step."""

    def __init__(self, invocation_id: str, output: str) -> None:
        self.invocation_id = invocation_id
        self.output = output

    def __iter__(self) -> Any:
        raise CompileError(
            f"step '{self.invocation_id}' has a single output ('{self.output}') and cannot be "
            "unpacked; declare a Tuple[...] return annotation for several outputs"
        )

    def __bool__(self) -> bool:
        raise CompileError(
            f"output '{self.output}' of step '{self.invocation_id}' is a reference resolved when "
            "the pipeline runs; it cannot drive Python control flow in the pipeline function"
        )

    def __repr__(self) -> str:
        return f"<OutputRef {self.invocation_id}.{self.output}>"


@dataclass
class Invocation:
    """One step call recorded while tracing."""

    id: str
    step: Step
    outputs: list[OutputSpec]
    arg_names: list[str]
    var_kwargs: bool
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    after: list[Any] = field(default_factory=list)
    unset: list[str] = field(default_factory=list)  # required parameters left to the run config


class Tracer:
    """Records step invocations while the pipeline function runs."""

    def __init__(self, pipeline_name: str) -> None:
        self.pipeline_name = pipeline_name
        self.invocations: dict[str, Invocation] = {}
        self._outputs_of: dict[str, list[OutputSpec]] = {}

    def _new_id(self, step: Step, explicit: str | None) -> str:
        if explicit is not None:
            if not isinstance(explicit, str) or not _ID.match(explicit) or len(explicit) > 128:
                raise CompileError(
                    f"step '{step.name}': invocation id {explicit!r} must start with a letter or "
                    "'_' and contain only letters, digits, '_', '.', '-'"
                )
            if explicit in self.invocations:
                raise CompileError(
                    f"step '{step.name}': invocation id '{explicit}' is already used in pipeline "
                    f"'{self.pipeline_name}'; pass a different id="
                )
            return explicit
        base = step.name
        if base not in self.invocations:
            return base
        n = 2
        while f"{base}_{n}" in self.invocations:
            n += 1
        return f"{base}_{n}"

    def add_invocation(self, step: Step, args: tuple[Any, ...], kwargs: dict[str, Any],
                       invocation_id: str | None = None, after: Any = None) -> Any:
        inv_id = self._new_id(step, invocation_id)
        func = step.entrypoint
        names, var_kw = parameter_names(func)
        where = f"step '{inv_id}'"
        if len(args) > len(names):
            raise CompileError(
                f"{where}: takes {len(names)} arguments ({', '.join(names)}) but "
                f"{len(args)} were given positionally"
            )
        given = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key in given:
                raise CompileError(f"{where}: argument '{key}' given twice")
            if key not in names and not var_kw:
                raise CompileError(
                    f"{where}: unknown parameter '{key}'; the function accepts: "
                    f"{', '.join(names) or '(no arguments)'}"
                )
            given[key] = value
        hints = type_hints(func, inv_id)
        inv = Invocation(id=inv_id, step=step, outputs=parse_outputs(func, step.name),
                         arg_names=names, var_kwargs=var_kw)
        for arg, value in given.items():
            if isinstance(value, OutputRef):
                inv.inputs[arg] = {"step": value.invocation_id, "output": value.output}
            elif callable(getattr(value, "to_model_artifact_ref", None)):
                inv.inputs[arg] = {"model_artifact": value.to_model_artifact_ref()}
            elif callable(getattr(value, "to_artifact_ref", None)):
                ref = value.to_artifact_ref()
                inv.inputs[arg] = {"artifact": {k: v for k, v in dict(ref).items()
                                                if v is not None}}
            elif isinstance(value, (list, tuple)) and any(isinstance(v, OutputRef) for v in value):
                raise CompileError(
                    f"{where}: argument '{arg}' is a list of step outputs; pass each output to "
                    "its own argument"
                )
            elif is_json(value):
                inv.parameters[arg] = value
            else:
                raise CompileError(
                    f"{where}: argument '{arg}' got a {type_name(value)}, which is neither a step "
                    "output nor a JSON value; produce it in a step, or pass a JSON value"
                )
            if arg in inv.inputs and type_path(hints.get(arg)) == UNMATERIALIZED:
                inv.inputs[arg]["unmaterialized"] = True
        inv.after = list(after) if isinstance(after, (list, tuple)) else (
            [] if after is None else [after])
        self.invocations[inv_id] = inv
        refs = [OutputRef(inv_id, o.name) for o in inv.outputs]
        if not refs:
            return None
        return refs[0] if len(refs) == 1 else tuple(refs)
