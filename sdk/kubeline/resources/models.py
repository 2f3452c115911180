"""Pydantic models of Kubeline's custom resources (group ``kubeline.dev``).

One model per spec and status, shared by the SDK and the operator. The CRDs in
``crds/`` are generated from these models (``kubeline.resources.crdgen``):
every field's ``description`` becomes ``kubectl explain`` text, and the bounds
and ``x-kubernetes-validations`` (CEL) below are enforced by the API server.

Field names are camelCase on the wire (Kubernetes convention) and snake_case in
Python; ``model_validate`` accepts both, ``to_k8s`` writes camelCase.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from kubeline.resources.phases import RunPhase, StepPhase

# Sizes: a 1,000-step snapshot with typical steps stays around 0.5 MB, and a
# 1,000-step run's status around 0.4 MB: both far from etcd's ~1.5 MB limit.
MAX_STEPS = 1000
MAX_INPUTS = 64
MAX_OUTPUTS = 64
MAX_PARAMS = 64
MAX_ENV = 64
MAX_NAME = 253
MAX_TEXT = 1024
MAX_MESSAGE = 2048

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
# A parameter/output/artifact name as a user writes it in Python.
IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_.-]*$"

SaveType = Literal["step_output", "manual", "preexisting", "external"]
ModelStage = Literal["none", "staging", "production", "archived"]
#: How an artifact is linked to a model version (ZenML: data, model or deployment artifacts).
ModelArtifactType = Literal["data", "model", "deployment"]
MAX_STAGE_HISTORY = 20

JSONValue = Annotated[
    Any,
    Field(json_schema_extra={"x-kubernetes-preserve-unknown-fields": True}),
]


def _cel(rule: str, message: str, **extra: str) -> dict[str, Any]:
    return {"rule": rule, "message": message, **extra}


class K8sModel(BaseModel):
    """Base: camelCase aliases, unknown fields rejected (the CRD prunes/rejects them too)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=False
    )

    def to_k8s(self) -> dict[str, Any]:
        """The wire form: camelCase keys, unset optional fields left out."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


def name_field(description: str, max_length: int = MAX_NAME, **kw: Any) -> Any:
    return Field(description=description, min_length=1, max_length=max_length, **kw)


# --------------------------------------------------------------------------- shared


class ResourceRequirements(K8sModel):
    """Compute resources of a step Pod."""

    cpu: str | None = Field(None, max_length=32, description="CPU request and limit, e.g. '500m'.")
    memory: str | None = Field(
        None, max_length=32, description="Memory request and limit, e.g. '512Mi'."
    )
    gpu: int | None = Field(
        None, ge=0, le=16, description="Number of GPUs (resource nvidia.com/gpu) to request."
    )


class RetryPolicy(K8sModel):
    """How a failed step is retried."""

    max_retries: int = Field(0, ge=0, le=20, description="Retries after the first attempt.")
    backoff_seconds: float = Field(
        10.0, ge=0, le=3600, description="Delay before the first retry, in seconds."
    )
    backoff_factor: float = Field(
        2.0, ge=1, le=10, description="Multiplier applied to the delay after each retry."
    )
    max_backoff_seconds: float = Field(
        600.0, ge=0, le=86400, description="Upper bound on the delay between retries."
    )


class StepRunConfig(K8sModel):
    """Run-time configuration of one step, overriding the snapshot's defaults."""

    parameters: dict[str, JSONValue] = Field(
        default_factory=dict,
        max_length=MAX_PARAMS,
        description="Parameter values for this step (any JSON value), by parameter name.",
    )
    enable_cache: bool | None = Field(
        None, description="Override caching for this step (true/false); unset keeps the default."
    )


class RunConfiguration(K8sModel):
    """The configuration of a run: per-step parameters and cache switches."""

    enable_cache: bool | None = Field(
        None, description="Run-wide cache switch; false re-runs every step."
    )
    steps: dict[str, StepRunConfig] = Field(
        default_factory=dict,
        max_length=MAX_STEPS,
        description="Per-step configuration, keyed by step invocation id (e.g. 'trainer').",
    )
    run_name: str | None = Field(
        None, max_length=MAX_NAME, description="Display name of the run (defaults to its object name)."
    )
    tags: list[Annotated[str, Field(max_length=63)]] | None = Field(
        None, max_length=32, description="Free-form tags recorded on the run."
    )


class Condition(K8sModel):
    """A Kubernetes-style condition."""

    type: str = Field(..., max_length=64, description="Condition type, e.g. 'Succeeded'.")
    status: Literal["True", "False", "Unknown"] = Field(..., description="True, False or Unknown.")
    reason: str = Field("", max_length=64, description="CamelCase reason for the last transition.")
    message: str = Field("", max_length=MAX_MESSAGE, description="Human-readable detail.")
    last_transition_time: str | None = Field(
        None, max_length=64, description="When the condition last changed (RFC 3339)."
    )


# --------------------------------------------------------------------------- Pipeline


class PipelineSpec(K8sModel):
    """A named pipeline. Its runs and snapshots point at it by name."""

    name: str = name_field("The pipeline's name as written in Python (kept verbatim).")
    description: str | None = Field(None, max_length=MAX_TEXT, description="Free-text description.")


