"""What a step Pod hands back: the outputs manifest (S3) and the termination message.

The runtime writes ``layout.manifest_uri(outputsUri)`` last, then a termination message
pointing at it; the operator reads both (``kubeline_operator.artifacts``, ``observe``)
and turns the manifest into ArtifactVersions and step status. Metadata limits live here
too, so the step refuses what the operator could not store.
"""

from __future__ import annotations

import json
from typing import Any, Final

from pydantic import Field

from kubeline.resources.models import Visualization
from kubeline.resources.wire import WireError, WireModel

#: Keys one target (a step, a run contribution, an output, a model version) may hold:
#: the ArtifactVersion CRD bounds ``spec.metadata`` to 64 properties.
MAX_METADATA_KEYS: Final = 64
#: Bytes of compact JSON one target may hold. An ArtifactVersion (one object per output)
#: stays far below etcd's 1.5 MiB with it.
MAX_METADATA_BYTES: Final = 64 * 1024
#: A step's logged metadata (step and run-level together) goes into its
#: ``PipelineRun.status.steps[]`` entry when its JSON is at most this long; larger metadata
#: stays in the manifest and the entry points at it (``metadataUri``). 1,000 steps add at
#: most 0.5 MB to a run's status (about 0.4 MB without metadata): under etcd's 1.5 MiB.
INLINE_METADATA_BYTES: Final = 512


class ManifestError(WireError):
    """The outputs manifest is missing an output or malformed (the message names it)."""


class MetadataLimitError(ValueError):
    """Metadata that is not JSON or exceeds what its target can store."""


def metadata_size(values: dict[str, Any]) -> int:
    """Bytes of the compact JSON form (what the limits count)."""
    return len(json.dumps(values, separators=(",", ":"), sort_keys=True).encode())


def check_metadata(values: dict[str, Any], target: str) -> None:
    """Raise :class:`MetadataLimitError` naming ``target`` when ``values`` cannot be stored."""
    try:
        size = metadata_size(values)
    except (TypeError, ValueError) as exc:
        raise MetadataLimitError(
            f"metadata of {target} must be JSON-serializable (dict of str to JSON values): "
            f"{exc}") from None
    if len(values) > MAX_METADATA_KEYS:
        raise MetadataLimitError(
            f"metadata of {target} has {len(values)} keys; at most {MAX_METADATA_KEYS} are "
            "stored: group values under fewer keys (a key may hold a dict)")
    if size > MAX_METADATA_BYTES:
        raise MetadataLimitError(
            f"metadata of {target} is {size} bytes of JSON; at most {MAX_METADATA_BYTES} are "
            "stored: save large values as a step output (an artifact) instead")


class SavedOutput(WireModel):
    """One saved output: where its files are and how to load them."""

    uri: str = Field(min_length=1)  # layout.output_uri(outputsUri, name)
    materializer: str = ""  # unset: the step's declared materializer
    data_type: str = ""
    content_hash: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)  # materializer + logged metadata
    visualizations: list[Visualization] = Field(default_factory=list, max_length=8)
    artifact_name: str | None = None  # the Annotated/ArtifactConfig name, if given
    version: str | None = None  # a user-given version, else auto-increment
    tags: list[str] = Field(default_factory=list, max_length=32)
    artifact_type: str | None = None  # DataArtifact, ModelArtifact, ... (ZenML's ArtifactType)


class ManualArtifact(SavedOutput):
    """A version the step saved with ``save_artifact`` (stored under
    ``layout.manual_artifact_uri``), recorded by the operator as a ``manual`` ArtifactVersion."""

    materializer: str = Field(min_length=1)
    artifact_name: str = Field(min_length=1)


class StepTimings(WireModel):
    """When the attempt reached each stage, in epoch seconds of the node's clock (the
    step Pods, the operator and a benchmark on the node share it). ``processStarted`` is the
    container's process start (``/proc``); the others are taken by the runtime. Read by
    ``bench/real_pods.py``; nothing depends on them."""

    process_started: float | None = None
    runtime_entered: float | None = None  # the runtime package starts importing
    code_ready: float | None = None  # code archive fetched, verified, on sys.path
    step_imported: float | None = None  # the user's module imported (the user's imports)
    inputs_loaded: float | None = None
    function_entered: float | None = None
    function_returned: float | None = None
    outputs_written: float | None = None  # every output saved; the manifest is next


class OutputsManifest(WireModel):
    """``manifest.json`` of one attempt."""

    outputs: dict[str, SavedOutput]
    step_metadata: dict[str, Any] = Field(default_factory=dict)
    run_metadata: dict[str, Any] = Field(default_factory=dict)
    #: ``log_metadata(infer_model=True)``: for the run's model version (the invocation's
    #: ``model.object``), written there by the operator.
    model_metadata: dict[str, Any] = Field(default_factory=dict)
    run_tags: list[str] = Field(default_factory=list, max_length=32)  # add_tags on the run
    manual_artifacts: list[ManualArtifact] = Field(default_factory=list, max_length=32)
    start_time: str | None = None
    end_time: str | None = None
    timings: StepTimings | None = None

    @classmethod
    def parse(cls, raw: str | bytes, uri: str = "") -> OutputsManifest:
        """Parse manifest bytes; raises :class:`ManifestError` naming what is wrong."""
        try:
            return cls.from_json(raw, f"outputs manifest {uri}".rstrip())
        except WireError as exc:
            raise ManifestError(str(exc)) from None


class TerminationMessage(WireModel):
    """The step container's termination message (``/dev/termination-log``, at most 4 KiB).

    Success: ``ok`` and ``manifest``. Failure: ``type``, ``message`` and a ``traceback`` tail.
    """

    ok: bool
    manifest: str | None = None
    type: str | None = None
    message: str | None = None
    traceback: str | None = None

    @classmethod
    def parse(cls, text: str | None) -> TerminationMessage | None:
        """The runtime's message, or None when absent or not one (e.g. logs on error)."""
        if not text:
            return None
        try:
            return cls.from_json(text)
        except WireError:
            return None


def status_metadata(manifest: OutputsManifest, uri: str
                    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None, str | None]:
    """What a step's status entry keeps of its logged metadata: ``(metadata, runMetadata,
    metadataUri)``, both inline when together at most INLINE_METADATA_BYTES, else only the
    pointer to the manifest ``uri`` (the Client reads them there)."""
    step, run = manifest.step_metadata, manifest.run_metadata
    if not step and not run:
        return None, None, None
    if metadata_size({"s": step, "r": run}) <= INLINE_METADATA_BYTES:
        return (dict(step) or None), (dict(run) or None), None
    return None, None, uri
