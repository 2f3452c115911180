"""Cron expressions and time zones of Schedules: validation and due times (pure).

Shared by the SDK (errors before anything is created) and the operator (the planner's
due times). Parsing and evaluation use cronsim: maintained, dependency-free, and it
handles daylight-saving changes the way Debian's cron does (a time in a skipped hour runs
once, right after the gap; a fixed time in a repeated hour runs once, at its first
occurrence; ``*``-hour expressions fire at every real instant they match).

``apply_time_check`` below is the shape check the CRD enforces with CEL at apply time; the
full check (value ranges, names, ``L``/``W``/``#``) is :func:`validate_cron`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

# One cron field: lists of values, ranges and steps, with names (JAN, MON), '?', 'L', 'W',
# '#'. Checked for shape at apply time (RE2, as CEL's matches()); ranges are checked by
# validate_cron in the SDK and the operator.
_ITEM = r"(\*|\?|[0-9A-Za-z]+(-[0-9A-Za-z]+)?|[0-9]*L|[0-9]+W|LW|[0-9A-Za-z]+#[0-9])(/[0-9]+)?"
_FIELD = rf"{_ITEM}(,{_ITEM})*"
CRON_SHAPE = (rf"^\s*({_FIELD})(\s+{_FIELD}){{4}}\s*$"
              r"|^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$")


class CronError(ValueError):
    """A cron expression or time zone that cannot be used; the message says why."""


def expand(expr: str) -> str:
    """The 5-field form of ``expr`` (macros like ``@daily`` expanded)."""
    text = " ".join(expr.split())
    return MACROS.get(text.lower(), text)


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (e.g. 'Europe/Berlin', 'UTC')."""
    if not name or name != name.strip():
        raise CronError(f"time zone {name!r} is not an IANA time zone name (e.g. 'Europe/Berlin')")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError(
            f"unknown time zone {name!r}: use an IANA name such as 'UTC', 'Europe/Berlin' or "
            "'America/New_York' (a TZ= prefix inside the cron expression is not supported)"
        ) from None


@lru_cache(maxsize=512)
def validate_cron(expr: str) -> str:
    """Check ``expr`` fully; returns its 5-field form. Raises CronError naming the problem."""
    from cronsim import CronSim, CronSimError

    if not isinstance(expr, str) or not expr.strip():
        raise CronError("a cron expression must be a non-empty string like '0 3 * * *'")
    if expr.strip().upper().startswith(("TZ=", "CRON_TZ=")):
        raise CronError(
            f"cron expression {expr!r}: put the time zone in timeZone (time_zone in the SDK), "
            "not in the expression"
        )
    text = expand(expr)
    fields = text.split()
    if len(fields) != 5:
        raise CronError(
            f"cron expression {expr!r} has {len(fields)} fields; Kubeline takes the standard "
            "5 (minute hour day-of-month month day-of-week) or @hourly/@daily/@weekly/"
            "@monthly/@yearly"
        )
    try:
        probe = CronSim(text, datetime(2000, 1, 1, tzinfo=UTC))
        next(probe)
    except CronSimError as exc:
        raise CronError(f"cron expression {expr!r} is invalid: {exc}") from None
    except StopIteration:
        raise CronError(f"cron expression {expr!r} never matches any date") from None
    return text


def cron_times(expr: str, tz: str, after: float, until: float) -> Iterator[float]:
    """Epoch seconds of every time ``expr`` fires in zone ``tz`` in ``(after, until]``."""
    from cronsim import CronSim

    text = validate_cron(expr)
    start = datetime.fromtimestamp(after, zone(tz))
    for when in CronSim(text, start):
        t = when.timestamp()
        if t <= after:  # cronsim works on wall time; a repeated hour can step back
            continue
        if t > until:
            return
        yield t


def next_cron_time(expr: str, tz: str, after: float, horizon_days: int = 400 * 8) -> float | None:
    """The first time ``expr`` fires after ``after`` (None if never within the horizon)."""
    for t in cron_times(expr, tz, after, after + horizon_days * 86400.0):
        return t
    return None


def interval_times(anchor: float, every: float, after: float, until: float) -> Iterator[float]:
    """``anchor + k*every`` (k >= 0) in ``(after, until]``."""
    if every <= 0:
        raise CronError("an interval must be positive")
    k = 0 if after < anchor else int((after - anchor) // every) + 1
    while True:
        t = anchor + k * every
        if t > until:
            return
        if t > after:
            yield t
        k += 1


def to_datetime(epoch: float, tz: str = "UTC") -> datetime:
    """Epoch seconds as an aware datetime in ``tz``."""
    return datetime.fromtimestamp(epoch, zone(tz))


def as_utc(value: datetime, default_tz: str | None = None) -> datetime:
    """An aware UTC datetime; a naive one is taken in ``default_tz`` (else local time)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone(default_tz)) if default_tz else value.astimezone()
    return value.astimezone(UTC)


__all__ = [
    "CRON_SHAPE",
    "MACROS",
    "CronError",
    "as_utc",
    "cron_times",
    "expand",
    "interval_times",
    "next_cron_time",
    "to_datetime",
    "validate_cron",
    "zone",
]
