"""Step and pipeline context: ``get_step_context()``, ``get_pipeline_context()``, ``log_metadata``.

Inside a step Pod the runtime sets a :class:`StepContext`; metadata logged
with :func:`log_metadata` is collected there and written to the outputs
manifest (``stepMetadata``, ``runMetadata``, ``modelMetadata`` and each output's
``metadata``; ``kubeline.resources.manifest``).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from kubeline.errors import KubelineError, StepContextError

_STEP_CONTEXT: contextvars.ContextVar[StepContext | None] = contextvars.ContextVar(
    "kubeline_step_context", default=None
)


class RunInfo:
    """The current pipeline run: ``.name`` and ``.id`` without I/O; other attributes come
    from the Client's run view, read once by ``load`` (the step runtime gives it; it needs
    API access from the step's ServiceAccount)."""

    def __init__(self, name: str, id: str, pipeline: str, namespace: str,
                 load: Callable[[], Any] | None = None) -> None:
        self.name = name
        self.id = id
        self.pipeline_name = pipeline
        self.namespace = namespace
        self._load = load
        self._view: Any = None

    def __getattr__(self, item: str) -> Any:
        if item.startswith("_"):
            raise AttributeError(item)
        if self._view is None:
            if self._load is None:
                raise AttributeError(
                    f"{item}: only .name and .id of run {self.name} are known here (no run view)")
            self._view = self._load()
        return getattr(self._view, item)

    def __repr__(self) -> str:
        return f"<PipelineRun {self.name}>"


@dataclass
class StepRunConfigInfo:
    """The running step's configuration (ZenML's ``step_run.config``)."""

    name: str
    parameters: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    enable_cache: bool | None = None
    cache_version: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    enable_artifact_metadata: bool = True
    enable_artifact_visualization: bool = True


@dataclass
class StepRunInfo:
    """The current step run: invocation id, DNS name, attempt, parameters and ``id``
    (``<run uid>/<invocation id>``, as ``StepView.id``)."""

    name: str
    dns_name: str
    attempt: int
    parameters: dict[str, Any] = field(default_factory=dict)
    id: str = ""
    config: StepRunConfigInfo | None = None


