"""`helm install` with no S3 value: the operator and the embedded store, then seed 000's iris.

One release in a fresh namespace, watching only that namespace, with no S3 value (the
embedded store is the default). The shared release `kubeline` in `kubeline-system`
watches every namespace, so while this module runs its operator is scaled to zero and
then restored: two operators never act on the same runs. The local cluster has neither
cluster DNS nor a storage provisioner, so the test pins the store's ClusterIP and
provides a local PersistentVolume (docs/install.md, "The local cluster"); a managed
cluster needs neither.

The SDK runs in this process with every KUBELINE_S3_*/AWS_* variable removed: it must
find the store by itself (the S3 Secret in the namespace, then a port-forward).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from leftover_releases import remove_leftover_releases

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "kubeline"
IRIS = ROOT / "examples" / "iris"
SHARED_RELEASE, SHARED_NAMESPACE = "kubeline", "kubeline-system"
S3_ENV = ("KUBELINE_S3_BUCKET", "KUBELINE_S3_ENDPOINT", "KUBELINE_S3_REGION",
          "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


@dataclass
class Embedded:
    cluster: Any
    name: str
    namespace: str
    store_image: str
    cluster_ip: str
    storage_class: str
    installs: list[str] = field(default_factory=list)

    @property
    def store(self) -> str:
        return f"{self.name}-store"

    def kubectl(self, *args: str, check: bool = True) -> Any:
        return self.cluster.kubectl("-n", self.namespace, *args, check=check)

    def values(self, *extra: str, shared: bool = True) -> list[str]:
        """Everything but S3: images, this namespace only, and the local cluster's needs.
        Steps run in the release namespace, so ``shared`` sets the explicit opt-out of
        per-namespace S3 identities (s3.stepCredentials=shared); without it the chart's
        S3 defaults apply."""
        repo, _, tag = self.cluster.image.rpartition(":")
        store_repo, _, store_tag = self.store_image.rpartition(":")
        sets = [f"image.repository={repo}", f"image.tag={tag}",
                *(["s3.stepCredentials=shared"] if shared else []),
                f"watchNamespaces={{{self.namespace}}}", f"stepNamespaces={{{self.namespace}}}",
                f"operator.peering={self.name}",
                f"s3.embedded.image.repository={store_repo}",
                f"s3.embedded.image.tag={store_tag}",
                f"s3.embedded.service.clusterIP={self.cluster_ip}",
                f"s3.embedded.persistence.storageClass={self.storage_class}",
                "s3.embedded.persistence.size=1Gi", *extra]
        return [arg for s in sets for arg in ("--set", s)]

    def secret(self, name: str) -> dict[str, str]:
        out = json.loads(self.kubectl("get", "secret", name, "-o", "json").stdout)
        return {k: base64.b64decode(v).decode() for k, v in out["data"].items()}

    def pod(self, component: str) -> dict[str, Any]:
        out = self.kubectl("get", "pods", "-l", f"app.kubernetes.io/component={component},"
                           f"app.kubernetes.io/instance={self.name}", "-o", "json").stdout
        pods = [p for p in json.loads(out)["items"] if not p["metadata"].get("deletionTimestamp")]
        assert len(pods) == 1, f"expected one {component} Pod, got {len(pods)}"
        return pods[0]

    def diagnose(self) -> str:
        pods = self.kubectl("get", "pods,pvc", "-o", "wide", check=False).stdout
        events = self.kubectl("get", "events", "--sort-by=.lastTimestamp", check=False).stdout
        logs = self.kubectl("logs", f"deployment/{self.name}-operator", "--tail=30",
                            check=False).stdout
        store = self.kubectl("logs", f"statefulset/{self.store}", "--tail=30", check=False)
        return (f"pods:\n{pods}\nevents:\n{events[-3000:]}\noperator:\n{logs}\n"
                f"store:\n{store.stdout}{store.stderr}")


def _ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in pod.get("status", {}).get("conditions", []))


def _free_static_ip(cluster: Any) -> str:
    """An unused address in the low (static) band of the local cluster's Service range."""
    used = set(cluster.kubectl("get", "svc", "-A", "-o",
                               "jsonpath={.items[*].spec.clusterIP}").stdout.split())
    free = [f"10.96.0.{i}" for i in range(100, 250) if f"10.96.0.{i}" not in used]
    return random.choice(free)


