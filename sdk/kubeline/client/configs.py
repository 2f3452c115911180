"""The effective configuration of a run and of its steps, as the Client shows it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class StepConfigView:
    """A step's effective configuration: ``parameters`` after overrides, and ``settings``."""

    parameters: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    enable_cache: bool | None = None
    cache_version: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunConfigView:
    """A run's configuration: pipeline ``parameters``, ``settings`` and per-step ``steps``."""

    parameters: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, StepConfigView] = field(default_factory=dict)
    enable_cache: bool | None = None
    run_name: str | None = None
    tags: list[str] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)
