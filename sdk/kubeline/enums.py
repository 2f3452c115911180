"""Enumerations users import (ZenML-compatible names)."""

from __future__ import annotations

from enum import StrEnum


class ModelStages(StrEnum):
    """Stages of a model version; ``LATEST`` selects the newest version."""

    NONE = "none"
    STAGING = "staging"
    PRODUCTION = "production"
    ARCHIVED = "archived"
    LATEST = "latest"


class ExecutionStatus(StrEnum):
    """Phases of runs and steps, as stored in PipelineRun status."""

    INITIALIZING = "initialized"
    PENDING = "pending"
    RUNNING = "running"
    RETRYING = "retrying"
    COMPLETED = "completed"
    FAILED = "failed"
    CACHED = "cached"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"

    @property
    def is_successful(self) -> bool:
        return self in (ExecutionStatus.COMPLETED, ExecutionStatus.CACHED)

    @property
    def is_finished(self) -> bool:
        return self in (
            ExecutionStatus.COMPLETED, ExecutionStatus.CACHED,
            ExecutionStatus.FAILED, ExecutionStatus.CANCELLED, ExecutionStatus.SKIPPED,
        )


class VisualizationType(StrEnum):
    HTML = "html"
    IMAGE = "image"
    MARKDOWN = "markdown"
    CSV = "csv"
    JSON = "json"
