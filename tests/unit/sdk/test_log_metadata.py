"""log_metadata / StepContext metadata inside a step: where each call lands, and its errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubeline import get_step_context, log_metadata
from kubeline.context import (
    RunInfo,
    StepContext,
    StepRunInfo,
    reset_step_context,
    set_step_context,
)
from kubeline.errors import KubelineError
from kubeline.model import Model
from kubeline.resources.manifest import MAX_METADATA_BYTES, MetadataLimitError

pytestmark = pytest.mark.unit


def _context(outputs: list[str], model: Model | None = None) -> StepContext:
    return StepContext(
        pipeline_run=RunInfo("train-r1", "uid-r1", "training", "ml"),
        step_run=StepRunInfo("trainer", "trainer", 1, {}),
        model=model, output_names=outputs,
        artifact_names={"model": "sklearn_classifier"} if "model" in outputs else {},
    )


@pytest.fixture
def one_output() -> Iterator[StepContext]:
    ctx = _context(["model"], Model(name="iris", version="v3", number=3))
    token = set_step_context(ctx)
    yield ctx
    reset_step_context(token)


@pytest.fixture
def two_outputs() -> Iterator[StepContext]:
    ctx = _context(["train", "test"])
    token = set_step_context(ctx)
    yield ctx
    reset_step_context(token)


def test_each_target(one_output: StepContext) -> None:
    log_metadata({"accuracy": 0.93})
    log_metadata({"rows": 150}, step_name="trainer", run_id_name_or_prefix="train-r1")
    log_metadata({"git": "abc"}, run_id_name_or_prefix="uid-r1")
    log_metadata({"shape": [3, 2]}, infer_artifact=True)
    log_metadata({"by_artifact_name": True}, artifact_name="sklearn_classifier")
    log_metadata({"f1": 0.9}, infer_model=True)
    log_metadata({"auc": 0.8}, model_name="iris", model_version="3")
    get_step_context().add_output_metadata({"note": "ok"})
    assert one_output.step_metadata == {"accuracy": 0.93, "rows": 150}
    assert one_output.run_metadata == {"git": "abc"}
    assert one_output.output_metadata == {
        "model": {"shape": [3, 2], "by_artifact_name": True, "note": "ok"}}
    assert one_output.model_metadata == {"f1": 0.9, "auc": 0.8}
    assert get_step_context().get_output_metadata() == one_output.output_metadata["model"]


def test_output_must_be_named_when_there_are_several(two_outputs: StepContext) -> None:
    with pytest.raises(KubelineError, match="has 2 outputs"):
        log_metadata({"x": 1}, infer_artifact=True)
    log_metadata({"x": 1}, artifact_name="test", infer_artifact=True)
    assert two_outputs.output_metadata == {"test": {"x": 1}}
    with pytest.raises(KubelineError, match="no output 'valid'"):
        get_step_context().add_output_metadata({"x": 1}, output_name="valid")


def test_other_targets_are_refused_inside_a_step(one_output: StepContext) -> None:
    with pytest.raises(KubelineError, match="only the current run"):
        log_metadata({"x": 1}, run_id_name_or_prefix="another-run")
    with pytest.raises(KubelineError, match="can only go to this step"):
        log_metadata({"x": 1}, step_name="evaluator", run_id_name_or_prefix="train-r1")
    with pytest.raises(KubelineError, match="cannot be changed"):
        log_metadata({"x": 1}, artifact_name="model", artifact_version="2")
    with pytest.raises(KubelineError, match="not 'wine'"):
        log_metadata({"x": 1}, model_name="wine")
    with pytest.raises(KubelineError, match="not '7'"):
        log_metadata({"x": 1}, infer_model=True, model_version="7")
    assert one_output.step_metadata == {} and one_output.model_metadata == {}


def test_infer_model_without_a_model(two_outputs: StepContext) -> None:
    with pytest.raises(KubelineError, match="has no model"):
        log_metadata({"x": 1}, infer_model=True)


def test_limits_have_clear_errors_and_lose_nothing_logged_before(one_output: StepContext) -> None:
    log_metadata({"kept": 1})
    with pytest.raises(MetadataLimitError, match="JSON-serializable"):
        log_metadata({"bad": object()})
    with pytest.raises(MetadataLimitError, match=r"66 keys; at most 64"):
        log_metadata({f"k{i}": i for i in range(65)})
    with pytest.raises(MetadataLimitError, match=rf"at most {MAX_METADATA_BYTES} are stored"):
        log_metadata({"big": "x" * MAX_METADATA_BYTES})
    with pytest.raises(MetadataLimitError, match="output 'model'"):
        log_metadata({"big": "x" * MAX_METADATA_BYTES}, infer_artifact=True)
    assert one_output.step_metadata == {"kept": 1}


def test_outside_a_step_says_so() -> None:
    with pytest.raises(KubelineError, match="only inside a running step"):
        log_metadata({"accuracy": 0.93})


def test_bulk_log_metadata_reaches_every_target_in_one_call() -> None:
    from kubeline import bulk_log_metadata

    ctx = _context(["model", "metrics"], Model(name="iris", version="v3", number=3))
    token = set_step_context(ctx)
    try:
        bulk_log_metadata({"accuracy": 0.9}, pipeline_runs=["train-r1"],
                          step_runs=[ctx.step_run], infer_artifacts=True)
        assert ctx.run_metadata["accuracy"] == 0.9
        assert ctx.step_metadata["accuracy"] == 0.9
        assert ctx.output_metadata["model"]["accuracy"] == 0.9
        assert ctx.output_metadata["metrics"]["accuracy"] == 0.9
        with pytest.raises(KubelineError, match="at least one target"):
            bulk_log_metadata({"a": 1})
        with pytest.raises(KubelineError, match="cannot be changed"):
            bulk_log_metadata({"a": 1}, artifact_versions=["some-id"])
        with pytest.raises(KubelineError, match="only the current run"):
            bulk_log_metadata({"a": 1}, pipeline_runs=["another-run"])
    finally:
        reset_step_context(token)
    with pytest.raises(KubelineError, match="only inside a running step"):
        bulk_log_metadata({"a": 1}, pipeline_runs=["train-r1"])


def test_step_context_output_helpers_and_errors_as_zenmls(tmp_path) -> None:
    from kubeline.artifact_store import ArtifactStore
    from kubeline.errors import StepContextError
    from kubeline.models import PipelineRunIdentifier, StepRunIdentifier

    with pytest.raises(RuntimeError, match="only while a step runs"):
        get_step_context()  # ZenML raises RuntimeError
    ctx = _context(["model", "metrics"])
    ctx.outputs_uri = "s3://b/artifacts/ml/p/r/trainer/1"
    ctx.output_materializers = {"model": "kubeline.materializers.builtin.BuiltInMaterializer",
                                "metrics": "kubeline.materializers.builtin.BuiltInMaterializer"}
    ctx.artifact_store = ArtifactStore.local(str(tmp_path))
    token = set_step_context(ctx)
    try:
        assert ctx.get_output_artifact_uri("metrics") == ctx.outputs_uri + "/metrics"
        mat = ctx.get_output_materializer("model")
        assert type(mat).__name__ == "BuiltInMaterializer" and mat.uri.endswith("/model")
        ctx.add_output_tags(["t1", "t1"], output_name="model")
        assert ctx.get_output_tags("model") == ["t1"]
        with pytest.raises(StepContextError, match="has 2 outputs"):
            ctx.get_output_tags()
        with pytest.raises(StepContextError, match="no output 'nope'"):
            ctx.add_output_metadata({"a": 1}, output_name="nope")
        from kubeline import bulk_log_metadata

        bulk_log_metadata({"v": "3.11"},
                          pipeline_runs=[PipelineRunIdentifier(name="train-r1")],
                          step_runs=[StepRunIdentifier(name="trainer",
                                                       run=PipelineRunIdentifier(id="uid-r1"))])
        assert ctx.run_metadata["v"] == "3.11" and ctx.step_metadata["v"] == "3.11"
        with pytest.raises(KubelineError, match="only the current run"):
            bulk_log_metadata({"v": 1}, step_runs=[StepRunIdentifier(
                name="trainer", run=PipelineRunIdentifier(id="other"))])
    finally:
        reset_step_context(token)
