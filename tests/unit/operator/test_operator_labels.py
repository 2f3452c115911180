"""Lookup labels the operator adds to runs and artifact versions."""

from __future__ import annotations

from kubeline.resources.names import LABEL_PIPELINE, LABEL_SNAPSHOT, LABEL_UID
from kubeline_operator.labels import input_labels, missing_run_labels, uid_label


def _body(labels=None, uid="u-1"):
    return {"metadata": {"name": "r", "uid": uid, "labels": labels or {}}}


def test_gitops_run_gets_pipeline_and_snapshot_labels():
    assert missing_run_labels(_body(), "training-pipeline", "training-snapshot") == {
        LABEL_PIPELINE: "training-pipeline", LABEL_SNAPSHOT: "training-snapshot",
    }


def test_sdk_labelled_run_needs_no_patch_and_unknown_parts_are_skipped():
    # No uid label for runs: they are found by id through the status.uid field selector.
    assert missing_run_labels(_body({LABEL_PIPELINE: "p", LABEL_SNAPSHOT: "s"}), "p", "s") == {}
    assert missing_run_labels(_body(), None, None) == {}


def test_snapshot_label_value_is_sanitized():
    labels = missing_run_labels(_body(), "p", "My Snapshot!")
    assert labels[LABEL_SNAPSHOT] != "My Snapshot!"
    assert len(labels[LABEL_SNAPSHOT]) <= 63


def test_uid_label_only_when_missing():
    assert uid_label(_body()) == {LABEL_UID: "u-1"}
    assert uid_label(_body({LABEL_UID: "u-1"})) == {}
    assert uid_label({"metadata": {}}) == {}


def _info(uid: str, name: str = "ds"):
    from kubeline_operator.actions import ArtifactInfo

    return ArtifactInfo(artifact_version=f"{name}-1", id=uid, uri="s3://b/x", materializer="m",
                        data_type="t", artifact_name=name, version="1")


def _snapshot():
    from kubeline.resources.models import SnapshotSpec

    out = [{"name": "out", "materializer": "m"}]
    code = {"function": "f", "entrypoint": "m:f", "codeHash": "0" * 64, "outputs": out}
    head = {"pipeline": "p", "pipelineName": "p", "image": "i"}
    return SnapshotSpec.model_validate({**head, "steps": [
        {"name": "load", "id": "load", **code, "inputs": [
             {"name": "by_name", "artifact": {"name": "ds"}},  # kubectl-style: no id
             {"name": "pinned", "artifact": {"name": "other", "id": "uid-pinned"}},
             {"name": "model", "modelArtifact": {"model": "Iris Classifier", "artifact": "m"}}]},
        {"name": "use", "id": "use", **code,
         "inputs": [{"name": "x", "step": "load", "output": "out"}]}]})


def test_input_labels_name_every_outside_input_a_resolved_step_took():
    from kubeline.resources.names import input_artifact_label, input_model_label
    from kubeline_operator.planner import StepResolution

    resolutions = {
        "load": StepResolution(inputs={"by_name": _info("uid-latest"),
                                       "pinned": _info("uid-pinned", "other"),
                                       "model": _info("uid-model", "m")}),
        "use": StepResolution(inputs={"x": _info("uid-upstream", "out")}),  # same run: none
    }
    labels = input_labels(_snapshot(), resolutions)
    assert labels == {input_artifact_label("uid-latest"): "true",
                      input_artifact_label("uid-pinned"): "true",
                      input_artifact_label("uid-model"): "true",
                      input_model_label("Iris Classifier"): "true"}
    # a step that failed to resolve, or one the snapshot does not list, adds nothing
    failed = {"load": StepResolution(error=("InputNotFound", "no ds")),
              "gone": StepResolution(inputs={"a": _info("uid-g")})}
    assert input_labels(_snapshot(), failed) == {}
    # they go out with the run's other lookup labels, once
    body = _body({LABEL_PIPELINE: "p", LABEL_SNAPSHOT: "s"})
    assert missing_run_labels(body, "p", "s", labels) == labels
    body["metadata"]["labels"].update(labels)
    assert missing_run_labels(body, "p", "s", labels) == {}
