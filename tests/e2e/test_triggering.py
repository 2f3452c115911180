"""Issue 7 acceptance: one snapshot, started from the SDK, the CLI, REST and `kubectl apply`.

A two-step pipeline (``make_data`` -> ``train(learning_rate)``) is snapshotted once. Each
interface starts a run of that same snapshot with its own ``learning_rate``: the run's
``config`` shows the value used, ``make_data`` (unchanged inputs and parameters) is served
from the cache and ``train`` runs again. Real Pods, real S3, the operator in-cluster.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubeline_release import OPERATOR_NAMESPACE, grant_step_pods, wait_operator_ready
from leftover_namespaces import create_scratch_namespace

pytestmark = pytest.mark.e2e

PIPELINE_SOURCE = '''\
"""A tiny pipeline whose snapshot every trigger interface runs."""

from kubeline import pipeline, step


@step
def make_data(n: int = 20) -> list:
    return list(range(n))


@step
def train(data: list, learning_rate: float = 0.1) -> float:
    return sum(data) * learning_rate


@pipeline
def trig_pipeline():
    data = make_data()
    train(data=data)
'''

SNAPSHOT = "trig-nightly"
ROOT = Path(__file__).resolve().parents[2]
API = "/apis/kubeline.dev/v1alpha1/namespaces"


@dataclass
class Setup:
    """The namespace, the pipeline's folder and the snapshot every test runs."""

    namespace: str
    folder: Path
    snapshot: Any  # SnapshotView
    baseline: Any  # RunView of the first run (every step computed)


def _kubectl(cluster: Any, *args: str, check: bool = True,
             input: str | None = None) -> subprocess.CompletedProcess[str]:
    return cluster.kubectl(*args, check=check, input=input)


@pytest.fixture(scope="module")
def setup(operator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    """A namespace ready for step Pods, the snapshot, and one completed run of it."""
    import uuid

    cluster = operator
    ns = create_scratch_namespace(cluster, f"t-trig-{uuid.uuid4().hex[:6]}")
    cluster.give_namespace_s3(ns)
    cluster.kubectl("create", "serviceaccount", "kubeline-step", "-n", ns)
    grant_step_pods(cluster, ns)
    folder = tmp_path_factory.mktemp("trig")
    (folder / "trig_pipe.py").write_text(PIPELINE_SOURCE)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KUBELINE_NAMESPACE", ns)
        mp.setenv("KUBELINE_SOURCE_ROOT", str(folder))
        mp.syspath_prepend(str(folder))
        import trig_pipe
        from kubeline.client import Client

        snap = trig_pipe.trig_pipeline.create_snapshot(name=SNAPSHOT)
        assert snap.name == SNAPSHOT and snap.runnable
        baseline = Client().trigger_pipeline(snapshot_name_or_id=SNAPSHOT)
        baseline.wait(timeout=300, show_progress=False)
        baseline.refresh()
        assert baseline.status == "completed", (baseline.status, baseline.message)
        assert {s.status for s in baseline.steps.values()} == {"completed"}
        yield Setup(namespace=ns, folder=folder, snapshot=snap, baseline=baseline)
        sys.modules.pop("trig_pipe", None)
    cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)
    cluster.drop_namespace_s3(ns)


def _operator_pods(cluster: Any) -> set[str]:
    """The names of the operator's Pods that are not being deleted."""
    pods = json.loads(cluster.kubectl("get", "pods", "-n", OPERATOR_NAMESPACE, "-l",
                                      "app.kubernetes.io/component=operator", "-o",
                                      "json").stdout)["items"]
    return {p["metadata"]["name"] for p in pods if not p["metadata"].get("deletionTimestamp")}


def _finished(name: str, timeout: float = 300) -> Any:
    """The run ``name`` after it ended."""
    from kubeline.client import Client

    run = Client().get_pipeline_run(name)
    run.wait(timeout=timeout, show_progress=False)
    run.refresh()
    return run


def _assert_rerun_with(run: Any, setup: Setup, learning_rate: float) -> None:
    """The run used ``learning_rate``: data step cached from the baseline, train recomputed;
    the pipeline lists it among its runs (the operator's recentRuns pointers)."""
    from kubeline.client import Client

    assert run.status == "completed", (run.name, run.status, run.message)
    assert run.snapshot_name == setup.snapshot.object_name
    assert run.config.steps["train"].parameters["learning_rate"] == learning_rate
    data, train = run.steps["make_data"], run.steps["train"]
    assert data.status == "cached", data.status
    assert train.status == "completed", train.status
    assert train.config.parameters["learning_rate"] == learning_rate
    assert data.outputs["output"].id == setup.baseline.steps["make_data"].outputs["output"].id
    assert train.output.load() == pytest.approx(sum(range(20)) * learning_rate)
    listed = {r.name for r in Client().get_pipeline("trig_pipeline").runs}
    assert {run.name, setup.baseline.name} <= listed, sorted(listed)


