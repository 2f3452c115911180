"""The shared in-cluster operator release the e2e tests use, and how to wait for it.

A module of its own (not ``conftest``): test files import it by name, and ``conftest`` is
ambiguous in a whole-tree session (``tests/unit/sdk/conftest.py`` is another one)."""

from __future__ import annotations

import json
import time
from typing import Any

OPERATOR_RELEASE = "kubeline"
OPERATOR_NAMESPACE = "kubeline-system"


def wait_operator_ready(cluster: Any, namespace: str, timeout: float = 240) -> None:
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
        for pod in json.loads(pods.stdout)["items"]:
            for cs in pod["status"].get("containerStatuses", []):
                if cs.get("restartCount", 0) >= 1:
                    logs = cluster.kubectl("logs", pod["metadata"]["name"], "-n", namespace,
                                           "--previous", "--tail=40", check=False).stdout
                    raise AssertionError(f"the operator crashed:\n{logs}")
        if time.monotonic() > deadline:
            raise AssertionError(f"the operator was not Ready in {timeout:.0f}s: {done.stdout}")


def grant_step_pods(cluster: Any, namespace: str) -> None:
    """Let the shared release's operator run step Pods in ``namespace``: the chart's Role and
    RoleBinding for one of its ``stepNamespaces`` (the release itself is installed with none,
    because test namespaces come and go), rendered from the chart and applied."""
    from pathlib import Path

    import yaml

    chart = Path(__file__).resolve().parents[1] / "charts" / "kubeline"
    rendered = cluster.helm(
        "template", OPERATOR_RELEASE, str(chart), "-n", OPERATOR_NAMESPACE,
        "--kube-version", "1.34.0", "--set-json", f'stepNamespaces=["{namespace}"]',
        "--show-only", "templates/operator-rbac.yaml").stdout
    docs = [d for d in yaml.safe_load_all(rendered)
            if d and d["kind"] in {"Role", "RoleBinding"}
            and d["metadata"].get("namespace") == namespace]
    assert {d["kind"] for d in docs} == {"Role", "RoleBinding"}, rendered
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs))
