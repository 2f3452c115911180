"""ZenML's documented names at the same module paths, with ZenML's behaviour (pure)."""

from __future__ import annotations

import importlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kubeline.artifact_store import ArtifactStore
from kubeline.client._base import MetadataValue
from kubeline.client.filters import matches, metadata_matches, parse_filter
from kubeline.errors import ConfigurationError, KubelineError, RunFailedError

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("path", [
    "kubeline.enums:ArtifactType", "kubeline.enums:ExecutionMode", "kubeline.enums:StepType",
    "kubeline.config.retry_config:StepRetryConfig", "kubeline.config:ResourceSettings",
    "kubeline.config:DockerSettings", "kubeline.config:StepRetryConfig",
    "kubeline.config.resource_settings:ResourceSettings",
    "kubeline.materializers.base_materializer:BaseMaterializer",
    "kubeline.metadata.metadata_types:Uri", "kubeline.metadata.metadata_types:StorageSize",
    "kubeline.metadata.metadata_types:MetadataType", "kubeline.types:HTMLString",
    "kubeline.types:MarkdownString", "kubeline.types:CSVString", "kubeline.types:JSONString",
    "kubeline.io.fileio:open", "kubeline.io.fileio:exists", "kubeline.io.fileio:makedirs",
])
def test_name_exists_at_zenml_path(path: str) -> None:
    module, _, name = path.partition(":")
    assert getattr(importlib.import_module(module), name) is not None


def test_enum_values_are_zenmls() -> None:
    from kubeline.enums import ArtifactType, ExecutionMode, StepType

    assert ArtifactType.MODEL == "ModelArtifact" and ArtifactType.DATA == "DataArtifact"
    assert ExecutionMode.CONTINUE_ON_FAILURE == "continue_on_failure"
    assert StepType.TOOL_CALL == "tool_call"


def test_step_retry_config_defaults_and_wire_form() -> None:
    from kubeline.config.retry_config import StepRetryConfig
    from kubeline.settings import normalize_retry

    cfg = StepRetryConfig()
    assert (cfg.max_retries, cfg.delay, cfg.backoff) == (1, 0, 0)
    wire = normalize_retry(StepRetryConfig(max_retries=3, delay=5, backoff=2), "step 'x'")
    assert wire is not None
    assert (wire["maxRetries"], wire["backoffSeconds"], wire["backoffFactor"]) == (3, 5, 2)
    assert normalize_retry(StepRetryConfig(max_retries=2, delay=5), "s")["backoffFactor"] == 1


def test_metadata_types_are_their_plain_values() -> None:
    from kubeline.metadata.metadata_types import (
        MetadataTypeEnum,
        StorageSize,
        Uri,
        cast_to_metadata_type,
        get_metadata_type,
    )

    assert Uri("s3://b/k") == "s3://b/k" and StorageSize(10) + 1 == 11
    assert get_metadata_type(StorageSize(3)) == MetadataTypeEnum.STORAGE_SIZE
    assert get_metadata_type((1, 2)) == MetadataTypeEnum.TUPLE
    assert isinstance(cast_to_metadata_type("x", MetadataTypeEnum.URI), Uri)
    with pytest.raises(ValueError, match="not supported"):
        get_metadata_type(object())


# ----------------------------------------------------------------------------- filters


@pytest.mark.parametrize(("actual", "value", "expected"), [
    ("training_run_1", "startswith:training", True),
    ("training_run_1", "startswith:eval", False),
    ("training_run_1", "contains:run", True),
    ("training_run_1", "endswith:_1", True),
    ("training_run_1", "training_run_1", True),
    ("training_run_1", "training", False),  # no op: equality, as in ZenML
    ("training_run_1", "notequals:x", True),
    ("failed", 'oneof:["failed","cancelled"]', True),
    ("completed", ["failed", "cancelled"], False),
    (5, "gte:5", True), (5, "gt:5", False), (2.5, "lt:3", True),
    (datetime(2025, 3, 2, tzinfo=UTC), "gte:2025-03-01", True),
    (datetime(2025, 3, 2, tzinfo=UTC), "lt:2025-03-01 00:00:00", False),
    (["nightly", "prod"], "prod", True), (["nightly"], "startswith:night", True),
    (["nightly"], "notequals:nightly", False),
])
def test_zenml_filter_ops(actual: Any, value: Any, expected: bool) -> None:
    assert matches(actual, value) is expected