@dataclass
class StepContext:
    """What a running step can know about itself, and the metadata it logged.

    Metadata goes to the outputs manifest: ``step_metadata`` (this step run),
    ``run_metadata`` (the pipeline run), ``output_metadata`` (per output: its
    ArtifactVersion) and ``model_metadata`` (the run's model version).
    """

    pipeline_run: RunInfo
    step_run: StepRunInfo
    model: Any = None
    output_names: list[str] = field(default_factory=list)
    step_metadata: dict[str, Any] = field(default_factory=dict)
    run_metadata: dict[str, Any] = field(default_factory=dict)
    output_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    model_metadata: dict[str, Any] = field(default_factory=dict)
    output_tags: dict[str, list[str]] = field(default_factory=dict)
    run_tags: list[str] = field(default_factory=list)
    manual_artifacts: list[dict[str, Any]] = field(default_factory=list)
    artifact_store: Any = None  # the store the runtime saves outputs to
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs_uri: str | None = None
    #: Output name -> artifact name, so ``artifact_name=`` may give either.
    artifact_names: dict[str, str] = field(default_factory=dict)
    #: Output name -> declared materializer path.
    output_materializers: dict[str, str] = field(default_factory=dict)

    @property
    def step_name(self) -> str:
        return self.step_run.name

    @property
    def pipeline(self) -> Any:
        return self.pipeline_run.pipeline

    def add_output_metadata(self, metadata: dict[str, Any], output_name: str | None = None) -> None:
        """Attach ``metadata`` to one output's artifact version (the only one if unnamed)."""
        name = self._output("add_output_metadata", output_name)
        _merge(self.output_metadata.setdefault(name, {}), metadata,
               f"output {name!r} of step {self.step_name!r}")

    def get_output_metadata(self, output_name: str | None = None) -> dict[str, Any]:
        """The metadata added to an output so far in this step."""
        return dict(self.output_metadata.get(self._output("get_output_metadata", output_name),
                                             {}))

    def add_output_tags(self, tags: list[str], output_name: str | None = None) -> None:
        """Tag an output of this step (its artifact version, once saved)."""
        bucket = self.output_tags.setdefault(self._output("add_output_tags", output_name), [])
        bucket.extend(t for t in tags if t not in bucket)

    def remove_output_tags(self, tags: list[str], output_name: str | None = None) -> None:
        name = self._output("remove_output_tags", output_name)
        self.output_tags[name] = [t for t in self.output_tags.get(name, []) if t not in tags]

    def get_output_tags(self, output_name: str | None = None) -> list[str]:
        """The tags added to an output so far in this step."""
        return list(self.output_tags.get(self._output("get_output_tags", output_name), []))

    def get_output_artifact_uri(self, output_name: str | None = None) -> str:
        """Where an output's artifact is saved (side files may go beside it)."""
        name = self._output("get_output_artifact_uri", output_name)
        return f"{(self.outputs_uri or '').rstrip('/')}/{name}"

    def get_output_materializer(self, output_name: str | None = None, *,
                                custom_materializer_class: Any = None,
                                data_type: Any = None) -> Any:
        """An initialized materializer for an output (its declared one, the one for
        ``data_type``, or ``custom_materializer_class``), writing to its URI."""
        from kubeline.materializers.registry import import_object, materializer_registry

        name = self._output("get_output_materializer", output_name)
        cls = custom_materializer_class
        if cls is None and data_type is not None:
            cls = materializer_registry[data_type]
        if cls is None:
            declared = self.output_materializers.get(name)
            cls = import_object(declared) if declared else materializer_registry[object]
        return cls(self.get_output_artifact_uri(name), self.artifact_store)

    def add_step_metadata(self, metadata: dict[str, Any]) -> None:
        """Attach ``metadata`` to this step run."""
        _merge(self.step_metadata, metadata, f"step {self.step_name!r}")

    def add_run_metadata(self, metadata: dict[str, Any]) -> None:
        """Attach ``metadata`` to the pipeline run (plain keys, ``run.run_metadata[key]``)."""
        _merge(self.run_metadata, metadata,
               f"run {self.pipeline_run.name!r} (logged by step {self.step_name!r})")

    def add_model_metadata(self, metadata: dict[str, Any]) -> None:
        """Attach ``metadata`` to the run's model version."""
        if self.model is None:
            raise KubelineError(
                f"log_metadata(infer_model=True): step '{self.step_name}' has no model; "
                "configure one with @pipeline(model=Model(name=...)) or @step(model=...)")
        _merge(self.model_metadata, metadata, f"model {self.model.name!r}")

    def _output(self, what: str, output_name: str | None) -> str:
        if output_name is None:
            if len(self.output_names) != 1:
                raise StepContextError(
                    f"{what}: step '{self.step_name}' has {len(self.output_names)} outputs "
                    f"({', '.join(self.output_names) or 'none'}); name one with "
                    "output_name= (or artifact_name= in log_metadata)")
            return self.output_names[0]
        if output_name in self.output_names:
            return output_name
        by_artifact = [o for o, a in self.artifact_names.items() if a == output_name]
        if len(by_artifact) == 1:
            return by_artifact[0]
        raise StepContextError(
            f"{what}: step '{self.step_name}' has no output {output_name!r} "
            f"(outputs: {', '.join(self.output_names) or 'none'})")


def _merge(target: dict[str, Any], metadata: dict[str, Any], what: str) -> None:
    """Merge ``metadata`` into ``target`` unless the result is not storable (clear error)."""
    from kubeline.resources.manifest import check_metadata

    if not isinstance(metadata, dict) or not all(isinstance(k, str) for k in metadata):
        raise KubelineError(f"metadata of {what} must be a dict with string keys, got "
                            f"{type(metadata).__name__}")
    merged = {**target, **metadata}
    check_metadata(merged, what)
    target.clear()
    target.update(merged)


