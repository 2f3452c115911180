"""Shared fixtures: a real cluster for integration and e2e tests.

``cluster`` uses the cluster in ``KUBELINE_TEST_KUBECONFIG`` (or ``KUBECONFIG``
with ``--cluster=existing``) when pointed at one; otherwise it brings up the
local cluster (``kubeline dev up``) and, if it started it, stops it again at the
end of the session. ``--cluster=kind`` uses pytest-kind for users with Docker.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--cluster", default=os.environ.get("KUBELINE_TEST_CLUSTER", "dev"),
        choices=["dev", "existing", "kind"],
        help="dev: the local cluster (kubeline dev up); existing: the cluster in KUBECONFIG; "
             "kind: a kind cluster via pytest-kind (needs Docker).",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/unit" in str(item.fspath) and not item.get_closest_marker("unit"):
            item.add_marker(pytest.mark.unit)


@dataclass
class Cluster:
    """A reachable cluster and the tools to drive it."""

    kubeconfig: str
    kubectl_bin: str
    helm_bin: str | None
    image: str
    node_ip: str
    s3: dict[str, str] = field(default_factory=dict)

    def _env(self) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": self.kubeconfig}

    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                timeout: float = 120) -> subprocess.CompletedProcess[str]:
        cmd = [self.kubectl_bin, *args]
        result = subprocess.run(cmd, input=input, capture_output=True, text=True,
                                env=self._env(), timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed:\n{result.stderr}")
        return result

    def helm(self, *args: str, check: bool = True, timeout: float = 300
             ) -> subprocess.CompletedProcess[str]:
        if not self.helm_bin:
            raise AssertionError("helm is not available: run `kubeline dev build helm`")
        result = subprocess.run([self.helm_bin, *args], capture_output=True, text=True,
                                env=self._env(), timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed:\n{result.stderr}")
        return result


def _dev_cluster() -> Iterator[Cluster]:
    from kubeline.dev.cluster import DevCluster
    from kubeline.dev.gobuild import tool_path
    from kubeline.dev.images import ensure_kubeline_image

    dev = DevCluster(log=lambda m: print(f"[dev] {m}", flush=True))
    started = not dev.procs.get("kube-apiserver")
    st = dev.up()
    image = ensure_kubeline_image(dev, log=lambda m: print(f"[image] {m}", flush=True))
    s3 = st.s3_settings()
    env = {
        "KUBECONFIG": str(dev.paths.kubeconfig), "KUBELINE_S3_ENDPOINT": s3["endpoint"],
        "KUBELINE_S3_BUCKET": s3["bucket"], "KUBELINE_S3_REGION": s3["region"],
        "AWS_ACCESS_KEY_ID": s3["accessKeyId"], "AWS_SECRET_ACCESS_KEY": s3["secretAccessKey"],
        "KUBELINE_IMAGE": image,
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    kubectl = dev.write_shims() / "kubectl"
    try:
        yield Cluster(kubeconfig=str(dev.paths.kubeconfig), kubectl_bin=str(kubectl),
                      helm_bin=str(tool_path("helm")), image=image, node_ip=st.node_ip, s3=s3)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if started and not os.environ.get("KUBELINE_TEST_KEEP_CLUSTER"):
            dev.down()


@pytest.fixture(scope="session")
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    mode = request.config.getoption("--cluster")
    if mode == "kind":
        if not shutil.which("docker") or subprocess.run(
                ["docker", "info"], capture_output=True).returncode != 0:
            pytest.skip("--cluster=kind needs a running Docker engine (pytest-kind creates the "
                        "cluster in Docker); none is available here: use --cluster=dev")
        pytest_kind = pytest.importorskip("pytest_kind", reason="pip install pytest-kind")
        kind = pytest_kind.KindCluster(f"kubeline-{uuid.uuid4().hex[:6]}")
        kind.create()
        try:
            yield Cluster(kubeconfig=str(kind.kubeconfig_path), kubectl_bin=str(kind.kubectl_path),
                          helm_bin=shutil.which("helm"),
                          image=os.environ.get("KUBELINE_IMAGE", "localhost/kubeline:0.1.0"),
                          node_ip="")
        finally:
            kind.delete()
        return
    if mode == "existing" or os.environ.get("KUBELINE_TEST_KUBECONFIG"):
        kubeconfig = os.environ.get("KUBELINE_TEST_KUBECONFIG") or os.environ.get("KUBECONFIG")
        if not kubeconfig:
            pytest.fail("--cluster=existing needs KUBECONFIG or KUBELINE_TEST_KUBECONFIG")
        yield Cluster(kubeconfig=kubeconfig, kubectl_bin=shutil.which("kubectl") or "kubectl",
                      helm_bin=shutil.which("helm"),
                      image=os.environ.get("KUBELINE_IMAGE", "localhost/kubeline:0.1.0"),
                      node_ip=os.environ.get("KUBELINE_TEST_NODE_IP", ""))
        return
    yield from _dev_cluster()


@pytest.fixture(scope="session")
def crds(cluster: Cluster) -> Cluster:
    """The kubeline.dev CRDs applied server-side and Established."""
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"))
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f",
                    str(ROOT / "crds"))
    return cluster


def _new_namespace(cluster: Cluster) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", name)
    # Wait for the default ServiceAccount (pods cannot be created before it exists).
    deadline = time.monotonic() + 30
    while cluster.kubectl("get", "serviceaccount", "default", "-n", name,
                          check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"namespace {name} got no default ServiceAccount in 30s")
        time.sleep(0.2)
    return name


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    """A fresh, empty namespace, deleted afterwards."""
    name = _new_namespace(cluster)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def step_namespace(crds: Cluster) -> Iterator[str]:
    """A fresh namespace ready for step Pods: the S3 Secret and the kubeline-step ServiceAccount."""
    cluster = crds
    name = _new_namespace(cluster)
    if cluster.s3:
        args = [f"--from-literal={k}={v}" for k, v in cluster.s3.items()]
        cluster.kubectl("create", "secret", "generic", "kubeline-s3", "-n", name, *args)
    cluster.kubectl("create", "serviceaccount", "kubeline-step", "-n", name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


OPERATOR_RELEASE = "kubeline"
OPERATOR_NAMESPACE = "kubeline-system"


@pytest.fixture(scope="session")
def operator(crds: Cluster) -> Iterator[Cluster]:
    """The Kubeline operator running in-cluster from the Helm chart and the locally built image.

    Installs (or upgrades, rolling to the current image) release ``kubeline`` in
    ``kubeline-system``, watching all namespaces; uninstalls it afterwards only if
    this session installed it.
    """
    cluster = crds
    existed = OPERATOR_RELEASE in cluster.helm("list", "-q", "-n", OPERATOR_NAMESPACE).stdout
    repo, _, tag = cluster.image.rpartition(":")
    args = [
        "upgrade", "--install", OPERATOR_RELEASE, str(ROOT / "charts" / "kubeline"),
        "-n", OPERATOR_NAMESPACE, "--create-namespace",
        "--set", f"image.repository={repo}", "--set", f"image.tag={tag}",
        "--set-json", "stepNamespaces=[]",
        "--set", f"podAnnotations.kubeline\\.dev/test-session={uuid.uuid4().hex[:8]}",
    ]
    for key, value in cluster.s3.items():
        args += ["--set", f"s3.{key}={value}"]
    cluster.helm(*args, timeout=120)
    wait_operator_ready(cluster, OPERATOR_NAMESPACE)
    yield cluster
    if not existed:
        cluster.helm("uninstall", OPERATOR_RELEASE, "-n", OPERATOR_NAMESPACE, "--wait",
                     check=False)


def wait_operator_ready(cluster: Cluster, namespace: str, timeout: float = 240) -> None:
    """Wait for the operator rollout; fail at once with its log if it crash-loops."""
    selector = "app.kubernetes.io/component=operator"
    deadline = time.monotonic() + timeout
    while True:
        done = cluster.kubectl("rollout", "status", "deployment/kubeline-operator", "-n",
                               namespace, "--timeout=5s", check=False)
        ready = cluster.kubectl("get", "deployment/kubeline-operator", "-n", namespace, "-o",
                                "jsonpath={.status.readyReplicas}/{.status.updatedReplicas}",
                                check=False).stdout
        if done.returncode == 0 and ready == "1/1":
            return
        pods = cluster.kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "json")
        import json

        for pod in json.loads(pods.stdout)["items"]:
            for cs in pod["status"].get("containerStatuses", []):
                if cs.get("restartCount", 0) >= 1:
                    logs = cluster.kubectl("logs", pod["metadata"]["name"], "-n", namespace,
                                           "--previous", "--tail=40", check=False).stdout
                    raise AssertionError(f"the operator crashed:\n{logs}")
        if time.monotonic() > deadline:
            raise AssertionError(f"the operator was not Ready in {timeout:.0f}s: {done.stdout}")
