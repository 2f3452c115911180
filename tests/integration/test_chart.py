"""`helm install / upgrade / uninstall` of charts/kubeline on the local cluster, and its RBAC.

The tests run in file order against one release in its own namespace. The release
watches only that namespace, so its operator never touches other tests' runs, and
it gets a unique name and peering so that cluster-scoped objects never collide.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from leftover_releases import remove_leftover_releases
from polling import wait_for

pytestmark = pytest.mark.integration

CHART = Path(__file__).resolve().parents[2] / "charts" / "kubeline"


@dataclass
class Release:
    cluster: Any
    name: str
    namespace: str

    @property
    def operator(self) -> str:
        return f"{self.name}-operator"

    def values(self, *extra: str) -> list[str]:
        """``--set`` arguments: the locally built image, this namespace only, local S3."""
        repository, _, tag = self.cluster.image.rpartition(":")
        if "/" in tag or not repository:  # an image without a tag
            repository, tag = self.cluster.image, ""
        sets = [
            f"image.repository={repository}",
            f"image.tag={tag}",
            "image.pullPolicy=IfNotPresent",
            f"watchNamespaces={{{self.namespace}}}",
            f"stepNamespaces={{{self.namespace}}}",
            f"operator.peering={self.name}",
            # Steps run in the release namespace itself, next to the operator's Secret: only
            # with the explicit opt-out of per-namespace S3 identities (docs/security.md).
            "s3.stepCredentials=shared",
        ]
        for key, value in (getattr(self.cluster, "s3", None) or {}).items():
            if key in {"bucket", "endpoint", "region", "accessKeyId", "secretAccessKey"}:
                sets.append(f"s3.{key}={value}")
        args: list[str] = []
        for item in [*sets, *extra]:
            args += ["--set", item]
        return args

    def kubectl(self, *args: str, check: bool = True, input: str | None = None) -> Any:
        return self.cluster.kubectl("-n", self.namespace, *args, check=check, input=input)

    def can(self, sa: str, verb: str, resource: str, where: str = "") -> bool:
        """`kubectl auth can-i` as ServiceAccount ``sa`` of this namespace, in this namespace
        or in ``where``."""
        # "pods/log" is a subresource (kubectl would read TYPE/NAME: a Pod named "log").
        kind, _, sub = resource.partition("/")
        result = self.cluster.kubectl("auth", "can-i", verb, kind, "-n",
                                      where or self.namespace,
                                      f"--as=system:serviceaccount:{self.namespace}:{sa}",
                                      *([f"--subresource={sub}"] if sub else []), check=False)
        answer = result.stdout.strip()
        assert answer in {"yes", "no"}, f"kubectl auth can-i failed: {result.stderr}"
        return answer == "yes"

    def operator_pods(self) -> list[dict[str, Any]]:
        out = self.kubectl("get", "pods", "-l",
                           "app.kubernetes.io/component=operator,"
                           f"app.kubernetes.io/instance={self.name}", "-o", "json").stdout
        return json.loads(out)["items"]

    def diagnose(self) -> str:
        """Pod states and operator logs, for failure messages."""
        pods = self.kubectl("get", "pods", "-o", "wide", check=False).stdout
        events = self.kubectl("get", "events", "--sort-by=.lastTimestamp", check=False).stdout
        logs = self.kubectl("logs", f"deployment/{self.operator}", "--tail=40",
                            check=False).stdout
        return f"pods:\n{pods}\nevents:\n{events[-3000:]}\noperator logs:\n{logs}"

    def wait_ready(self, timeout: float = 240) -> dict[str, Any]:
        """The single operator Pod once it is Ready (and no other operator Pod is left)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pods = [p for p in self.operator_pods() if not p["metadata"].get("deletionTimestamp")]
            ready = [
                p for p in pods
                if any(c["type"] == "Ready" and c["status"] == "True"
                       for c in p.get("status", {}).get("conditions", []))
            ]
            if len(pods) == 1 and ready:
                return ready[0]
            time.sleep(2)
        raise AssertionError(f"the operator Pod did not become Ready in {timeout:.0f}s\n"
                             + self.diagnose())


PREFIX = "kl-chart-"  # the namespaces of this file's releases, and nothing else's


