"""The Client and the CLI against a real API server (no operator: objects and statuses are
written here, statuses through the status subresource as the operator would).

Uses the ``cluster``, ``crds`` and ``namespace`` fixtures of tests/conftest.py and the
recorded objects of tests/unit/sdk/fixtures/client_objects.json.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubeline.client import Client
from kubeline.client.runs import RunView
from kubeline.errors import ConfigurationError, NotFoundError, PermissionDeniedError
from kubeline.kube import METADATA_ONLY, Kube
from kubeline.resources import names as n
from kubeline.resources.invocation import Invocation
from kubeline.resources.models import StepSpec
from kubeline.utils.pagination_utils import depaginate

pytestmark = pytest.mark.integration

FIXTURES = (Path(__file__).parents[1] / "unit" / "sdk" / "fixtures"
            / "client_objects.json")
PLURALS = {"Pipeline": n.PIPELINES, "Snapshot": n.SNAPSHOTS, "PipelineRun": n.PIPELINE_RUNS,
           "ArtifactVersion": n.ARTIFACT_VERSIONS, "Model": n.MODELS,
           "ModelVersion": n.MODEL_VERSIONS}
OBJECTS: list[dict[str, Any]] = json.loads(FIXTURES.read_text())["objects"]
RUNS = [o["metadata"]["name"] for o in OBJECTS if o["kind"] == "PipelineRun"]
R1, R2, R3 = RUNS
SNAP = next(o["metadata"]["name"] for o in OBJECTS if o["kind"] == "Snapshot")


def write_status(kube: Kube, plural: str, name: str, status: dict[str, Any]) -> None:
    """Write a status through the status subresource (what the operator does)."""
    kube._call(f"{plural}/{name}/status", kube.custom.patch_namespaced_custom_object_status,
               n.GROUP, n.VERSION, kube.namespace, plural, name, {"status": status})


def create_recorded(kube: Kube, obj: dict[str, Any]) -> None:
    body = copy.deepcopy(obj)
    meta = body["metadata"]
    body["metadata"] = {k: meta[k] for k in ("name", "labels", "annotations") if k in meta}
    status = body.pop("status", None)
    kube.create(PLURALS[body["kind"]], body)
    if status is not None:
        write_status(kube, PLURALS[body["kind"]], meta["name"], status)


@pytest.fixture
def kube(crds: Any, namespace: str, monkeypatch: pytest.MonkeyPatch) -> Kube:
    monkeypatch.setenv("KUBECONFIG", crds.kubeconfig)
    return Kube.connect(namespace=namespace)


@pytest.fixture
def recorded(kube: Kube) -> Kube:
    """The namespace holding the recorded pipeline, snapshot, runs, artifacts and models."""
    for obj in OBJECTS:
        create_recorded(kube, obj)
    kube.requests = 0
    return kube


def test_lineage_query_is_four_requests_on_the_real_server(recorded: Kube) -> None:
    client = Client(namespace=recorded.namespace)
    output = client.get_pipeline("training_pipeline").last_run.steps[
        "training_data_loader"].outputs["X_train"]
    assert (output.name, output.version) == ("X_train", "1")
    assert output.run_metadata["storage_size"].value == 4096
    # get_pipeline; last_run re-reading the lastRun pointer (fresh on each access, as
    # ZenML's); the run; the artifact version.
    assert client.kube.requests == 4


def test_runs_by_name_uid_and_prefix(recorded: Kube) -> None:
    client = Client(kube=recorded)
    run = client.get_pipeline_run(R1)
    assert (run.status, run.index, run.pipeline.name) == ("completed", 1, "training_pipeline")
    assert client.get_pipeline_run(run.id).name == R1  # uid: no label, paged scan
    assert client.get_pipeline_run(R2[:-2]).name == R2  # prefix, in the server's name order
    with pytest.raises(NotFoundError):
        client.get_pipeline_run("nothing-like-this")
    assert [r.name for r in client.get_pipeline("training_pipeline").runs] == [R3, R2, R1]


def test_listing_pages_with_limit_and_continue(recorded: Kube) -> None:
    recorded.requests = 0
    names = [o["metadata"]["name"] for o in recorded.iter(n.ARTIFACT_VERSIONS, page_size=3)]
    assert len(names) == 9 and names == sorted(names)
    assert recorded.requests in (3, 4)  # 9 objects in pages of 3 (+1 if the last says "more")
    page = Client(kube=recorded).list_pipeline_runs(pipeline="training_pipeline", size=2)
    assert ([r.name for r in page], page.total) == ([R3, R2], 3)


def test_artifacts_and_models(recorded: Kube) -> None:
    client = Client(kube=recorded)
    artifact = client.get_artifact("iris_dataset")
    assert list(artifact.versions) == ["2022", "2023"]
    recorded.requests = 0
    assert client.get_artifact_version("iris_dataset", "2022").version == "2022"
    assert recorded.requests == 1
    av = client.get_artifact_version("trained_model", "1")
    assert client.get_artifact_version(av.id).name == "trained_model"
    assert client.get_model_version("iris_classifier", "production").version == "2"
    cached = client.get_pipeline_run(R2).steps["svc_trainer"]
    assert cached.original_step_run.run.name == R1
    assert cached.inputs["X_train"].name == "X_train"


def test_trigger_snapshot_creates_a_valid_run_and_links_its_trigger(
        recorded: Kube, monkeypatch: pytest.MonkeyPatch) -> None:
    client = Client(kube=recorded)
    with pytest.raises(ConfigurationError, match="has no parameter 'C'"):
        client.trigger_pipeline(snapshot_name_or_id="nightly", run_configuration={
            "steps": {"svc_trainer": {"parameters": {"C": 1}}}})
    # Inside a step Pod: the invocation as the operator writes it (the contract's model).
    monkeypatch.setenv("KUBELINE_INVOCATION", Invocation(
        namespace=recorded.namespace, pipeline="training-pipeline", run=R1,
        outputs_uri="s3://b/artifacts", step=StepSpec(
            name="evaluator", id="evaluator", function="evaluator",
            entrypoint="steps:evaluator", code_hash="0")).to_json())
    config = client.get_snapshot("nightly").config_template
    config.steps["svc_trainer"].parameters["gamma"] = 0.05
    run = client.trigger_pipeline("training_pipeline", run_configuration=config)
    stored = recorded.get(n.PIPELINE_RUNS, run.name)
    assert stored["spec"]["snapshot"] == SNAP
    assert stored["spec"]["config"]["steps"]["svc_trainer"]["parameters"] == {"gamma": 0.05}
    assert stored["spec"]["triggeredBy"] == {"run": R1, "step": "evaluator"}
    assert run.name in [r.name for r in client.get_pipeline_run(R1).triggered_runs]
    assert client.get_pipeline_run(run.name).triggered_by.step.name == "evaluator"


def test_pages_num_runs_and_steps_answer_as_zenmls_on_the_real_server(recorded: Kube,
                                                                      crds: Any) -> None:
    """A page past the last one is ZenML's ``ValueError``; ``depaginate`` reads every page;
    ``num_runs`` counts the runs that exist (metadata-only pages from the API server) on
    each access; ``run.steps`` reads the run afresh while it is unfinished."""
    client = Client(kube=recorded)
    with pytest.raises(ValueError, match=r"Invalid page 2: at page size 20 the 3 item"):
        client.list_pipeline_runs(pipeline="training_pipeline", page=2)
    runs = depaginate(client.list_pipeline_runs, pipeline="training_pipeline", size=2,
                      sort_by="asc:index")
    assert [r.name for r in runs] == [R1, R2, R3]
    past = _cli(crds.kubeconfig, "-n", recorded.namespace, "pipeline", "runs", "list",
                "--size", "2", "--page", "3")
    assert past.returncode == 1
    assert "Invalid page 3" in past.stderr and "the last page is 2" in past.stderr

    pipeline = client.get_pipeline("training_pipeline")
    assert pipeline.num_runs == 3
    selector = f"{n.LABEL_PIPELINE}={pipeline.object_name}"
    recorded.requests = 0
    assert recorded.count(n.PIPELINE_RUNS, selector, page_size=2) == 3
    assert recorded.requests == 2  # pages of 2
    page = recorded._call("runs", recorded.custom.list_namespaced_custom_object, n.GROUP,
                          n.VERSION, recorded.namespace, n.PIPELINE_RUNS,
                          _headers={"Accept": METADATA_ONLY}, limit=1)
    assert page["kind"] == "PartialObjectMetadataList"
    assert set(page["items"][0]) == {"apiVersion", "kind", "metadata"}  # no spec, no status
    client.delete_pipeline_run(R1)
    assert pipeline.num_runs == 2  # counted afresh: the deleted run no longer counts

    # A view read while the run was running (the operator watches this namespace too, so
    # the view is made from the object as it was, not by racing it): its steps are the
    # server's now, its own fields stay as read.
    held = copy.deepcopy(recorded.get(n.PIPELINE_RUNS, R3))
    held["status"]["phase"] = "running"
    held["status"]["steps"][1].update(phase="running", message=None)
    run = RunView(client, held)
    recorded.requests = 0
    assert run.steps["svc_trainer"].status == "failed"  # read afresh: one GET
    assert run.steps["svc_trainer"].message == "ValueError: gamma too large"
    assert recorded.requests == 1  # the second access knows the run finished
    assert run.status == "running"  # as read, as ZenML's
    recorded.requests = 0
    assert run.steps["evaluator"].status == "skipped" and recorded.requests == 0


def test_a_by_name_input_is_the_version_its_step_took_on_the_real_server(
        recorded: Kube) -> None:
    """A step's input taken by name without a version is the version the operator resolved
    for it (the run's ``input.kubeline.dev/<uid>`` label, made by the step's start), not the
    newest version now, as ZenML records each input's version."""
    client = Client(kube=recorded)
    snapshot = copy.deepcopy(next(o for o in OBJECTS if o["kind"] == "Snapshot"))
    snapshot["metadata"] = {"name": "by-name-snapshot", "labels": snapshot["metadata"]["labels"]}
    evaluator = next(s for s in snapshot["spec"]["steps"] if s["id"] == "evaluator")
    next(i for i in evaluator["inputs"] if i["name"] == "dataset")["artifact"] = {
        "name": "iris_dataset"}
    create_recorded(recorded, snapshot)
    took = recorded.get(n.ARTIFACT_VERSIONS, next(
        o["metadata"]["name"] for o in OBJECTS if o["kind"] == "ArtifactVersion"
        and o["spec"]["version"] == "2022"))
    assert client.get_artifact_version("iris_dataset").version == "2023"  # the newest now
    # The run as the operator leaves it: labelled with the version it resolved, its
    # evaluator started after both versions were made (held here: the shared operator
    # reconciles runs in this namespace, so the run is not written to race it).
    run = copy.deepcopy(recorded.get(n.PIPELINE_RUNS, R1))
    run["spec"]["snapshot"] = run["status"]["snapshot"] = "by-name-snapshot"
    run["metadata"]["labels"][n.input_artifact_label(took["metadata"]["uid"])] = "true"
    started = time.strftime("%Y-%m-%dT%H:%M:%S.5Z", time.gmtime(time.time() + 1))
    next(s for s in run["status"]["steps"] if s["name"] == "evaluator")["startTime"] = started
    view = RunView(client, run)
    recorded.requests = 0
    dataset = view.steps["evaluator"].inputs["dataset"]
    assert (dataset.version, dataset.id) == ("2022", took["metadata"]["uid"])
    assert recorded.requests == 2  # the snapshot, the artifact's versions (label-selected)


