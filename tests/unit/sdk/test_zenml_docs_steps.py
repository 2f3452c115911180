"""ZenML's "Steps & Pipelines" and "Advanced Features" pages: each example compiles into the
DAG the page describes (examples/zenml_docs/steps_pipelines.py; e2e runs them on a cluster).
Examples that only define steps or options are checked here, pure."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pytest
from kubeline import pipeline, step
from kubeline.enums import ExecutionMode, StepType
from kubeline.errors import CompileError, ConfigurationError

pytestmark = pytest.mark.unit
DOCS = Path(__file__).resolve().parents[3] / "examples" / "zenml_docs"
sys.path.insert(0, str(DOCS))
import steps_pipelines as d  # noqa: E402


def _steps(p: Any, **params: Any) -> dict[str, Any]:
    return {s.id: s for s in p.compile(source_root=DOCS, **params).spec.steps}


def test_simple_pipeline_passes_the_artifact_and_keeps_parameter_defaults() -> None:
    steps = _steps(d.simple_ml_pipeline)
    assert list(steps) == ["load_data", "train_model"]
    (inp,) = steps["train_model"].inputs
    assert (inp.name, inp.step, inp.output) == ("data", "load-data", "output")
    assert steps["train_model"].parameters == {"learning_rate": 0.01, "epochs": 10}
    assert steps["train_model"].outputs == []


def test_output_names_default_and_annotated() -> None:
    steps = _steps(d.math_pipeline)
    assert [o.name for o in steps["square_root"].outputs] == ["output"]
    assert [o.name for o in steps["divide"].outputs] == ["quotient", "remainder"]
    assert steps["divide"].parameters == {"a": 7, "b": 2}


def test_invocation_ids() -> None:
    assert list(_steps(d.example_pipeline)) == ["my_step", "my_step_2",
                                                 "my_custom_invocation_id"]


def test_execution_order_with_after() -> None:
    steps = _steps(d.ordered_pipeline)
    assert set(steps["step_c"].after) == {"step-a", "step-b"}
    assert steps["step_d"].after == ["step-c"]


def test_fan_out_fan_in() -> None:
    steps = _steps(d.fan_out_fan_in_pipeline, parallel_count=3)
    assert list(steps) == ["load_step", "process_0", "process_1", "process_2", "combine_step"]
    assert set(steps["combine_step"].after) == {"process-0", "process-1", "process-2"}
    assert steps["combine_step"].parameters == {"step_prefix": "process_",
                                                "output_name": "output"}


def test_pipeline_composition_adds_the_inner_pipelines_steps() -> None:
    steps = _steps(d.composed_training_pipeline)
    assert list(steps) == ["training_data_loader_step", "preprocessing_step",
                           "train_sum_model", "test_data_loader_step", "preprocessing_step_2",
                           "evaluate_model"]
    sources = {i.name: i.step for i in steps["evaluate_model"].inputs}
    assert sources == {"model": "train-sum-model", "data": "preprocessing-step-2"}


def test_hooks_step_level_wins_over_pipeline_level_and_retry_config() -> None:
    steps = _steps(d.hooks_pipeline)
    assert steps["hooked_step"].hooks == {"on_failure": "steps_pipelines:failure_hook",
                                          "on_success": "steps_pipelines:success_hook"}
    assert steps["unreliable_step"].hooks == steps["hooked_step"].hooks  # from the pipeline
    retry = steps["unreliable_step"].retry
    assert retry is not None
    assert (retry.max_retries, retry.backoff_seconds, retry.backoff_factor) == (3, 10, 2)
    assert _steps(d.failing_pipeline)["failing_step"].hooks == {
        "on_failure": "steps_pipelines:on_failure"}


def test_run_name_with_custom_placeholder() -> None:
    p = d.math_pipeline.with_options(
        run_name="custom_pipeline_run_name_{experiment_name}_{date}_{time}",
        substitutions={"experiment_name": "docs"})
    name = p.compile(source_root=DOCS).run_config["runName"]
    assert name.startswith("custom_pipeline_run_name_docs_20")


# ----------------------------------------------------------------------------- step definitions


@step
def single_tuple() -> tuple[int, int]:
    output_value = (0, 1)
    return output_value


@step
def single_variable(condition: bool) -> tuple[int, ...]:
    if condition:  # noqa: SIM108 (as the page writes it)
        output_value = (0, 1)
    else:
        output_value = (0, 1, 2)
    return output_value


@step
def single_annotated() -> Annotated[tuple[int, ...], "my_output"]:
    return 0, 1


@step
def multiple() -> tuple[int, int]:
    return 0, 1


@step
def variable_multiple() -> tuple[int, ...]:
    return 0, 1


@step
def keyword_only(dataset_path: str, *, epochs: int = 10) -> None:
    ...


@pytest.mark.parametrize(("fn", "names"), [
    (single_tuple, ["output"]), (single_variable, ["output"]),
    (single_annotated, ["my_output"]), (multiple, ["output_0", "output_1"]),
])
def test_tuple_vs_multiple_outputs(fn: Any, names: list[str]) -> None:
    from kubeline.signature import parse_outputs

    assert [o.name for o in parse_outputs(fn.entrypoint, fn.name)] == names


def test_variable_length_tuple_cannot_be_several_outputs() -> None:
    from kubeline.signature import parse_outputs

    with pytest.raises(CompileError, match="variable-length"):
        parse_outputs(variable_multiple.entrypoint, "variable_multiple")


def test_keyword_only_arguments_are_inputs() -> None:
    @pipeline
    def p() -> None:
        keyword_only(dataset_path="s3://x", epochs=3)

    (s,) = p.compile(source_root=Path(__file__).parent).spec.steps
    assert s.parameters == {"dataset_path": "s3://x", "epochs": 3}


def test_step_type_is_a_label_on_the_step() -> None:
    @step(step_type=StepType.LLM_CALL)
    def summarize_prompt(prompt: str) -> str:
        ...

    assert summarize_prompt.options.extra == {"stepType": "llm_call"}
    with pytest.raises(ConfigurationError, match="step_type"):
        step(step_type="agent")(lambda: None)


def test_caching_switches_and_configure() -> None:
    @step(enable_cache=False)
    def non_cached_step() -> None:
        pass

    @pipeline(enable_cache=False)
    def my_pipeline() -> None:
        non_cached_step()

    assert non_cached_step.enable_cache is False and my_pipeline.enable_cache is False
    d.my_step.configure(enable_cache=False)
    d.example_pipeline.configure(enable_cache=False)
    assert d.my_step.enable_cache is False and d.example_pipeline.enable_cache is False
    d.my_step.configure(enable_cache=None)
    d.example_pipeline.configure(enable_cache=None)


def test_asynchronous_execution_setting() -> None:
    @pipeline(settings={"orchestrator": {"synchronous": False}})
    def my_pipeline() -> None:
        d.my_step()

    assert my_pipeline.options.synchronous is False


def test_execution_modes_fail_fast_only_and_heartbeat_options() -> None:
    with pytest.raises(ConfigurationError, match="runs fail_fast"):
        @pipeline(execution_mode=ExecutionMode.CONTINUE_ON_FAILURE)
        def my_pipeline() -> None:
            ...
    ok = d.example_pipeline.with_options(execution_mode=ExecutionMode.FAIL_FAST)
    assert ok.name == "example_pipeline"
    with pytest.raises(ConfigurationError, match="runs fail_fast"):
        d.example_pipeline.with_options(execution_mode=ExecutionMode.STOP_ON_FAILURE)
    pipeline(enable_heartbeat=False)(lambda: None)
    with pytest.raises(ConfigurationError, match="heartbeat"):
        step(heartbeat_healthy_threshold=30)(lambda: None)


def test_alerter_hooks_and_stack_alerter_are_refused() -> None:
    from kubeline.client import Client
    from kubeline.hooks import alerter_failure_hook, alerter_success_hook

    with pytest.raises(ConfigurationError, match="no alerter"):
        step(on_failure=alerter_failure_hook, on_success=alerter_success_hook)(lambda: None)
    with pytest.raises(ConfigurationError, match="the stack has no alerter"):
        _ = Client().active_stack.alerter


def test_tuple_of_outputs_into_one_argument_is_refused_clearly() -> None:
    """The page's end-to-end example passes get_data()'s two outputs as one argument."""
    @step
    def get_data() -> tuple[np.ndarray, np.ndarray]:
        X = np.array([[1, 2], [3, 4]])
        y = np.array([0, 1])
        return X, y

    @step
    def take(data: tuple[np.ndarray, np.ndarray]) -> None:
        ...

    @pipeline
    def simple_example_pipeline() -> None:
        raw_data = get_data()
        take(raw_data)

    with pytest.raises(CompileError, match="list of step outputs"):
        simple_example_pipeline.compile(source_root=Path(__file__).parent)
