"""PipelineRun objects are built once (kubeline.resources.run_objects): a pipeline call,
trigger_pipeline and a schedule make the same object for the same run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sample_steps as s
from kubeline.client.trigger import build_run
from kubeline.resources import names as n
from kubeline.resources.run_objects import new_run_name, pipeline_run, run_object_name

pytestmark = pytest.mark.unit


def test_a_run_name_is_a_dns_label_that_keeps_the_pipeline_readable() -> None:
    now = datetime(2026, 12, 1, 9, 30, 5, tzinfo=UTC)
    name = new_run_name("training_pipeline", now)
    assert name.startswith("training-pipeline-") and "-20261201-093005-" in name
    long = new_run_name("p" * 80, now)
    assert n.is_dns_label(long) and len(long) == 63
    assert run_object_name("p", {"runName": "My Run"}) == n.dns_name("My Run")


def test_a_run_of_a_snapshot_is_labelled_for_every_lookup() -> None:
    body = pipeline_run("r-1", {"enableCache": False}, snapshot="train-abc",
                        pipeline="train", triggered_by={"run": "parent", "step": "trigger"})
    assert body["apiVersion"] == n.API_VERSION and body["kind"] == "PipelineRun"
    assert body["metadata"] == {"name": "r-1", "labels": {
        n.LABEL_PIPELINE: "train", n.LABEL_SNAPSHOT: "train-abc",
        n.LABEL_TRIGGERED_BY_RUN: "parent", n.LABEL_TRIGGERED_BY_STEP: "trigger"}}
    assert body["spec"] == {"config": {"enableCache": False}, "snapshot": "train-abc",
                            "triggeredBy": {"run": "parent", "step": "trigger"}}


def test_a_run_of_a_pipeline_names_the_pipeline_and_carries_extra_metadata() -> None:
    body = pipeline_run("r-2", {}, pipeline="Train Model", labels={"x": "y"},
                        annotations={"a": "b"}, namespace="ml")
    assert body["spec"] == {"config": {}, "pipeline": "Train Model"}
    assert body["metadata"]["labels"] == {n.LABEL_PIPELINE: n.dns_name("Train Model"), "x": "y"}
    assert body["metadata"]["namespace"] == "ml" and body["metadata"]["annotations"] == {"a": "b"}


def test_a_pipeline_call_and_a_trigger_create_the_same_run() -> None:
    """submit builds from the compiled Snapshot object, trigger_pipeline from the Snapshot
    read back from the cluster: the same run either way."""
    compiled = s.two_step.compile(source_root=Path(s.__file__).parent)
    snapshot = compiled.snapshot_object()
    by_call = build_run(snapshot, compiled.run_config)
    by_trigger = build_run({"metadata": {"name": compiled.snapshot_name},
                            "spec": compiled.spec.to_k8s()}, compiled.run_config)
    assert by_call["metadata"]["labels"] == by_trigger["metadata"]["labels"] == {
        n.LABEL_PIPELINE: compiled.pipeline_object_name,
        n.LABEL_SNAPSHOT: n.label_value(compiled.snapshot_name)}
    assert by_call["spec"] == by_trigger["spec"]
    assert by_call["metadata"]["name"].startswith(compiled.pipeline_object_name[:20])