class PipelineStatus(K8sModel):
    """Pointers maintained by the operator so that lookups never list every run."""

    run_count: int = Field(0, ge=0, description="How many runs of this pipeline were started.")
    last_run: str | None = Field(None, max_length=MAX_NAME, description="Newest run's object name.")
    last_successful_run: str | None = Field(
        None, max_length=MAX_NAME, description="Newest completed or cached run's object name."
    )
    recent_runs: list[Annotated[str, Field(max_length=MAX_NAME)]] = Field(
        default_factory=list, max_length=50, description="Recent runs' object names, newest first."
    )
    latest_snapshot: str | None = Field(
        None, max_length=MAX_NAME, description="Newest runnable snapshot's object name."
    )


# --------------------------------------------------------------------------- Snapshot


class ArtifactRef(K8sModel):
    """An existing artifact version used as a step input (e.g. fetched in the pipeline body)."""

    name: str = name_field("Artifact name.")
    version: str | None = Field(None, max_length=128, description="Version; unset means latest.")
    id: str | None = Field(None, max_length=64, description="ArtifactVersion uid, if pinned.")


class ModelArtifactRef(K8sModel):
    """An artifact linked to a model version; which version is resolved when a run starts."""

    model: str = name_field("Model name.")
    version: str | None = Field(
        None, max_length=128,
        description="Model version name or number, or a stage (staging, production, archived, "
        "none, latest); unset means latest.",
    )
    artifact: str = name_field("Name of the linked artifact (e.g. 'trained_model').")
    artifact_version: str | None = Field(
        None, max_length=128, description="Version of that artifact; unset means the newest linked."
    )
    type: Literal["any", "data", "model", "deployment"] = Field(
        "any", description="Link type required: model (get_model_artifact), data, deployment or any."
    )


class StepInput(K8sModel):
    """Where a step input comes from: an upstream step's output or an existing artifact."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                _cel(
                    "has(self.artifact) ? !has(self.step) && !has(self.output)"
                    " && !has(self.modelArtifact)"
                    " : has(self.modelArtifact) ? !has(self.step) && !has(self.output)"
                    " : has(self.step) && has(self.output)",
                    "a step input sets exactly one of: step and output (an upstream step's "
                    "output), artifact (an existing artifact version) or modelArtifact (an "
                    "artifact linked to a model version, resolved when the run starts)",
                )
            ]
        }
    )

    name: str = Field(..., max_length=128, pattern=IDENTIFIER, description="Argument name.")
    step: str | None = Field(
        None, max_length=63, pattern=DNS_LABEL, description="Upstream step's name (its DNS label)."
    )
    output: str | None = Field(None, max_length=128, description="Upstream output name.")
    artifact: ArtifactRef | None = Field(None, description="An existing artifact version instead.")
    model_artifact: ModelArtifactRef | None = Field(
        None, description="An artifact of a model version, resolved when the run starts."
    )
    unmaterialized: bool = Field(
        False, description="Pass an UnmaterializedArtifact (id and URI) instead of loading data."
    )


class StepOutput(K8sModel):
    """A declared step output."""

    name: str = Field(..., max_length=128, pattern=IDENTIFIER, description="Output name.")
    materializer: str = Field(
        ..., max_length=MAX_NAME, description="Materializer class path used to save it."
    )
    data_type: str = Field("", max_length=MAX_NAME, description="Python type path of the value.")
    artifact_name: str | None = Field(
        None, max_length=MAX_NAME, description="Artifact name (defaults to '<pipeline>::<step>::<output>')."
    )
    artifact_type: ModelArtifactType | None = Field(
        None,
        description="How the output is linked to the run's model version: model "
        "(ArtifactConfig(is_model_artifact=True) or a model materializer), deployment or data.",
    )


class StepSpec(K8sModel):
    """One step invocation in the DAG."""

    name: str = Field(
        ...,
        min_length=1,
        max_length=63,
        pattern=DNS_LABEL,
        description="DNS-1123 label naming the step's Pods and labels, unique within the snapshot (the invocation id 'svc_trainer' becomes 'svc-trainer').",
    )
    id: str = Field(
        ...,
        min_length=1,
        max_length=128,
        pattern=IDENTIFIER,
        description="Invocation id as written in Python (e.g. 'svc_trainer', 'trainer_2'): the key of run.steps and of run configurations.",
    )
    function: str = Field(..., max_length=MAX_NAME, description="The step's Python name as written.")
    entrypoint: str = Field(
        ...,
        max_length=MAX_NAME,
        pattern=r"^([A-Za-z_][A-Za-z0-9_.]*|[A-Za-z0-9_][A-Za-z0-9_./-]*\.py):[A-Za-z_][A-Za-z0-9_.]*$",
        description="'module:function' imported in the step Pod, or 'path/script.py:function' for a script whose file name is no module name (loaded from the code archive by path).",
    )
    code_hash: str = Field(..., max_length=64, description="sha256 of the step's source code.")
    image: str | None = Field(None, max_length=MAX_NAME, description="Image; unset uses the default.")
    inputs: list[StepInput] = Field(
        default_factory=list, max_length=MAX_INPUTS, description="Inputs by argument name."
    )
    parameters: dict[str, JSONValue] = Field(
        default_factory=dict, max_length=MAX_PARAMS, description="Default parameter values (JSON)."
    )
    outputs: list[StepOutput] = Field(
        default_factory=list, max_length=MAX_OUTPUTS, description="Declared outputs, in order."
    )
    after: list[Annotated[str, Field(max_length=63)]] = Field(
        default_factory=list,
        max_length=MAX_INPUTS,
        description="Extra upstream steps to wait for.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    enable_cache: bool = Field(True, description="Whether this step may be served from the cache.")
    cache_version: str = Field("", max_length=64, description="Bump to invalidate cached results.")
    cache_expires_after_seconds: int | None = Field(
        None, ge=1, description="Cached results older than this are not reused."
    )
    retry: RetryPolicy | None = Field(None, description="Retry policy; unset means no retries.")
    timeout_seconds: int | None = Field(None, ge=1, le=604800, description="Per-attempt timeout.")
    resources: ResourceRequirements | None = Field(None, description="Compute resources.")
    env: dict[str, Annotated[str, Field(max_length=MAX_TEXT)]] = Field(
        default_factory=dict, max_length=MAX_ENV, description="Declared environment (part of the cache key)."
    )
    extra: dict[str, JSONValue] = Field(
        default_factory=dict, max_length=32, description="Free-form user data, not interpreted."
    )
    hooks: dict[str, Annotated[str, Field(max_length=MAX_NAME)]] = Field(
        default_factory=dict, max_length=4, description="Hooks run in the step Pod: 'module:function' for on_failure (called with the exception after the last attempt failed) and on_success."
    )
    enable_artifact_metadata: bool = Field(True, description="Extract metadata of the outputs (shape, dtype, ...).")
    enable_artifact_visualization: bool = Field(True, description="Save visualizations of the outputs.")


class CodeArchive(K8sModel):
    """The user's source code, packed into a content-addressed archive."""

    uri: str = Field(..., max_length=MAX_TEXT, description="s3:// URI of the .tar.gz archive.")
    sha256: str = Field(..., min_length=64, max_length=64, description="Digest verified in the Pod.")
    size: int = Field(0, ge=0, description="Archive size in bytes.")