def test_sdk_by_snapshot_with_modified_template(setup: Setup) -> None:
    from kubeline.client import Client

    snapshot = Client().get_snapshot(SNAPSHOT)
    config = snapshot.config_template
    assert config.steps["train"].parameters["learning_rate"] == 0.1
    config.steps["train"].parameters["learning_rate"] = 0.2
    run = Client().trigger_pipeline(snapshot_name_or_id=snapshot.id, run_configuration=config)
    _assert_rerun_with(_finished(run.name), setup, 0.2)
    # The template handed out is a copy: the snapshot itself is unchanged.
    assert Client().get_snapshot(SNAPSHOT).config_template.steps["train"].parameters[
        "learning_rate"] == 0.1


def test_sdk_by_pipeline_name_with_dict(setup: Setup) -> None:
    from kubeline.client import Client

    run = Client().trigger_pipeline(
        pipeline_name_or_id="trig_pipeline",
        run_configuration={"steps": {"train": {"parameters": {"learning_rate": 0.3}}}},
    )
    _assert_rerun_with(_finished(run.name), setup, 0.3)


def test_sdk_rejects_bad_configuration_before_creating_a_run(setup: Setup) -> None:
    from kubeline.client import Client
    from kubeline.errors import ConfigurationError

    client = Client()
    before = len(client.list_pipeline_runs(size=1000))
    cases = [
        ({"steps": {"trainer": {"parameters": {"learning_rate": 0.5}}}}, "'trainer'"),
        ({"steps": {"train": {"parameters": {"lr": 0.5}}}}, "'lr'"),
        ({"steps": {"train": {"parameters": {"learning_rate": "high"}}}}, "'learning_rate'"),
    ]
    for config, named in cases:
        with pytest.raises(ConfigurationError, match=named):
            client.trigger_pipeline(snapshot_name_or_id=SNAPSHOT, run_configuration=config)
    assert len(client.list_pipeline_runs(size=1000)) == before


def _cli(setup: Setup, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBELINE_NAMESPACE": setup.namespace,
           "KUBELINE_SOURCE_ROOT": str(setup.folder)}
    return subprocess.run([sys.executable, "-m", "kubeline.cli.main", *args], cwd=setup.folder,
                          env=env, capture_output=True, text=True, timeout=300)


def test_cli_snapshot_create_and_run_with_config_file(setup: Setup) -> None:
    created = _cli(setup, "pipeline", "snapshot", "create", "trig_pipe.trig_pipeline",
                   "--name", SNAPSHOT)
    assert created.returncode == 0, created.stderr
    # Same code, DAG and configuration: the CLI finds the very same Snapshot object.
    assert setup.snapshot.object_name in created.stdout, created.stdout
    (setup.folder / "run.yaml").write_text(
        "steps:\n  train:\n    parameters:\n      learning_rate: 0.4\n")
    started = _cli(setup, "pipeline", "snapshot", "run", SNAPSHOT, "--config", "run.yaml",
                   "-o", "json")
    assert started.returncode == 0, started.stderr
    name = json.loads(started.stdout)["metadata"]["name"]
    _assert_rerun_with(_finished(name), setup, 0.4)

    (setup.folder / "bad.yaml").write_text(
        "steps:\n  train:\n    parameters:\n      momentum: 0.9\n")
    bad = _cli(setup, "pipeline", "snapshot", "run", SNAPSHOT, "--config", "bad.yaml")
    assert bad.returncode == 1
    assert "momentum" in bad.stderr and "Traceback" not in bad.stderr, bad.stderr