def get_step_context() -> StepContext:
    """The running step's context; raises outside a step."""
    ctx = _STEP_CONTEXT.get()
    if ctx is None:
        raise StepContextError(
            "get_step_context() works only while a step runs (inside its Pod), not when the "
            "function is called directly or while the pipeline is compiled"
        )
    return ctx


@dataclass(frozen=True)
class OwnRun:
    """The run this process runs a step of (in a step Pod) and that step's upstream steps
    (ids): what the Client waits for when the step reads its own run
    (``kubeline.client.own_run``)."""

    name: str
    uid: str
    namespace: str
    upstream: tuple[str, ...] = ()


_OWN_RUN: OwnRun | None = None  # process-wide: threads the step starts read the same run


def set_own_run(run: OwnRun | None) -> None:
    """Set (the step runtime, while a step runs) or clear the process's own run."""
    global _OWN_RUN
    _OWN_RUN = run


def own_run() -> OwnRun | None:
    """The run a step of which this process is running, if any."""
    return _OWN_RUN


def set_step_context(ctx: StepContext | None) -> contextvars.Token[StepContext | None]:
    return _STEP_CONTEXT.set(ctx)


def reset_step_context(token: contextvars.Token[StepContext | None]) -> None:
    _STEP_CONTEXT.reset(token)


@dataclass
class PipelineContext:
    """What ``get_pipeline_context()`` returns while a pipeline function is compiled."""

    name: str
    model: Any = None
    enable_cache: bool | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


_PIPELINE_CONTEXT: contextvars.ContextVar[PipelineContext | None] = contextvars.ContextVar(
    "kubeline_pipeline_context", default=None
)


@contextmanager
def pipeline_context(ctx: PipelineContext) -> Iterator[PipelineContext]:
    """Make ``ctx`` the pipeline context while the block runs (the compiler's tracing)."""
    token = _PIPELINE_CONTEXT.set(ctx)
    try:
        yield ctx
    finally:
        _PIPELINE_CONTEXT.reset(token)


def current_pipeline_context() -> PipelineContext | None:
    return _PIPELINE_CONTEXT.get()


def get_pipeline_context() -> PipelineContext:
    """The pipeline being compiled (``.name``, ``.model``, ``.parameters``); raises elsewhere."""
    ctx = current_pipeline_context()
    if ctx is None:
        raise KubelineError(
            "get_pipeline_context() works only inside a @pipeline function while it is compiled"
        )
    return ctx


def log_metadata(metadata: dict[str, Any], step_id: str | None = None,
                 step_name: str | None = None, run_id_name_or_prefix: str | None = None,
                 artifact_version_id: str | None = None, artifact_name: str | None = None,
                 artifact_version: str | None = None, infer_artifact: bool = False,
                 model_version_id: str | None = None, model_name: str | None = None,
                 model_version: str | None = None, infer_model: bool = False) -> None:
    """Attach ``metadata`` (JSON values by key) to the running step, its run, an output or
    the run's model version; read it back as ``x.run_metadata[key].value``.

    Inside a step: no target -> this step run (the run shows it as ``<step>::<key>``);
    ``infer_artifact=True`` and/or ``artifact_name=`` -> that output's artifact version
    (the only output if unnamed); ``infer_model=True`` (or this run's ``model_name`` /
    ``model_version``) -> the model version; ``run_id_name_or_prefix`` naming this run ->
    the run. Targets outside the running step, and calls outside a step, raise.
    """
    ctx = _STEP_CONTEXT.get()
    if ctx is None:
        raise KubelineError(
            "log_metadata() works only inside a running step in Kubeline (attaching metadata "
            "to finished runs, steps, artifacts or models afterwards is not supported)")
    if artifact_version_id or artifact_version:
        raise KubelineError(
            "log_metadata: inside a step, metadata goes to this step's own outputs "
            "(artifact_name= or infer_artifact=True); existing artifact versions "
            "(artifact_version=, artifact_version_id=) cannot be changed")
    if model_version_id:
        raise KubelineError("log_metadata: inside a step use infer_model=True for the run's "
                            "model version; model_version_id= is not supported")
    if infer_model or model_name is not None or model_version is not None:
        _check_own_model(ctx, model_name, model_version)
        ctx.add_model_metadata(metadata)
        return
    if infer_artifact or artifact_name is not None:
        ctx.add_output_metadata(metadata, artifact_name)
        return
    if step_id is not None and step_id != f"{ctx.pipeline_run.id}/{ctx.step_name}":
        raise KubelineError(f"log_metadata: inside step '{ctx.step_name}' metadata can only "
                            f"go to this step (step_id {step_id!r} is another step run)")
    if run_id_name_or_prefix is not None and run_id_name_or_prefix not in (
            ctx.pipeline_run.name, ctx.pipeline_run.id):
        raise KubelineError(
            "log_metadata: inside a step only the current run "
            f"({ctx.pipeline_run.name}) can be given")
    if step_name is not None and step_name != ctx.step_name:
        raise KubelineError(
            f"log_metadata: inside step '{ctx.step_name}' metadata can only go to this step")
    if run_id_name_or_prefix is not None and step_name is None and step_id is None:
        ctx.add_run_metadata(metadata)
        return
    ctx.add_step_metadata(metadata)


