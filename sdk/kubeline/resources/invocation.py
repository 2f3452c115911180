"""The invocation: what the operator hands a step Pod (env ``KUBELINE_INVOCATION``, JSON).

Produced by ``kubeline_operator.pod_spec``; consumed by ``kubeline.runtime`` and, inside
a step, by ``trigger_pipeline`` (to record which run and step triggered a run) and by the
Client when the step reads its own run (``upstream``: it waits, at most
``UPSTREAM_STATUS_WAIT_SECONDS``, until the run's status shows those steps finished; the
operator writes the status batched, after the Pods it creates).
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from kubeline.resources.models import CodeArchive, ModelConfig, StepSpec
from kubeline.resources.names import ENV_INVOCATION
from kubeline.resources.wire import WireError, WireModel

#: How long a step that reads its own run waits for the run's status to show its upstream
#: steps finished before it fails saying so (the operator writes a finished step within its
#: status batch delay, ``KUBELINE_STATUS_BATCH_SECONDS``, which must be shorter).
UPSTREAM_STATUS_WAIT_SECONDS = 120.0


class InvocationError(WireError):
    """The invocation is missing or malformed."""


class InputArtifact(WireModel):
    """One resolved input: the ArtifactVersion a step argument is loaded from."""

    uri: str = Field(min_length=1)
    materializer: str = Field(min_length=1)
    data_type: str = ""
    artifact_version: str = ""  # ArtifactVersion object name
    id: str = ""  # ArtifactVersion uid
    artifact_name: str = ""
    version: str = ""
    content_hash: str = ""  # the ArtifactVersion's contentHash: verified before loading


class ModelRef(ModelConfig):
    """The run's model version: the snapshot's model config (``spec.model``) with the version
    the run resolved at its start (``status.model``)."""

    model_config = ConfigDict(extra="ignore")

    number: int | None = None
    object: str | None = None  # the ModelVersion object name


class Invocation(WireModel):
    """One attempt of one step, as the step runtime needs it."""

    namespace: str = "default"
    pipeline: str = Field(min_length=1)  # Pipeline object name
    pipeline_name: str = ""  # the pipeline's name as written in Python
    run: str = Field(min_length=1)
    run_uid: str = ""
    snapshot: str = ""
    attempt: int = Field(1, ge=1)
    step: StepSpec
    #: Ids of the steps this one waits for (inputs and ``after``): finished before its Pod
    #: was created, though perhaps not yet in the run's stored status.
    upstream: list[str] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)  # effective, after overrides
    inputs: dict[str, InputArtifact] = Field(default_factory=dict)  # by argument name
    outputs_uri: str = Field(min_length=1)  # layout.attempt_uri(...)
    code: CodeArchive | None = None
    model: ModelRef | None = None

    def env(self) -> dict[str, str]:
        """The Pod env entry carrying this invocation."""
        return {"name": ENV_INVOCATION, "value": self.to_json()}

    @classmethod
    def from_env(cls, raw: str | None) -> Invocation:
        """Parse ``KUBELINE_INVOCATION``; raises :class:`InvocationError` naming the problem."""
        if not raw:
            raise InvocationError(
                f"{ENV_INVOCATION} is not set: this command runs inside step Pods")
        try:
            return cls.from_json(raw, ENV_INVOCATION)
        except WireError as exc:
            raise InvocationError(str(exc)) from None