def test_filter_parse_and_metadata_filter() -> None:
    assert parse_filter("in:a,b") == ("oneof", ["a", "b"])
    assert parse_filter("weird:value") == ("equals", "weird:value")
    md = {"accuracy": MetadataValue("accuracy", 0.93), "stage": MetadataValue("stage", "dev")}
    assert metadata_matches(md, "accuracy:gt:0.9")
    assert metadata_matches(md, "stage:dev") and not metadata_matches(md, "stage:prod")
    assert not metadata_matches(md, "missing:1")
    with pytest.raises(ConfigurationError, match="key:value"):
        metadata_matches(md, "nocolon")


def test_metadata_values_compare_as_their_values() -> None:
    v = MetadataValue("accuracy", 0.93)
    assert v == 0.93 and v.value == 0.93 and v > 0.9 and float(v) == 0.93
    assert MetadataValue("k", {"a": 1})["a"] == 1
    assert MetadataValue("k", [1, 2]) == [1, 2] and 2 in MetadataValue("k", [1, 2])
    assert str(MetadataValue("k", "x")) == "x" and MetadataValue("k", "abc").upper() == "ABC"


# ----------------------------------------------------------------------------- failures


class _Kube:
    namespace = "ml"

    def __init__(self, run: dict[str, Any]) -> None:
        self.run = run

    def get(self, plural: str, name: str) -> dict[str, Any]:
        return self.run


FAILED_RUN = {
    "metadata": {"name": "p-20250301-000000-abcd", "uid": "u1",
                 "creationTimestamp": "2025-03-01T00:00:00Z",
                 "annotations": {"kubeline.dev/tags": '["added", "nightly"]'}},
    "spec": {"snapshot": "p-abc", "config": {"tags": ["nightly"]}},
    "status": {"phase": "failed", "failedStep": "trainer", "reason": "StepFailed",
               "message": "step 'trainer' failed: ValueError: gamma must be positive",
               "steps": [{"name": "loader", "phase": "completed", "outputs": {"output": "a-1"}},
                         {"name": "trainer", "phase": "failed", "reason": "StepFailed",
                          "message": "ValueError: gamma must be positive"}]},
}


def _failed_run() -> Any:
    from kubeline.client import Client
    from kubeline.client.runs import RunView

    return RunView(Client(kube=_Kube(FAILED_RUN)), FAILED_RUN)  # type: ignore[arg-type]


def test_failed_run_error_names_step_and_message_and_carries_run() -> None:
    from kubeline.client.waiting import run_failed_error

    run = _failed_run()
    err = run_failed_error(run)
    assert isinstance(err, RuntimeError) and isinstance(err, RunFailedError)
    assert "trainer" in str(err) and "gamma must be positive" in str(err)
    assert err.run is run and err.failed_step == "trainer"
    assert err.step_message == "ValueError: gamma must be positive"


def test_output_of_failed_step_says_it_failed() -> None:
    run = _failed_run()
    with pytest.raises(KubelineError, match=r"trainer .* failed: ValueError: gamma"):
        _ = run.steps["trainer"].output
    with pytest.raises(KeyError, match="the step failed"):
        _ = run.steps["trainer"].outputs["model"]


def test_run_tags_from_config_and_status() -> None:
    assert _failed_run().tags == ["nightly", "added"]


# ------------------------------------------------------------ fileio and materializers