def _installed(cluster: Any, *extra: str, ready: bool = True) -> Iterator[Release]:
    """A release of the chart in a fresh namespace, its operator Ready; removed afterwards,
    with whatever ``helm uninstall`` left of it."""
    suffix = uuid.uuid4().hex[:6]
    rel = Release(cluster, f"kubeline-{suffix}", f"{PREFIX}{suffix}")
    cluster.kubectl("create", "namespace", rel.namespace)
    try:
        cluster.helm("install", rel.name, str(CHART), "-n", rel.namespace,
                     *rel.values(*extra), "--timeout", "240s")
        if ready:
            rel.wait_ready()
        yield rel
    finally:
        cluster.helm("uninstall", rel.name, "-n", rel.namespace, "--wait", check=False)
        remove_leftover_releases(cluster, [rel.namespace], timeout=0)


@pytest.fixture(scope="module")
def no_leftovers(crds: Any) -> Any:
    """The cluster without the releases an interrupted session left in ``kl-chart-*``
    namespaces (their cluster-wide policies would judge this session's objects)."""
    remove_leftover_releases(crds, [PREFIX])
    return crds


@pytest.fixture(scope="module")
def release(no_leftovers: Any) -> Iterator[Release]:
    """One installed release shared by the tests that only read it (or put it back)."""
    yield from _installed(no_leftovers)


@pytest.fixture
def own_release(no_leftovers: Any) -> Iterator[Release]:
    """A release for a test that removes it."""
    yield from _installed(no_leftovers)


def test_install_brings_the_operator_to_ready(release: Release) -> None:
    pod = release.wait_ready()
    (container,) = pod["spec"]["containers"]
    assert container["image"] == release.cluster.image
    assert container["command"] == ["python", "-m", "kubeline_operator"]
    status = pod["status"]["containerStatuses"][0]
    assert status["ready"] is True
    # The step ServiceAccount exists, with no token mounted by default.
    sa = json.loads(release.kubectl("get", "serviceaccount", "kubeline-step", "-o",
                                    "json").stdout)
    assert sa["automountServiceAccountToken"] is False


def test_operator_rbac(release: Release, namespace: str) -> None:
    """watchNamespaces and stepNamespaces name the release's namespace: the operator may
    run step Pods there, and has no rights at all in any other namespace (``namespace``)."""
    op = release.operator
    assert not release.can(op, "get", "secrets")
    assert not release.can(op, "list", "secrets")
    for verb in ("create", "delete", "get", "list", "watch"):
        assert release.can(op, verb, "pods"), verb
    assert not release.can(op, "patch", "pods")
    assert not release.can(op, "get", "pods/log")
    assert not release.can(op, "create", "pods/exec")
    assert release.can(op, "patch", "pipelineruns.kubeline.dev/status")
    assert release.can(op, "create", "artifactversions.kubeline.dev")
    assert release.can(op, "create", "events")
    assert not release.can(op, "create", "deployments.apps")
    assert not release.can(op, "create", "rolebindings.rbac.authorization.k8s.io")
    for verb, resource in [("create", "pods"), ("delete", "pods"), ("list", "pods"),
                           ("get", "secrets"), ("list", "pipelineruns.kubeline.dev"),
                           ("patch", "pipelineruns.kubeline.dev/status"),
                           ("create", "events")]:
        assert not release.can(op, verb, resource, where=namespace), f"{verb} {resource}"
        assert not release.can(op, verb, resource, where="default"), f"{verb} {resource}"
    assert release.can(op, "list", "customresourcedefinitions.apiextensions.k8s.io")
    assert not release.can(op, "create", "namespaces")


def test_operator_pods_are_pinned_by_the_admission_policy(release: Release) -> None:
    """As the operator's ServiceAccount (server-side dry run): a step Pod is admitted, one
    with a hostPath volume or running as another ServiceAccount is refused by the policy."""
    user = f"system:serviceaccount:{release.namespace}:{release.operator}"
    policy = f"{release.name}-operator-pods"

    def create(spec: dict[str, Any]) -> Any:
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe"},
               "spec": {"restartPolicy": "Never", "automountServiceAccountToken": False,
                        "containers": [{"name": "c", "image": release.cluster.image}],
                        **spec}}
        return release.kubectl("create", "--dry-run=server", f"--as={user}", "-f", "-",
                               input=json.dumps(pod), check=False)

    ok = create({"serviceAccountName": "kubeline-step"})
    assert ok.returncode == 0, ok.stderr
    for spec in ({"serviceAccountName": "default"},
                 {"serviceAccountName": "kubeline-step",
                  "volumes": [{"name": "h", "hostPath": {"path": "/etc"}}]}):
        refused = create(spec)
        assert refused.returncode != 0 and f"ValidatingAdmissionPolicy '{policy}'" in (
            refused.stderr), (spec, refused.stderr)


