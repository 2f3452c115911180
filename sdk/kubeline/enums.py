"""Enumerations users import (ZenML-compatible names)."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

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
    """Phases of runs and steps, as stored in PipelineRun status, under ZenML's names too.

    ``STOPPED`` is a second name for ``CANCELLED`` (value ``"cancelled"``). ZenML's states
    Kubeline never reports (``PROVISIONING``, ``RETRIED``, ``PAUSED``, ``RESUMING``,
    ``STOPPING``) are members of their own, so they import and compare unequal to every
    stored phase. ``ExecutionStatus("stopped")`` / ``("initializing")`` parse ZenML's
    values. docs/authoring.md lists the differences.
    """

    INITIALIZING = "initialized"
    PENDING = "pending"
    RUNNING = "running"
    RETRYING = "retrying"
    COMPLETED = "completed"
    FAILED = "failed"
    CACHED = "cached"
    CANCELLED = "cancelled"
    STOPPED = "cancelled"  # ZenML's name: an alias, the same member as CANCELLED
    SKIPPED = "skipped"
    # ZenML's states that Kubeline never stores (not in kubeline.resources.phases).
    PROVISIONING = "provisioning"
    RETRIED = "retried"
    PAUSED = "paused"
    RESUMING = "resuming"
    STOPPING = "stopping"

    @classmethod
    def _missing_(cls, value: object) -> ExecutionStatus | None:
        """ZenML's values of the states Kubeline stores under another value."""
        return _ZENML_VALUES.get(value) if isinstance(value, str) else None

    @property
    def is_successful(self) -> bool:
        return self in SUCCESS_PHASES

    @property
    def is_failed(self) -> bool:
        return self is ExecutionStatus.FAILED

    @property
    def is_finished(self) -> bool:
        """Finished: a terminal phase, or ZenML's ``RETRIED`` (an attempt that was retried)."""
        return self in TERMINAL_STEP_PHASES or self is ExecutionStatus.RETRIED


#: ZenML's ``ExecutionStatus`` values that Kubeline stores as another value.
_ZENML_VALUES: Final = {
    "stopped": ExecutionStatus.CANCELLED,
    "initializing": ExecutionStatus.INITIALIZING,
}
#: Members for ZenML's states that no Kubeline run or step is ever in.
NEVER_REPORTED: Final = frozenset(
    {
        ExecutionStatus.PROVISIONING,
        ExecutionStatus.RETRIED,
        ExecutionStatus.PAUSED,
        ExecutionStatus.RESUMING,
        ExecutionStatus.STOPPING,
    }
)


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
