"""Every CamelCase reason Kubeline writes into a status, a condition or an Event.

``Reason`` values appear in ``PipelineRun.status.reason``, ``status.steps[].reason``,
the ``Succeeded`` condition, ``Snapshot.status.reason`` and ArtifactVersion status;
``EventReason`` values are the reasons of the Events the operator posts on runs.
Both are ``StrEnum``: a member equals its string, so readers compare with either.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why a run or step is in its phase (status and condition reasons)."""

    # Run outcome and progress.
    INITIALIZED = "Initialized"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    ALL_STEPS_CACHED = "AllStepsCached"
    CANCELLED = "Cancelled"
    SNAPSHOT_NOT_FOUND = "SnapshotNotFound"
    INVALID_SNAPSHOT = "InvalidSnapshot"
    INVALID_RUN_CONFIGURATION = "InvalidRunConfiguration"
    # Steps starting.
    STARTED = "Started"
    CACHE_MISS = "CacheMiss"
    CACHE_DISABLED = "CacheDisabled"
    CACHE_HIT = "CacheHit"
    RETRYING = "Retrying"
    POD_ADOPTED = "PodAdopted"
    INPUT_NOT_FOUND = "InputNotFound"
    # A step Pod refused by a ResourceQuota or an admission webhook/policy: the step waits
    # (pending, retried with backoff) and fails with this reason only past its timeout.
    QUOTA_EXCEEDED = "QuotaExceeded"
    # Steps failing (a failed step's reason also becomes the run's).
    STEP_FAILED = "StepFailed"
    STEP_SETUP_FAILED = "StepSetupFailed"
    STEP_TIMEOUT = "StepTimeout"
    RUN_FAILED = "RunFailed"
    POD_DELETED = "PodDeleted"
    POD_EVICTED = "PodEvicted"
    POD_FAILED = "PodFailed"
    POD_CREATE_FAILED = "PodCreateFailed"
    OOM_KILLED = "OOMKilled"
    INVALID_IMAGE_NAME = "InvalidImageName"
    IMAGE_NOT_PRESENT = "ImageNotPresent"
    IMAGE_PULL_FAILED = "ImagePullFailed"
    CONTAINER_CONFIG_ERROR = "ContainerConfigError"
    CONTAINER_CREATE_FAILED = "ContainerCreateFailed"
    OPERATOR_MISCONFIGURED = "OperatorMisconfigured"
    # Recording a step's outputs.
    OUTPUTS_MISSING = "OutputsMissing"
    OUTPUTS_UNREADABLE = "OutputsUnreadable"
    OUTPUTS_OUTSIDE_RUN = "OutputsOutsideRun"  # a manifest URI leaves the run's own prefix
    ARTIFACT_VERSION_EXISTS = "ArtifactVersionExists"
    ARTIFACT_VERSION_CONFLICT = "ArtifactVersionConflict"
    METADATA_REJECTED = "MetadataRejected"
    # The run's model version and model-artifact inputs (resolved at run start).
    INVALID_MODEL = "InvalidModel"
    MODEL_VERSION_NOT_FOUND = "ModelVersionNotFound"
    MODEL_ARTIFACT_NOT_FOUND = "ModelArtifactNotFound"
    # A ModelVersion's stage history (status.stageHistory[].reason).
    ARCHIVED_BY_PROMOTION = "ArchivedByPromotion"
    # Why a Pod or run is deleted (Pod deletion and DeleteRun reasons).
    RUN_FINISHED = "RunFinished"
    TTL_EXPIRED = "TTLExpired"
    # The Pod of a completed step still running well after its outputs were committed.
    POD_LINGERED = "PodLingered"


class EventReason(StrEnum):
    """Reasons of the Kubernetes Events the operator posts on a PipelineRun."""

    RUN_STARTED = "RunStarted"
    RUN_COMPLETED = "RunCompleted"
    RUN_CACHED = "RunCached"
    RUN_FAILED = "RunFailed"
    RUN_CANCELLED = "RunCancelled"
    STEP_STARTED = "StepStarted"
    POD_ADOPTED = "PodAdopted"
    CACHE_HIT = "CacheHit"
    STEP_COMPLETED = "StepCompleted"
    STEP_RETRYING = "StepRetrying"
    QUOTA_EXCEEDED = "QuotaExceeded"
    STEP_FAILED = "StepFailed"
    STEP_CANCELLED = "StepCancelled"


#: The Event announcing each final run phase.
FINISH_EVENTS = {
    "completed": EventReason.RUN_COMPLETED,
    "cached": EventReason.RUN_CACHED,
    "failed": EventReason.RUN_FAILED,
    "cancelled": EventReason.RUN_CANCELLED,
}


class ScheduleReason(StrEnum):
    """Reasons on a Schedule: its ``Ready`` condition, its ``Skipped`` condition and
    ``status.recentSkips[].reason`` (why a due time got no run)."""

    # Ready.
    SCHEDULED = "Scheduled"
    SUSPENDED = "Suspended"  # also: a due time skipped while suspended
    FINISHED = "Finished"
    INVALID_SCHEDULE = "InvalidSchedule"
    # Skipped by policy (status.skippedCount).
    CONCURRENCY_FORBIDDEN = "ConcurrencyForbidden"
    SUPERSEDED = "Superseded"
    SPEC_CHANGED = "SpecChanged"
    # Missed (status.missedCount).
    STARTING_DEADLINE_EXCEEDED = "StartingDeadlineExceeded"
    CATCH_UP_NONE = "CatchUpNone"
    CATCH_UP_LATEST = "CatchUpLatest"
    CATCH_UP_LIMIT = "CatchUpLimit"


#: Skips decided by a policy; every other skip reason is a missed time.
POLICY_SKIPS = frozenset({ScheduleReason.CONCURRENCY_FORBIDDEN, ScheduleReason.SUPERSEDED,
                          ScheduleReason.SUSPENDED, ScheduleReason.SPEC_CHANGED})


class ScheduleEventReason(StrEnum):
    """Reasons of the Kubernetes Events the operator posts on a Schedule."""

    RUN_CREATED = "RunCreated"
    RUN_REPLACED = "RunReplaced"
    TIME_SKIPPED = "TimeSkipped"
    TIME_MISSED = "TimeMissed"
    INVALID_SCHEDULE = "InvalidSchedule"