OTHER_STEP_SA = "kl-other-step"


@pytest.fixture
def second_release(no_leftovers: Any) -> Iterator[Release]:
    """Another release on the same cluster, with a step ServiceAccount of another name (its
    run-provenance policy admits a step's run only from that one); its operator not awaited."""
    yield from _installed(no_leftovers, f"steps.serviceAccountName={OTHER_STEP_SA}",
                          ready=False)


def _as_step_pod(release: Release, tmp_path: Path, sa: str = "kubeline-step") -> Any:
    """``kubectl`` as a step Pod of ``release``'s namespace: a Pod (gated, it never runs) of
    ServiceAccount ``sa`` that may create runs, and a token the API server bound to it, so the
    request carries the Pod's name as the step's own token does. Returns ``create_run``
    (namespace, annotation) -> the server-side dry run's result, and the Pod's name."""
    ns, pod = release.namespace, f"probe-{uuid.uuid4().hex[:6]}"
    release.kubectl("create", "serviceaccount", sa, check=False)  # the chart's may exist
    release.kubectl("create", "role", f"{pod}-runs", "--verb=create",
                    "--resource=pipelineruns.kubeline.dev")
    release.kubectl("create", "rolebinding", f"{pod}-runs", f"--role={pod}-runs",
                    f"--serviceaccount={ns}:{sa}")
    wait_for(f"{sa} to be allowed to create runs",
             lambda: release.can(sa, "create", "pipelineruns.kubeline.dev"), timeout=30)
    release.kubectl("create", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod},
        "spec": {"serviceAccountName": sa, "automountServiceAccountToken": False,
                 "schedulingGates": [{"name": "kubeline.dev/never-runs"}],
                 "containers": [{"name": "c", "image": release.cluster.image}]}}))
    uid = release.kubectl("get", "pod", pod, "-o", "jsonpath={.metadata.uid}").stdout
    token = release.kubectl("create", "token", sa, "--bound-object-kind=Pod",
                            f"--bound-object-name={pod}", f"--bound-object-uid={uid}",
                            "--duration=10m").stdout.strip()
    view = json.loads(release.cluster.kubectl("config", "view", "--raw", "--minify", "-o",
                                              "json").stdout)
    server = dict(view["clusters"][0]["cluster"])
    kubeconfig = tmp_path / f"{pod}.kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "pod",
        "clusters": [{"name": "c", "cluster": server}],
        "users": [{"name": "pod", "user": {"token": token}}],
        "contexts": [{"name": "pod", "context": {"cluster": "c", "user": "pod",
                                                 "namespace": ns}}]}))

    def create_run(namespace: str, annotation: str) -> Any:
        run = {"apiVersion": "kubeline.dev/v1alpha1", "kind": "PipelineRun",
               "metadata": {"name": f"{pod}-run", "namespace": namespace,
                            "annotations": {"kubeline.dev/triggered-from-pod": annotation}},
               "spec": {"pipeline": "probe"}}
        return release.cluster.kubectl(f"--kubeconfig={kubeconfig}", "create",
                                       "--dry-run=server", "-f", "-", input=json.dumps(run),
                                       check=False)
    return create_run, pod


def test_a_second_release_s_provenance_policy_leaves_the_first_release_s_runs_alone(
        release: Release, second_release: Release, tmp_path: Path) -> None:
    """Each release's run-provenance policy is bound to its own watchNamespaces: the second
    release's (step ServiceAccount kl-other-step) refuses a kubeline-step Pod's run in its
    own namespace and never sees the same kind of run in the first release's namespace."""
    other, policy = second_release, f"{second_release.name}-run-provenance"
    create_in_other, other_pod = _as_step_pod(other, tmp_path)

    answers: list[str] = []

    def refused_by_its_policy() -> bool:
        result = create_in_other(other.namespace, other_pod)
        answers.append(result.stderr or result.stdout)
        return result.returncode != 0 and f"ValidatingAdmissionPolicy '{policy}'" in (
            result.stderr)
    # (Polled: the API server picks up a new policy and binding within a few seconds.)
    try:
        wait_for(f"{policy} to refuse a run of a kubeline-step Pod", refused_by_its_policy,
                 timeout=60, interval=1)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the last answer: {answers[-1:]}") from None
    assert f"own {OTHER_STEP_SA} token" in answers[-1], answers[-1]
    create_in_first, first_pod = _as_step_pod(release, tmp_path)
    try:
        admitted = create_in_first(release.namespace, first_pod)
        assert admitted.returncode == 0, admitted.stderr
        assert "created (server dry run)" in admitted.stdout, admitted.stdout
        # The first release's own policy still judges its namespace: another Pod's name
        # (not the one the token is bound to) is refused there.
        forged = create_in_first(release.namespace, other_pod)
        assert forged.returncode != 0 and "-run-provenance'" in forged.stderr, forged.stderr
        assert f"'{policy}'" not in forged.stderr, forged.stderr
    finally:
        for kind in ("pod", "rolebinding", "role"):
            name = first_pod if kind == "pod" else f"{first_pod}-runs"
            release.kubectl("delete", kind, name, "--wait=false", check=False)