def test_fileio_local_paths(tmp_path: Path) -> None:
    from kubeline.io import fileio

    d = tmp_path / "a" / "b"
    fileio.makedirs(str(d))
    with fileio.open(str(d / "x.txt"), "w") as f:
        f.write("hello")
    assert fileio.exists(str(d / "x.txt")) and fileio.isdir(str(d))
    assert fileio.listdir(str(d)) == ["x.txt"] and fileio.size(str(d / "x.txt")) == 5
    fileio.copy(str(d / "x.txt"), str(d / "y.txt"))
    with pytest.raises(FileExistsError):
        fileio.copy(str(d / "x.txt"), str(d / "y.txt"))
    fileio.rename(str(d / "y.txt"), str(d / "z.txt"))
    assert sorted(fileio.glob(str(d / "*.txt"))) == [str(d / "x.txt"), str(d / "z.txt")]
    fileio.remove(str(d / "z.txt"))
    assert [f for _, _, f in fileio.walk(str(tmp_path / "a"))][-1] == ["x.txt"]
    fileio.rmtree(str(tmp_path / "a"))
    assert not fileio.exists(str(tmp_path / "a"))


class _Note:
    def __init__(self, text: str) -> None:
        self.text = text


def test_zenml_style_materializer_writing_past_open_is_hashed(tmp_path: Path) -> None:
    from kubeline.enums import ArtifactType
    from kubeline.materializers.base_materializer import BaseMaterializer

    class NoteMaterializer(BaseMaterializer):
        ASSOCIATED_TYPES = (_Note,)
        ASSOCIATED_ARTIFACT_TYPE = ArtifactType.DATA

        def save(self, data: _Note) -> None:
            with self.artifact_store.open(os.path.join(self.uri, "note.txt"), "w") as f:
                f.write(data.text)

        def load(self, data_type: type) -> _Note:
            with self.artifact_store.open(os.path.join(self.uri, "note.txt"), "r") as f:
                return _Note(f.read())

    store = ArtifactStore.local(str(tmp_path / "s"))
    hashes = []
    for i, text in enumerate(["one", "two", "one"]):
        m = NoteMaterializer(store.uri(f"n{i}"), store)
        m.save(_Note(text))
        hashes.append(m.content_hash())
        assert m.storage_size == len(text)
        assert NoteMaterializer(m.uri, store).load(_Note).text == text
    assert hashes[0] == hashes[2] != hashes[1]


@pytest.mark.parametrize(("cls_name", "kind"), [
    ("HTMLString", "html"), ("MarkdownString", "markdown"), ("CSVString", "csv"),
    ("JSONString", "json")])
def test_text_types_save_a_visualization_of_their_kind(tmp_path: Path, cls_name: str,
                                                       kind: str) -> None:
    import kubeline.types as types
    from kubeline.materializers.registry import materializer_for_value

    value = getattr(types, cls_name)("<h1>x</h1>")
    cls = materializer_for_value(value)
    store = ArtifactStore.local(str(tmp_path / "s"))
    m = cls(store.uri("t"), store)
    m.save(value)
    (uri, got), = m.save_visualizations(value).items()
    assert got == kind and store.read_bytes(uri) == b"<h1>x</h1>"
    loaded = cls(m.uri, store).load(type(value))
    assert loaded == value and type(loaded) is type(value)


# ----------------------------------------------------------------------------- API access in steps


def test_a_step_without_api_access_is_told_so_and_the_chart_value(monkeypatch) -> None:
    from kubeline.errors import ClusterUnreachableError
    from kubeline.kube import Kube, step_without_api_access

    monkeypatch.delenv("KUBELINE_INVOCATION", raising=False)
    monkeypatch.delenv("KUBELINE_API_ACCESS", raising=False)
    assert step_without_api_access() is None  # not a step Pod
    monkeypatch.setenv("KUBELINE_API_ACCESS", "none")
    with pytest.raises(ClusterUnreachableError) as info:
        Kube.connect()
    message = str(info.value)
    assert "this step has no access to the Kubernetes API" in message
    assert "steps.apiAccess is none" in message and "--set steps.apiAccess=read" in message
    assert "kubeline dev up" not in message
    monkeypatch.setenv("KUBELINE_API_ACCESS", "read")  # read access but no token mounted
    assert "no ServiceAccount token" in (step_without_api_access() or "")


