"""Metadata end to end on the local cluster: logged in step Pods, recorded by the operator,
read back through the Client on the step, its outputs, the run and the model version."""

from __future__ import annotations

import importlib
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

SOURCE = '''
from typing import Annotated

from kubeline import Model, get_step_context, log_metadata, pipeline, step


@step
def trainer() -> Annotated[int, "answer"]:
    log_metadata({"accuracy": 0.93})  # the step run
    log_metadata({"git_sha": "abc123"},
                 run_id_name_or_prefix=get_step_context().pipeline_run.name)  # the run
    log_metadata({"rows": 150}, infer_artifact=True)  # its only output
    get_step_context().add_output_metadata({"note": "ok"})
    log_metadata({"f1": 0.9}, infer_model=True)  # the run's model version
    return 42


@step
def splitter(x: int) -> tuple[Annotated[int, "train"], Annotated[int, "test"]]:
    log_metadata({"split": 0.8}, artifact_name="test")
    log_metadata({"notes": "n" * 3000})  # too large for the run's status: kept in S3
    return x, x


@step
def too_many() -> None:
    log_metadata({f"key_{i}": i for i in range(65)})


@pipeline(model=Model(name="metadata_model"), enable_cache=False)
def metadata_pipeline() -> None:
    splitter(trainer())


@pipeline(enable_cache=False)
def too_much_metadata() -> None:
    too_many()
'''


@pytest.fixture
def module(step_namespace: str, operator: Any, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("KUBELINE_NAMESPACE", step_namespace)
    name = f"e2e_metadata_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        yield importlib.import_module(name)
    finally:
        sys.modules.pop(name, None)


def test_step_artifact_run_and_model_metadata(module: Any) -> None:
    from kubeline.client import Client

    finished = module.metadata_pipeline()
    assert finished.status == "completed", (finished.status, finished.message)
    client = Client()
    run = client.get_pipeline_run(finished.name)  # read afresh, as another process would

    trainer = run.steps["trainer"]
    assert trainer.run_metadata["accuracy"].value == 0.93
    answer = trainer.outputs["answer"]
    assert answer.run_metadata["rows"].value == 150
    assert answer.run_metadata["note"].value == "ok"
    assert answer.run_metadata["storage_size"].value > 0

    splitter = run.steps["splitter"]
    assert splitter.outputs["test"].run_metadata["split"].value == 0.8
    assert "split" not in splitter.outputs["train"].run_metadata
    # Large metadata is only pointed at from the run's status, and still reads the same.
    entries = {s["name"]: s for s in run.k8s_status["steps"]}
    assert entries["trainer"]["metadata"] == {"accuracy": 0.93}
    assert "metadata" not in entries["splitter"]
    assert entries["splitter"]["metadataUri"].endswith("/manifest.json")
    assert splitter.run_metadata["notes"].value == "n" * 3000

    assert run.run_metadata["git_sha"].value == "abc123"
    assert run.run_metadata["trainer::accuracy"].value == 0.93
    assert run.run_metadata["splitter::notes"].value == "n" * 3000

    version = run.k8s_status["model"]["version"]
    model_version = client.get_model_version("metadata_model", version)
    assert model_version.run_metadata["f1"].value == 0.9


def test_too_much_metadata_fails_the_step_naming_the_limit(module: Any) -> None:
    from kubeline.errors import RunFailedError

    with pytest.raises(RunFailedError) as info:
        module.too_much_metadata()
    assert info.value.failed_step == "too_many"
    step = info.value.run.steps["too_many"]
    assert step.status == "failed"
    assert "MetadataLimitError" in (step.message or "")
    assert "65 keys; at most 64" in (step.message or ""), step.message