# CEL over a whole snapshot. A map built once (step name -> set of output names)
# keeps every lookup O(1): the estimated cost stays linear in steps x inputs,
# far below the API server's per-rule limit even at MAX_STEPS x MAX_INPUTS. The
# one-element list is CEL's way to bind a variable. Needs two-variable
# comprehensions (transformMapEntry): Kubernetes >= 1.33.
_STEP_OUTPUTS = (
    "self.steps.transformMapEntry(i, s, "
    "{s.name: has(s.outputs) ? s.outputs.transformMapEntry(j, o, {o.name: true}) : {'': true}})"
)
_INPUT_OK = "!has(x.step) || (x.step in m && (!has(x.output) || x.output in m[x.step]))"
_REFERENCE_HELP = (
    "every step input's step must name a step in spec.steps and its output one of that "
    "step's spec.steps[].outputs[].name (use artifact for an existing artifact version)"
)
SNAPSHOT_RULES: list[Any] = [
    _cel(
        f"[{_STEP_OUTPUTS}].all(m, self.steps.all(s, !has(s.inputs) || "
        f"s.inputs.all(x, {_INPUT_OK})))",
        _REFERENCE_HELP,
        fieldPath=".steps",
        reason="FieldValueInvalid",
    ),
    _cel(
        "self.steps.all(s, !has(s.inputs) || s.inputs.all(x, !has(x.step) || x.step != s.name))",
        "a step cannot take its own output as an input (spec.steps[].inputs[].step)",
        fieldPath=".steps",
        reason="FieldValueInvalid",
    ),
]


class ModelConfig(K8sModel):
    """The Model a pipeline's runs belong to (``@pipeline(model=Model(...))``)."""

    name: str = name_field("Model name as given.")
    version: str | None = Field(
        None, max_length=128,
        description="Unset: a new version per run. Else a version name or number, a stage "
        "(staging, production, archived, none, latest) or a name template with {date} and "
        "{time}, resolved when the run starts.",
    )
    description: str | None = Field(None, max_length=MAX_TEXT, description="Description.")
    license: str | None = Field(None, max_length=128, description="License.")
    audience: str | None = Field(None, max_length=MAX_TEXT, description="Target audience.")
    use_cases: str | None = Field(None, max_length=MAX_TEXT, description="Use cases.")
    limitations: str | None = Field(None, max_length=MAX_TEXT, description="Known limitations.")
    trade_offs: str | None = Field(None, max_length=MAX_TEXT, description="Trade-offs.")
    ethics: str | None = Field(None, max_length=MAX_TEXT, description="Ethical implications.")
    tags: list[Annotated[str, Field(max_length=63)]] = Field(default_factory=list, max_length=32, description="Tags.")


