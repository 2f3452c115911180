"""Helpers of the e2e tests: the chart's step RBAC applied to a fresh namespace, and
``kubectl auth can-i`` as the step ServiceAccount."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def chart_step_rbac(cluster: Any, namespace: str, *sets: str) -> None:
    """Apply the chart's step ServiceAccount and Roles (default values) to ``namespace``."""
    args = ["template", "kubeline", str(ROOT / "charts" / "kubeline"), "--kube-version", "1.34.0",
            "--set-json", f'stepNamespaces=["{namespace}"]', "--show-only", "templates/steps.yaml"]
    for item in sets:
        args += ["--set", item]
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=cluster.helm(*args).stdout)


def can_i(cluster: Any, namespace: str, verb: str, resource: str) -> bool:
    """Whether the step ServiceAccount of ``namespace`` may ``verb`` ``resource`` there."""
    result = cluster.kubectl("auth", "can-i", verb, resource, "-n", namespace,
                             f"--as=system:serviceaccount:{namespace}:kubeline-step", check=False)
    return result.stdout.strip() == "yes"