# ------------------------------------------------------------------------------------ REST
@dataclass
class Rest:
    """Plain HTTPS to the API server with a bearer token and the cluster's CA."""

    server: str
    token: str
    context: ssl.SSLContext

    def call(self, method: str, path: str, body: Any = None,
             content_type: str = "application/json") -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.server + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Accept": "application/json",
            "Content-Type": content_type})
        try:
            with urllib.request.urlopen(req, context=self.context, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")


def _cluster_endpoint(kubeconfig: str, tmp: Path) -> tuple[str, ssl.SSLContext]:
    """The API server URL and an SSL context trusting the cluster CA, from the kubeconfig."""
    import yaml

    cfg = yaml.safe_load(Path(kubeconfig).read_text())
    ctx_name = cfg["current-context"]
    context = next(c["context"] for c in cfg["contexts"] if c["name"] == ctx_name)
    cluster = next(c["cluster"] for c in cfg["clusters"] if c["name"] == context["cluster"])
    if "certificate-authority-data" in cluster:
        ca = tmp / "ca.crt"
        ca.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
    else:
        ca = Path(cluster["certificate-authority"])
    return cluster["server"].rstrip("/"), ssl.create_default_context(cafile=str(ca))


ROLE = """\
apiVersion: v1
kind: ServiceAccount
metadata: {{name: ci-trigger, namespace: {ns}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: ci-trigger, namespace: {ns}}}
rules:
  - apiGroups: [kubeline.dev]
    resources: [pipelines, snapshots]
    verbs: [get, list]
  - apiGroups: [kubeline.dev]
    resources: [pipelineruns]
    verbs: [create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: ci-trigger, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: ci-trigger}}
subjects: [{{kind: ServiceAccount, name: ci-trigger, namespace: {ns}}}]
"""


def test_rest_three_calls_with_a_create_only_token(operator: Any, setup: Setup,
                                                   tmp_path: Path) -> None:
    cluster, ns = operator, setup.namespace
    _kubectl(cluster, "apply", "-f", "-", input=ROLE.format(ns=ns))
    token = _kubectl(cluster, "create", "token", "ci-trigger", "-n", ns,
                     "--duration=10m").stdout.strip()
    server, ssl_ctx = _cluster_endpoint(cluster.kubeconfig, tmp_path)
    rest = Rest(server, token, ssl_ctx)

    # 1. The pipeline (its object name and its latest snapshot), by its Python name.
    code, pipelines = rest.call("GET", f"{API}/{ns}/pipelines")
    assert code == 200, pipelines
    pipeline = next(p for p in pipelines["items"] if p["spec"]["name"] == "trig_pipeline")
    # 2. Its snapshots (by label), picking the one named at creation.
    selector = urllib.request.quote(f"kubeline.dev/pipeline={pipeline['metadata']['name']}")
    code, snaps = rest.call("GET", f"{API}/{ns}/snapshots?labelSelector={selector}")
    assert code == 200, snaps
    snapshot = next(s for s in snaps["items"] if s["spec"].get("displayName") == SNAPSHOT)
    assert snapshot["metadata"]["name"] == setup.snapshot.object_name
    # 3. Trigger it: create a PipelineRun (generateName works over REST).
    body = {
        "apiVersion": "kubeline.dev/v1alpha1", "kind": "PipelineRun",
        "metadata": {"generateName": "trig-pipeline-rest-", "labels": {
            "kubeline.dev/pipeline": pipeline["metadata"]["name"],
            "kubeline.dev/snapshot": snapshot["metadata"]["name"]}},
        "spec": {"snapshot": snapshot["metadata"]["name"],
                 "config": {"steps": {"train": {"parameters": {"learning_rate": 0.5}}}}},
    }
    code, created = rest.call("POST", f"{API}/{ns}/pipelineruns", body)
    assert code == 201, created
    name = created["metadata"]["name"]
    # The operator restarts right after the POST: the new one finishes the run.
    before = _operator_pods(cluster)
    cluster.kubectl("delete", "pod", "-l", "app.kubernetes.io/component=operator", "-n",
                    OPERATOR_NAMESPACE, "--wait=false")
    wait_operator_ready(cluster, OPERATOR_NAMESPACE)
    after = _operator_pods(cluster)
    assert after and not after & before, (before, after)  # a new operator Pod, the old gone

    # The same token may do nothing else.
    refused = [
        ("GET", f"{API}/{ns}/pipelineruns/{name}", None),
        ("GET", f"{API}/{ns}/pipelineruns", None),
        ("DELETE", f"{API}/{ns}/pipelineruns/{name}", None),
        ("PATCH", f"{API}/{ns}/pipelineruns/{name}", {"spec": {"cancel": True}}),
        ("DELETE", f"{API}/{ns}/snapshots/{snapshot['metadata']['name']}", None),
        ("POST", f"{API}/{ns}/snapshots", {**snapshot, "metadata": {"name": "stolen"}}),
        ("GET", f"/api/v1/namespaces/{ns}/secrets", None),
        ("GET", f"/api/v1/namespaces/{ns}/pods", None),
        ("GET", f"{API}/default/pipelines", None),
    ]
    for method, path, payload in refused:
        code, answer = rest.call(method, path, payload,
                                 content_type="application/merge-patch+json")
        assert code == 403, (method, path, code, answer)
        assert answer["reason"] == "Forbidden"
    _assert_rerun_with(_finished(name), setup, 0.5)


# ---------------------------------------------------------------------------------- GitOps
def _manifest(name: str, snapshot: str, learning_rate: float) -> str:
    return textwrap.dedent(f"""\
        apiVersion: kubeline.dev/v1alpha1
        kind: PipelineRun
        metadata:
          name: {name}
        spec:
          snapshot: {snapshot}
          config:
            steps:
              train:
                parameters:
                  learning_rate: {learning_rate}
          ttlSecondsAfterFinished: 3600
        """)


def _meta(cluster: Any, ns: str, name: str) -> tuple[str, int]:
    obj = json.loads(_kubectl(cluster, "get", "pipelinerun", name, "-n", ns, "-o",
                              "json").stdout)
    return obj["metadata"]["resourceVersion"], obj["metadata"]["generation"]


def _run_names(cluster: Any, ns: str) -> set[str]:
    return set(_kubectl(cluster, "get", "pipelineruns", "-n", ns, "-o", "name").stdout.split())


def test_gitops_apply_runs_reapply_is_noop_edit_is_rejected(operator: Any, setup: Setup,
                                                            tmp_path: Path) -> None:
    cluster, ns = operator, setup.namespace
    snap = setup.snapshot.object_name
    path = tmp_path / "run.yaml"
    path.write_text(_manifest("trig-gitops-1", snap, 0.6))
    applied = _kubectl(cluster, "apply", "-n", ns, "-f", str(path))
    assert "created" in applied.stdout, applied.stdout
    run = _finished("trig-gitops-1")
    _assert_rerun_with(run, setup, 0.6)
    assert run.spec["ttlSecondsAfterFinished"] == 3600
    # The operator labels runs it did not create, so the Client finds them by selector, and
    # records the run's uid in status.uid, a selectable field: found by id in one request.
    from kubeline.client import Client
    from kubeline.resources.names import LABEL_PIPELINE, LABEL_SNAPSHOT

    labels = json.loads(_kubectl(cluster, "get", "pipelinerun", "trig-gitops-1", "-n", ns,
                                 "-o", "json").stdout)["metadata"]["labels"]
    assert labels[LABEL_SNAPSHOT] == snap and labels.get(LABEL_PIPELINE), labels
    listed = Client().list_pipeline_runs(pipeline="trig_pipeline", size=50)
    assert "trig-gitops-1" in {r.name for r in listed}
    by_field = _kubectl(cluster, "get", "pipelineruns", "-n", ns, "-o", "name",
                        f"--field-selector=status.uid={run.id}").stdout.split()
    assert by_field == ["pipelinerun.kubeline.dev/trig-gitops-1"], by_field
    assert Client().get_pipeline_run(run.id).name == "trig-gitops-1"

    runs_before, meta_before = _run_names(cluster, ns), _meta(cluster, ns, "trig-gitops-1")
    again = _kubectl(cluster, "apply", "-n", ns, "-f", str(path))
    assert "unchanged" in again.stdout, again.stdout
    time.sleep(2)
    assert _meta(cluster, ns, "trig-gitops-1") == meta_before
    assert _run_names(cluster, ns) == runs_before, "re-applying started another run"

    path.write_text(_manifest("trig-gitops-1", snap, 0.7))
    edited = _kubectl(cluster, "apply", "-n", ns, "-f", str(path), check=False)
    assert edited.returncode != 0
    assert "spec.config of a PipelineRun is immutable" in edited.stderr, edited.stderr
    assert "create a new PipelineRun instead" in edited.stderr, edited.stderr
    assert _meta(cluster, ns, "trig-gitops-1") == meta_before

    # Server-side apply (what Flux uses) behaves the same; the snapshot may be named by the
    # name given at creation; an identical configuration is a fully cached run.
    ssa = tmp_path / "ssa.yaml"
    ssa.write_text(_manifest("trig-gitops-ssa", SNAPSHOT, 0.6))
    _kubectl(cluster, "apply", "--server-side", "-n", ns, "-f", str(ssa))
    cached = _finished("trig-gitops-ssa")
    assert cached.status == "cached", cached.status
    assert cached.config.steps["train"].parameters["learning_rate"] == 0.6
    meta_ssa = _meta(cluster, ns, "trig-gitops-ssa")
    _kubectl(cluster, "apply", "--server-side", "-n", ns, "-f", str(ssa))
    assert _meta(cluster, ns, "trig-gitops-ssa") == meta_ssa
    ssa.write_text(_manifest("trig-gitops-ssa", SNAPSHOT, 0.9))
    refused = _kubectl(cluster, "apply", "--server-side", "-n", ns, "-f", str(ssa), check=False)
    assert refused.returncode != 0 and "is immutable" in refused.stderr, refused.stderr

    # The documented example manifest (examples/gitops/) is a valid PipelineRun.
    example = ROOT / "examples" / "gitops" / "pipelinerun.yaml"
    dry = _kubectl(cluster, "apply", "--dry-run=server", "-n", ns, "-f", str(example))
    assert "created (server dry run)" in dry.stdout, dry.stdout
