"""The run-configuration rule (pure): what the compiler, trigger_pipeline and the operator
all refuse, and the parameters a snapshot step offers."""

from __future__ import annotations

import pytest
from kubeline.resources.models import (
    ArtifactRef,
    RunConfiguration,
    StepInput,
    StepRunConfig,
    StepSpec,
)
from kubeline.resources.run_config import StepParameters, parameter_problem, run_config_problems

pytestmark = pytest.mark.unit


def spec(**kw: object) -> StepSpec:
    base: dict[str, object] = {"name": "svc-trainer", "id": "svc_trainer",
                               "function": "svc_trainer", "entrypoint": "steps:svc_trainer",
                               "codeHash": "0" * 64}
    return StepSpec.model_validate({**base, **kw})


TRAINER = StepParameters.of(spec(
    parameters={"gamma": 0.1, "epochs": 3, "data": None},
    inputs=[StepInput(name="features", step="loader", output="out").to_k8s(),
            StepInput(name="labels", artifact=ArtifactRef(name="iris-labels")).to_k8s()],
    extra={"requiredParameters": ["data"], "parameterTypes": {"data": "string"}}))


def config(**params: object) -> RunConfiguration:
    return RunConfiguration(steps={"svc_trainer": StepRunConfig(parameters=dict(params))})


def test_a_snapshot_step_offers_its_defaults_and_recorded_parameters() -> None:
    assert TRAINER.types == {"gamma": "number", "epochs": "integer", "data": "string"}
    assert TRAINER.required == {"data"}
    assert TRAINER.inputs == {"features": "output 'out' of step 'loader'",
                              "labels": "artifact 'iris-labels'"}


@pytest.mark.parametrize(("name", "value", "problem"), [
    ("gamma", 0.5, None),
    ("gamma", 1, None),  # an integer is a number
    ("epochs", 2.5, "parameter 'epochs' must be of JSON type integer (like its default), got "
                    "float 2.5"),
    ("gamma", True, "parameter 'gamma' must be of JSON type number"),  # a bool is no number
    ("data", None, None),  # null: "no value" (required is checked over all configurations)
    ("C", 1.0, "step 'svc_trainer' has no parameter 'C' (its parameters: data, epochs, gamma)"),
    ("features", 1, "'features' is an input fed by output 'out' of step 'loader', not a "
                    "parameter"),
    ("gamma", object(), "parameter 'gamma' is a object, not a JSON value"),
])
def test_each_parameter_value_is_checked(name: str, value: object, problem: str | None) -> None:
    found = parameter_problem(TRAINER, name, value)
    assert (found is None) if problem is None else (problem in (found or "")), found


def test_every_problem_is_named_and_a_step_found_by_id_or_name() -> None:
    problems = run_config_problems([TRAINER], [
        RunConfiguration(steps={"nope": StepRunConfig(),
                                "svc-trainer": StepRunConfig(parameters={"C": 1})})])
    assert problems == [
        "run configuration names unknown step 'nope' (steps: svc_trainer)",
        "step 'svc_trainer' has no parameter 'C' (its parameters: data, epochs, gamma)",
        "step 'svc_trainer' needs parameter 'data' (it has no default): set "
        "steps.svc_trainer.parameters.data in the run configuration",
    ]


def test_a_required_parameter_may_come_from_any_configuration_and_null_resets_it() -> None:
    template, run = config(data=None), config(data="abc")
    assert run_config_problems([TRAINER], [template, run]) == []
    assert run_config_problems([TRAINER], [run, template])  # the later null wins: unset
    assert run_config_problems([TRAINER], [template], check_required=False) == []


def test_a_function_with_kwargs_takes_any_parameter() -> None:
    open_step = StepParameters(id="s", name="s", types={}, any_parameter=True)
    assert run_config_problems(
        [open_step], [RunConfiguration(steps={"s": StepRunConfig(parameters={"x": 1})})]) == []