def _check_own_model(ctx: StepContext, name: str | None, version: str | None) -> None:
    model = ctx.model
    if model is None:
        return  # add_model_metadata names the missing model
    if name is not None and name != model.name:
        raise KubelineError(f"log_metadata: step '{ctx.step_name}' belongs to model "
                            f"{model.name!r}, not {name!r}: only its model version can be given")
    if version is not None and str(version) not in (str(model.version_ref), str(model.number)):
        raise KubelineError(f"log_metadata: step '{ctx.step_name}' runs with model version "
                            f"{model.version_ref!r} of {model.name!r}, not {version!r}")


def bulk_log_metadata(metadata: dict[str, Any], pipeline_runs: list[Any] | None = None,
                      step_runs: list[Any] | None = None,
                      artifact_versions: list[Any] | None = None,
                      model_versions: list[Any] | None = None, infer_models: bool = False,
                      infer_artifacts: bool = False) -> None:
    """ZenML's ``bulk_log_metadata``: the same metadata to several targets at once.

    Inside a step the targets are what :func:`log_metadata` reaches: this run
    (``pipeline_runs`` naming it), this step (``step_runs`` naming it by name or id),
    every output of this step (``infer_artifacts``) and the run's model version
    (``infer_models``). Other targets, and calls outside a step, raise as log_metadata does.
    """
    if not any((pipeline_runs, step_runs, artifact_versions, model_versions, infer_models,
                infer_artifacts)):
        raise KubelineError("bulk_log_metadata: give at least one target (pipeline_runs=, "
                            "step_runs=, infer_artifacts=True, infer_models=True)")
    ctx = _STEP_CONTEXT.get()
    if ctx is None:
        log_metadata(metadata)  # raises: outside a step
        return
    if artifact_versions or model_versions:
        raise KubelineError(
            "bulk_log_metadata: inside a step metadata goes to this step's outputs "
            "(infer_artifacts=True) and its run's model version (infer_models=True); existing "
            "artifact or model versions cannot be changed")
    for run in pipeline_runs or []:
        key = getattr(run, "value", None) or getattr(run, "id", None) or run
        log_metadata(metadata, run_id_name_or_prefix=str(key))
    for step_run in step_runs or []:
        step_id = getattr(step_run, "id", None)
        owner = getattr(step_run, "run", None)
        if owner is not None:  # StepRunIdentifier(name=..., run=...): the run must be this one
            log_metadata({}, run_id_name_or_prefix=str(getattr(owner, "value", owner)))
        if step_id and "/" in str(step_id):
            log_metadata(metadata, step_id=str(step_id))
        else:
            log_metadata(metadata, step_name=str(getattr(step_run, "name", step_run)))
    if infer_artifacts:
        for name in ctx.output_names:
            log_metadata(metadata, artifact_name=name)
    if infer_models:
        log_metadata(metadata, infer_model=True)
