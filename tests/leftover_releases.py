"""Removing what an interrupted session left of the chart releases tests install for themselves.

A test that installs its own release of the chart (tests/integration/test_chart.py,
tests/e2e/test_chart_embedded.py) does it in a namespace whose name starts with a prefix of
its own (``kl-chart-``, ``kl-emb-``, ...) and removes it in a finalizer. A killed session
runs no finalizer: its release stays, with its cluster-scoped objects (admission policies
and their bindings, ClusterRoles, peering), and those judge or race with the next session's
objects. So such a test first calls :func:`remove_leftover_releases` with its prefixes.

Only releases *in a namespace with one of the given prefixes* are touched, found by Helm's
own record and by the ``meta.helm.sh/release-namespace`` annotation Helm puts on every object
it creates. The shared release ``kubeline`` in ``kubeline-system`` never matches."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from kubeline_release import OPERATOR_NAMESPACE

# Cluster-scoped kinds the chart creates (charts/kubeline/templates).
CLUSTER_KINDS = ("validatingadmissionpolicies.admissionregistration.k8s.io",
                 "validatingadmissionpolicybindings.admissionregistration.k8s.io",
                 "clusterroles.rbac.authorization.k8s.io",
                 "clusterrolebindings.rbac.authorization.k8s.io",
                 "clusterkopfpeerings.kopf.dev")
RELEASE_NAMESPACE = "meta.helm.sh/release-namespace"


def _ours(namespace: str, prefixes: Sequence[str]) -> bool:
    return namespace != OPERATOR_NAMESPACE and any(namespace.startswith(p) for p in prefixes)


def remove_leftover_releases(cluster: Any, prefixes: Sequence[str],
                             timeout: float = 180) -> list[str]:
    """Uninstall every Helm release in a namespace starting with one of ``prefixes``, delete
    the cluster-scoped objects Helm created for such a namespace (left when the namespace went
    first) and the namespaces; wait up to ``timeout`` (0: not at all) for the namespaces to
    go. Return what was removed (``kind/name``, ``release ns/name``), for the log.

    A finalizer passes its own namespace's full name: what ``helm uninstall`` failed to
    remove goes too."""
    assert prefixes and all(len(p) > 3 for p in prefixes), prefixes
    removed: list[str] = []
    listed = cluster.helm("list", "-A", "-a", "-o", "json").stdout
    for rel in json.loads(listed or "[]"):
        if _ours(rel["namespace"], prefixes):
            cluster.helm("uninstall", rel["name"], "-n", rel["namespace"], "--wait",
                         "--timeout", "90s", check=False, timeout=120)
            removed.append(f"release {rel['namespace']}/{rel['name']}")
    for kind in CLUSTER_KINDS:
        found = cluster.kubectl("get", kind, "-l", "app.kubernetes.io/part-of=kubeline",
                                "-o", "json", check=False)
        if found.returncode != 0:  # e.g. kopf's CRD is not installed
            continue
        for obj in json.loads(found.stdout)["items"]:
            meta = obj["metadata"]
            if _ours((meta.get("annotations") or {}).get(RELEASE_NAMESPACE, ""), prefixes):
                cluster.kubectl("delete", kind, meta["name"], "--ignore-not-found",
                                "--wait=false")
                removed.append(f"{kind.split('.')[0]}/{meta['name']}")
    namespaces = [n.removeprefix("namespace/") for n in cluster.kubectl(
        "get", "namespaces", "-o", "name").stdout.split()]
    gone = [n for n in namespaces if _ours(n, prefixes)]
    for name in gone:
        cluster.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found")
        removed.append(f"namespace/{name}")
    deadline = time.monotonic() + timeout
    for name in gone if timeout > 0 else []:
        left = max(1.0, deadline - time.monotonic())
        cluster.kubectl("wait", "--for=delete", f"namespace/{name}", f"--timeout={left:.0f}s",
                        check=False, timeout=left + 10)
    if removed:
        print(f"[cleanup] removed {', '.join(removed)}", flush=True)
    return removed
