"""Reading a step function's signature: declared outputs and input annotations.

Pure: works on the function object only (annotations resolved with
``typing.get_type_hints``), so the compiler and the step runtime agree.
"""

from __future__ import annotations

import inspect
import typing
from dataclasses import dataclass
from typing import Any

from kubeline.artifacts.artifact_config import ArtifactConfig
from kubeline.errors import CompileError

DEFAULT_OUTPUT = "output"


@dataclass(frozen=True)
class OutputSpec:
    """One declared output: its name, Python type and artifact naming."""

    name: str
    type: Any
    named: bool  # the user gave the name (Annotated) -> it is also the artifact name
    version: str | None = None
    tags: tuple[str, ...] = ()
    artifact_name: str | None = None  # the name as written, placeholders ({date}) kept
    run_metadata: tuple[tuple[str, Any], ...] = ()
    artifact_type: str | None = None
    link_type: str | None = None  # model, deployment, data (None: the materializer decides)


def type_path(tp: Any) -> str:
    """``module.QualName`` of a type (generic aliases use their origin; Any -> typing.Any)."""
    if tp is Any or tp is None:
        return "typing.Any"
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return type_path(typing.get_args(tp)[0])
    if origin is not None:
        tp = origin
    if isinstance(tp, type):
        return f"{tp.__module__}.{tp.__qualname__}"
    return "typing.Any"


def concrete_type(tp: Any) -> type | None:
    """The class behind an annotation (``list[int]`` -> list), or None for Any/unions."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return concrete_type(typing.get_args(tp)[0])
    if origin is not None:
        return origin if isinstance(origin, type) else None
    return tp if isinstance(tp, type) and tp is not Any else None


def type_hints(func: Any, step_name: str) -> dict[str, Any]:
    try:
        return typing.get_type_hints(func, include_extras=True)
    except Exception as exc:  # NameError on an unresolvable forward reference, etc.
        raise CompileError(
            f"step '{step_name}': cannot resolve its type annotations ({exc}); import the "
            "types used in the signature at module level"
        ) from None


def _output_name(name: str) -> str:
    """The output's name for a name with placeholders: ``{dataset}_data`` -> ``dataset_data``."""
    return name.replace("{", "").replace("}", "") if "{" in name else name


def _one_output(tp: Any, index: int | None, step_name: str) -> OutputSpec:
    fallback = DEFAULT_OUTPUT if index is None else f"output_{index}"
    if typing.get_origin(tp) is typing.Annotated:
        base, *meta = typing.get_args(tp)
        for m in meta:
            if isinstance(m, str):
                return OutputSpec(name=_output_name(m), type=base, named=True, artifact_name=m)
            if isinstance(m, ArtifactConfig):
                name = m.name or fallback
                version = None if m.version is None else str(m.version)
                artifact_type = getattr(m.artifact_type, "value", m.artifact_type)
                if m.is_model_artifact and artifact_type is None:
                    artifact_type = "ModelArtifact"
                return OutputSpec(
                    name=_output_name(name), type=base, named=m.name is not None,
                    version=version,
                    tags=tuple(t if isinstance(t, str) else t.name for t in m.tags),
                    artifact_name=m.name, run_metadata=tuple(sorted(m.run_metadata.items())),
                    artifact_type=artifact_type, link_type=m.link_type)
        return OutputSpec(name=fallback, type=base, named=False)
    return OutputSpec(name=fallback, type=tp, named=False)


_JSON_OF_TYPE: dict[type, str] = {bool: "boolean", int: "integer", float: "number",
                                   str: "string", list: "array", tuple: "array", set: "array",
                                   frozenset: "array", dict: "object"}
#: Types whose JSON form is a string (ZenML/pydantic accept them as strings).
_STRING_TYPES = ("uuid.UUID", "datetime.datetime", "datetime.date", "datetime.time",
                 "pathlib.Path", "pathlib.PurePath", "decimal.Decimal")


