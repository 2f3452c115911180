"""ZenML's "Artifacts" and "Tags" pages run on the local cluster with only their imports
changed (examples/zenml_docs/artifacts_tags.py), each checked for the documented effect."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest

pytestmark = pytest.mark.e2e

DOCS = Path(__file__).resolve().parents[2] / "examples" / "zenml_docs"


@pytest.fixture
def docs(step_namespace: str, operator: Any,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.setenv("KUBELINE_NAMESPACE", step_namespace)
    monkeypatch.syspath_prepend(str(DOCS))
    sys.modules.pop("artifacts_tags", None)
    yield importlib.import_module("artifacts_tags")
    sys.modules.pop("artifacts_tags", None)


def test_artifacts_page(docs: ModuleType) -> None:
    from kubeline.client import Client

    run = docs.simple_pipeline()
    processed = run.steps["process_data"].output.load()
    # The Client page's snippets against this run (examples/zenml_docs/client_page.py).
    from client_page import client_page

    seen = client_page(run.name)
    assert seen["runs"][0] == run.name and seen["pipeline"] == "simple_pipeline"
    assert "process_data" not in seen["artifacts"]  # unnamed outputs: <pipeline>::<step>::output
    assert "simple_pipeline::process_data::output" in seen["artifacts"]
    assert seen["data_type"] == "DataFrame" and seen["orchestrators"] == ["kubernetes"]
    assert seen["user"] and seen["stack"] == "kubeline"
    assert seen["pages"][0] >= 1 and seen["pages"][2] == seen["pages"][0] + seen["pages"][1]
    assert seen["past_last_page"].startswith("Invalid page ")  # as ZenML's store refuses it
    assert seen["duration"] > 0 and seen["steps"] == ["create_data", "process_data"]
    assert sorted(seen["run_artifacts"]) == ["simple_pipeline::create_data::output",
                                             "simple_pipeline::process_data::output"]
    assert seen["loaded"] == ["DataFrame", "DataFrame"]
    assert list(processed["feature_3"]) == [4, 10, 18]
    # Accessing artifacts after pipeline runs
    pipeline_run = Client().get_pipeline_run(run.id)
    assert pipeline_run.steps["create_data"].outputs["output"].load().shape == (3, 3)

    # A step called outside a pipeline: a one-step run; the DataFrame goes in as an
    # ExternalArtifact, the result comes back loaded.
    frame = docs.process_data(pd.DataFrame({"feature_1": [2], "feature_2": [5], "target": [1]}))
    assert list(frame["feature_3"]) == [10]
    split = docs.split_pipeline().steps["split_data"]
    assert [split.outputs[n].load().shape[0] for n in ("X_train", "X_test")] == [80, 20]

    names = docs.data_pipeline()
    assert {s.output.name for s in names.steps.values()} == {"train_data", "test_data"}
    assert Client().get_artifact_version("train_data").load().empty

    docs.model_pipeline()
    predictions = docs.inference_pipeline().steps["use_trained_model"].output.load()
    assert [round(v, 6) for v in predictions] == [8.0, 10.0]
    shown = Client().get_artifact_version("train_data").visualize()
    assert shown

    folder, file = docs.register_existing_folder_and_file()
    assert (folder / "model.pkl").read_bytes() == b"pretend this is a model"
    assert file.read_bytes() == b"pretend this is a model"
    registered = Client().get_artifact_version("my_folder_artifact")
    assert registered.save_type == "preexisting" and registered.run_metadata["file_count"] == 1


def test_tags_page(docs: ModuleType) -> None:
    from kubeline.client import Client

    run = docs.tags_pipeline()
    assert set(run.tags) == {"not_an_exclusive_tag", "an_ordinary_tag", "my_tag"}
    assert Client().get_artifact_version("my_output").tags == ["my_tag"]
    assert Client().get_artifact_version("my_output_2").tags == ["my_tag"]
    assert Client().get_artifact_version("other").tags == []
    assert Client().get_artifact_version("single").tags == ["my_tag"]

    docs.tag_after_the_run(run.name)
    assert Client().get_artifact_version("single").tags == ["my_tag", "by_id"]
    assert "my_tag" in Client().get_pipeline("tags_pipeline").tags
    assert [r.name for r in Client().list_pipeline_runs(tags=["my_tag"])] == [run.name]
    assert Client().list_pipeline_runs(tags=["nope"]).total == 0

    found, not_found = docs.filter_by_tags()
    assert found == ["tags_pipeline"] and not_found == []
    assert Client().get_pipeline("tags_pipeline").tags == ["my_tag", "three"]

    from kubeline import Tag, add_tags, pipeline
    from kubeline.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="exclusive/cascade"):
        pipeline(tags=[Tag(name="an_exclusive_tag", exclusive=True)])(lambda: None)
    with pytest.raises(ConfigurationError, match="no artifact objects"):
        add_tags(tags=["my_tag"], artifact="my_output")


@pytest.fixture
def materializers(step_namespace: str, operator: Any,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.setenv("KUBELINE_NAMESPACE", step_namespace)
    monkeypatch.syspath_prepend(str(DOCS))
    sys.modules.pop("materializers_page", None)
    yield importlib.import_module("materializers_page")
    sys.modules.pop("materializers_page", None)


def test_materializers_page(materializers: ModuleType) -> None:
    m = materializers
    run = m.custom_pipeline()
    assert "Name: test, Records: [1, 2, 3]" in run.steps["use_my_class"].logs()
    output = run.steps["create_my_class"].output
    assert output.materializer == "materializers_page.MyClassMaterializer"
    assert output.run_metadata["num_records"] == 3 and output.type == "DataArtifact"
    assert [v["type"] for v in output.visualizations] == ["html"]
    assert output.load().to_dict()["records"] == [1, 2, 3]

    assert m.config_pipeline().steps["read_config"].output.load() == pytest.approx(0.1)
    paths = m.training_pipeline()
    assert "Training with features: feature1,feature2" in paths.steps["train_model"].logs()
    files = sorted(p.name for p in paths.steps["prepare_dataset"].output.load().iterdir())
    assert files == ["features.csv", "labels.csv"]

    refs = m.example_pipeline()
    logs = refs.steps["step_4"].logs()
    assert refs.steps["step_2"].outputs["dict_"].uri in logs
    assert refs.steps["step_3"].status == "completed"


@pytest.fixture
def metadata_page(step_namespace: str, operator: Any, cluster: Any,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    from step_rbac import chart_step_rbac

    chart_step_rbac(cluster, step_namespace)  # `inputs["x"].run_metadata` reads the API
    monkeypatch.setenv("KUBELINE_NAMESPACE", step_namespace)
    monkeypatch.syspath_prepend(str(DOCS))
    sys.modules.pop("metadata_page", None)
    yield importlib.import_module("metadata_page")
    sys.modules.pop("metadata_page", None)


def test_metadata_page(metadata_page: ModuleType) -> None:
    from kubeline.client import Client

    run = metadata_page.metadata_pipeline()
    run = Client().get_pipeline_run(run.id)
    step = run.steps["train_model_step"]
    assert step.run_metadata["evaluation_metrics"] == {"accuracy": 0.9}
    assert run.run_metadata["git_info"] == {"commit": "abc123"}
    processed = run.steps["process_data_step"].output
    stats = processed.run_metadata["data_stats"].value
    assert stats["row_count"] == 3 and stats["columns"] == ["a", "b"]
    assert processed.run_metadata["dataset_source"] == "gs://my-bucket/datasets/source.csv"
    assert processed.run_metadata["processed_data_size"] == 2500000
    split = run.steps["split_data_step"]
    assert split.outputs["output_0"].run_metadata["split_info"] == {"train_size": 2}
    custom = run.steps["produce"].outputs["custom_name"]
    assert custom.run_metadata["config_metadata"] == "bar" and custom.run_metadata["m"] == 1
    assert custom.tags == ["config_tags", "t1"]
    assert list(run.steps["produce"].outputs) == ["custom_name", "output_1"]
    assert run.steps["downstream"].status == "completed"  # read upstream metadata in the step
    logs = run.steps["trainer"].logs()
    assert f"run: {run.name} {run.id}" in logs and f"step: trainer {run.id}/trainer" in logs
    assert "params: {'param': 1}" in logs