def _store_image(request: pytest.FixtureRequest) -> str:
    if request.config.getoption("--cluster") != "dev" or os.environ.get(
            "KUBELINE_TEST_KUBECONFIG"):
        return os.environ.get("KUBELINE_STORE_IMAGE", "localhost/kubeline/store:0.1.0")
    from kubeline.dev.cluster import DevCluster
    from kubeline.dev.images import ensure_store_image

    return ensure_store_image(DevCluster(log=lambda m: print(f"[dev] {m}", flush=True)),
                              log=lambda m: print(f"[image] {m}", flush=True))


@pytest.fixture(scope="module")
def shared_operator_paused(crds: Any) -> Iterator[None]:
    """Scale the shared release's operator (all namespaces) to zero, restore it after."""
    cluster = crds
    dep = cluster.kubectl("get", "deployment/kubeline-operator", "-n", SHARED_NAMESPACE,
                          "-o", "jsonpath={.spec.replicas}", check=False)
    replicas = dep.stdout.strip() if dep.returncode == 0 else ""
    if replicas:
        cluster.kubectl("scale", "deployment/kubeline-operator", "-n", SHARED_NAMESPACE,
                        "--replicas=0")
        cluster.kubectl("wait", "--for=delete", "pod", "-n", SHARED_NAMESPACE, "-l",
                        "app.kubernetes.io/component=operator", "--timeout=90s", check=False)
    try:
        yield
    finally:
        if replicas:
            cluster.kubectl("scale", "deployment/kubeline-operator", "-n", SHARED_NAMESPACE,
                            f"--replicas={replicas}")
            cluster.kubectl("rollout", "status", "deployment/kubeline-operator", "-n",
                            SHARED_NAMESPACE, "--timeout=240s", timeout=260)


# The namespaces of this file's releases (the release's, and the refused and misconfigured
# installs'), and the prefix of its local volumes: nothing else uses them.
PREFIXES = ("kl-emb-", "kubeline-off-", "kubeline-bad-")
VOLUME_PREFIX = "kl-store-"


def _remove_leftover_volumes(cluster: Any) -> None:
    """Delete the local PersistentVolumes (and their directories) an interrupted session of
    this file left: named kl-store-*, claimed from a kl-emb-* namespace."""
    pvs = json.loads(cluster.kubectl("get", "pv", "-o", "json").stdout)["items"]
    for pv in pvs:
        claim = pv["spec"].get("claimRef") or {}
        if not (pv["metadata"]["name"].startswith(VOLUME_PREFIX)
                and claim.get("namespace", "").startswith(PREFIXES[0])):
            continue
        cluster.kubectl("delete", "pv", pv["metadata"]["name"], "--wait=false")
        path = Path(pv["spec"].get("local", {}).get("path", "/"))
        if path.parent == Path(tempfile.gettempdir()) and path.name.startswith(VOLUME_PREFIX):
            shutil.rmtree(path, ignore_errors=True)
        print(f"[cleanup] removed pv/{pv['metadata']['name']} and {path}", flush=True)


