"""Steps written as ZenML's docs write them (imports changed), for the unit tests."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from kubeline import ArtifactConfig, add_tags, get_step_context, pipeline, save_artifact, step
from kubeline.enums import ArtifactType

EVENTS: list[tuple[str, str]] = []


def on_failure(exception: BaseException) -> None:
    EVENTS.append(("failure", f"{get_step_context().step_run.name}: {exception}"))


def on_success() -> None:
    EVENTS.append(("success", get_step_context().step_run.name))


def broken_hook() -> None:
    raise RuntimeError("the hook itself is broken")


@step(on_failure=on_failure, on_success=on_success)
def hooked(fail: bool = False) -> int:
    if fail:
        raise ValueError("My exception")
    return 1


@step(on_success=broken_hook)
def hook_raises() -> int:
    return 2


@step
def tagged() -> Annotated[
    int, ArtifactConfig(name="my_output", tags=["my_tag"], run_metadata={"source": "docs"},
                        artifact_type=ArtifactType.MODEL)]:
    add_tags(tags=["run_tag"])
    add_tags(tags=["inferred"], infer_artifact=True)
    get_step_context().add_output_tags(["by_context"])
    save_artifact([1, 2, 3], name="side_data", tags=["manual"])
    return 7


@step
def introspect(x: int, lr: float = 0.1) -> dict:
    ctx = get_step_context()
    return {"input_uri": ctx.inputs["x"].uri, "step_run_id": ctx.step_run.id,
            "config_parameters": ctx.step_run.config.parameters,
            "extra": ctx.step_run.config.extra}


@step(extra={"owner": "ml"})
def producer() -> int:
    return 3


@pipeline(extra={"team": "vision"})
def introspection_pipeline() -> None:
    introspect(producer(), lr=0.5)


@pipeline(on_failure=on_failure)
def hooked_pipeline() -> None:
    hooked(fail=True)


@pipeline
def tagging_pipeline() -> None:
    tagged()
    hook_raises()


@step(enable_artifact_metadata=False, enable_artifact_visualization=False)
def bare_frame() -> pd.DataFrame:
    return pd.DataFrame({"a": [1, 2]})


@pipeline
def bare_pipeline() -> None:
    bare_frame()