def test_step_service_account_only_reads_kubeline_objects_by_default(release: Release) -> None:
    step = "kubeline-step"
    for verb, resource in [("get", "pipelines.kubeline.dev"), ("list", "snapshots.kubeline.dev"),
                           ("watch", "pipelineruns.kubeline.dev")]:
        assert release.can(step, verb, resource), f"{verb} {resource}"  # the Client in a step
    for verb, resource in [("list", "pods"), ("get", "secrets"),
                           ("create", "pipelineruns.kubeline.dev"),
                           ("patch", "pipelineruns.kubeline.dev"), ("list", "configmaps")]:
        assert not release.can(step, verb, resource), f"{verb} {resource}"


def test_upgrade_rolls_out_a_new_pod_and_opt_in_lets_steps_trigger_runs(
    release: Release,
) -> None:
    before = release.wait_ready()["metadata"]["uid"]
    try:
        release.cluster.helm("upgrade", release.name, str(CHART), "-n", release.namespace,
                             *release.values("operator.apiQps=25",
                                             "steps.allowTriggeringRuns=true"),
                             "--timeout", "240s")
        pod = release.wait_ready()
        assert pod["metadata"]["uid"] != before, "helm upgrade did not replace the operator Pod"
        env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
        assert env["KUBELINE_API_QPS"] == "25"
        step = "kubeline-step"
        assert release.can(step, "create", "pipelineruns.kubeline.dev")
        assert release.can(step, "get", "pipelines.kubeline.dev")
        assert release.can(step, "get", "snapshots.kubeline.dev")
        assert release.can(step, "watch", "pipelineruns.kubeline.dev")
        assert not release.can(step, "list", "pods")
        assert not release.can(step, "get", "secrets")
        assert not release.can(step, "patch", "pipelineruns.kubeline.dev/status")
    finally:  # the shared release back to its defaults, whatever runs after this test
        release.cluster.helm("upgrade", release.name, str(CHART), "-n", release.namespace,
                             *release.values(), "--timeout", "240s")
        release.wait_ready()
    assert not release.can("kubeline-step", "create", "pipelineruns.kubeline.dev")


def test_uninstall_removes_everything_but_the_crds(own_release: Release) -> None:
    release = own_release
    release.cluster.helm("uninstall", release.name, "-n", release.namespace, "--wait",
                         "--timeout", "120s")
    label = f"app.kubernetes.io/instance={release.name}"
    left = release.kubectl("get", "deployments,services,serviceaccounts,secrets,roles,"
                           "rolebindings,kopfpeerings.kopf.dev", "-l", label, "-o", "name").stdout
    assert left.strip() == "", f"left behind after helm uninstall:\n{left}"
    cluster_left = release.cluster.kubectl(
        "get", "clusterroles,clusterrolebindings,clusterkopfpeerings.kopf.dev", "-l", label,
        "-o", "name").stdout
    assert cluster_left.strip() == "", f"left behind after helm uninstall:\n{cluster_left}"
    crds = release.cluster.kubectl("get", "crd", "-o", "name").stdout.split()
    for plural in ("pipelines", "snapshots", "pipelineruns", "artifactversions", "models",
                   "modelversions"):
        assert f"customresourcedefinition.apiextensions.k8s.io/{plural}.kubeline.dev" in crds
    deadline = time.monotonic() + 60
    while release.operator_pods() and time.monotonic() < deadline:
        time.sleep(1)
    assert release.operator_pods() == [], "the operator Pod outlived helm uninstall"
