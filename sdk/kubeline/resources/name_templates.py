"""Placeholders filled when a run starts: ``{date}`` and ``{time}`` in run names (at
submission) and in output artifact names (in the step Pod), as ZenML writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Final

RUN_TIME_PLACEHOLDERS: Final = ("date", "time")


def fill_run_time_placeholders(template: str, now: datetime) -> str:
    """``{date}`` and ``{time}`` as ZenML writes them (``2025_03_01``, ``14_30_45_123456``)."""
    return (template.replace("{date}", now.strftime("%Y_%m_%d"))
            .replace("{time}", now.strftime("%H_%M_%S_%f")))
