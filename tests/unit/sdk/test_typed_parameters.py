"""Typed parameters: the snapshot records each parameter's type from its annotation, and the
one run-configuration rule (kubeline.resources.run_config) refuses a value of the wrong type
or a missing required one, naming step, parameter, expected type and value: in the pipeline
code, in the pipeline's options, and in trigger_pipeline (the operator: test_planner)."""

from __future__ import annotations

import datetime
import enum
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

import pytest
from kubeline import pipeline, step
from kubeline.errors import CompileError, ConfigurationError, InvalidRunConfiguration
from kubeline.signature import annotation_json_type

pytestmark = pytest.mark.unit
HERE = Path(__file__).parent


class Color(enum.StrEnum):
    RED = "red"


@dataclass
class Config:
    lr: float


@pytest.mark.parametrize(("tp", "expected"), [
    (int, "integer"), (float, "number"), (str, "string"), (bool, "boolean"),
    (list, "array"), (list[int], "array"), (tuple[int, ...], "array"), (dict, "object"),
    (dict[str, int], "object"), (Optional[int], "integer"), (int | None, "integer"),  # noqa: UP045
    (Union[int, float], "number"), (Union[int, str], None), (Any, None),  # noqa: UP007
    (Annotated[int, "x"], "integer"), (Literal["a", "b"], "string"), (uuid.UUID, "string"),
    (datetime.datetime, "string"), (Path, "string"), (Color, "string"), (Config, "object"),
    (object, None),
])
def test_annotation_json_types(tp: Any, expected: str | None) -> None:
    assert annotation_json_type(tp) == expected


@step
def resize(size: int, label: str = "x", ratio: float = 1.0) -> int:
    return size


@pipeline
def resize_pipeline(size: int = 3) -> None:
    resize(size=size)


def test_the_snapshot_records_every_parameters_type() -> None:
    (spec,) = resize_pipeline.compile(source_root=HERE).spec.steps
    assert spec.extra["parameterTypes"] == {"size": "integer", "label": "string",
                                            "ratio": "number"}
    assert spec.extra["parameterAnnotations"] == {"size": "int", "label": "str",
                                                  "ratio": "float"}


def test_a_wrong_type_in_the_pipeline_code_is_refused_naming_everything() -> None:
    with pytest.raises(InvalidRunConfiguration) as info:
        resize_pipeline.compile("three", source_root=HERE)
    assert str(info.value) == (
        "pipeline 'resize_pipeline': step 'resize': parameter 'size' must be of type int "
        "(JSON integer), got str 'three'")
    assert isinstance(info.value, CompileError) and isinstance(info.value, ConfigurationError)
    resize_pipeline.compile(7, source_root=HERE)  # the right type compiles
    resize_pipeline.with_options(steps={"resize": {"parameters": {"ratio": 2}}}).compile(
        source_root=HERE)  # an int is a number


def test_a_wrong_type_in_the_pipeline_options_is_refused() -> None:
    bad = resize_pipeline.with_options(steps={"resize": {"parameters": {"label": 5}}})
    with pytest.raises(InvalidRunConfiguration, match=r"parameter 'label' must be of type str "
                                                      r"\(JSON string\), got int 5"):
        bad.compile(source_root=HERE)


def test_trigger_refuses_a_wrong_type_and_a_missing_required_value() -> None:
    from kubeline.client.trigger import check_run_configuration

    compiled = resize_pipeline.compile(source_root=HERE, allow_unset_parameters=True)
    snapshot = {"metadata": {"name": "snap"}, "spec": compiled.spec.to_k8s()}
    check_run_configuration({"steps": {"resize": {"parameters": {"size": 4}}}}, snapshot)
    with pytest.raises(InvalidRunConfiguration, match=r"step 'resize': parameter 'size' must be "
                                                      r"of type int \(JSON integer\), got str"):
        check_run_configuration({"steps": {"resize": {"parameters": {"size": "three"}}}},
                                snapshot)


# ----------------------------------------------------------------------------- enable_cache


@step(enable_cache=True)
def always_cached() -> int:
    return 1


@step
def default_cached() -> int:
    return 2


@step(enable_cache=False)
def never_cached() -> int:
    return 3


@pipeline(enable_cache=False)
def cache_off_pipeline() -> None:
    always_cached()
    default_cached()
    never_cached()


def test_enable_cache_precedence_is_zenmls() -> None:
    """ZenML: a step's own setting wins over the pipeline's; unset, the pipeline's applies; a
    run configuration's step-level setting decides outright."""
    from kubeline.resources.models import RunConfiguration, StepRunConfig
    from kubeline.resources.run_config import effective_enable_cache

    spec = cache_off_pipeline.compile(source_root=HERE).spec
    steps = {s.id: s for s in spec.steps}

    def decided(run: RunConfiguration) -> dict[str, bool]:
        return {sid: effective_enable_cache(s, spec, run) for sid, s in steps.items()}

    assert decided(RunConfiguration()) == {"always_cached": True, "default_cached": False,
                                           "never_cached": False}
    on = cache_off_pipeline.with_options(enable_cache=True).compile(source_root=HERE).spec
    assert {s.id: effective_enable_cache(s, on, RunConfiguration()) for s in on.steps} == {
        "always_cached": True, "default_cached": True, "never_cached": False}
    run = RunConfiguration(steps={"never_cached": StepRunConfig(enable_cache=True)})
    assert decided(run)["never_cached"] is True