def test_cancel_patches_the_one_mutable_field_and_delete_removes(recorded: Kube) -> None:
    client = Client(kube=recorded)
    run = client.cancel_pipeline_run(R3)
    assert run.cancel_requested
    assert recorded.get(n.PIPELINE_RUNS, R3)["spec"]["cancel"] is True
    client.delete_pipeline_run(R3)
    with pytest.raises(NotFoundError):
        client.get_pipeline_run(R3, allow_name_prefix_match=False)


def test_wait_follows_a_watch_until_the_operator_writes_the_end(recorded: Kube) -> None:
    client = Client(kube=recorded)
    write_status(recorded, n.PIPELINE_RUNS, R1, {"phase": "running", "endTime": None})
    done = next(o for o in OBJECTS if o["metadata"]["name"] == R1)["status"]

    def finish() -> None:
        time.sleep(1.0)
        writer = Kube.connect(namespace=recorded.namespace)
        write_status(writer, n.PIPELINE_RUNS, R1, done)

    thread = threading.Thread(target=finish)
    thread.start()
    started = time.monotonic()
    run = client.get_pipeline_run(R1).wait(timeout=30, show_progress=False)
    thread.join()
    assert run.status == "completed"
    assert time.monotonic() - started < 10  # woken by the watch, not a long poll


