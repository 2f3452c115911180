"""The operator's least-privilege RBAC and its Pod admission policy, on the real API server.

Against the suite's own Helm release (``kubeline`` in ``kubeline-system``, default values:
every namespace watched): every row of the ``can-i`` table in docs/security.md is asked with
``kubectl auth can-i --as=<ServiceAccount>``, and Pods are created as the operator's
ServiceAccount (server-side dry run) to show the ValidatingAdmissionPolicy refuses each
forbidden one and admits a step Pod.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from kubeline_release import OPERATOR_NAMESPACE, OPERATOR_RELEASE, grant_step_pods
from step_rbac import chart_step_rbac

pytestmark = pytest.mark.e2e

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
OPERATOR = f"system:serviceaccount:{OPERATOR_NAMESPACE}:{OPERATOR_RELEASE}-operator"
POLICY = f"{OPERATOR_RELEASE}-operator-pods"


def can_i_table() -> list[tuple[str, str, str, str, bool]]:
    """The rows (as, verb, resource, in, allowed) of docs/security.md's checked table."""
    text = DOC.read_text()
    section = text.split("## The permissions the tests check", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[4] in {"yes", "no"}:
            who, verb, resource, where, allowed = cells
            rows.append((who, verb, resource, where, allowed == "yes"))
    assert len(rows) >= 20, f"the can-i table in {DOC} has only {len(rows)} rows"
    return rows


@pytest.fixture
def other_namespace(namespace: str) -> str:
    """A namespace that is none of the release's step namespaces."""
    return namespace


def test_every_row_of_the_documented_can_i_table(operator: Any, step_namespace: str,
                                                 other_namespace: str) -> None:
    cluster = operator
    chart_step_rbac(cluster, step_namespace)  # the step ServiceAccount's Role, as charted
    places = {"step namespace": step_namespace, "other namespace": other_namespace}
    wrong = []
    for who, verb, resource, where, allowed in can_i_table():
        user = OPERATOR if who == "operator" else (
            f"system:serviceaccount:{step_namespace}:kubeline-step")
        scope = ["--all-namespaces"] if where == "cluster" else [
            "-n", places.get(where, where)]
        # "pods/log" is a subresource (kubectl would read TYPE/NAME: a Pod named "log").
        kind, _, sub = resource.partition("/")
        result = cluster.kubectl("auth", "can-i", verb, kind, *scope, f"--as={user}",
                                 *([f"--subresource={sub}"] if sub else []), check=False)
        answer = result.stdout.strip()
        assert answer in {"yes", "no"}, f"kubectl auth can-i failed: {result.stderr}"
        if (answer == "yes") != allowed:
            wrong.append(f"{who} {verb} {resource} in {where}: {answer}")
    assert not wrong, "docs/security.md's can-i table is not what the cluster says:\n" + (
        "\n".join(wrong))


STEP_POD: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "policy-probe", "labels": {"app": "policy-probe"}},
    "spec": {
        "serviceAccountName": "kubeline-step",
        "automountServiceAccountToken": False,
        "restartPolicy": "Never",
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": "step", "image": "localhost/kubeline:0.1.0", "command": ["true"],
            "securityContext": {"allowPrivilegeEscalation": False,
                                "capabilities": {"drop": ["ALL"]}},
        }],
    },
}


def _forbidden_pods() -> dict[str, dict[str, Any]]:
    """One Pod per rule of the policy, each a step Pod with one forbidden setting."""
    def variant(change: Any) -> dict[str, Any]:
        pod = copy.deepcopy(STEP_POD)
        change(pod["spec"])
        return pod

    return {
        "another ServiceAccount": variant(lambda s: s.update(serviceAccountName="default")),
        "no ServiceAccount named": variant(lambda s: s.pop("serviceAccountName")),
        "hostPath": variant(lambda s: s.update(volumes=[
            {"name": "host", "hostPath": {"path": "/"}}])),
        "hostNetwork": variant(lambda s: s.update(hostNetwork=True)),
        "hostPID": variant(lambda s: s.update(hostPID=True)),
        "hostIPC": variant(lambda s: s.update(hostIPC=True)),
        "privileged": variant(lambda s: s["containers"][0]["securityContext"].update(
            privileged=True, allowPrivilegeEscalation=True)),
        "added capability": variant(lambda s: s["containers"][0]["securityContext"].update(
            capabilities={"add": ["NET_ADMIN"]})),
        "privileged init container": variant(lambda s: s.update(initContainers=[{
            "name": "init", "image": "localhost/kubeline:0.1.0", "command": ["true"],
            "securityContext": {"privileged": True}}])),
    }


