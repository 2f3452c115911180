"""RFC 3339 timestamps and durations as Kubernetes writes them (pure)."""

from __future__ import annotations

from datetime import UTC, datetime


def to_rfc3339(epoch: float) -> str:
    """Epoch seconds -> '2024-05-01T12:00:00Z' (second precision, like Kubernetes)."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_rfc3339_precise(epoch: float) -> str:
    """Epoch seconds -> RFC 3339 with microseconds (step timings)."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str | None) -> float | None:
    """RFC 3339 text -> epoch seconds; None or unparsable text -> None."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def format_duration(seconds: float) -> str:
    """Seconds -> '850ms', '12s', '1m12s', '2h3m'."""
    if seconds < 0:
        seconds = 0
    if seconds < 1:
        return f"{int(seconds * 1000)}ms"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"
