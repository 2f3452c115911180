"""ZenML's list filters: ``"startswith:abc"``, ``"contains:x"``, ``"gte:2025-01-01"``, ...

A filter value is ``"<op>:<operand>"`` with op one of equals, notequals, contains,
startswith, endswith, oneof, in, gt, gte, lt, lte; without a known op it means equals
(as in ZenML). ``oneof``/``in`` take a JSON list (``'oneof:["a","b"]'``) or a Python list.
Pure: the Client applies :func:`matches` to the listed objects.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from kubeline.errors import ConfigurationError

OPS = ("equals", "notequals", "contains", "startswith", "endswith", "oneof", "in", "gte",
       "gt", "lte", "lt")


def parse_filter(value: Any) -> tuple[str, Any]:
    """(op, operand) of a filter value; a list or set means ``oneof``."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return "oneof", list(value)
    if isinstance(value, str):
        op, sep, operand = value.partition(":")
        if sep and op in OPS:
            if op in ("oneof", "in"):
                try:
                    items = json.loads(operand)
                except ValueError:
                    items = [p.strip() for p in operand.split(",") if p.strip()]
                if not isinstance(items, list):
                    raise ConfigurationError(
                        f"filter {value!r}: {op} takes a list, e.g. '{op}:[\"a\",\"b\"]'")
                return "oneof", items
            return op, operand
    return "equals", value


def is_exact(value: Any) -> bool:
    """True when the filter is a plain equality (servable by a label selector)."""
    return value is not None and parse_filter(value)[0] == "equals"


def _comparable(actual: Any, operand: Any) -> tuple[Any, Any]:
    """Both sides in one comparable form: datetimes, numbers, else strings."""
    if isinstance(actual, datetime):
        text = str(operand).replace("Z", "+00:00").replace(" ", "T")
        other = datetime.fromisoformat(text)
        if other.tzinfo is None and actual.tzinfo is not None:
            other = other.replace(tzinfo=actual.tzinfo)
        return actual, other
    if isinstance(actual, (int, float)) and not isinstance(actual, bool):
        try:
            return actual, float(operand)
        except (TypeError, ValueError):
            pass
    return str(actual), str(operand)


def matches(actual: Any, value: Any) -> bool:
    """Whether ``actual`` passes the filter ``value``. A list ``actual`` (tags) passes when
    any of its items does (for notequals: when none equals)."""
    if value is None:
        return True
    op, operand = parse_filter(value)
    if isinstance(actual, (list, tuple, set)) and not isinstance(actual, str):
        items = list(actual)
        if op == "notequals":
            return all(_one(i, "equals", operand) is False for i in items)
        return any(_one(i, op, operand) for i in items)
    return _one(actual, op, operand)


def _one(actual: Any, op: str, operand: Any) -> bool:
    if op == "oneof":
        return any(_one(actual, "equals", o) for o in operand)
    if actual is None:
        return op == "notequals"
    if op in ("equals", "notequals"):
        a, b = _comparable(actual, operand)
        return (a == b) is (op == "equals")
    if op in ("contains", "startswith", "endswith"):
        text, sub = str(actual), str(operand)
        return {"contains": sub in text, "startswith": text.startswith(sub),
                "endswith": text.endswith(sub)}[op]
    try:
        a, b = _comparable(actual, operand)
        return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"cannot compare {actual!r} with {operand!r} ({op}): {exc}"
                                 ) from None


def apply(items: Iterable[Any], **filters: Any) -> list[Any]:
    """``items`` whose attributes pass every filter (``name="startswith:a"``)."""
    active = {k: v for k, v in filters.items() if v is not None}
    return [i for i in items if all(matches(getattr(i, k), v) for k, v in active.items())]


def metadata_matches(metadata: dict[str, Any], entry: str) -> bool:
    """ZenML's ``run_metadata`` filter entry: ``"key:value"`` or ``"key:op:value"``."""
    key, sep, rest = entry.partition(":")
    if not sep:
        raise ConfigurationError(
            f"run_metadata filter {entry!r} must be 'key:value' or 'key:op:value' "
            f"(op one of {', '.join(OPS)})")
    if key not in metadata:
        return False
    value = metadata[key]
    return matches(getattr(value, "value", value), rest)
