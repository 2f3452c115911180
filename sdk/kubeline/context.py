"""Step and pipeline context: ``get_step_context()``, ``get_pipeline_context()``, ``log_metadata``.

Inside a step Pod the runtime sets a :class:`StepContext`; metadata logged
with :func:`log_metadata` is collected there and written to the outputs
manifest (``stepMetadata``, ``runMetadata`` and each output's ``metadata``).
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import Any

from kubeline.errors import KubelineError

_STEP_CONTEXT: contextvars.ContextVar[StepContext | None] = contextvars.ContextVar(
    "kubeline_step_context", default=None
)


class RunInfo:
    """The current pipeline run: ``.name`` and ``.id`` without I/O; other attributes load
    the Client's run view (needs API access from the step's ServiceAccount)."""

    def __init__(self, name: str, id: str, pipeline: str, namespace: str) -> None:
        self.name = name
        self.id = id
        self.pipeline_name = pipeline
        self.namespace = namespace
        self._view: Any = None

    def __getattr__(self, item: str) -> Any:
        if item.startswith("_"):
            raise AttributeError(item)
        if self._view is None:
            from kubeline.client import Client

            self._view = Client(namespace=self.namespace).get_pipeline_run(self.name)
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
    """What a running step can know about itself."""

    pipeline_run: RunInfo
    step_run: StepRunInfo
    model: Any = None
    output_names: list[str] = field(default_factory=list)
    step_metadata: dict[str, Any] = field(default_factory=dict)
    run_metadata: dict[str, Any] = field(default_factory=dict)
    output_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    output_tags: dict[str, list[str]] = field(default_factory=dict)
    run_tags: list[str] = field(default_factory=list)
    manual_artifacts: list[dict[str, Any]] = field(default_factory=list)
    artifact_store: Any = None  # the store the runtime saves outputs to
    inputs: dict[str, Any] = field(default_factory=dict)
    model_metadata: dict[str, Any] = field(default_factory=dict)
    outputs_uri: str | None = None

    @property
    def step_name(self) -> str:
        return self.step_run.name

    @property
    def pipeline(self) -> Any:
        return self.pipeline_run.pipeline

    def add_output_metadata(self, metadata: dict[str, Any], output_name: str | None = None) -> None:
        name = output_name or self._single_output("add_output_metadata")
        self.output_metadata.setdefault(name, {}).update(metadata)

    def add_output_tags(self, tags: list[str], output_name: str | None = None) -> None:
        """Tag an output of this step (its artifact version, once saved)."""
        name = output_name or self._single_output("add_output_tags")
        if name not in self.output_names:
            raise KubelineError(
                f"add_output_tags: step '{self.step_name}' has no output '{name}' "
                f"(outputs: {', '.join(self.output_names) or 'none'})")
        bucket = self.output_tags.setdefault(name, [])
        bucket.extend(t for t in tags if t not in bucket)

    def remove_output_tags(self, tags: list[str], output_name: str | None = None) -> None:
        name = output_name or self._single_output("remove_output_tags")
        self.output_tags[name] = [t for t in self.output_tags.get(name, []) if t not in tags]

    def _single_output(self, what: str) -> str:
        if len(self.output_names) != 1:
            raise KubelineError(
                f"{what}: step '{self.step_name}' has {len(self.output_names)} outputs "
                f"({', '.join(self.output_names) or 'none'}); name one with artifact_name="
            )
        return self.output_names[0]


def get_step_context() -> StepContext:
    """The running step's context; raises outside a step."""
    ctx = _STEP_CONTEXT.get()
    if ctx is None:
        raise KubelineError(
            "get_step_context() works only while a step runs (inside its Pod), not when the "
            "function is called directly or while the pipeline is compiled"
        )
    return ctx


def set_step_context(ctx: StepContext | None) -> contextvars.Token[StepContext | None]:
    return _STEP_CONTEXT.set(ctx)


def reset_step_context(token: contextvars.Token[StepContext | None]) -> None:
    _STEP_CONTEXT.reset(token)


def get_pipeline_context() -> Any:
    """The pipeline being compiled (``.name``, ``.model``, ``.parameters``); raises elsewhere."""
    from kubeline.compiler import current_pipeline_context

    ctx = current_pipeline_context()
    if ctx is None:
        raise KubelineError(
            "get_pipeline_context() works only inside a @pipeline function while it is compiled"
        )
    return ctx


def log_metadata(metadata: dict[str, Any], step_name: str | None = None,
                 run_id_name_or_prefix: str | None = None, artifact_name: str | None = None,
                 infer_artifact: bool = False, infer_model: bool = False,
                 artifact_version: str | None = None, model_name: str | None = None,
                 model_version: str | None = None) -> None:
    """Attach ``metadata`` to the running step, its run, or one of its outputs.

    In a step: no target -> the step; ``infer_artifact=True`` -> the step's only
    output; ``artifact_name=`` -> that output of this step; ``run_id_name_or_prefix``
    naming the current run -> the run. Values must be JSON.
    """
    import json

    try:
        json.dumps(metadata)
    except (TypeError, ValueError) as exc:
        raise KubelineError(f"log_metadata: metadata must be JSON-serializable ({exc})") from None
    ctx = _STEP_CONTEXT.get()
    if ctx is None:
        raise KubelineError(
            "log_metadata() outside a running step is not supported yet: call it inside a step"
        )
    if infer_model or model_name or model_version:
        model = ctx.model
        if model is None:
            raise KubelineError(
                "log_metadata(infer_model=True): the pipeline has no model; configure one with "
                "@pipeline(model=Model(name=...))")
        if (model_name not in (None, model.name)
                or model_version not in (None, model.version, str(model.number))):
            raise KubelineError(
                f"log_metadata: inside a step metadata can only go to the run's model version "
                f"({model.name} version {model.version}), not {model_name}:{model_version}")
        ctx.model_metadata.update(metadata)
        return
    if infer_artifact or artifact_name:
        if artifact_version:
            raise KubelineError("log_metadata: artifact_version is not supported inside a step")
        name = artifact_name
        if name is not None and name not in ctx.output_names:
            raise KubelineError(
                f"log_metadata: step '{ctx.step_name}' has no output '{name}' "
                f"(outputs: {', '.join(ctx.output_names) or 'none'})"
            )
        ctx.add_output_metadata(metadata, name)
        return
    if run_id_name_or_prefix is not None and step_name is None:
        if run_id_name_or_prefix not in (ctx.pipeline_run.name, ctx.pipeline_run.id):
            raise KubelineError(
                "log_metadata: inside a step only the current run "
                f"({ctx.pipeline_run.name}) can be given"
            )
        ctx.run_metadata.update(metadata)
        return
    if step_name is not None and step_name != ctx.step_name:
        raise KubelineError(
            f"log_metadata: inside step '{ctx.step_name}' metadata can only go to this step"
        )
    ctx.step_metadata.update(metadata)