class SnapshotSpec(K8sModel):
    """An immutable, runnable pipeline: DAG, code, images and default configuration."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": SNAPSHOT_RULES})

    pipeline: str = name_field("Name of the Pipeline object this snapshot belongs to.", 63)
    pipeline_name: str = name_field("The pipeline's name as written in Python.")
    display_name: str | None = Field(
        None, max_length=MAX_NAME, description="A user-given snapshot name (create_snapshot(name=...))."
    )
    description: str | None = Field(
        None, max_length=MAX_TEXT, description="A user-given description (create_snapshot(description=...))."
    )
    image: str = name_field("Default image of the step Pods.")
    code: CodeArchive | None = Field(
        None, description="Code archive; unset when the image already contains the code."
    )
    steps: list[StepSpec] = Field(
        ...,
        min_length=1,
        max_length=MAX_STEPS,
        description="The DAG's steps, in topological order; step names are unique.",
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
            "x-kubernetes-validations": [
                # A duplicate id makes the map insert fail; the API server reports
                # "insert failed: key '<id>' already exists evaluating rule: <message>".
                _cel(
                    "size(self.transformMapEntry(i, s, {s.id: i})) == size(self)",
                    "step ids (spec.steps[].id) must be unique",
                    reason="FieldValueDuplicate",
                )
            ],
        },
    )
    config_template: RunConfiguration = Field(
        default_factory=RunConfiguration, description="Default run configuration."
    )
    enable_cache: bool = Field(True, description="Pipeline-wide cache default.")
    model: ModelConfig | None = Field(None, description="The Model the runs belong to.")
    pipeline_parameters: dict[str, JSONValue] = Field(
        default_factory=dict, max_length=MAX_PARAMS, description="The pipeline function's arguments."
    )
    extra: dict[str, JSONValue] = Field(
        default_factory=dict, max_length=32, description="The pipeline's free-form user data (@pipeline(extra=...)), not interpreted."
    )


class SnapshotStatus(K8sModel):
    """Set by the operator when it has validated the snapshot."""

    valid: bool | None = Field(None, description="Whether the operator accepted the snapshot.")
    reason: str | None = Field(None, max_length=64, description="CamelCase reason when invalid.")
    message: str | None = Field(None, max_length=MAX_MESSAGE, description="What to fix.")
    run_count: int = Field(0, ge=0, description="Runs started from this snapshot.")


# --------------------------------------------------------------------------- PipelineRun


class TriggerRef(K8sModel):
    """The run and step that started this run, when it was started from inside a step."""

    run: str = Field(..., max_length=MAX_NAME, description="Triggering run's object name.")
    step: str = Field(..., max_length=63, description="Triggering step's invocation id.")


class PipelineRunSpec(K8sModel):
    """A run of a snapshot (by name) or of a pipeline's latest snapshot. Immutable except 'cancel'."""

    snapshot: str | None = Field(
        None, max_length=MAX_NAME, description="Snapshot object name (or its display name) to run."
    )
    pipeline: str | None = Field(
        None, max_length=MAX_NAME, description="Pipeline to run with its latest snapshot, if no snapshot is set."
    )
    config: RunConfiguration = Field(
        default_factory=RunConfiguration, description="Overrides of the snapshot's config template."
    )
    cancel: bool = Field(False, description="Set to true to cancel the run; its Pods are stopped.")
    ttl_seconds_after_finished: int | None = Field(
        None, ge=0, description="Delete the run's Pods this long after it finishes."
    )
    delete_after_ttl: bool = Field(
        False, description="Also delete the PipelineRun itself when the TTL expires."
    )
    triggered_by: TriggerRef | None = Field(None, description="Set when started from a step.")


class CacheInfo(K8sModel):
    """Why a step was (or was not) served from the cache."""

    key: str = Field(..., max_length=64, description="The cache key (sha256).")
    parts: dict[str, Annotated[str, Field(max_length=64)]] = Field(
        default_factory=dict,
        max_length=16,
        description="Digest of each part that went into the key (code, image, parameters, inputs, ...).",
    )


class CachedFrom(K8sModel):
    """The earlier step run whose outputs a cache hit reused."""

    run: str = Field(..., max_length=MAX_NAME, description="Original run's object name.")
    step: str = Field(..., max_length=63, description="Original step invocation id.")


class StepStatus(K8sModel):
    """State of one step of a run. Kept small: details live in Pods, logs and ArtifactVersions."""

    name: str = Field(..., max_length=63, description="Step invocation id.")
    phase: StepPhase = Field("pending", description="pending, running, retrying, completed, failed, cached, cancelled or skipped.")
    attempts: int = Field(0, ge=0, description="Pods started for this step.")
    pod: str | None = Field(None, max_length=63, description="Current or last Pod's name.")
    start_time: str | None = Field(None, max_length=64, description="When the step started.")
    end_time: str | None = Field(None, max_length=64, description="When the step ended.")
    next_retry_time: str | None = Field(None, max_length=64, description="When the next attempt starts.")
    cache: CacheInfo | None = Field(None, description="The cache key and what went into it.")
    cached_from: CachedFrom | None = Field(None, description="Source of a cache hit.")
    outputs: dict[str, Annotated[str, Field(max_length=MAX_NAME)]] = Field(
        default_factory=dict, max_length=MAX_OUTPUTS, description="Output name -> ArtifactVersion object name."
    )
    message: str | None = Field(None, max_length=MAX_MESSAGE, description="Error or progress message.")
    reason: str | None = Field(None, max_length=64, description="CamelCase reason of the last change.")
    metadata: dict[str, JSONValue] | None = Field(
        None, max_length=64,
        description="Metadata the step logged for itself (log_metadata in the step), when small "
        "(at most 512 bytes of JSON with runMetadata); else read it from metadataUri.",
    )
    run_metadata: dict[str, JSONValue] | None = Field(
        None, max_length=64,
        description="Metadata the step logged for its run (log_metadata(run_id_name_or_prefix="
        "<this run>)), when small; else read it from metadataUri.",
    )
    metadata_uri: str | None = Field(
        None, max_length=MAX_TEXT,
        description="The outputs manifest (s3://) holding this step's metadata (stepMetadata, "
        "runMetadata) when it was too large to keep in the run's status.",
    )


