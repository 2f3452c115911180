"""The Helm chart rendered with `helm template`: security, RBAC, S3 settings, namespaces."""

from __future__ import annotations

import base64
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "charts" / "kubeline"
KUBE_VERSION = "1.34.0"  # helm template assumes v1.20 otherwise; the chart needs >= 1.33


@cache
def _helm() -> str:
    try:
        from kubeline.dev.gobuild import tool_path

        return str(tool_path("helm", build=False))
    except (ImportError, FileNotFoundError, KeyError):
        found = shutil.which("helm")
        if found:
            return found
    pytest.fail(
        "helm is not available: build it with `kubeline dev build` (it lands in "
        "~/.cache/kubeline/bin/helm; CI always builds it) or put helm v3 on PATH"
    )


def _run_helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_helm(), *args], capture_output=True, text=True, timeout=60)


def render(*sets: str, namespace: str = "kubeline-system") -> list[dict[str, Any]]:
    """Objects of `helm template kubeline charts/kubeline` with ``--set`` values."""
    args = ["template", "kubeline", str(CHART), "-n", namespace, "--kube-version", KUBE_VERSION]
    for item in sets:
        args += ["--set", item]
    result = _run_helm(*args)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def by_kind(objs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


def one(objs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [o for o in by_kind(objs, kind) if name is None or o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def container(objs: list[dict[str, Any]]) -> dict[str, Any]:
    (c,) = one(objs, "Deployment")["spec"]["template"]["spec"]["containers"]
    return c


def env(objs: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(objs)["env"]}


def bound_rules(objs: list[dict[str, Any]], sa: str, ns: str) -> list[dict[str, Any]]:
    """Every RBAC rule granted to ServiceAccount ``ns/sa`` by the chart."""
    roles = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o
             for o in objs if o["kind"] in {"Role", "ClusterRole"}}
    rules = []
    for binding in by_kind(objs, "RoleBinding") + by_kind(objs, "ClusterRoleBinding"):
        if not any(s["kind"] == "ServiceAccount" and s["name"] == sa and s["namespace"] == ns
                   for s in binding["subjects"]):
            continue
        ref = binding["roleRef"]
        role_ns = binding["metadata"].get("namespace") if ref["kind"] == "Role" else None
        rules += roles[(ref["kind"], role_ns, ref["name"])]["rules"]
    return rules


# --------------------------------------------------------------------------- chart hygiene


def test_helm_lint_is_clean() -> None:
    result = _run_helm("lint", "--strict", str(CHART), "--kube-version", KUBE_VERSION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


def test_chart_crds_are_the_generated_ones() -> None:
    chart_crds = sorted(p.name for p in (CHART / "crds").glob("*.yaml"))
    assert chart_crds == sorted(p.name for p in (ROOT / "crds").glob("*.yaml"))
    assert "kopfpeerings.kopf.dev.yaml" in chart_crds
    assert "clusterkopfpeerings.kopf.dev.yaml" in chart_crds


def test_values_schema_rejects_bad_values() -> None:
    result = _run_helm("template", "kubeline", str(CHART), "--kube-version", KUBE_VERSION,
                       "--set", "image.pullPolicy=Sometimes")
    assert result.returncode != 0
    assert "pullPolicy" in result.stderr
    result = _run_helm("template", "kubeline", str(CHART), "--kube-version", KUBE_VERSION,
                       "--set", "stepNamespaces[0]=Not_A_Namespace")
    assert result.returncode != 0 and "stepNamespaces" in result.stderr


def test_old_clusters_are_refused() -> None:
    result = _run_helm("template", "kubeline", str(CHART), "--kube-version", "1.30.0")
    assert result.returncode != 0 and "kubeVersion" in result.stderr


# --------------------------------------------------------------------------- operator Pod


def test_operator_runs_alone_and_safely() -> None:
    objs = render()
    dep = one(objs, "Deployment", "kubeline-operator")
    assert dep["spec"]["replicas"] == 1
    assert dep["spec"]["strategy"] == {"type": "Recreate"}
    pod = dep["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    c = container(objs)
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["runAsUser"] == 10001 and sc["runAsNonRoot"] is True
    assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}} in pod["volumes"]
    assert c["command"] == ["python", "-m", "kubeline_operator"]
    assert c["image"] == "localhost/kubeline:0.1.0"  # the chart's appVersion
    assert c["imagePullPolicy"] == "IfNotPresent"


def test_probes_and_metrics() -> None:
    objs = render()
    c = container(objs)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"http": 8080, "metrics": 9090}
    for probe in ("livenessProbe", "readinessProbe"):
        assert c[probe]["httpGet"] == {"path": "/healthz", "port": "http"}, probe
    svc = one(objs, "Service", "kubeline-operator-metrics")
    assert svc["spec"]["ports"] == [
        {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"}
    ]
    pod_labels = one(objs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= pod_labels.items()


def test_operator_environment_contract() -> None:
    e = env(render("image.tag=dev-1", "watchNamespaces={ml,team-b}", "operator.peering="))
    assert e["KUBELINE_WATCH_NAMESPACES"] == "ml,team-b"
    assert e["KUBELINE_STEP_SERVICE_ACCOUNT"] == "kubeline-step"
    assert e["KUBELINE_S3_SECRET"] == "kubeline-s3"
    assert e["KUBELINE_DEFAULT_IMAGE"] == "localhost/kubeline:dev-1"
    assert e["KUBELINE_IMAGE_PULL_POLICY"] == "IfNotPresent"
    assert e["KUBELINE_PEERING"] == ""
    for name in ("KUBELINE_MAX_PODS_PER_RUN", "KUBELINE_MAX_PODS_GLOBAL", "KUBELINE_API_QPS"):
        assert int(e[name]) > 0, name
    keys = {
        "KUBELINE_S3_BUCKET": "bucket",
        "KUBELINE_S3_ENDPOINT": "endpoint",
        "KUBELINE_S3_REGION": "region",
        "AWS_ACCESS_KEY_ID": "accessKeyId",
        "AWS_SECRET_ACCESS_KEY": "secretAccessKey",
    }
    for var, key in keys.items():
        ref = e[var]["secretKeyRef"]
        assert ref["name"] == "kubeline-s3" and ref["key"] == key, var
    assert "optional" not in e["KUBELINE_S3_BUCKET"]["secretKeyRef"]


def test_changed_s3_settings_roll_the_operator() -> None:
    def checksum(*sets: str) -> str:
        return one(render(*sets), "Deployment")["spec"]["template"]["metadata"]["annotations"][
            "checksum/s3"
        ]

    assert checksum("s3.endpoint=http://a:1") != checksum("s3.endpoint=http://b:1")


# --------------------------------------------------------------------------- RBAC


def test_operator_rbac_is_least_privilege() -> None:
    objs = render()
    rules = bound_rules(objs, "kubeline-operator", "kubeline-system")
    assert rules, "the operator ServiceAccount has no RBAC"
    for rule in rules:
        assert "secrets" not in rule["resources"], rule
        assert "*" not in rule["resources"] and "*" not in rule["verbs"], rule
        assert "*" not in rule.get("apiGroups", []), rule
    granted = {(g, r, v) for rule in rules for g in rule["apiGroups"] for r in rule["resources"]
               for v in rule["verbs"]}
    for verb in ("create", "delete", "get", "list", "watch", "patch"):
        assert ("", "pods", verb) in granted, verb
    assert ("", "pods/log", "get") in granted
    assert ("", "events", "create") in granted
    from kubeline.resources.crdgen import RESOURCES

    for plural in [r.plural for r in RESOURCES]:  # every kind, Schedules included
        assert ("kubeline.dev", plural, "watch") in granted
        assert ("kubeline.dev", f"{plural}/status", "patch") in granted
    assert ("kopf.dev", "clusterkopfpeerings", "patch") in granted
    assert ("kopf.dev", "kopfpeerings", "patch") in granted


def test_watching_namespaces_binds_only_there() -> None:
    objs = render("watchNamespaces={ml,team-b}")
    names = {
        (o["metadata"]["namespace"], o["roleRef"]["name"]) for o in by_kind(objs, "RoleBinding")
    }
    assert names == {("ml", "kubeline-operator"), ("team-b", "kubeline-operator")}
    crbs = {o["metadata"]["name"] for o in by_kind(objs, "ClusterRoleBinding")}
    assert crbs == {"kubeline-operator-cluster"}  # only CRD/namespace reads and cluster peering
    peerings = by_kind(objs, "KopfPeering")
    assert {p["metadata"]["namespace"] for p in peerings} == {"ml", "team-b"}
    assert not by_kind(objs, "ClusterKopfPeering")


def test_all_namespaces_uses_cluster_peering() -> None:
    objs = render()
    assert one(objs, "ClusterKopfPeering")["metadata"]["name"] == "kubeline"
    assert env(objs)["KUBELINE_PEERING"] == "kubeline"
    assert not by_kind(render("operator.peering="), "ClusterKopfPeering")


def test_step_service_account_has_no_rights_by_default() -> None:
    objs = render("stepNamespaces={default,ml}")
    sas = [o for o in by_kind(objs, "ServiceAccount") if o["metadata"]["name"] == "kubeline-step"]
    assert {sa["metadata"]["namespace"] for sa in sas} == {"default", "ml"}
    for sa in sas:
        assert sa["automountServiceAccountToken"] is False
        assert bound_rules(objs, "kubeline-step", sa["metadata"]["namespace"]) == []
    assert not by_kind(objs, "Role")


def test_steps_may_opt_in_to_triggering_runs() -> None:
    objs = render("stepNamespaces={default,ml}", "steps.allowTriggeringRuns=true")
    for ns in ("default", "ml"):
        rules = bound_rules(objs, "kubeline-step", ns)
        granted = {(r, v) for rule in rules for r in rule["resources"] for v in rule["verbs"]}
        assert ("pipelineruns", "create") in granted
        assert {("pipelines", "get"), ("snapshots", "get"), ("artifactversions", "get")} <= granted
        assert not {r for r, _ in granted} & {"pods", "secrets", "pipelineruns/status"}
        role = one([o for o in objs if o["metadata"].get("namespace") == ns], "Role")
        assert role["metadata"]["namespace"] == ns
    sa = [o for o in by_kind(objs, "ServiceAccount") if o["metadata"]["name"] == "kubeline-step"]
    assert all(s["automountServiceAccountToken"] is True for s in sa)


# --------------------------------------------------------------------------- S3


def test_s3_secret_from_values_in_release_and_step_namespaces() -> None:
    objs = render("s3.bucket=ml-data", "s3.endpoint=http://192.0.2.2:7070",
                  "s3.accessKeyId=AKID", "s3.secretAccessKey=SECRET", "stepNamespaces={ml}")
    secrets = by_kind(objs, "Secret")
    assert {s["metadata"]["namespace"] for s in secrets} == {"kubeline-system", "ml"}
    for secret in secrets:
        assert secret["metadata"]["name"] == "kubeline-s3"
        data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
        assert data == {"bucket": "ml-data", "endpoint": "http://192.0.2.2:7070",
                        "region": "us-east-1", "accessKeyId": "AKID",
                        "secretAccessKey": "SECRET"}


def test_empty_s3_values_are_left_out() -> None:
    secret = by_kind(render(), "Secret")[0]
    assert set(secret["data"]) == {"bucket", "region"}  # endpoint unset means AWS


def test_existing_s3_secret() -> None:
    objs = render("s3.existingSecret=team-s3")
    assert not by_kind(objs, "Secret")
    e = env(objs)
    assert e["KUBELINE_S3_SECRET"] == "team-s3"
    assert e["KUBELINE_S3_BUCKET"]["secretKeyRef"]["name"] == "team-s3"