def test_a_step_reading_its_own_run_waits_on_a_watch_for_its_upstream_steps(
        recorded: Kube) -> None:
    """Inside the evaluator's Pod: the operator created it once svc_trainer finished but has
    not written that yet (its status write is batched, after the Pods); the step's view of
    its own run waits for the write and shows svc_trainer's outputs, as ZenML's does."""
    from kubeline.client.own_run import wait_for_upstream
    from kubeline.context import OwnRun, set_own_run
    from kubeline.errors import KubelineError

    done = next(o for o in OBJECTS if o["metadata"]["name"] == R1)["status"]
    by_name = {s["name"]: s for s in done["steps"]}
    before = {**done, "phase": "running", "endTime": None, "steps": [
        by_name["training_data_loader"],
        {"name": "svc_trainer", "phase": "running", "attempts": 1},
        {"name": "evaluator", "phase": "pending"}]}
    after = {**before, "steps": [by_name["training_data_loader"], by_name["svc_trainer"],
                                 {"name": "evaluator", "phase": "running", "attempts": 1}]}
    # no operator of the cluster plans this run (this test writes its status, as the one)
    recorded.patch(n.PIPELINE_RUNS, R1, {"metadata": {"labels": {
        n.LABEL_OPERATOR_CLASS: "no-operator-client-test"}}})
    write_status(recorded, n.PIPELINE_RUNS, R1, before)
    uid = recorded.get(n.PIPELINE_RUNS, R1)["metadata"]["uid"]

    def operator_writes() -> None:
        time.sleep(1.0)
        write_status(Kube.connect(namespace=recorded.namespace), n.PIPELINE_RUNS, R1, after)

    set_own_run(OwnRun(R1, uid, recorded.namespace, ("svc_trainer",)))
    try:
        stale = recorded.get(n.PIPELINE_RUNS, R1)
        with pytest.raises(KubelineError, match=r"svc_trainer completed after 1s"):
            wait_for_upstream(recorded, stale, ("svc_trainer",), 1)
        thread = threading.Thread(target=operator_writes)
        thread.start()
        started = time.monotonic()
        run = Client(kube=recorded).get_pipeline_run(R1)
        waited = time.monotonic() - started
        thread.join()
        assert run.steps["svc_trainer"].status == "completed"
        assert run.steps["svc_trainer"].outputs["trained_model"].name == "trained_model"
        assert 0.8 < waited < 10, waited  # woken by the watch once the status was written
        # any other run, or outside a step: read as it is, no waiting
        other = Client(kube=recorded).get_pipeline_run(R2)
        assert other.status == "cached"
    finally:
        set_own_run(None)


