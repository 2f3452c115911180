"""JSON values, one home for the SDK and the operator: the strict test, canonical text and
its digest, JSON type names, and metadata made JSON-safe."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any, Final

#: JSON type names (as in JSON Schema) and the Python types that hold them.
JSON_TYPES: Final[dict[str, tuple[type, ...]]] = {
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "array": (list, tuple),
    "object": (dict,),
}


def is_json(value: Any) -> bool:
    """True when ``value`` survives a JSON round trip unchanged (strict types, finite numbers)."""
    if value is None or isinstance(value, (bool, str)):
        return True
    if type(value) is int:
        return True
    if type(value) is float:
        return math.isfinite(value)
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        return all(is_json(v) for v in value)
    if isinstance(value, dict) and type(value) is dict:
        return all(isinstance(k, str) and is_json(v) for k, v in value.items())
    return False


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(value: Any) -> str:
    """sha256 hex of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def merge_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON merge patch (RFC 7386, top level) turning ``old`` into ``new``: changed keys,
    and removed keys as null."""
    patch: dict[str, Any] = {k: v for k, v in new.items() if old.get(k) != v}
    patch.update({k: None for k in old if k not in new})
    return patch


def json_type(value: Any) -> str | None:
    """The JSON type name of ``value`` (the narrowest: 3 is an integer); None for null or a
    value that is not JSON."""
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


def has_json_type(value: Any, expected: str) -> bool:
    """Whether ``value`` is of JSON type ``expected`` (null fits every type: "no value"; an
    unknown type name constrains nothing; a boolean is not a number)."""
    if value is None:
        return True
    types = JSON_TYPES.get(expected)
    if types is None:
        return True
    if isinstance(value, bool) and expected != "boolean":
        return False
    return isinstance(value, types)


def type_name(value: Any) -> str:
    """The type of ``value`` as a message names it: ``int``, ``numpy.ndarray``."""
    tp = type(value)
    return f"{tp.__module__}.{tp.__qualname__}" if tp.__module__ != "builtins" else tp.__name__


def json_safe(value: Any) -> Any:
    """``value`` as JSON for metadata: NaN/inf -> None, numpy scalars -> Python, others -> str."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str, bytes)):
        try:
            value = value.item()
        except (ValueError, TypeError):
            value = str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
