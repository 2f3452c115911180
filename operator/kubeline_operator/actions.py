"""What the planner asks for: status transitions and side effects (plain data).

Status actions are applied to the run's status by ``run_status.apply``; effect
actions (``CreatePod``, ``DeletePod``, ``RecordOutputs``, ``DeleteRun``) are
carried out by the controller's executor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubeline.resources.invocation import InputArtifact
from kubeline.resources.models import (
    CachedFrom,
    CacheInfo,
    ResolvedModelArtifact,
    RunModelVersion,
    TriggerProvenance,
)


@dataclass(frozen=True)
class ArtifactInfo:
    """A resolved ArtifactVersion as a step input sees it (the invocation's ``inputs`` entry)."""

    artifact_version: str
    id: str
    uri: str
    materializer: str
    data_type: str
    artifact_name: str
    version: str
    content_hash: str | None = None

    def to_invocation(self) -> InputArtifact:
        """The invocation's ``inputs`` entry for this artifact version."""
        return InputArtifact(
            artifact_version=self.artifact_version, id=self.id, uri=self.uri,
            materializer=self.materializer, data_type=self.data_type,
            artifact_name=self.artifact_name, version=self.version,
            content_hash=self.content_hash or "",
        )


# ----------------------------------------------------------------- status actions


@dataclass(frozen=True)
class InitRun:
    """Resolve the snapshot and lay out every step as pending."""

    snapshot: str
    pipeline: str
    step_ids: tuple[str, ...]
    parameters: Mapping[str, Mapping[str, Any]]
    time: float
    model: RunModelVersion | None = None  # the run's model version, resolved now
    model_artifacts: tuple[ResolvedModelArtifact, ...] = ()  # inputs from model versions
    trigger: TriggerProvenance | None = None  # whether spec.triggeredBy is verified


@dataclass(frozen=True)
class MarkStepRunning:
    """A Pod was created (or adopted) for ``attempt`` of ``step``."""

    step: str
    attempt: int
    pod: str
    time: float
    reason: str = "Started"
    message: str | None = None
    cache: CacheInfo | None = None


@dataclass(frozen=True)
class MarkCached:
    """The step is served from an earlier run's outputs; no Pod is created."""

    step: str
    cache: CacheInfo
    cached_from: CachedFrom
    outputs: Mapping[str, str]
    time: float


@dataclass(frozen=True)
class MarkStepCompleted:
    """The step's Pod succeeded and its outputs were recorded."""

    step: str
    outputs: Mapping[str, str]
    time: float
    metadata: Mapping[str, Any] | None = None  # logged for the step (small: inline)
    run_metadata: Mapping[str, Any] | None = None  # logged for the run (small: inline)
    metadata_uri: str | None = None  # the manifest, when the metadata was too large


@dataclass(frozen=True)
class ScheduleRetry:
    """The attempt failed; another one starts at ``next_time``."""

    step: str
    next_time: float
    reason: str
    message: str
    time: float


@dataclass(frozen=True)
class WaitForPod:
    """The Pod of ``attempt`` was refused by a quota or an admission check: the step is
    pending again (``attempt`` not started) and its Pod is tried again at ``next_time``.
    ``first``: the first refusal of this wait (it is told in an Event)."""

    step: str
    attempt: int
    previous_pod: str | None  # the last attempt's Pod, if any attempt ran
    next_time: float
    reason: str
    message: str
    time: float
    first: bool = True


@dataclass(frozen=True)
class MarkStepFailed:
    step: str
    reason: str
    message: str
    time: float


@dataclass(frozen=True)
class MarkStepCancelled:
    step: str
    reason: str
    message: str
    time: float


@dataclass(frozen=True)
class MarkStepSkipped:
    step: str
    reason: str
    message: str


@dataclass(frozen=True)
class FinishRun:
    phase: str  # completed, failed, cached, cancelled
    reason: str
    message: str
    time: float
    failed_step: str | None = None


# ----------------------------------------------------------------- effects


@dataclass(frozen=True)
class CreatePod:
    step: str  # invocation id
    attempt: int
    pod: str
    parameters: Mapping[str, Any]
    inputs: Mapping[str, ArtifactInfo] = field(default_factory=dict)


@dataclass(frozen=True)
class DeletePod:
    pod: str
    reason: str


@dataclass(frozen=True)
class RecordOutputs:
    """Read the attempt's outputs manifest and create ArtifactVersions, then complete the step."""

    step: str
    attempt: int
    pod: str
    manifest_uri: str | None
    time: float
    #: From the step's outputs-committed Event, before the Pod's exit was seen: a manifest
    #: that is missing or does not parse leaves the step running (the exit path decides).
    early: bool = False


@dataclass(frozen=True)
class DeleteRun:
    reason: str


StatusAction = (
    InitRun
    | MarkStepRunning
    | MarkCached
    | MarkStepCompleted
    | ScheduleRetry
    | WaitForPod
    | MarkStepFailed
    | MarkStepCancelled
    | MarkStepSkipped
    | FinishRun
)
Effect = CreatePod | DeletePod | RecordOutputs | DeleteRun
Action = StatusAction | Effect