class RunProgress(K8sModel):
    """Counts of steps by state."""

    total: int = Field(0, ge=0, description="Steps in the run.")
    completed: int = Field(0, ge=0, description="Steps that ran and completed.")
    cached: int = Field(0, ge=0, description="Steps served from the cache.")
    failed: int = Field(0, ge=0, description="Steps that failed.")
    running: int = Field(0, ge=0, description="Steps running now.")


class RunModelVersion(K8sModel):
    """The model version a run belongs to, resolved when it started."""

    name: str = name_field("Model name.")
    version: str = Field(..., min_length=1, max_length=128, description="Version name.")
    number: int | None = Field(None, ge=1, description="Version number.")
    object: str = name_field("ModelVersion object name.")
    requested: str | None = Field(
        None, max_length=128, description="What the snapshot asked for (stage, name, template); unset: new."
    )
    created: bool = Field(False, description="Whether this run created the version.")


class ResolvedModelArtifact(K8sModel):
    """A step input taken from a model version: what it resolved to when the run started."""

    step: str = Field(..., max_length=128, description="Step invocation id.")
    input: str = Field(..., max_length=128, description="Argument name.")
    model: str = name_field("Model name.")
    requested: str | None = Field(None, max_length=128, description="Version or stage asked for.")
    version: str = Field(..., min_length=1, max_length=128, description="Model version it resolved to.")
    number: int | None = Field(None, ge=1, description="That version's number.")
    artifact_version: str = name_field("ArtifactVersion object name passed to the step.")


class TriggerProvenance(K8sModel):
    """Whether the operator could show that spec.triggeredBy came from the step it names."""

    verified: bool = Field(..., description="The run was created with the token of that step's own Pod.")
    message: str | None = Field(None, max_length=1024, description="What was checked, or why it is unverified.")


class PipelineRunStatus(K8sModel):
    """Written by the operator only."""

    phase: RunPhase = Field("initialized", description="initialized, running, completed, failed, cached or cancelled.")
    uid: str | None = Field(
        None, max_length=64,
        description="The run's metadata.uid (its id), a selectable field: find a run by id with "
        "the field selector status.uid=<id>.",
    )
    pipeline: str | None = Field(None, max_length=MAX_NAME, description="Pipeline object name.")
    snapshot: str | None = Field(None, max_length=MAX_NAME, description="Resolved Snapshot object name.")
    index: int | None = Field(None, ge=1, description="1-based index of this run within its pipeline.")
    start_time: str | None = Field(None, max_length=64, description="When the run started.")
    end_time: str | None = Field(None, max_length=64, description="When the run ended.")
    progress: str | None = Field(None, max_length=32, description="Done/total steps, e.g. '3/5'.")
    counts: RunProgress | None = Field(None, description="Steps by state.")
    cached_steps: int | None = Field(None, ge=0, description="Steps served from the cache.")
    duration: str | None = Field(None, max_length=32, description="Wall time, e.g. '1m12s'.")
    failed_step: str | None = Field(None, max_length=63, description="The step that failed the run.")
    reason: str | None = Field(None, max_length=64, description="CamelCase reason of the outcome.")
    message: str | None = Field(None, max_length=MAX_MESSAGE, description="Human-readable outcome.")
    conditions: list[Condition] = Field(default_factory=list, max_length=8, description="Conditions.")
    steps: list[StepStatus] = Field(
        default_factory=list, max_length=MAX_STEPS, description="Per-step state, in DAG order."
    )
    parameters: dict[str, JSONValue] | None = Field(
        None, max_length=MAX_STEPS, description="Effective parameters by step (after overrides)."
    )
    observed_generation: int | None = Field(None, description="Spec generation last acted on.")
    model: RunModelVersion | None = Field(None, description="The run's model version.")
    triggered_by: TriggerProvenance | None = Field(
        None, description="Set when spec.triggeredBy is: whether it is verified (docs/security.md).",
    )
    model_artifacts: list[ResolvedModelArtifact] = Field(
        default_factory=list, max_length=256,
        description="Step inputs taken from model versions, as resolved when the run started.",
    )


# --------------------------------------------------------------------------- ArtifactVersion


class Visualization(K8sModel):
    """A visualization stored beside an artifact."""

    uri: str = Field(..., max_length=MAX_TEXT, description="s3:// URI of the file.")
    type: Literal["html", "image", "markdown", "csv", "json"] = Field(..., description="Kind of file.")