def annotation_json_type(tp: Any) -> str | None:
    """The JSON type a parameter annotated ``tp`` takes (``int`` -> integer, ``Optional[str]``
    -> string, ``list[int]`` -> array, ``UUID`` -> string, a pydantic model or dataclass ->
    object); None when any JSON value may do (``Any``, unions of several types)."""
    import dataclasses
    import enum
    import types as _types

    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return annotation_json_type(typing.get_args(tp)[0])
    if origin in (typing.Union, _types.UnionType):
        kinds = {annotation_json_type(a) for a in typing.get_args(tp) if a is not type(None)}
        if kinds == {"integer", "number"}:
            return "number"
        return kinds.pop() if len(kinds) == 1 else None
    if origin is typing.Literal:
        kinds = {_literal_type(v) for v in typing.get_args(tp)}
        return kinds.pop() if len(kinds) == 1 else None
    if origin is not None:
        tp = origin
    if not isinstance(tp, type) or tp is object:
        return None
    if issubclass(tp, enum.Enum):
        if issubclass(tp, str):
            return "string"
        return "integer" if issubclass(tp, int) else None
    if tp in _JSON_OF_TYPE:
        return _JSON_OF_TYPE[tp]
    import collections.abc as abc

    if issubclass(tp, (abc.Mapping,)):
        return "object"
    if issubclass(tp, (abc.Sequence, abc.Set)) and not issubclass(tp, (str, bytes)):
        return "array"
    if type_path(tp) in _STRING_TYPES or any(
            f"{c.__module__}.{c.__qualname__}" in _STRING_TYPES for c in tp.__mro__):
        return "string"
    if dataclasses.is_dataclass(tp) or hasattr(tp, "model_validate"):
        return "object"
    return None


def _literal_type(value: Any) -> str | None:
    from kubeline.resources.json_values import json_type

    return json_type(value)


def annotation_text(tp: Any) -> str:
    """An annotation as a message writes it: ``int``, ``Optional[str]``, ``list[int]``."""
    if isinstance(tp, type) and typing.get_origin(tp) is None:
        return tp.__qualname__ if tp.__module__ == "builtins" else type_path(tp)
    return str(tp).replace("typing.", "")


def parameter_types(func: Any, step_name: str) -> dict[str, tuple[str, str]]:
    """Each annotated parameter's JSON type and annotation text (parameters whose annotation
    allows any JSON value are left out)."""
    hints = type_hints(func, step_name)
    out: dict[str, tuple[str, str]] = {}
    for name in parameter_names(func)[0]:
        if name in hints and (kind := annotation_json_type(hints[name])) is not None:
            out[name] = (kind, annotation_text(hints[name]))
    return out


def has_tuple_return(func: Any) -> bool:
    """ZenML's rule for a ``Tuple[...]`` return annotation: several outputs when a return
    statement is followed by a tuple literal (``return a, b``), else one output that is a
    tuple (``Annotated`` elements always name several outputs). Without readable source,
    several outputs."""
    import ast
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return True
    top = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))),
               None)
    if top is None:
        return True

    def returns(node: ast.AST) -> list[ast.Return]:
        found: list[ast.Return] = []
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda,
                                  ast.ClassDef)):
                continue
            if isinstance(child, ast.Return):
                found.append(child)
            found.extend(returns(child))
        return found

    return any(isinstance(r.value, ast.Tuple) and r.value.elts for r in returns(top))


def parse_outputs(func: Any, step_name: str) -> list[OutputSpec]:
    """Outputs from the return annotation (no annotation: one output named ``output``)."""
    hints = type_hints(func, step_name)
    if "return" not in hints:
        return [OutputSpec(name=DEFAULT_OUTPUT, type=Any, named=False)]
    ret = hints["return"]
    if ret is None or ret is type(None):
        return []
    origin = typing.get_origin(ret)
    args = typing.get_args(ret)
    named = any(typing.get_origin(a) is typing.Annotated for a in args)
    multiple = origin is tuple and (named or has_tuple_return(func))
    if multiple and args and args[-1] is Ellipsis:
        raise CompileError(
            f"step '{step_name}': a variable-length Tuple[..., ...] annotation cannot declare "
            "several outputs; return a single tuple value, or list each output's type")
    if multiple and args and args != ((),):
        outputs = [_one_output(a, i, step_name) for i, a in enumerate(args)]
    else:
        outputs = [_one_output(ret, None, step_name)]
    seen: set[str] = set()
    for out in outputs:
        if out.name in seen:
            raise CompileError(
                f"step '{step_name}': output name '{out.name}' is used twice in the return "
                "annotation; give each output a distinct Annotated name"
            )
        if not out.name.isidentifier() and not _valid_output_name(out.name):
            raise CompileError(
                f"step '{step_name}': output name '{out.name}' must start with a letter or '_' "
                "and contain only letters, digits, '_', '.', '-'"
            )
        seen.add(out.name)
    return outputs


def _valid_output_name(name: str) -> bool:
    import re

    return bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", name)) and len(name) <= 128


def parameter_names(func: Any) -> tuple[list[str], bool]:
    """The function's argument names and whether it takes ``**kwargs``."""
    sig = inspect.signature(func)
    names = [p.name for p in sig.parameters.values()
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    var_kw = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    return names, var_kw
