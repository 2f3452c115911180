"""ZenML's "Steps & Pipelines" and "Advanced Features" examples run on the local cluster with
only their imports changed (examples/zenml_docs/steps_pipelines.py), each checked for the
effect the page describes."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from step_rbac import chart_step_rbac

pytestmark = pytest.mark.e2e

DOCS = Path(__file__).resolve().parents[2] / "examples" / "zenml_docs"


@pytest.fixture
def docs(step_namespace: str, operator: Any, cluster: Any,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    chart_step_rbac(cluster, step_namespace)  # the fan-in step reads its run
    monkeypatch.setenv("KUBELINE_NAMESPACE", step_namespace)
    monkeypatch.syspath_prepend(str(DOCS))
    sys.modules.pop("steps_pipelines", None)
    yield importlib.import_module("steps_pipelines")
    sys.modules.pop("steps_pipelines", None)


def test_steps_and_pipelines_page(docs: ModuleType) -> None:
    run = docs.simple_ml_pipeline()
    assert run.status == "completed"
    assert "Training with learning rate: 0.01 for 10 epochs" in run.steps["train_model"].logs()
    assert run.steps["load_data"].output.load()["labels"] == [0, 1, 0]

    math = docs.math_pipeline()
    assert math.steps["square_root"].output.load() == 4.0
    divide = math.steps["divide"]
    assert (divide.outputs["quotient"].load(), divide.outputs["remainder"].load()) == (3, 1)
    # A step called outside a pipeline runs as a one-step pipeline and returns its output.
    assert docs.square_root(number=9) == 3.0


def test_advanced_features_page(docs: ModuleType) -> None:
    ids = docs.example_pipeline()
    assert list(ids.steps) == ["my_step", "my_step_2", "my_custom_invocation_id"]

    ordered = docs.ordered_pipeline()
    c = ordered.steps["step_c"]
    assert c.start_time >= max(ordered.steps["step_a"].end_time, ordered.steps["step_b"].end_time)
    assert ordered.steps["step_d"].start_time >= c.end_time

    fan = docs.fan_out_fan_in_pipeline(parallel_count=3)
    combined = fan.steps["combine_step"].logs()
    for i in range(3):
        assert f"process_{i}: Hello from ZenML!" in combined, combined

    composed = docs.composed_training_pipeline()
    assert composed.steps["evaluate_model"].output.load() == 30.0  # 40+50 - (10+20+30)

    hooked = docs.hooks_pipeline()
    assert "Step completed successfully" in hooked.steps["hooked_step"].logs()
    assert "Step completed successfully" in hooked.steps["unreliable_step"].logs()

    from kubeline.errors import RunFailedError

    with pytest.raises(RunFailedError, match="My exception") as failed:
        docs.failing_pipeline()
    logs = failed.value.run.steps["failing_step"].logs()
    assert "Failed step: failing_step" in logs and "Parameters: {'some_parameter': 1}" in logs
    assert "Exception: ValueError: My exception" in logs

    named = docs.math_pipeline.with_options(
        run_name="custom_pipeline_run_name_{experiment_name}_{date}_{time}",
        substitutions={"experiment_name": "docs"}, enable_cache=False)()
    assert named.config.run_name.startswith("custom_pipeline_run_name_docs_")
    from kubeline.client import Client

    assert Client().get_pipeline_run(named.config.run_name).id == named.id

    background = docs.math_pipeline.with_options(
        settings={"orchestrator": {"synchronous": False}}, enable_cache=False)()
    assert background.status in ("initialized", "running")
    assert background.wait(timeout=300, show_progress=False).status == "completed"


def test_dynamic_fan_out_fan_in_with_snapshots(cluster: Any, step_namespace: str, operator: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's snapshot-driven fan-out: a step triggers one run per chunk and waits."""
    chart_step_rbac(cluster, step_namespace, "steps.allowTriggeringRuns=true")
    monkeypatch.setenv("KUBELINE_NAMESPACE", step_namespace)
    monkeypatch.syspath_prepend(str(DOCS))
    sys.modules.pop("dynamic_fan_out", None)
    example = importlib.import_module("dynamic_fan_out")
    snapshot = example.chunk_processing_pipeline.create_snapshot(
        name="chunk_processing", description="Snapshot for processing individual chunks")
    assert snapshot.description == "Snapshot for processing individual chunks"
    run = example.fan_out_fan_in_pipeline(snapshot_id=snapshot.id)
    result = run.steps["aggregate_results"].output.load()
    assert result["summary"] == {"total_runs": 4, "successful_runs": 4, "failed_runs": 0}
    chunks = sorted(r["chunk_id"] for r in result["successful_results"].values())
    assert chunks == ["chunk_1", "chunk_2", "chunk_3", "chunk_4"]
    assert len(run.triggered_runs) == 4
    assert {r.snapshot_name for r in run.triggered_runs} == {snapshot.object_name}
    sys.modules.pop("dynamic_fan_out", None)