class Producer(K8sModel):
    """The run and step that produced an artifact version."""

    pipeline: str | None = Field(None, max_length=MAX_NAME, description="Pipeline object name.")
    run: str = Field(..., max_length=MAX_NAME, description="Run object name.")
    step: str = Field(..., max_length=63, description="Step invocation id.")
    output: str = Field(..., max_length=128, description="Output name.")


class ArtifactVersionSpec(K8sModel):
    """One saved output. Written by the operator from the step's outputs manifest."""

    artifact_name: str = name_field("Artifact name as given (e.g. 'iris_dataset').")
    version: str = Field(..., min_length=1, max_length=128, description="Version: '1', '2', ... or user-given.")
    uri: str = Field(..., max_length=MAX_TEXT, description="s3:// URI of the stored data.")
    materializer: str = Field(..., max_length=MAX_NAME, description="Materializer class path.")
    data_type: str = Field("", max_length=MAX_NAME, description="Python type path of the value.")
    content_hash: str | None = Field(None, max_length=64, description="sha256 of the content.")
    save_type: SaveType = Field("step_output", description="How it was saved: a step output, save_artifact, register_artifact or an ExternalArtifact.")
    metadata: dict[str, JSONValue] = Field(
        default_factory=dict, max_length=64, description="Metadata (storage_size, shape, dtype, ...)."
    )
    visualizations: list[Visualization] = Field(default_factory=list, max_length=8, description="Visualizations.")
    producer: Producer | None = Field(None, description="Producing run and step.")
    tags: list[Annotated[str, Field(max_length=63)]] = Field(default_factory=list, max_length=32, description="Tags.")
    artifact_type: str | None = Field(None, max_length=64, description="Kind of artifact: DataArtifact, ModelArtifact, ... (ZenML's ArtifactType).")


class ArtifactVersionStatus(K8sModel):
    """Set by the operator when it finds a problem with the stored data."""

    reason: str | None = Field(None, max_length=64, description="CamelCase reason of a problem.")
    message: str | None = Field(None, max_length=MAX_MESSAGE, description="What is wrong.")


# --------------------------------------------------------------------------- Model


class ModelSpec(K8sModel):
    """A model in the model control plane."""

    name: str = name_field("Model name as given.")
    description: str | None = Field(None, max_length=MAX_TEXT, description="Description.")
    license: str | None = Field(None, max_length=128, description="License.")
    audience: str | None = Field(None, max_length=MAX_TEXT, description="Target audience.")
    use_cases: str | None = Field(None, max_length=MAX_TEXT, description="Use cases.")
    limitations: str | None = Field(None, max_length=MAX_TEXT, description="Known limitations.")
    trade_offs: str | None = Field(None, max_length=MAX_TEXT, description="Trade-offs.")
    ethics: str | None = Field(None, max_length=MAX_TEXT, description="Ethical implications.")
    tags: list[Annotated[str, Field(max_length=63)]] = Field(default_factory=list, max_length=32, description="Tags.")


class ModelStatus(K8sModel):
    """Pointers kept by the operator."""

    latest_version: str | None = Field(None, max_length=128, description="Newest version.")
    production_version: str | None = Field(None, max_length=128, description="Version in production.")
    staging_version: str | None = Field(None, max_length=128, description="Version in staging.")
    version_count: int = Field(0, ge=0, description="Number of versions.")
    last_number: int = Field(
        0, ge=0,
        description="Highest version number handed out (numbers are allocated by a "
        "compare-and-swap on this field, so two versions never share one).",
    )


class ModelArtifactLink(K8sModel):
    """An artifact version linked to a model version."""

    name: str = Field(..., max_length=MAX_NAME, description="Artifact name (e.g. 'trained_model').")
    artifact_version: str = Field(..., max_length=MAX_NAME, description="ArtifactVersion object name.")
    type: ModelArtifactType = Field("data", description="data, model or deployment artifact.")
    run: str | None = Field(None, max_length=MAX_NAME, description="Run whose step produced or used it.")
    step: str | None = Field(None, max_length=128, description="Step invocation id.")


class ModelVersionSpec(K8sModel):
    """A version of a model, linking artifacts, with the stage asked for."""

    model: str = name_field("Model name.")
    version: str = Field(..., min_length=1, max_length=128, description="Version name or number.")
    stage: ModelStage = Field(
        "none",
        description="The stage asked for: none, staging, production or archived. The operator "
        "applies it (status.stage): promoting to staging or production archives the version "
        "that held that stage.",
    )
    description: str | None = Field(None, max_length=MAX_TEXT, description="Description.")
    tags: list[Annotated[str, Field(max_length=63)]] = Field(default_factory=list, max_length=32, description="Tags.")
    artifacts: list[ModelArtifactLink] = Field(default_factory=list, max_length=256, description="Linked artifacts.")
    producer_run: str | None = Field(None, max_length=MAX_NAME, description="Run that created it.")
    metadata: dict[str, JSONValue] = Field(
        default_factory=dict, max_length=64,
        description="Metadata (log_metadata(..., infer_model=True) and Client calls).",
    )