def test_a_refusal_inside_a_step_names_what_steps_may_do(monkeypatch) -> None:
    from types import SimpleNamespace

    from kubeline.kube import translate_api_error

    exc = SimpleNamespace(status=403, reason="Forbidden", body='{"message": "secrets is '
                          'forbidden"}')
    monkeypatch.delenv("KUBELINE_API_ACCESS", raising=False)
    assert str(translate_api_error(exc, "secrets/x")) == (
        "permission denied on secrets/x: secrets is forbidden")
    monkeypatch.setenv("KUBELINE_API_ACCESS", "read")
    text = str(translate_api_error(exc, "secrets/x"))
    assert "API access is 'read'" in text and "steps.allowTriggeringRuns=true" in text


# ----------------------------------------------------------------------------- the Client page


@pytest.fixture
def recorded() -> Any:
    from fake_kube import FakeKube, load_objects
    from kubeline.client import Client

    namespace, objects = load_objects()
    return Client(kube=FakeKube(objects, namespace))  # type: ignore[arg-type]


def test_list_artifacts_pages_filters_and_by_run(recorded: Any) -> None:
    from fake_kube import R1

    page = recorded.list_artifacts(size=3)
    assert page.total >= 7 and len(page) == 3 and page.total_pages >= 3
    assert [a.name for a in recorded.list_artifacts(name="startswith:X_")] == ["X_test",
                                                                                "X_train"]
    by_run = recorded.list_artifacts(pipeline_run_id=R1)
    assert "trained_model" in [a.name for a in by_run]
    with pytest.raises(ConfigurationError, match="no users"):
        recorded.list_artifacts(user_id="u1")


def test_list_run_steps_and_stack_components(recorded: Any) -> None:
    from fake_kube import R1

    steps = recorded.list_run_steps(pipeline_run_id=R1)
    assert [s.name for s in steps] == ["training_data_loader", "svc_trainer", "evaluator"]
    assert [s.name for s in recorded.list_run_steps(pipeline_run_id=R1,
                                                    name="startswith:svc")] == ["svc_trainer"]
    assert [c.flavor for c in recorded.list_stack_components(component_type="orchestrator")] == [
        "kubernetes"]
    assert recorded.active_stack_model.name == "kubeline"
    assert [s.name for s in recorded.list_stacks()] == ["kubeline"]


def test_run_and_step_status_are_execution_statuses(recorded: Any) -> None:
    from fake_kube import R1

    run = recorded.get_pipeline_run(R1)
    assert run.status.is_finished and run.status == "completed" and run.status.value == "completed"
    assert all(s.status.is_successful for s in run.steps.values())
    output = run.steps["svc_trainer"].outputs["trained_model"]
    assert output[0] is output and list(output) == [output] and len(output) == 1


def test_delete_pipeline_removes_it_and_its_snapshots_but_keeps_runs(recorded: Any) -> None:
    from kubeline.errors import NotFoundError
    from kubeline.resources import names as n

    kube = recorded.kube
    runs_before = set(kube.store[n.PIPELINE_RUNS])
    assert kube.store[n.SNAPSHOTS]
    recorded.delete_pipeline("training_pipeline")
    with pytest.raises(NotFoundError):
        recorded.get_pipeline("training_pipeline")
    assert not [s for s in kube.store[n.SNAPSHOTS].values()
                if s["spec"].get("pipeline") == n.dns_name("training_pipeline")]
    assert set(kube.store[n.PIPELINE_RUNS]) == runs_before  # runs stay, as in ZenML
