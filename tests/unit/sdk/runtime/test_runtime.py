"""Step runtime end to end in-process against moto S3: invocation -> manifest / failure."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import sample_steps as s
from kubeline.code_archive import build_archive, upload_archive
from kubeline.materializers import load_artifact_data
from kubeline.runtime import EXIT_OK, EXIT_SETUP, EXIT_STEP, run_invocation
from kubeline.runtime.messages import failure_message
from moto_s3 import moto_store

pytestmark = pytest.mark.unit
ROOT = Path(s.__file__).parent


@pytest.fixture(scope="module")
def store():
    with moto_store() as st:
        yield st


def invocation(spec, step_index: int, store, run: str, inputs=None, code=None) -> dict:
    step = spec.steps[step_index].to_k8s()
    return {
        "namespace": "default", "pipeline": spec.pipeline, "pipelineName": spec.pipeline_name,
        "run": run, "runUid": "uid-1", "snapshot": "snap", "attempt": 1, "step": step,
        "parameters": step["parameters"], "inputs": inputs or {},
        "outputsUri": store.attempt_uri("default", spec.pipeline, run, step["name"], 1),
        "code": code, "model": {"name": "iris_classifier", "version": "production"},
    }


def test_two_steps_manifest_and_inputs(store, tmp_path: Path) -> None:
    archive = build_archive(ROOT, max_bytes=50 * 2**20, out_dir=str(tmp_path))
    code = {"uri": upload_archive(store, archive), "sha256": archive.sha256}
    spec = s.two_step.compile(source_root=ROOT).spec
    term = tmp_path / "term"
    inv = invocation(spec, 0, store, "run-a", code=code)
    assert run_invocation(inv, store, str(term)) == EXIT_OK
    msg = json.loads(term.read_text())
    assert msg == {"ok": True, "manifest": inv["outputsUri"] + "/manifest.json"}
    manifest = json.loads(store.read_bytes(msg["manifest"]))
    features = manifest["outputs"]["features"]
    assert features["metadata"]["storage_size"] > 0 and features["metadata"]["shape"] == [3, 2]
    assert features["materializer"].endswith("PandasMaterializer")
    assert len(features["contentHash"]) == 64 and features["visualizations"][0]["type"] == "html"
    assert features["artifactName"] == "features" and manifest["startTime"] <= manifest["endTime"]
    stages = ["processStarted", "runtimeEntered", "codeReady", "stepImported", "inputsLoaded",
              "functionEntered", "functionReturned", "outputsWritten"]
    marks = [manifest["timings"][k] for k in stages]
    assert marks == sorted(marks) and marks[-1] <= time.time(), manifest["timings"]

    inputs = {
        name: {"uri": manifest["outputs"][name]["uri"], "id": f"id-{name}", "version": "1",
               "materializer": manifest["outputs"][name]["materializer"],
               "dataType": manifest["outputs"][name]["dataType"], "artifactName": name,
               "contentHash": manifest["outputs"][name]["contentHash"]}
        for name in ("features", "labels")
    }
    inv2 = invocation(spec, 1, store, "run-a", inputs=inputs)
    inv2["parameters"] = {"gamma": 0.9}
    assert run_invocation(inv2, store, str(term)) == EXIT_OK
    manifest2 = json.loads(store.read_bytes(json.loads(term.read_text())["manifest"]))
    model = manifest2["outputs"]["model"]
    value = load_artifact_data(model["uri"], model["materializer"], model["dataType"], store,
                               content_hash=model["contentHash"])
    assert value == {"gamma": 0.9, "run": "run-a", "step": "train"}
    assert manifest2["stepMetadata"] == {"rows": 3}
    assert manifest2["outputs"]["accuracy"]["metadata"]["note"] == "accuracy is fake"
    assert manifest2["outputs"]["accuracy"]["metadata"]["value"] == 0.5


def test_raising_step_reports_type_message_traceback(store, tmp_path: Path) -> None:
    from kubeline import pipeline

    @pipeline
    def failing() -> None:
        s.fails(message="the data is bad")

    spec = failing.compile(source_root=ROOT).spec
    term = tmp_path / "term"
    inv = invocation(spec, 0, store, "run-f")
    assert run_invocation(inv, store, str(term)) == EXIT_STEP
    msg = json.loads(term.read_text())
    assert msg["ok"] is False and msg["type"] == "ValueError"
    assert msg["message"] == "the data is bad"
    assert "sample_steps.py" in msg["traceback"] and "raise ValueError" in msg["traceback"]
    assert not store.exists(inv["outputsUri"] + "/manifest.json")


def test_wrong_output_count_fails_the_step(store, tmp_path: Path) -> None:
    from kubeline import pipeline

    @pipeline
    def arity() -> None:
        s.bad_arity()

    inv = invocation(arity.compile(source_root=ROOT).spec, 0, store, "run-b")
    assert run_invocation(inv, store, str(tmp_path / "t")) == EXIT_STEP
    msg = json.loads((tmp_path / "t").read_text())
    assert msg["type"] == "StepOutputError" and "declares 2 outputs" in msg["message"]


def test_unmaterialized_input_gets_identity(store, tmp_path: Path) -> None:
    spec = s.from_artifact.compile(source_root=ROOT).spec
    inputs = {"data": {"uri": "s3://nowhere/x", "id": "uid-9", "version": "raw_2023",
                       "materializer": "kubeline.materializers.builtin.BuiltInMaterializer",
                       "artifactName": "iris_dataset"}}
    inv = invocation(spec, 0, store, "run-u", inputs=inputs)
    assert run_invocation(inv, store, str(tmp_path / "t")) == EXIT_OK
    manifest = json.loads(store.read_bytes(inv["outputsUri"] + "/manifest.json"))
    out = manifest["outputs"]["output"]
    assert load_artifact_data(out["uri"], out["materializer"], None, store,
                              content_hash=out["contentHash"]) == (
        "iris_dataset:raw_2023:uid-9")


def test_digest_mismatch_is_a_setup_error(store, tmp_path: Path) -> None:
    archive = build_archive(ROOT, max_bytes=50 * 2**20, out_dir=str(tmp_path))
    uri = upload_archive(store, archive)
    spec = s.two_step.compile(source_root=ROOT).spec
    inv = invocation(spec, 0, store, "run-d", code={"uri": uri, "sha256": "f" * 64})
    assert run_invocation(inv, store, str(tmp_path / "t")) == EXIT_SETUP
    assert "digest mismatch" in json.loads((tmp_path / "t").read_text())["message"]


def test_failure_message_stays_under_4k() -> None:
    def deep(n: int) -> None:
        if n == 0:
            raise RuntimeError("x" * 5000 + " ünïcode \n\t\"quotes\"")
        deep(n - 1)

    try:
        deep(200)
    except RuntimeError as exc:
        data = failure_message(exc)
    assert len(data) <= 4096
    msg = json.loads(data)
    assert msg["type"] == "RuntimeError" and msg["traceback"].endswith("quotes\"\n")


def test_a_folder_input_is_there_during_the_step_and_gone_after(store, tmp_path: Path) -> None:
    """The folder a Path input is loaded into lives as long as the step (as in ZenML)."""
    import tempfile

    import path_steps as p
    from kubeline import pipeline
    from kubeline.materializers.path import PathMaterializer
    from kubeline.materializers.registry import materializer_path_of

    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    saved = PathMaterializer(store.uri("artifacts", "default", "folder-in"), store)
    saved.save(folder)

    @pipeline
    def reading() -> None:
        p.reads_folder(folder=s.FakeArtifactVersion("data", "1", "uid-f"))

    spec = reading.compile(source_root=ROOT).spec
    inputs = {"folder": {"uri": saved.uri, "id": "uid-f", "version": "1",
                         "materializer": materializer_path_of(PathMaterializer),
                         "dataType": "pathlib.Path", "artifactName": "data",
                         "contentHash": saved.content_hash()}}
    inv = invocation(spec, 0, store, "run-p", inputs=inputs)
    assert run_invocation(inv, store, str(tmp_path / "t")) == EXIT_OK
    out = json.loads(store.read_bytes(inv["outputsUri"] + "/manifest.json"))["outputs"]["seen"]
    seen = json.loads(load_artifact_data(out["uri"], out["materializer"], None, store,
                                         content_hash=out["contentHash"]))
    assert seen["exists"] is True and seen["files"] == ["a.txt"]
    loaded = Path(seen["path"])
    assert loaded.name == "data" and loaded.parent.name.startswith("kubeline-artifact-")
    assert not loaded.parent.exists(), "the step's input folder outlived the step"
    assert not list(Path(tempfile.gettempdir()).glob("kubeline-artifact-*"))
