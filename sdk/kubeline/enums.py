"""Enumerations users import (ZenML-compatible names)."""

from __future__ import annotations

from enum import StrEnum

from kubeline.resources.phases import SUCCESS_PHASES, TERMINAL_STEP_PHASES


class ModelStages(StrEnum):
    """Stages of a model version; ``LATEST`` selects the newest version."""

    NONE = "none"
    STAGING = "staging"
    PRODUCTION = "production"
    ARCHIVED = "archived"
    LATEST = "latest"

    @classmethod
    def values(cls) -> list[str]:
        """All stage values (as ZenML's ``StrEnum.values()``)."""
        return [m.value for m in cls]

    @classmethod
    def names(cls) -> list[str]:
        return [m.name for m in cls]


class ArtifactType(StrEnum):
    """What kind of data an artifact holds (ZenML's names); a materializer declares its kind
    with ``ASSOCIATED_ARTIFACT_TYPE``. Model artifacts are what ``get_model_artifact`` finds."""

    DATA_ANALYSIS = "DataAnalysisArtifact"
    DATA = "DataArtifact"
    MODEL = "ModelArtifact"
    SCHEMA = "SchemaArtifact"
    SERVICE = "ServiceArtifact"
    STATISTICS = "StatisticsArtifact"
    BASE = "BaseArtifact"

    @property
    def link_type(self) -> str:
        """How an artifact of this kind is linked to a model version: model, deployment, data."""
        if self is ArtifactType.MODEL:
            return "model"
        return "deployment" if self is ArtifactType.SERVICE else "data"


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
        return self in SUCCESS_PHASES

    @property
    def is_failed(self) -> bool:
        return self is ExecutionStatus.FAILED

    @property
    def is_finished(self) -> bool:
        return self in TERMINAL_STEP_PHASES


class VisualizationType(StrEnum):
    HTML = "html"
    IMAGE = "image"
    MARKDOWN = "markdown"
    CSV = "csv"
    JSON = "json"


class ArtifactSaveType(StrEnum):
    """How an artifact version came to be."""

    STEP_OUTPUT = "step_output"
    MANUAL = "manual"
    PREEXISTING = "preexisting"
    EXTERNAL = "external"


class ExecutionMode(StrEnum):
    """What a failed step does to the rest of its run.

    Kubeline runs ``FAIL_FAST`` (running siblings are stopped, the rest skipped); the other
    modes are refused with an error naming the difference (docs/authoring.md).
    """

    FAIL_FAST = "fail_fast"
    STOP_ON_FAILURE = "stop_on_failure"
    CONTINUE_ON_FAILURE = "continue_on_failure"


class StepType(StrEnum):
    """ZenML's step kinds for agent tracing (recorded in the step's ``extra``)."""

    TOOL_CALL = "tool_call"
    LLM_CALL = "llm_call"
    MEMORY_CALL = "memory_call"


class MetadataResourceTypes(StrEnum):
    """What metadata can be attached to."""

    PIPELINE_RUN = "pipeline_run"
    STEP_RUN = "step_run"
    ARTIFACT_VERSION = "artifact_version"
    MODEL_VERSION = "model_version"
