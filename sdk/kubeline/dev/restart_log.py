"""The supervisor's restart log (``logs/supervisor-events.jsonl``): written by the
supervisor, read by ``kubeline dev status`` and the tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kubeline.dev.paths import DevPaths


def events_file(paths: DevPaths) -> Path:
    return paths.logs / "supervisor-events.jsonl"


def read_events(paths: DevPaths) -> list[dict[str, Any]]:
    """The supervisor's events since it last started (``started``, then one per restart)."""
    try:
        lines = events_file(paths).read_text().splitlines()
    except OSError:
        return []
    events: list[dict[str, Any]] = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "started":
            events = []
        events.append(event)
    return events


def restart_counts(paths: DevPaths) -> dict[str, int]:
    counts: dict[str, int] = {}
    for event in read_events(paths):
        if event.get("event") == "restarted":
            counts[event["component"]] = counts.get(event["component"], 0) + 1
    return counts