class StageChange(K8sModel):
    """One entry of a model version's stage history."""

    stage: ModelStage = Field(..., description="The stage it entered.")
    previous: ModelStage | None = Field(None, description="The stage it left.")
    time: str = Field(..., max_length=64, description="When the operator applied the change.")
    user: str | None = Field(
        None, max_length=MAX_NAME,
        description="Who asked for it, as authenticated by the API server (the annotation "
        "kubeline.dev/stage-changed-by, checked by the chart's admission policy).",
    )
    manager: str | None = Field(
        None, max_length=128, description="The field manager that wrote spec.stage (client-reported)."
    )
    reason: str | None = Field(
        None, max_length=64, description="Requested, or ArchivedByPromotion when displaced."
    )
    message: str | None = Field(None, max_length=MAX_TEXT, description="Details.")


class ModelVersionStatus(K8sModel):
    """Set by the operator."""

    number: int | None = Field(None, ge=1, description="1-based number of this version.")
    stage: ModelStage | None = Field(None, description="The stage in effect (applied by the operator).")
    stage_changed_time: str | None = Field(None, max_length=64, description="When the stage changed.")
    stage_history: list[StageChange] = Field(
        default_factory=list, max_length=MAX_STAGE_HISTORY,
        description=f"The last {MAX_STAGE_HISTORY} stage changes, oldest first.",
    )


# --------------------------------------------------------------------------- Schedule

ConcurrencyPolicy = Literal["Allow", "Forbid", "Replace"]
CatchUp = Literal["none", "latest", "all"]
#: Why a due time did not get a run (status.recentSkips[].reason, the Skipped condition).
SkipReason = Literal[
    "ConcurrencyForbidden",  # concurrencyPolicy Forbid and a run was still active
    "Superseded",  # several times due at once, Forbid/Replace runs only the newest
    "StartingDeadlineExceeded",  # noticed later than startingDeadlineSeconds after the time
    "CatchUpNone",  # catchUp none: a time missed while the operator was not running
    "CatchUpLatest",  # catchUp latest: older missed times when several were due
    "CatchUpLimit",  # catchUp all: beyond catchUpLimit
    "Suspended",  # spec.suspend was true at that time
    "SpecChanged",  # due between the last decision and a spec change (never run retroactively)
]
ScheduleRunPhase = Literal[
    "initialized", "running", "completed", "failed", "cached", "cancelled", "unknown"
]

SCHEDULE_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
MAX_CRONS = 16
MAX_SCHEDULE_HISTORY = 20
TZ_NAME = r"^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*$"


def _schedule_rules() -> list[Any]:
    return [
        _cel("has(self.snapshot) != has(self.pipeline)",
             "set exactly one of spec.snapshot (a Snapshot name) and spec.pipeline (runs the "
             "pipeline's latest snapshot)"),
        _cel("[has(self.cron) && size(self.cron) > 0, has(self.intervalSeconds), has(self.runAt)]"
             ".filter(x, x).size() == 1",
             "set exactly one of spec.cron (cron expressions), spec.intervalSeconds (every N "
             "seconds from startTime) and spec.runAt (once)"),
        _cel("!has(self.intervalSeconds) || has(self.startTime)",
             "spec.intervalSeconds needs spec.startTime (runs are at startTime + k x interval)",
             fieldPath=".intervalSeconds"),
        _cel("!has(self.catchUpLimit) || (has(self.catchUp) && self.catchUp == 'all')",
             "spec.catchUpLimit bounds catchUp 'all'; set catchUp: all or remove catchUpLimit",
             fieldPath=".catchUpLimit"),
        _cel("!has(self.startTime) || !has(self.endTime) || "
             "timestamp(self.startTime) < timestamp(self.endTime)",
             "spec.endTime must be after spec.startTime", fieldPath=".endTime"),
        _cel("!has(self.timeZone) || timestamp('2000-01-01T00:00:00Z').getHours(self.timeZone)"
             " >= 0",
             "spec.timeZone must be an IANA time zone name such as 'UTC' or 'Europe/Berlin'",
             fieldPath=".timeZone", reason="FieldValueInvalid"),
    ]


def _cron_rule() -> dict[str, str]:
    """Apply-time shape check of one cron expression (ranges are checked by the operator)."""
    from kubeline.resources.cron import CRON_SHAPE

    cron_re = CRON_SHAPE.replace("\\", "\\\\").replace("'", "\\'")
    return _cel(f"self.matches('{cron_re}')",
                "each spec.cron entry must be a cron expression of 5 fields (minute hour "
                "day-of-month month day-of-week) or @hourly/@daily/@weekly/@monthly/@yearly",
                messageExpression="'\"' + self + '\" is not a cron expression of 5 fields "
                "(minute hour day-of-month month day-of-week) or @hourly/@daily/@weekly/"
                "@monthly/@yearly'",
                reason="FieldValueInvalid")