@pytest.fixture(scope="module")
def release(crds: Any, shared_operator_paused: None, request: pytest.FixtureRequest
            ) -> Iterator[Embedded]:
    cluster = crds
    remove_leftover_releases(cluster, PREFIXES)
    _remove_leftover_volumes(cluster)
    suffix = uuid.uuid4().hex[:6]
    rel = Embedded(cluster, f"kubeline-{suffix}", f"{PREFIXES[0]}{suffix}",
                   _store_image(request), _free_static_ip(cluster), f"kl-local-{suffix}")
    node = cluster.kubectl("get", "nodes", "-o", "jsonpath={.items[0].metadata.name}").stdout
    data = Path(tempfile.mkdtemp(prefix=f"{VOLUME_PREFIX}{suffix}-"))
    os.chown(data, 10001, 10001)  # the store's uid (a local volume is mounted as it is)
    data.chmod(0o750)
    pv = {"apiVersion": "v1", "kind": "PersistentVolume",
          "metadata": {"name": f"{VOLUME_PREFIX}{suffix}"},
          "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                   "persistentVolumeReclaimPolicy": "Retain",
                   "storageClassName": rel.storage_class, "local": {"path": str(data)},
                   "claimRef": {"namespace": rel.namespace, "name": f"data-{rel.store}-0"},
                   "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                       {"key": "kubernetes.io/hostname", "operator": "In",
                        "values": [node]}]}]}}}}
    cluster.kubectl("create", "namespace", rel.namespace)
    cluster.kubectl("apply", "-f", "-", input=json.dumps(pv))
    try:
        yield rel
    finally:
        for name, ns in [(rel.name, rel.namespace), *[(n, n) for n in rel.installs]]:
            cluster.helm("uninstall", name, "-n", ns, "--wait", check=False)
        # Whatever an uninstall left (cluster-scoped objects too), and the namespaces.
        remove_leftover_releases(cluster, [rel.namespace, *rel.installs], timeout=0)
        cluster.kubectl("wait", "--for=delete", f"namespace/{rel.namespace}", "--timeout=120s",
                        check=False)
        cluster.kubectl("delete", "pv", f"{VOLUME_PREFIX}{suffix}", "--wait=false", check=False)
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def sdk_without_s3_settings(release: Embedded, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The iris module with the Client in the release's namespace and no S3 variable set."""
    from kubeline import artifact_store, port_forward

    for var in S3_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KUBELINE_NAMESPACE", release.namespace)
    artifact_store.set_default_store(None)
    spec = importlib.util.spec_from_file_location(f"iris_embedded_{uuid.uuid4().hex[:4]}",
                                                  IRIS / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.syspath_prepend(str(IRIS))
    spec.loader.exec_module(module)
    try:
        yield module
    finally:
        artifact_store.set_default_store(None)
        port_forward.close_all()


def _step_pods(release: Embedded) -> set[str]:
    return set(release.kubectl("get", "pods", "-l", "kubeline.dev/component=step",
                               "-o", "name").stdout.split())


def _wait_ready(release: Embedded, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if _ready(release.pod("operator")) and _ready(release.pod("store")):
                return
        except AssertionError:
            pass
        time.sleep(2)
    raise AssertionError("the operator and the store were not Ready\n" + release.diagnose())


def test_install_without_s3_values_brings_up_the_operator_and_the_store(
        release: Embedded) -> None:
    result = release.cluster.helm("install", release.name, str(CHART), "-n", release.namespace,
                                  "--skip-crds", *release.values(), "--wait", "--timeout",
                                  "300s", check=False, timeout=360)
    assert result.returncode == 0, result.stderr + release.diagnose()
    assert "FOR EVALUATION ONLY" in result.stdout and "s3.embedded.enabled=false" in result.stdout
    assert "WARNING: s3.stepCredentials=shared" in result.stdout  # the opt-out is loud
    _wait_ready(release)
    store = release.pod("store")
    assert store["spec"]["securityContext"]["runAsUser"] == 10001
    claim = json.loads(release.kubectl("get", "pvc", f"data-{release.store}-0", "-o",
                                       "json").stdout)
    assert claim["status"]["phase"] == "Bound"
    s3 = release.secret("kubeline-s3")
    root = release.secret(release.store)
    assert s3["accessKeyId"] == root["rootAccessKey"]
    assert s3["endpoint"] == f"http://{release.cluster_ip}:7070"
    assert s3["inClusterService"] == f"{release.namespace}/{release.store}:7070"


def test_iris_runs_from_the_sdk_against_the_embedded_store(
        release: Embedded, sdk_without_s3_settings: Any) -> None:
    iris = sdk_without_s3_settings
    run = iris.training_pipeline()
    assert run.status == "completed", f"{run.status}\n{release.diagnose()}"
    model = run.steps["svc_trainer"].outputs["trained_model"].load()
    assert type(model).__name__ == "SVC" and hasattr(model, "support_vectors_")
    X_test = run.steps["training_data_loader"].outputs["X_test"].load()
    assert len(X_test) == 30
    assert 0.0 < run.steps["svc_trainer"].outputs["training_acc"].load() <= 1.0
    # The outputs are in the embedded store, not in the local cluster's own S3 server.
    from kubeline.artifact_store import default_store

    store = default_store()
    assert store.settings is not None and store.settings.endpoint is not None
    assert store.settings.endpoint.startswith("http://127.0.0.1:")  # the port-forward
    prefix = store.uri("artifacts", release.namespace)
    assert store.find(prefix), f"nothing under {prefix} in the embedded store"
    dev_s3 = getattr(release.cluster, "s3", None)
    if dev_s3:
        import s3fs

        other = s3fs.S3FileSystem(key=dev_s3["accessKeyId"], secret=dev_s3["secretAccessKey"],
                                  client_kwargs={"endpoint_url": dev_s3["endpoint"]},
                                  skip_instance_cache=True, use_listings_cache=False)
        assert not other.exists(f"{dev_s3['bucket']}/artifacts/{release.namespace}")
    assert len(_step_pods(release)) == 2


def test_upgrade_keeps_credentials_and_data_and_the_rerun_is_cached(
        release: Embedded, sdk_without_s3_settings: Any) -> None:
    iris = sdk_without_s3_settings
    # Its own run before the upgrade (cached if the iris test ran first): no reliance on
    # another test having run.
    first = iris.training_pipeline()
    assert first.status in ("completed", "cached"), release.diagnose()
    keys_before = release.secret(release.store)
    s3_before = release.secret("kubeline-s3")
    store_uid = release.pod("store")["metadata"]["uid"]
    # A changed store Pod template: the upgrade replaces the store's Pod (and the operator's).
    result = release.cluster.helm(
        "upgrade", release.name, str(CHART), "-n", release.namespace, "--skip-crds",
        *release.values("s3.embedded.resources.requests.cpu=60m",
                        "podAnnotations.kubeline\\.dev/upgraded=yes"),
        "--wait", "--timeout", "300s", check=False, timeout=360)
    assert result.returncode == 0, result.stderr + release.diagnose()
    _wait_ready(release)
    assert release.pod("store")["metadata"]["uid"] != store_uid, "the store was not restarted"
    assert release.secret(release.store) == keys_before
    assert release.secret("kubeline-s3") == s3_before
    # The data survived the new Pod: the first run's model loads.
    model = first.steps["svc_trainer"].outputs["trained_model"].load()
    assert type(model).__name__ == "SVC"
    pods_before = _step_pods(release)
    again = iris.training_pipeline()
    assert again.status == "cached", f"{again.status}\n{release.diagnose()}"
    assert {s.status for s in again.steps.values()} == {"cached"}
    assert _step_pods(release) == pods_before, "a fully cached run created Pods"
    assert again.steps["svc_trainer"].outputs["trained_model"].id == (
        first.steps["svc_trainer"].outputs["trained_model"].id)


def test_install_with_the_store_off_and_no_settings_is_refused(release: Embedded) -> None:
    name = f"kubeline-off-{uuid.uuid4().hex[:6]}"
    release.installs.append(name)
    result = release.cluster.helm("install", name, str(CHART), "-n", name, "--create-namespace",
                                  "--skip-crds", "--set", "s3.embedded.enabled=false",
                                  check=False)
    assert result.returncode != 0
    for value in ("s3.endpoint", "s3.bucket", "s3.accessKeyId", "s3.secretAccessKey",
                  "s3.existingSecret"):
        assert value in result.stderr, (value, result.stderr)
    assert name not in release.cluster.helm("list", "-a", "-q", "-n", name).stdout
    assert release.cluster.kubectl("get", "deployments,statefulsets,secrets", "-n", name,
                                   "-o", "name").stdout.strip() == ""


def test_existing_secret_missing_a_key_keeps_the_operator_not_ready(release: Embedded) -> None:
    name = f"kubeline-bad-{uuid.uuid4().hex[:6]}"  # fullname = name
    release.installs.append(name)
    cluster = release.cluster
    cluster.kubectl("create", "namespace", name)
    cluster.kubectl("create", "secret", "generic", "team-s3", "-n", name,
                    "--from-literal=bucket=kubeline", "--from-literal=accessKeyId=AKID",
                    f"--from-literal=endpoint=http://{release.cluster_ip}:7070")
    repo, _, tag = cluster.image.rpartition(":")
    result = cluster.helm("install", name, str(CHART), "-n", name, "--skip-crds",
                          "--set", f"image.repository={repo}", "--set", f"image.tag={tag}",
                          "--set", f"watchNamespaces={{{name}}}", "--set",
                          f"stepNamespaces={{{name}}}", "--set", f"operator.peering={name}",
                          "--set", "s3.existingSecret=team-s3",
                          "--set", "s3.stepCredentials=shared", check=False)
    assert result.returncode == 0, result.stderr
    deadline = time.monotonic() + 180
    logs = ""
    while time.monotonic() < deadline:
        pods = json.loads(cluster.kubectl("get", "pods", "-n", name, "-l",
                                          "app.kubernetes.io/component=operator", "-o",
                                          "json").stdout)["items"]
        running = [p for p in pods if p["status"].get("phase") == "Running"]
        logs = cluster.kubectl("logs", "-n", name, f"deployment/{name}-operator",
                               check=False).stdout
        if running and "not ready" in logs:
            time.sleep(12)  # a few readiness periods: it must stay not-ready
            pod = json.loads(cluster.kubectl("get", "pod", "-n", name,
                                             running[0]["metadata"]["name"], "-o",
                                             "json").stdout)
            assert not _ready(pod), "the operator is Ready with a Secret lacking a key"
            assert pod["status"]["containerStatuses"][0]["restartCount"] == 0
            break
        time.sleep(2)
    else:
        raise AssertionError(f"no 'not ready' log line in 180 s:\n{logs[-3000:]}")
    line = next(ln for ln in logs.splitlines() if "not ready" in ln)
    assert "ERROR" in line and "team-s3" in line and "'secretAccessKey'" in line, line


def test_per_namespace_accounts_isolate_a_step_namespace_in_the_embedded_store(
        release: Embedded, sdk_without_s3_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chart's default (s3.stepCredentials=perNamespace, s3.bucket=kubeline-{namespace}):
    a step namespace gets an account and a bucket of its own in the store. Its runs work
    with them (the SDK finds its namespace's Secret), and those keys reach nothing in a
    bucket of another namespace."""
    import s3fs
    from kubeline import artifact_store
    from kubeline.client import Client

    iris, cluster = sdk_without_s3_settings, release.cluster
    other = f"{release.namespace}-b"
    cluster.kubectl("create", "namespace", other)
    try:
        result = cluster.helm(
            "upgrade", "--install", release.name, str(CHART), "-n", release.namespace,
            "--skip-crds", *release.values(
                f"watchNamespaces={{{release.namespace},{other}}}", f"stepNamespaces={{{other}}}",
                shared=False),
            "--wait", "--timeout", "300s", check=False, timeout=360)
        assert result.returncode == 0, result.stderr + release.diagnose()
        assert "each step namespace has its own account in the embedded store" in result.stdout
        assert "WARNING" not in result.stdout
        _wait_ready(release)
        root = release.secret(release.store)
        s3 = json.loads(cluster.kubectl("get", "secret", "kubeline-s3", "-n", other, "-o",
                                        "json").stdout)["data"]
        s3 = {k: base64.b64decode(v).decode() for k, v in s3.items()}
        assert (s3["accessKeyId"], s3["bucket"]) == (f"ns-{other}", f"kubeline-{other}")
        assert s3["accessKeyId"] != root["rootAccessKey"]

        monkeypatch.setenv("KUBELINE_NAMESPACE", other)
        artifact_store.set_default_store(None)
        run = iris.training_pipeline()
        assert run.status == "completed", f"{run.status}\n{release.diagnose()}"
        model = run.steps["svc_trainer"].outputs["trained_model"]
        assert model.uri.startswith(f"s3://kubeline-{other}/artifacts/{other}/")
        assert type(model.load()).__name__ == "SVC"

        store = artifact_store.default_store(Client().kube)  # the namespace's own keys
        assert store.settings is not None and store.settings.access_key == s3["accessKeyId"]
        endpoint = {"endpoint_url": store.settings.endpoint}
        admin = s3fs.S3FileSystem(key=root["rootAccessKey"], secret=root["rootSecretKey"],
                                  client_kwargs=endpoint, skip_instance_cache=True,
                                  use_listings_cache=False)
        private = f"kubeline-{release.namespace}"
        if not admin.exists(private):
            admin.mkdir(private)
        admin.pipe(f"{private}/artifacts/{release.namespace}/secret.txt", b"not for B")
        mine = s3fs.S3FileSystem(key=s3["accessKeyId"], secret=s3["secretAccessKey"],
                                 client_kwargs=endpoint, skip_instance_cache=True,
                                 use_listings_cache=False)
        for attempt in (lambda: mine.cat(f"{private}/artifacts/{release.namespace}/secret.txt"),
                        lambda: mine.ls(private),
                        lambda: mine.pipe(f"{private}/artifacts/{release.namespace}/secret.txt",
                                          b"planted")):
            with pytest.raises(PermissionError):
                attempt()
        assert admin.cat(f"{private}/artifacts/{release.namespace}/secret.txt") == b"not for B"
    finally:
        artifact_store.set_default_store(None)
        back = cluster.helm("upgrade", release.name, str(CHART), "-n", release.namespace,
                            "--skip-crds", *release.values(), "--wait", "--timeout", "300s",
                            check=False, timeout=360)
        cluster.kubectl("delete", "namespace", other, "--wait=false", check=False)
        assert back.returncode == 0, back.stderr
        _wait_ready(release)
