"""tests/leftover_releases.py picks only what an interrupted session of the prefixed tests
left: their releases, the cluster-scoped objects Helm made for their namespaces, and those
namespaces; never the shared release in kubeline-system or anyone else's."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from leftover_releases import CLUSTER_KINDS, remove_leftover_releases


class FakeCluster:
    """helm and kubectl answers of a cluster with a leftover kl-chart release (its namespace
    still there) and an orphaned policy of another whose namespace is gone."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def _done(self, stdout: str = "", rc: int = 0) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess([], rc, stdout, "")

    def helm(self, *args: str, **_: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(("helm", *args))
        if args[0] == "list":
            return self._done(json.dumps([
                {"name": "kubeline", "namespace": "kubeline-system"},
                {"name": "kubeline-abc123", "namespace": "kl-chart-abc123"},
                {"name": "demo", "namespace": "t-1234"}]))
        return self._done()

    def kubectl(self, *args: str, **_: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(("kubectl", *args))
        if args[:2] == ("get", "namespaces"):
            return self._done("namespace/kubeline-system\nnamespace/kl-chart-abc123\n"
                              "namespace/kl-chartx\nnamespace/t-1234\n")
        if args[0] == "get" and args[1] == CLUSTER_KINDS[0]:
            def vap(name: str, ns: str) -> dict[str, Any]:
                return {"metadata": {"name": name, "annotations": {
                    "meta.helm.sh/release-namespace": ns}}}
            return self._done(json.dumps({"items": [
                vap("kubeline-run-provenance", "kubeline-system"),
                vap("kubeline-d04c0e-run-provenance", "kl-chart-d04c0e"),
                vap("other-policy", "team-a")]}))
        if args[0] == "get" and args[1] == CLUSTER_KINDS[-1]:
            return self._done(rc=1)  # kopf's CRD is not installed
        if args[0] == "get":
            return self._done(json.dumps({"items": []}))
        return self._done()


def test_only_the_prefixed_leftovers_are_removed() -> None:
    cluster = FakeCluster()
    removed = remove_leftover_releases(cluster, ["kl-chart-"], timeout=5)
    assert removed == ["release kl-chart-abc123/kubeline-abc123",
                       "validatingadmissionpolicies/kubeline-d04c0e-run-provenance",
                       "namespace/kl-chart-abc123"]
    changes = [c for c in cluster.calls if c[1] in {"uninstall", "delete"}]
    assert changes == [
        ("helm", "uninstall", "kubeline-abc123", "-n", "kl-chart-abc123", "--wait",
         "--timeout", "90s"),
        ("kubectl", "delete", CLUSTER_KINDS[0], "kubeline-d04c0e-run-provenance",
         "--ignore-not-found", "--wait=false"),
        ("kubectl", "delete", "namespace", "kl-chart-abc123", "--wait=false",
         "--ignore-not-found")]
    waited = cluster.calls[-1][:4]
    assert waited == ("kubectl", "wait", "--for=delete", "namespace/kl-chart-abc123")


def test_nothing_to_remove_changes_nothing() -> None:
    cluster = FakeCluster()
    assert remove_leftover_releases(cluster, ["kl-emb-"], timeout=0) == []
    assert not [c for c in cluster.calls if c[1] in {"uninstall", "delete", "wait"}]
