"""A step called outside a pipeline runs as a one-step pipeline (ZenML's behaviour).

JSON arguments become the step's parameters; any other value is saved as an artifact
first (``ExternalArtifact``) and handed over as an input. The run is synchronous; the
call returns the loaded output (a tuple for several outputs, None for none) and raises
``RunFailedError`` when the step fails.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kubeline.steps import Step

#: The pipeline that runs a single step call is named after the step.
SINGLE_STEP_PREFIX = "single_step_"


def _as_input(value: Any) -> Any:
    from kubeline.artifacts.external_artifact import ExternalArtifact
    from kubeline.compiler import OutputRef, is_json

    if is_json(value) or isinstance(value, (OutputRef, ExternalArtifact)) or callable(
            getattr(value, "to_artifact_ref", None)):
        return value
    return ExternalArtifact(value=value)


def single_step_pipeline(step: Step, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The one-step Pipeline for ``step(*args, **kwargs)`` (not yet run)."""
    from kubeline.pipelines import Pipeline, PipelineOptions

    call_args = tuple(_as_input(a) for a in args)
    call_kwargs = {k: _as_input(v) for k, v in kwargs.items()}

    def run_step() -> None:
        step(*call_args, **call_kwargs)

    run_step.__name__ = run_step.__qualname__ = f"{SINGLE_STEP_PREFIX}{step.name}"
    run_step.__doc__ = f"Single run of step {step.name}."
    pipeline = Pipeline(run_step, PipelineOptions(name=run_step.__name__))
    pipeline.source_function = step.entrypoint  # the code to ship is the step's
    return pipeline


def run_single_step(step: Step, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Run ``step`` alone on the cluster; returns its output values."""
    run = single_step_pipeline(step, args, kwargs)()
    view = run.steps[step.name]
    values = [view.outputs[name].load() for name in view.output_names]
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)
