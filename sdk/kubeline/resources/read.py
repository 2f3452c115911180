"""Typed read views over objects as the API server returns them (camelCase dicts).

Readers (the Client, the UI) see a status or spec through these instead of ``.get("...")``
chains: each field is named once, with its wire key and its default, and is typed. A view
wraps the dict without copying or validating it, so reading a field costs one dict lookup:
lineage queries over 10,000 runs stay as cheap as before. Unknown keys are ignored (a newer
operator may write fields an older Client does not know). The keys are those of the models
in ``kubeline.resources.models``; a unit test fails when the two differ.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Generic, TypeVar, overload

T = TypeVar("T")
V = TypeVar("V", bound="ReadView")

_EMPTY: Mapping[str, Any] = {}


class ReadView:
    """A read-only view of one wire-form mapping; ``raw`` is the mapping itself."""

    __slots__ = ("raw",)
    #: Name of the model in ``kubeline.resources.models`` whose wire form this reads.
    model: ClassVar[str] = ""

    def __init__(self, raw: Mapping[str, Any] | None = None) -> None:
        self.raw: Mapping[str, Any] = raw if raw is not None else _EMPTY

    def __bool__(self) -> bool:
        return bool(self.raw)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self.raw)!r})"

    @classmethod
    def keys(cls) -> dict[str, str]:
        """Attribute name -> wire key of every field this view reads."""
        found: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, (_Field, _Nested, _List)):
                    found[name] = value.key
        return found

    @classmethod
    def nested_views(cls) -> dict[str, type[ReadView]]:
        """Wire key -> view of each nested or listed field."""
        found: dict[str, type[ReadView]] = {}
        for klass in reversed(cls.__mro__):
            for value in vars(klass).values():
                if isinstance(value, (_Nested, _List)):
                    found[value.key] = value.view
        return found


class _Field(Generic[T]):
    """One field: its wire key, the value when absent (or null) and an optional conversion."""

    __slots__ = ("convert", "default", "key")

    def __init__(self, key: str, default: T, convert: Callable[[Any], T] | None = None) -> None:
        self.key = key
        self.default = default
        self.convert = convert

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> _Field[T]: ...
    @overload
    def __get__(self, obj: ReadView, owner: type[Any]) -> T: ...
    def __get__(self, obj: ReadView | None, owner: type[Any]) -> _Field[T] | T:
        if obj is None:
            return self
        value = obj.raw.get(self.key)
        if value is None:
            return self.default
        return self.convert(value) if self.convert is not None else value


def text(key: str) -> _Field[str | None]:
    """An optional string (None when absent)."""
    return _Field(key, None, str)


def text_or(key: str, default: str) -> _Field[str]:
    """A string with a default."""
    return _Field(key, default, str)


def number(key: str) -> _Field[int | None]:
    """An optional integer."""
    return _Field(key, None, int)


def count(key: str) -> _Field[int]:
    """An integer that is 0 when absent."""
    return _Field(key, 0, int)


def flag(key: str, default: bool) -> _Field[bool]:
    """A boolean with a default."""
    return _Field(key, default, bool)


def optional_flag(key: str) -> _Field[bool | None]:
    """A boolean that may be unset."""
    return _Field(key, None, bool)


def mapping(key: str) -> _Field[dict[str, Any]]:
    """A JSON object (a copy; empty when absent)."""
    return _Field(key, {}, dict)


def strings(key: str) -> _Field[list[str]]:
    """A list of strings (a copy; empty when absent)."""
    return _Field(key, [], lambda v: [str(x) for x in v])


def objects(key: str) -> _Field[list[dict[str, Any]]]:
    """A list of JSON objects as plain dicts (copies)."""
    return _Field(key, [], lambda v: [dict(x) for x in v])


class _Nested(Generic[V]):
    """A nested object, as its own view (an empty view when absent)."""

    __slots__ = ("key", "view")

    def __init__(self, key: str, view: type[V]) -> None:
        self.key = key
        self.view = view

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> _Nested[V]: ...
    @overload
    def __get__(self, obj: ReadView, owner: type[Any]) -> V: ...
    def __get__(self, obj: ReadView | None, owner: type[Any]) -> _Nested[V] | V:
        if obj is None:
            return self
        return self.view(obj.raw.get(self.key))


class _List(Generic[V]):
    """A list of nested objects, each as its view."""

    __slots__ = ("key", "view")

    def __init__(self, key: str, view: type[V]) -> None:
        self.key = key
        self.view = view

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> _List[V]: ...
    @overload
    def __get__(self, obj: ReadView, owner: type[Any]) -> list[V]: ...
    def __get__(self, obj: ReadView | None, owner: type[Any]) -> _List[V] | list[V]:
        if obj is None:
            return self
        return [self.view(item) for item in obj.raw.get(self.key) or []]


def nested(key: str, view: type[V]) -> _Nested[V]:
    return _Nested(key, view)


def listing(key: str, view: type[V]) -> _List[V]:
    return _List(key, view)


# --------------------------------------------------------------------------- PipelineRun


class CacheInfoView(ReadView):
    __slots__ = ()
    model = "CacheInfo"
    key = text("key")
    parts = mapping("parts")


class CachedFromView(ReadView):
    __slots__ = ()
    model = "CachedFrom"
    run = text_or("run", "")
    step = text_or("step", "")


class StepStatusView(ReadView):
    """One entry of ``PipelineRun.status.steps``."""

    __slots__ = ()
    model = "StepStatus"
    name = text_or("name", "")
    phase = text_or("phase", "pending")
    attempts = count("attempts")
    pod = text("pod")
    start_time = text("startTime")
    end_time = text("endTime")
    next_retry_time = text("nextRetryTime")
    cache = nested("cache", CacheInfoView)
    cached_from = nested("cachedFrom", CachedFromView)
    outputs = mapping("outputs")
    message = text("message")
    reason = text("reason")
    metadata = mapping("metadata")
    run_metadata = mapping("runMetadata")
    metadata_uri = text("metadataUri")


class RunModelVersionView(ReadView):
    __slots__ = ()
    model = "RunModelVersion"
    name = text_or("name", "")
    version = text_or("version", "")
    number = number("number")
    object = text_or("object", "")


class ResolvedModelArtifactView(ReadView):
    __slots__ = ()
    model = "ResolvedModelArtifact"
    step = text_or("step", "")
    input = text_or("input", "")
    artifact_version = text_or("artifactVersion", "")


class TriggerProvenanceView(ReadView):
    __slots__ = ()
    model = "TriggerProvenance"
    verified = flag("verified", False)
    message = text("message")


class PipelineRunStatusView(ReadView):
    """``PipelineRun.status`` (written by the operator only)."""

    __slots__ = ()
    model = "PipelineRunStatus"
    phase = text_or("phase", "initialized")
    uid = text("uid")
    pipeline = text("pipeline")
    snapshot = text("snapshot")
    index = number("index")
    start_time = text("startTime")
    end_time = text("endTime")
    progress = text("progress")
    cached_steps = number("cachedSteps")
    duration = text("duration")
    failed_step = text("failedStep")
    reason = text("reason")
    message = text("message")
    steps = listing("steps", StepStatusView)
    parameters = mapping("parameters")
    model_version = nested("model", RunModelVersionView)
    triggered_by = nested("triggeredBy", TriggerProvenanceView)
    model_artifacts = listing("modelArtifacts", ResolvedModelArtifactView)


class TriggerRefView(ReadView):
    __slots__ = ()
    model = "TriggerRef"
    run = text_or("run", "")
    step = text_or("step", "")


class StepRunConfigView(ReadView):
    __slots__ = ()
    model = "StepRunConfig"
    parameters = mapping("parameters")
    enable_cache = optional_flag("enableCache")


class RunConfigurationView(ReadView):
    """A run configuration (``PipelineRun.spec.config``, ``Snapshot.spec.configTemplate``)."""

    __slots__ = ()
    model = "RunConfiguration"
    enable_cache = optional_flag("enableCache")
    step_overrides = mapping("steps")
    run_name = text("runName")
    tags = strings("tags")

    def step(self, step_id: str, step_name: str = "") -> StepRunConfigView:
        """The overrides of one step, by invocation id (or its DNS name, as the operator
        accepts both)."""
        steps = self.raw.get("steps") or {}
        return StepRunConfigView(steps.get(step_id) or steps.get(step_name) or None)


class PipelineRunSpecView(ReadView):
    __slots__ = ()
    model = "PipelineRunSpec"
    snapshot = text("snapshot")
    pipeline = text("pipeline")
    config = nested("config", RunConfigurationView)
    cancel = flag("cancel", False)
    triggered_by = nested("triggeredBy", TriggerRefView)


# --------------------------------------------------------------------------- Snapshot


class ArtifactRefView(ReadView):
    __slots__ = ()
    model = "ArtifactRef"
    name = text_or("name", "")
    version = text("version")
    id = text("id")


class StepInputView(ReadView):
    __slots__ = ()
    model = "StepInput"
    name = text_or("name", "")
    step = text("step")
    output = text("output")
    artifact = nested("artifact", ArtifactRefView)
    model_artifact = mapping("modelArtifact")


class StepSpecView(ReadView):
    """One entry of ``Snapshot.spec.steps``."""

    __slots__ = ()
    model = "StepSpec"
    name = text_or("name", "")
    id = text_or("id", "")
    entrypoint = text("entrypoint")
    code_hash = text("codeHash")
    image = text("image")
    inputs = listing("inputs", StepInputView)
    parameters = mapping("parameters")
    enable_cache = flag("enableCache", True)
    cache_version = text_or("cacheVersion", "")
    resources = mapping("resources")
    retry = mapping("retry")
    timeout_seconds = number("timeoutSeconds")
    env = mapping("env")
    extra = mapping("extra")


class SnapshotSpecView(ReadView):
    __slots__ = ()
    model = "SnapshotSpec"
    pipeline = text("pipeline")
    pipeline_name = text("pipelineName")
    display_name = text("displayName")
    image = text("image")
    steps = listing("steps", StepSpecView)
    config_template = nested("configTemplate", RunConfigurationView)
    enable_cache = flag("enableCache", True)
    model_spec = mapping("model")
    pipeline_parameters = mapping("pipelineParameters")


class SnapshotStatusView(ReadView):
    __slots__ = ()
    model = "SnapshotStatus"
    valid = optional_flag("valid")
    message = text("message")
    run_count = count("runCount")


# --------------------------------------------------------------------------- Pipeline


class PipelineSpecView(ReadView):
    __slots__ = ()
    model = "PipelineSpec"
    name = text("name")
    description = text("description")


class PipelineStatusView(ReadView):
    __slots__ = ()
    model = "PipelineStatus"
    run_count = count("runCount")
    last_run = text("lastRun")
    last_successful_run = text("lastSuccessfulRun")
    recent_runs = strings("recentRuns")
    latest_snapshot = text("latestSnapshot")


# --------------------------------------------------------------------------- ArtifactVersion


class ProducerView(ReadView):
    __slots__ = ()
    model = "Producer"
    pipeline = text("pipeline")
    run = text_or("run", "")
    step = text_or("step", "")
    output = text_or("output", "")


class ArtifactVersionSpecView(ReadView):
    __slots__ = ()
    model = "ArtifactVersionSpec"
    artifact_name = text_or("artifactName", "")
    version = text_or("version", "")
    uri = text_or("uri", "")
    materializer = text_or("materializer", "")
    data_type = text_or("dataType", "")
    content_hash = text("contentHash")
    save_type = text_or("saveType", "step_output")
    metadata = mapping("metadata")
    visualizations = objects("visualizations")
    producer = nested("producer", ProducerView)
    tags = strings("tags")
    artifact_type = text("artifactType")


# --------------------------------------------------------------------------- Model


class ModelSpecView(ReadView):
    __slots__ = ()
    model = "ModelSpec"
    name = text("name")
    description = text("description")
    license = text("license")
    tags = strings("tags")


class ModelStatusView(ReadView):
    __slots__ = ()
    model = "ModelStatus"
    latest_version = text("latestVersion")
    production_version = text("productionVersion")
    staging_version = text("stagingVersion")
    version_count = count("versionCount")


class ModelArtifactLinkView(ReadView):
    __slots__ = ()
    model = "ModelArtifactLink"
    name = text_or("name", "")
    artifact_version = text_or("artifactVersion", "")
    type = text_or("type", "data")
    run = text("run")
    step = text("step")


class ModelVersionSpecView(ReadView):
    __slots__ = ()
    model = "ModelVersionSpec"
    model_name = text_or("model", "")
    version = text_or("version", "")
    stage = text_or("stage", "none")
    description = text("description")
    tags = strings("tags")
    artifacts = listing("artifacts", ModelArtifactLinkView)
    producer_run = text("producerRun")
    metadata = mapping("metadata")


class ModelVersionStatusView(ReadView):
    __slots__ = ()
    model = "ModelVersionStatus"
    number = number("number")
    stage = text("stage")
    stage_history = objects("stageHistory")