class ScheduleSpec(K8sModel):
    """Runs of a snapshot on cron expressions (or an interval, or once), in a time zone."""

    model_config = ConfigDict(
        json_schema_extra={"x-kubernetes-validations": cast(Any, _schedule_rules())})

    snapshot: str | None = Field(
        None, max_length=MAX_NAME, description="Snapshot object name (or display name) to run."
    )
    pipeline: str | None = Field(
        None, max_length=MAX_NAME,
        description="Pipeline whose latest snapshot each run uses, if no snapshot is set.",
    )
    config: RunConfiguration = Field(
        default_factory=RunConfiguration,
        description="Run configuration of every run (overrides the snapshot's template).",
    )
    cron: list[Annotated[str, Field(max_length=128, json_schema_extra=cast(Any, {
        "x-kubernetes-validations": [_cron_rule()]}))]] | None = Field(
        None, max_length=MAX_CRONS,
        description="Cron expressions (5 fields or @daily etc.); a run is due whenever any "
        "of them matches, in timeZone. Times matched by several expressions run once.",
    )
    interval_seconds: int | None = Field(
        None, ge=1, le=366 * 86400,
        description="Instead of cron: a run every N seconds from startTime. Below 60 only "
        "on an operator started with KUBELINE_SCHEDULE_TEST_INTERVALS=true (tests).",
    )
    run_at: str | None = Field(
        None, max_length=64, json_schema_extra={"format": "date-time"},
        description="Instead of cron: run once at this time (RFC 3339).",
    )
    time_zone: str = Field(
        "UTC", min_length=1, max_length=64, pattern=TZ_NAME,
        description="IANA time zone the cron expressions are read in, e.g. 'Europe/Berlin'.",
    )
    start_time: str | None = Field(
        None, max_length=64, json_schema_extra={"format": "date-time"},
        description="No run is due before this time (RFC 3339).",
    )
    end_time: str | None = Field(
        None, max_length=64, json_schema_extra={"format": "date-time"},
        description="No run is due after this time (RFC 3339).",
    )
    concurrency_policy: ConcurrencyPolicy = Field(
        "Allow",
        description="Allow: runs may overlap. Forbid: a time due while a run of this "
        "schedule is active is skipped. Replace: the active runs are cancelled first.",
    )
    starting_deadline_seconds: int | None = Field(
        None, ge=0, le=366 * 86400,
        description="A due time noticed later than this is missed (counted in status), "
        "not run. Unset: no deadline (catchUp none uses 60 s).",
    )
    catch_up: CatchUp = Field(
        "latest",
        description="After downtime with several due times: none (run none of the missed "
        "times), latest (run only the newest) or all (each, oldest first, up to catchUpLimit).",
    )
    catch_up_limit: int | None = Field(
        None, ge=1, le=1000,
        description="With catchUp all: at most this many missed times run (the newest); "
        "default 10.",
    )
    suspend: bool = Field(
        False, description="True: no new runs; times due meanwhile are skipped (counted)."
    )
    successful_runs_history_limit: int | None = Field(
        None, ge=0, le=1000,
        description="Keep this many finished successful runs of this schedule (older ones "
        "are deleted); unset keeps all.",
    )
    failed_runs_history_limit: int | None = Field(
        None, ge=0, le=1000,
        description="Keep this many failed or cancelled runs of this schedule; unset keeps all.",
    )


class ScheduledRun(K8sModel):
    """A run this schedule created."""

    name: str = Field(..., max_length=MAX_NAME, description="PipelineRun object name.")
    scheduled_time: str = Field(..., max_length=64, description="The due time it runs for.")
    phase: ScheduleRunPhase = Field("initialized", description="The run's phase when last seen.")


class SkippedTime(K8sModel):
    """A due time that got no run, and why."""

    time: str = Field(..., max_length=64, description="The due time (RFC 3339).")
    reason: SkipReason = Field(..., description="Why it got no run.")


class ScheduleStatus(K8sModel):
    """Written by the operator only."""

    last_schedule_time: str | None = Field(
        None, max_length=64, description="Due time of the newest run created.")
    next_schedule_time: str | None = Field(
        None, max_length=64, description="The next due time (unset: none left, or suspended).")
    last_evaluated_time: str | None = Field(
        None, max_length=64,
        description="Every due time up to this one has been decided (run, skipped or missed).",
    )
    active: list[Annotated[str, Field(max_length=MAX_NAME)]] = Field(
        default_factory=list, max_length=100, description="Runs of this schedule not finished."
    )
    active_count: int = Field(0, ge=0, description="How many runs are active.")
    recent_runs: list[ScheduledRun] = Field(
        default_factory=list, max_length=MAX_SCHEDULE_HISTORY,
        description="Runs created by this schedule, newest first.",
    )
    run_count: int = Field(0, ge=0, description="Runs created by this schedule.")
    skipped_count: int = Field(
        0, ge=0, description="Due times skipped by policy (Forbid, suspend, spec change).")
    missed_count: int = Field(
        0, ge=0, description="Due times missed (deadline, catch-up none/latest/limit).")
    recent_skips: list[SkippedTime] = Field(
        default_factory=list, max_length=MAX_SCHEDULE_HISTORY,
        description="Recent skipped or missed times, newest first.",
    )
    conditions: list[Condition] = Field(
        default_factory=list, max_length=8,
        description="Ready (spec usable) and Skipped (the last skipped/missed time, why).",
    )
    observed_generation: int | None = Field(None, description="Spec generation last acted on.")