def _cli(kubeconfig: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": kubeconfig}
    return subprocess.run([sys.executable, "-m", "kubeline.cli.main", *args],
                          capture_output=True, text=True, env=env, timeout=60)


def test_cli_on_the_real_server(recorded: Kube, crds: Any) -> None:
    ns = recorded.namespace
    listed = _cli(crds.kubeconfig, "-n", ns, "pipeline", "runs", "list", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    assert {i["metadata"]["name"] for i in json.loads(listed.stdout)["items"]} == set(RUNS)
    described = _cli(crds.kubeconfig, "-n", ns, "run", "describe", R2)
    assert described.returncode == 0 and "cached (from" in described.stdout
    missing = _cli(crds.kubeconfig, "-n", ns, "run", "describe", "no-such-run")
    assert missing.returncode == 1 and "no pipeline run 'no-such-run'" in missing.stderr


@pytest.fixture
def unprivileged_kubeconfig(crds: Any, namespace: str, tmp_path: Path) -> Iterator[str]:
    """A kubeconfig for a ServiceAccount with no rights in ``namespace``."""
    crds.kubectl("create", "serviceaccount", "nobody", "-n", namespace)
    token = crds.kubectl("create", "token", "nobody", "-n", namespace).stdout.strip()
    config = yaml.safe_load(Path(crds.kubeconfig).read_text())
    ctx = next(c for c in config["contexts"] if c["name"] == config["current-context"])
    cluster = next(c for c in config["clusters"] if c["name"] == ctx["context"]["cluster"])
    entry = dict(cluster["cluster"])
    if "certificate-authority" in entry:
        ca = Path(entry.pop("certificate-authority")).read_bytes()
        entry["certificate-authority-data"] = base64.b64encode(ca).decode()
    path = tmp_path / "nobody.kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "nobody",
        "clusters": [{"name": "c", "cluster": entry}],
        "users": [{"name": "nobody", "user": {"token": token}}],
        "contexts": [{"name": "nobody", "context": {"cluster": "c", "user": "nobody",
                                                    "namespace": namespace}}]}))
    yield str(path)


def test_no_permission_is_a_clear_error(unprivileged_kubeconfig: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", unprivileged_kubeconfig)
    with pytest.raises(PermissionDeniedError, match="permission denied on pipelineruns"):
        Client().list_pipeline_runs()
    result = _cli(unprivileged_kubeconfig, "pipeline", "runs", "list")
    assert result.returncode == 1
    assert "permission denied" in result.stderr and "forbidden" in result.stderr