def _create_as(cluster: Any, user: str, namespace: str, pod: dict[str, Any]) -> Any:
    return cluster.kubectl("create", "--dry-run=server", "-n", namespace, f"--as={user}",
                           "-f", "-", input=json.dumps(pod), check=False)


def test_the_pod_policy_admits_step_pods_and_refuses_the_rest(operator: Any,
                                                             namespace: str) -> None:
    cluster = operator
    # A plain namespace (no Pod Security label, so only the policy can refuse), made one of
    # the release's step namespaces the way the chart does it.
    grant_step_pods(cluster, namespace)
    cluster.kubectl("create", "serviceaccount", "kubeline-step", "-n", namespace)
    policy = json.loads(cluster.kubectl("get", "validatingadmissionpolicy", POLICY,
                                        "-o", "json").stdout)
    assert policy["spec"]["matchConditions"][0]["expression"].endswith(f"'{OPERATOR}'")
    admitted = _create_as(cluster, OPERATOR, namespace, STEP_POD)
    assert admitted.returncode == 0, admitted.stderr
    for what, pod in _forbidden_pods().items():
        refused = _create_as(cluster, OPERATOR, namespace, pod)
        assert refused.returncode != 0, f"the policy admitted a Pod with {what}"
        assert re.search(rf"ValidatingAdmissionPolicy '{POLICY}'", refused.stderr), (
            what, refused.stderr)
    # Anyone else (here the cluster admin) is not bound by it.
    admin = cluster.kubectl("create", "--dry-run=server", "-n", namespace, "-f", "-",
                            input=json.dumps(_forbidden_pods()["hostPath"]), check=False)
    assert admin.returncode == 0, admin.stderr


def test_outside_its_step_namespaces_the_operator_cannot_create_a_pod(
        operator: Any, namespace: str) -> None:
    refused = _create_as(operator, OPERATOR, namespace, STEP_POD)
    assert refused.returncode != 0
    assert "forbidden" in refused.stderr and "cannot create resource \"pods\"" in (
        refused.stderr), refused.stderr


def test_a_run_outside_the_step_namespaces_fails_naming_the_chart_value(
        operator: Any, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Everything a step Pod needs but the operator's Pod Role: the step fails at once with
    the reason and the fix in its message, and no Pod is made."""
    import importlib
    import sys
    import uuid

    cluster = operator
    cluster.give_namespace_s3(namespace)
    cluster.kubectl("create", "serviceaccount", "kubeline-step", "-n", namespace)
    module = f"e2e_rbac_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(
        "from kubeline import pipeline, step\n\n"
        "@step\ndef one() -> int:\n    return 1\n\n"
        "@pipeline(enable_cache=False)\ndef outside():\n    one()\n")
    monkeypatch.setenv("KUBELINE_NAMESPACE", namespace)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        mod = importlib.import_module(module)
        with pytest.raises(Exception, match="failed"):
            mod.outside()
    finally:
        sys.modules.pop(module, None)
        cluster.drop_namespace_s3(namespace)
    (run,) = json.loads(cluster.kubectl("get", "pipelineruns", "-n", namespace, "-o",
                                        "json").stdout)["items"]
    (step,) = run["status"]["steps"]
    assert step["reason"] == "PodCreateFailed", step
    assert f"add {namespace} to stepNamespaces and upgrade the release" in step["message"], step
    pods = json.loads(cluster.kubectl("get", "pods", "-n", namespace, "-o", "json").stdout)
    assert pods["items"] == []
