"""The operator under kopf.testing.KopfRunner against the real API server."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.integration

STEP = {"name": "loader", "id": "loader", "function": "loader", "entrypoint": "steps:loader",
        "codeHash": "0" * 64, "parameters": {"n": 1}, "inputs": [], "after": [],
        "outputs": [{"name": "out", "materializer": "m.Builtin"}]}


def snapshot(name: str, image: str) -> dict[str, Any]:
    return {"apiVersion": "kubeline.dev/v1alpha1", "kind": "Snapshot",
            "metadata": {"name": name},
            "spec": {"pipeline": "p", "pipelineName": "p", "image": image, "steps": [STEP]}}


#: The operator under test acts only on runs of its class, so an operator installed in the
#: cluster (class "", e.g. by the e2e fixture) leaves these runs alone.
OPERATOR_CLASS = "integration-test"


def run(name: str, snap: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "kubeline.dev/v1alpha1", "kind": "PipelineRun",
            "metadata": {"name": name, "labels": {"kubeline.dev/operator-class": OPERATOR_CLASS}},
            "spec": {"snapshot": snap, **spec}}


@pytest.fixture
def ns(step_namespace: str) -> str:
    """A namespace with the kubeline-step ServiceAccount and the S3 Secret."""
    return step_namespace


@pytest.fixture
def operator(crds: Any, ns: str) -> Iterator[Any]:
    from kopf.testing import KopfRunner

    env = {"KUBECONFIG": crds.kubeconfig, "KUBELINE_S3_BUCKET": "kubeline",
           "KUBELINE_SNAPSHOT_GRACE_SECONDS": "2", "KUBELINE_IMAGE_PULL_POLICY": "Never",
           "KUBELINE_OPERATOR_CLASS": OPERATOR_CLASS}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with KopfRunner(["run", "--standalone", f"--namespace={ns}",
                         "-m", "kubeline_operator.handlers"]) as runner:
            yield runner
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert runner.exception is None, runner.output


def apply(cluster: Any, namespace: str, obj: dict[str, Any]) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(obj))


def get(cluster: Any, namespace: str, kind: str, name: str) -> dict[str, Any]:
    out = cluster.kubectl("get", kind, name, "-n", namespace, "-o", "json")
    return json.loads(out.stdout)


def wait_phase(cluster: Any, namespace: str, name: str, phases: set[str], timeout: float = 60
               ) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = get(cluster, namespace, "pipelineruns.kubeline.dev", name).get("status") or {}
        if status.get("phase") in phases:
            return status
        time.sleep(0.5)
    raise AssertionError(f"run {name} never reached {phases}: {status}")


def test_missing_snapshot_fails_after_grace(crds: Any, ns: str, operator: Any) -> None:
    apply(crds, ns, run("r-missing", "nope"))
    status = wait_phase(crds, ns, "r-missing", {"failed"})
    assert status["reason"] == "SnapshotNotFound"
    assert "snapshot 'nope' not found" in status["message"]


def test_invalid_configuration_names_the_parameter(crds: Any, ns: str,
                                                    operator: Any) -> None:
    apply(crds, ns, snapshot("s1", "img:1"))
    apply(crds, ns, run("r-bad", "s1",
                               config={"steps": {"loader": {"parameters": {"m": 2}}}}))
    status = wait_phase(crds, ns, "r-bad", {"failed"})
    assert status["reason"] == "InvalidRunConfiguration"
    assert "step 'loader' has no parameter 'm'" in status["message"]
    snap = get(crds, ns, "snapshots.kubeline.dev", "s1")
    assert snap["status"]["valid"] is True


def test_image_that_cannot_start_fails_the_run(crds: Any, ns: str, operator: Any) -> None:
    apply(crds, ns, snapshot("s2", "kubeline.invalid/no-such-image:0"))
    apply(crds, ns, run("r-img", "s2"))
    status = wait_phase(crds, ns, "r-img", {"failed"}, timeout=90)
    step = status["steps"][0]
    assert step["phase"] == "failed" and step["attempts"] == 1
    assert status["failedStep"] == "loader"
    reasons = ("ImageNotPresent", "ImagePullFailed", "InvalidImageName")
    assert status["reason"] in reasons, status["message"]
    assert status["progress"] == "0/1"
    assert len(step["cache"]["key"]) == 64
    pods = json.loads(crds.kubectl("get", "pods", "-n", ns, "-l",
                                   "kubeline.dev/component=step", "-o", "json").stdout)["items"]
    # Exactly one attempt's Pod: created once, never duplicated, not retried.
    assert [p["metadata"]["labels"]["kubeline.dev/attempt"] for p in pods] == ["1"], pods
    events = crds.kubectl("get", "events", "-n", ns, "-o", "json").stdout
    assert "StepStarted" in events and "RunFailed" in events


def test_a_kubectl_run_is_labelled_with_the_inputs_it_resolved_and_found_downstream(
        crds: Any, ns: str, operator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Snapshot and a run applied as plain YAML (no SDK, no labels), the dataset taken by
    name: the operator labels the run with the ArtifactVersion it resolved, so lineage finds
    the run as the dataset's consumer by one label selector."""
    from kubeline.client import Client
    from kubeline.resources.names import LABEL_PREFIX_INPUT_ARTIFACT, input_artifact_label
    from kubeline.ui import lineage
    from kubeline.ui.dashboard import ClientReader
    from polling import wait_for

    apply(crds, ns, {"apiVersion": "kubeline.dev/v1alpha1", "kind": "ArtifactVersion",
                     "metadata": {"name": "ds-1"},
                     "spec": {"artifactName": "ds", "version": "1", "uri": "s3://kubeline/ds/1",
                              "materializer": "m.Builtin"}})
    uid = get(crds, ns, "artifactversions.kubeline.dev", "ds-1")["metadata"]["uid"]
    snap = snapshot("s-by-name", "kubeline.invalid/no-such-image:0")
    snap["spec"]["steps"] = [{**STEP, "inputs": [{"name": "data", "artifact": {"name": "ds"}}]}]
    apply(crds, ns, snap)
    apply(crds, ns, run("r-by-name", "s-by-name"))

    def labelled() -> dict[str, str] | None:
        meta = get(crds, ns, "pipelineruns.kubeline.dev", "r-by-name")["metadata"]
        labels = dict(meta.get("labels") or {})
        return labels if input_artifact_label(uid) in labels else None

    have = wait_for("the run's input label", labelled, timeout=60)
    assert have[input_artifact_label(uid)] == "true"
    # the operator's doing: the Snapshot, applied as YAML, carries no input label
    snap_labels = get(crds, ns, "snapshots.kubeline.dev", "s-by-name")["metadata"].get(
        "labels") or {}
    assert not [k for k in snap_labels if k.startswith(LABEL_PREFIX_INPUT_ARTIFACT)], snap_labels

    monkeypatch.setenv("KUBECONFIG", crds.kubeconfig)
    client = Client(namespace=ns)
    reader = ClientReader(client)
    out = lineage.for_artifact(reader, reader.artifact("ds-1"))
    down = {n["id"]: n for n in out["nodes"] if n["side"] == "downstream"}
    assert set(down) == {"step:r-by-name/loader"}, out["nodes"]
    assert {"source": "artifact:ds-1", "target": "step:r-by-name/loader",
            "label": "data"} in out["edges"]
