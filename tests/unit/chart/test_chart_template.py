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
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    # Readiness also covers the S3 settings (the operator's start-up check).
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
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
        # A missing key must not stop the Pod: the operator names it and stays not-ready.
        assert ref["optional"] is True, var
    assert e["KUBELINE_S3_WORKLOAD_IDENTITY"] == "false"


def test_changed_s3_settings_roll_the_operator() -> None:
    def checksum(*sets: str) -> str:
        return one(render(*sets), "Deployment")["spec"]["template"]["metadata"]["annotations"][
            "checksum/s3"
        ]

    keys = ("s3.accessKeyId=AKID", "s3.secretAccessKey=SECRET")
    assert checksum("s3.endpoint=http://a:1", *keys) != checksum("s3.endpoint=http://b:1", *keys)


# --------------------------------------------------------------------------- RBAC


def _operator_grants(objs: list[dict[str, Any]]) -> set[tuple[str | None, str, str, str]]:
    """(namespace or None for cluster-wide, apiGroup, resource, verb) the operator holds."""
    roles = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o
             for o in objs if o["kind"] in {"Role", "ClusterRole"}}
    out = set()
    for binding in by_kind(objs, "RoleBinding") + by_kind(objs, "ClusterRoleBinding"):
        if not any(s["kind"] == "ServiceAccount" and s["name"] == "kubeline-operator"
                   and s["namespace"] == "kubeline-system" for s in binding["subjects"]):
            continue
        ref = binding["roleRef"]
        where = binding["metadata"].get("namespace")
        role = roles[(ref["kind"], where if ref["kind"] == "Role" else None, ref["name"])]
        for rule in role["rules"]:
            assert "resourceNames" not in rule, rule
            out |= {(where, g, r, v) for g in rule["apiGroups"] for r in rule["resources"]
                    for v in rule["verbs"]}
    return out


def test_operator_rbac_is_least_privilege() -> None:
    objs = render("stepNamespaces={default,ml}")
    granted = _operator_grants(objs)
    assert granted, "the operator ServiceAccount has no RBAC"
    for _where, group, resource, verb in granted:
        assert resource != "secrets" and "*" not in (group, resource, verb)
    pod_writes = {(w, v) for w, g, r, v in granted if r.startswith("pods") and v not in
                  ("get", "list", "watch")}
    # Pods are created and deleted only in the step namespaces, through Roles there.
    assert pod_writes == {(ns, v) for ns in ("default", "ml") for v in ("create", "delete")}
    assert not {g for g in granted if g[2] in {"pods/log", "pods/exec", "pods/ephemeralcontainers"}}
    # Watching all namespaces: Kubeline objects, Events and Pod reads are cluster-wide.
    for verb in ("get", "list", "watch"):
        assert (None, "", "pods", verb) in granted, verb
    assert (None, "", "events", "create") in granted
    from kubeline.resources.crdgen import RESOURCES

    for plural in [r.plural for r in RESOURCES]:  # every kind, Schedules included
        assert (None, "kubeline.dev", plural, "watch") in granted
        assert (None, "kubeline.dev", f"{plural}/status", "patch") in granted
    assert (None, "kopf.dev", "clusterkopfpeerings", "patch") in granted
    cluster_wide = {(g, r) for w, g, r, v in granted if w is None}
    assert cluster_wide == {("apiextensions.k8s.io", "customresourcedefinitions"),
                            ("", "namespaces"), ("kopf.dev", "clusterkopfpeerings"),
                            ("", "pods"), ("", "events"), ("events.k8s.io", "events"),
                            *{("kubeline.dev", p) for r in RESOURCES
                              for p in (r.plural, f"{r.plural}/status")}}
    assert not {v for w, g, r, v in granted if w is None and r == "pods"} - {"get", "list",
                                                                            "watch"}
    assert not {r for w, g, r, v in granted if w is None and g == "" and r == "namespaces"
                and v not in ("get", "list", "watch")}


def test_watching_namespaces_grants_only_there() -> None:
    objs = render("watchNamespaces={ml,team-b}", "stepNamespaces={ml,other}")
    granted = _operator_grants(objs)
    assert {w for w, *_ in granted} == {None, "ml", "team-b"}
    cluster_wide = {(g, r, v) for w, g, r, v in granted if w is None}
    assert cluster_wide == {(g, r, v) for g, r in (("apiextensions.k8s.io",
                                                    "customresourcedefinitions"),
                                                   ("", "namespaces"))
                            for v in ("get", "list", "watch")}
    for ns in ("ml", "team-b"):
        assert (ns, "kubeline.dev", "pipelineruns/status", "patch") in granted
        assert (ns, "kopf.dev", "kopfpeerings", "patch") in granted
    # Pods only where runs are both watched and allowed to run: not in the unwatched "other".
    assert {w for w, g, r, v in granted if r == "pods" and v == "create"} == {"ml"}
    peerings = by_kind(objs, "KopfPeering")
    assert {p["metadata"]["namespace"] for p in peerings} == {"ml", "team-b"}
    assert not by_kind(objs, "ClusterKopfPeering")


def test_pod_policy_pins_operator_pods_to_the_step_service_account() -> None:
    objs = render("steps.serviceAccountName=runner")
    policy = one(objs, "ValidatingAdmissionPolicy", "kubeline-operator-pods")
    (cond,) = policy["spec"]["matchConditions"]
    assert cond["expression"] == (
        "request.userInfo.username == 'system:serviceaccount:kubeline-system:kubeline-operator'")
    rules = policy["spec"]["matchConstraints"]["resourceRules"]
    assert rules == [{"apiGroups": [""], "apiVersions": ["v1"],
                      "operations": ["CREATE", "UPDATE"], "resources": ["pods"]}]
    text = " ".join(v["expression"] for v in policy["spec"]["validations"]
                    + policy["spec"]["variables"])
    for needle in ("== 'runner'", "hostPath", "hostNetwork", "hostPID", "hostIPC", "privileged",
                   "capabilities.add", "initContainers", "ephemeralContainers"):
        assert needle in text, needle
    binding = one(objs, "ValidatingAdmissionPolicyBinding", "kubeline-operator-pods")
    assert binding["spec"] == {"policyName": "kubeline-operator-pods",
                               "validationActions": ["Deny"]}
    assert "kubeline-operator-pods" not in {
        o["metadata"]["name"] for o in by_kind(render("operator.podPolicy=false"),
                                               "ValidatingAdmissionPolicy")}


def test_all_namespaces_uses_cluster_peering() -> None:
    objs = render()
    assert one(objs, "ClusterKopfPeering")["metadata"]["name"] == "kubeline"
    assert env(objs)["KUBELINE_PEERING"] == "kubeline"
    assert not by_kind(render("operator.peering="), "ClusterKopfPeering")


def _granted(objs: list[dict[str, Any]], ns: str) -> set[tuple[str, str, str]]:
    return {(g, r, v) for rule in bound_rules(objs, "kubeline-step", ns)
            for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}


def test_step_service_account_may_only_read_kubeline_objects_by_default() -> None:
    objs = render("stepNamespaces={default,ml}")
    sas = [o for o in by_kind(objs, "ServiceAccount") if o["metadata"]["name"] == "kubeline-step"]
    assert {sa["metadata"]["namespace"] for sa in sas} == {"default", "ml"}
    for sa in sas:
        ns = sa["metadata"]["namespace"]
        assert sa["automountServiceAccountToken"] is False  # the operator projects a token
        # Read Kubeline objects; create Events (the runtime's outputs-committed Event on
        # its own Pod). Nothing else: no Secrets, no Pods, no writes of Kubeline objects.
        assert _granted(objs, ns) == {("kubeline.dev", "*", v) for v in ("get", "list", "watch")
                                      } | {("", "events", "create")}
        roles = [o for o in by_kind(objs, "Role") if o["metadata"]["namespace"] == ns
                 and o["metadata"]["name"].startswith("kubeline-step")]
        assert [r["metadata"]["name"] for r in roles] == ["kubeline-step-read"]
    assert env(objs)["KUBELINE_STEP_API_ACCESS"] == "read"
    assert env(objs)["KUBELINE_STEP_TOKEN_EXPIRATION_SECONDS"] == "600"


def test_steps_may_post_events_only_with_the_policy_that_confines_them() -> None:
    """The step Role's one Events right (the outputs-committed Event) comes with the
    <release>-step-events policy, which admits only that reason on the requester's own Pod;
    without the policy (steps.provenancePolicy=false) steps get no Events right at all."""
    objs = render("stepNamespaces={ml}")
    assert ("", "events", "create") in _granted(objs, "ml")
    policy = one(objs, "ValidatingAdmissionPolicy", "kubeline-step-events")["spec"]
    assert "':kubeline-step'" in policy["matchConditions"][0]["expression"]
    (check,) = policy["validations"]
    assert "object.reason == 'KubelineOutputsCommitted'" in check["expression"]
    assert "object.involvedObject.uid == variables.uid" in check["expression"]
    binding = one(objs, "ValidatingAdmissionPolicyBinding", "kubeline-step-events")["spec"]
    assert binding["validationActions"] == ["Deny"]
    off = render("stepNamespaces={ml}", "steps.provenancePolicy=false")
    assert not {r for _, r, _ in _granted(off, "ml")} & {"events"}
    assert "kubeline-step-events" not in {o["metadata"]["name"] for o in
                                          by_kind(off, "ValidatingAdmissionPolicy")}


def test_step_api_access_none_grants_nothing() -> None:
    objs = render("stepNamespaces={default}", "steps.apiAccess=none")
    assert _granted(objs, "default") == set()
    assert env(objs)["KUBELINE_STEP_API_ACCESS"] == "none"


def test_steps_may_opt_in_to_triggering_runs() -> None:
    objs = render("stepNamespaces={default,ml}", "steps.allowTriggeringRuns=true")
    for ns in ("default", "ml"):
        granted = _granted(objs, ns)
        assert ("kubeline.dev", "pipelineruns", "create") in granted
        assert ("kubeline.dev", "*", "get") in granted
        assert not {r for _, r, _ in granted} & {"pods", "secrets", "pipelineruns/status"}
        assert {(g, r, v) for g, r, v in granted if g != "kubeline.dev"} == {
            ("", "events", "create")}  # the outputs-committed Event, as without the opt-in
    sa = [o for o in by_kind(objs, "ServiceAccount") if o["metadata"]["name"] == "kubeline-step"]
    assert all(s["automountServiceAccountToken"] is False for s in sa)
    assert env(objs)["KUBELINE_STEP_API_ACCESS"] == "trigger"


def test_step_token_lifetime_is_bounded_by_the_schema() -> None:
    result = _run_helm("template", "kubeline", str(CHART), "--kube-version", KUBE_VERSION,
                       "--set", "steps.tokenExpirationSeconds=60")
    assert result.returncode != 0 and "tokenExpirationSeconds" in result.stderr


# --------------------------------------------------------------------------- S3


def test_shared_step_credentials_copy_the_operators_secret() -> None:
    """The explicit opt-out of isolation: every step namespace gets the operator's key."""
    objs = render("s3.bucket=ml-data", "s3.endpoint=http://192.0.2.2:7070",
                  "s3.accessKeyId=AKID", "s3.secretAccessKey=SECRET", "stepNamespaces={ml}",
                  "s3.stepCredentials=shared")
    secrets = by_kind(objs, "Secret")
    assert {s["metadata"]["namespace"] for s in secrets} == {"kubeline-system", "ml"}
    for secret in secrets:
        assert secret["metadata"]["name"] == "kubeline-s3"
        data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
        assert data == {"bucket": "ml-data", "endpoint": "http://192.0.2.2:7070",
                        "region": "us-east-1", "accessKeyId": "AKID",
                        "secretAccessKey": "SECRET"}


def _s3_secrets(objs: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    return {s["metadata"]["namespace"]: {k: base64.b64decode(v).decode()
                                         for k, v in s["data"].items()}
            for s in by_kind(objs, "Secret") if s["metadata"]["name"] == "kubeline-s3"}


def test_shared_step_credentials_name_each_namespace_bucket() -> None:
    secrets = _s3_secrets(render("s3.bucket=kl-{namespace}", "s3.endpoint=http://192.0.2.2:7070",
                                 "s3.accessKeyId=AKID", "s3.secretAccessKey=SECRET",
                                 "stepNamespaces={a,b}", "s3.stepCredentials=shared"))
    assert {ns: d["bucket"] for ns, d in secrets.items()} == {
        "kubeline-system": "kl-{namespace}", "a": "kl-a", "b": "kl-b"}


def test_step_credentials_are_per_namespace_by_default_and_never_the_operators() -> None:
    objs = render("s3.bucket=kl-{namespace}", "s3.endpoint=http://192.0.2.2:7070",
                  "s3.accessKeyId=AKID", "s3.secretAccessKey=SECRET", "stepNamespaces={a,b}")
    secrets = _s3_secrets(objs)
    assert set(secrets) == {"kubeline-system"}  # each step namespace brings its own Secret
    assert secrets["kubeline-system"]["accessKeyId"] == "AKID"
    assert env(objs)["KUBELINE_S3_BUCKET"]["secretKeyRef"]["key"] == "bucket"


def test_per_namespace_roles_with_workload_identity() -> None:
    objs = render("s3.bucket=kl-{namespace}", "s3.workloadIdentity=true",
                  "s3.stepCredentials=perNamespace", "stepNamespaces={a,b}",
                  "steps.serviceAccountAnnotations.team=ml",
                  "steps.namespaceServiceAccountAnnotations.a.eks\\.amazonaws\\.com/role-arn=arn:a")
    secrets = _s3_secrets(objs)
    assert secrets["a"] == {"bucket": "kl-a", "region": "us-east-1"}  # no keys anywhere
    assert "accessKeyId" not in secrets["kubeline-system"]
    sas = {o["metadata"]["namespace"]: o["metadata"].get("annotations")
           for o in by_kind(objs, "ServiceAccount") if o["metadata"]["name"] == "kubeline-step"}
    assert sas == {"a": {"team": "ml", "eks.amazonaws.com/role-arn": "arn:a"},
                   "b": {"team": "ml"}}


def test_per_namespace_annotations_for_a_namespace_without_steps_are_refused() -> None:
    """An entry for a namespace outside stepNamespaces (a typo, a removed namespace) would
    annotate no ServiceAccount: refused by name instead of ignored."""
    stderr = helm_error("stepNamespaces={a,b}",
                        "steps.namespaceServiceAccountAnnotations.c.eks\\.amazonaws\\.com/role-arn=arn:c")
    assert "steps.namespaceServiceAccountAnnotations names namespace c" in stderr, stderr
    assert "not in stepNamespaces (a, b)" in stderr, stderr


def test_per_namespace_accounts_in_the_embedded_store() -> None:
    objs = render("s3.stepCredentials=perNamespace", "s3.bucket=kl-{namespace}",
                  "stepNamespaces={a,b}")
    secrets = _s3_secrets(objs)
    root = {k: base64.b64decode(v).decode()
            for k, v in one(objs, "Secret", "kubeline-store")["data"].items()}
    assert secrets["kubeline-system"]["accessKeyId"] == root["rootAccessKey"]  # the operator's
    accounts = {k: base64.b64decode(v).decode().split()
                for k, v in one(objs, "Secret", "kubeline-store-accounts")["data"].items()}
    for ns in ("a", "b"):
        access, secret, bucket = accounts[ns]
        assert secrets[ns]["accessKeyId"] == access == f"ns-{ns}" != root["rootAccessKey"]
        assert secrets[ns]["secretAccessKey"] == secret and secrets[ns]["bucket"] == bucket
        assert bucket == f"kl-{ns}"
    assert accounts["a"][1] != accounts["b"][1]
    store = one(objs, "StatefulSet")["spec"]["template"]["spec"]
    script = store["containers"][0]["args"][0]
    assert "--iam-dir" in script and "create-user" in script and "--owner" in script
    assert {"name": "accounts", "mountPath": "/accounts", "readOnly": True} in \
        store["containers"][0]["volumeMounts"]
    assert store["containers"][0]["startupProbe"]["exec"]["command"] == [
        "test", "-f", "/tmp/accounts-ready"]


def test_the_default_install_gives_each_step_namespace_its_own_store_account() -> None:
    """No S3 values at all: the embedded store, an account and a bucket per step namespace,
    the root key in the release namespace only."""
    objs = render()
    secrets = _s3_secrets(objs)
    assert set(secrets) == {"kubeline-system", "default"}
    root = secret_data(one(objs, "Secret", "kubeline-store"))
    assert secrets["kubeline-system"]["accessKeyId"] == root["rootAccessKey"]
    assert secrets["default"]["accessKeyId"] == "ns-default"
    assert secrets["default"]["secretAccessKey"] != root["rootSecretKey"]
    assert secrets["default"]["bucket"] == "kubeline-default"
    assert root["rootSecretKey"] not in {v for d in [secrets["default"]] for v in d.values()}
    store = one(objs, "StatefulSet")["spec"]["template"]["spec"]["containers"][0]
    assert "create-user" in store["args"][0]


def test_shared_embedded_store_makes_each_namespace_bucket() -> None:
    objs = render("s3.stepCredentials=shared", "stepNamespaces={a,b}")
    c = one(objs, "StatefulSet")["spec"]["template"]["spec"]["containers"][0]
    e = {x["name"]: x.get("value") for x in c["env"]}
    assert e["KUBELINE_S3_BUCKETS"] == "kubeline-a kubeline-b"
    result = _run_helm("template", "kubeline", str(CHART), "-n", "kubeline-system",
                       "--kube-version", KUBE_VERSION, "--set", "s3.stepCredentials=shared",
                       "--set-json", "stepNamespaces=[]")
    assert result.returncode == 0, result.stderr
    none = one([d for d in yaml.safe_load_all(result.stdout) if d], "StatefulSet")
    env_none = none["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {x["name"]: x.get("value") for x in env_none}["KUBELINE_S3_BUCKETS"] == ""


@pytest.mark.parametrize(("sets", "message"), [
    (("s3.bucket=kubeline",), "set s3.bucket to a pattern with {namespace}"),
    (("s3.bucket=b", "s3.accessKeyId=A", "s3.secretAccessKey=S",
      "stepNamespaces={kubeline-system}"),
     "release namespace kubeline-system is in stepNamespaces, so its steps would read the "
     "operator's own S3 credentials; run steps in other namespaces, or set "
     "s3.stepCredentials=shared"),
    (("stepNamespaces={kubeline-system}",), "release namespace kubeline-system"),
])
def test_per_namespace_credentials_refuse_settings_that_would_share_one(
        sets: tuple[str, ...], message: str) -> None:
    args = ["template", "kubeline", str(CHART), "-n", "kubeline-system",
            "--kube-version", KUBE_VERSION]
    for item in sets:
        args += ["--set", item]
    result = _run_helm(*args)
    assert result.returncode != 0 and message in result.stderr, result.stderr


def test_a_per_namespace_bucket_name_over_63_characters_is_refused_at_install() -> None:
    long_ns = "n" * 55  # kubeline-<ns>: 64 characters
    err = helm_error(f"stepNamespaces={{default,{long_ns}}}")
    assert f"bucket kubeline-{long_ns} for step namespace {long_ns} is not 3-63 characters" in err
    ok_ns = "n" * 54  # 63 characters: allowed
    assert render(f"stepNamespaces={{default,{ok_ns}}}")


def test_empty_s3_values_are_left_out() -> None:
    secret = by_kind(render("s3.workloadIdentity=true"), "Secret")[0]
    assert set(secret["data"]) == {"bucket", "region"}  # endpoint unset means AWS


def test_existing_s3_secret() -> None:
    objs = render("s3.existingSecret=team-s3")
    assert not by_kind(objs, "Secret")
    e = env(objs)
    assert e["KUBELINE_S3_SECRET"] == "team-s3"
    assert e["KUBELINE_S3_BUCKET"]["secretKeyRef"]["name"] == "team-s3"


# --------------------------------------------------------------------------- embedded store


def helm_error(*sets: str) -> str:
    """stderr of a `helm template` that must fail."""
    args = ["template", "kubeline", str(CHART), "-n", "kubeline-system",
            "--kube-version", KUBE_VERSION]
    for item in sets:
        args += ["--set", item]
    result = _run_helm(*args)
    assert result.returncode != 0, f"helm template {sets} rendered; it should refuse"
    return result.stderr


def secret_data(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def test_no_s3_values_run_the_embedded_store() -> None:
    objs = render("stepNamespaces={default,ml}", "s3.stepCredentials=shared",
                  "s3.bucket=kubeline")
    sts = one(objs, "StatefulSet", "kubeline-store")
    assert sts["spec"]["replicas"] == 1
    pod = sts["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["image"] == "localhost/kubeline/store:0.1.0"
    # The bucket is created before the server starts; the server runs as PID 1 (exec).
    assert c["command"] == ["/bin/sh", "-c"]
    assert "cd /data && mkdir -p . $KUBELINE_S3_BUCKETS && exec versitygw" in c["args"][0]
    assert "posix /data" in c["args"][0] and "--nometa" not in c["args"][0]
    e = {x["name"]: x.get("value", x.get("valueFrom")) for x in c["env"]}
    assert e["KUBELINE_S3_BUCKETS"] == "kubeline"
    assert e["ROOT_ACCESS_KEY"] == {"secretKeyRef": {"name": "kubeline-store",
                                                     "key": "rootAccessKey"}}
    assert e["ROOT_SECRET_KEY"]["secretKeyRef"]["key"] == "rootSecretKey"
    # Non-root, read-only root filesystem, no API token, probes and resources.
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["fsGroup"] == 10001
    assert pod["automountServiceAccountToken"] is False
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]} and sc["runAsUser"] == 10001
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/health", "port": "s3"}, probe
    assert "--health /health" in c["args"][0]
    assert c["resources"]["requests"] and c["resources"]["limits"]["memory"]
    # The objects live on a claim of the configured size (default StorageClass).
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert "storageClassName" not in claim["spec"]
    assert {"name": "data", "mountPath": "/data"} in c["volumeMounts"]
    # Reached through a Service.
    svc = one(objs, "Service", "kubeline-store")
    assert svc["spec"]["ports"] == [{"name": "s3", "port": 7070, "targetPort": "s3",
                                     "protocol": "TCP"}]
    assert svc["spec"]["selector"].items() <= sts["spec"]["template"]["metadata"][
        "labels"].items()
    assert "clusterIP" not in svc["spec"]


def test_embedded_credentials_are_generated_once_and_kept() -> None:
    objs = render("stepNamespaces={default,ml}", "s3.stepCredentials=shared",
                  "s3.bucket=kubeline")
    store = secret_data(one(objs, "Secret", "kubeline-store"))
    assert len(store["rootAccessKey"]) >= 16 and len(store["rootSecretKey"]) >= 32
    kept = one(objs, "Secret", "kubeline-store")["metadata"]["annotations"]
    assert kept["helm.sh/resource-policy"] == "keep"
    copies = [s for s in by_kind(objs, "Secret") if s["metadata"]["name"] == "kubeline-s3"]
    assert {s["metadata"]["namespace"] for s in copies} == {"kubeline-system", "default", "ml"}
    for secret in copies:  # the contract's keys (docs/contracts.md) plus the Service
        assert secret_data(secret) == {
            "bucket": "kubeline", "region": "us-east-1",
            "endpoint": "http://kubeline-store.kubeline-system.svc:7070",
            "accessKeyId": store["rootAccessKey"], "secretAccessKey": store["rootSecretKey"],
            "inClusterService": "kubeline-system/kubeline-store:7070",
        }
    # A new install (no Secret to look up) gets new keys: nothing is hard-coded.
    again = secret_data(one(render(), "Secret", "kubeline-store"))
    assert again["rootSecretKey"] != store["rootSecretKey"]


def test_embedded_store_values() -> None:
    objs = render("s3.embedded.persistence.size=2Gi", "s3.embedded.persistence.storageClass=fast",
                  "s3.embedded.service.clusterIP=10.96.0.77", "s3.embedded.port=9000",
                  "s3.bucket=ml", "s3.embedded.image.tag=dev", "s3.stepCredentials=shared")
    sts = one(objs, "StatefulSet", "kubeline-store")
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == "fast"
    assert claim["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert sts["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "localhost/kubeline/store:dev")
    svc = one(objs, "Service", "kubeline-store")
    assert svc["spec"]["clusterIP"] == "10.96.0.77"
    assert svc["spec"]["ports"][0]["port"] == 9000
    data = secret_data(by_kind(objs, "Secret")[0])
    assert data["endpoint"] == "http://10.96.0.77:9000"  # clusters without DNS
    assert data["bucket"] == "ml" and data["inClusterService"].endswith("/kubeline-store:9000")
    ephemeral = one(render("s3.embedded.persistence.enabled=false"), "StatefulSet")
    assert ephemeral["spec"]["template"]["spec"]["containers"][0]["startupProbe"]["exec"]
    assert "volumeClaimTemplates" not in ephemeral["spec"]
    assert {"name": "data", "emptyDir": {}} in ephemeral["spec"]["template"]["spec"]["volumes"]


def test_s3_settings_turn_the_embedded_store_off() -> None:
    for sets in (("s3.endpoint=http://192.0.2.2:7070", "s3.accessKeyId=A", "s3.secretAccessKey=S"),
                 ("s3.existingSecret=team-s3",), ("s3.workloadIdentity=true",)):
        objs = render(*sets)
        assert not by_kind(objs, "StatefulSet"), sets
        assert not [s for s in by_kind(objs, "Service") if "store" in s["metadata"]["name"]]
        assert all("inClusterService" not in (s.get("data") or {})
                   for s in by_kind(objs, "Secret")), sets


def test_embedded_off_without_settings_is_refused_naming_the_values() -> None:
    err = helm_error("s3.embedded.enabled=false")
    for value in ("s3.endpoint", "s3.bucket", "s3.accessKeyId", "s3.secretAccessKey",
                  "s3.existingSecret", "s3.workloadIdentity"):
        assert value in err, value
    err = helm_error("s3.embedded.enabled=false", "s3.endpoint=http://192.0.2.2:7070",
                     "s3.accessKeyId=A")
    assert "s3.secretAccessKey not set" in err
    err = helm_error("s3.embedded.enabled=false", "s3.bucket=", "s3.workloadIdentity=true")
    assert "s3.bucket not set" in err


def test_embedded_forced_on_next_to_s3_settings_is_refused() -> None:
    err = helm_error("s3.embedded.enabled=true", "s3.endpoint=http://192.0.2.2:7070")
    assert "s3.embedded.enabled=true" in err and "s3.endpoint" in err


def test_aws_with_workload_identity() -> None:
    arn = "arn:aws:iam::111122223333:role/kubeline"
    objs = render("s3.embedded.enabled=false", "s3.bucket=ml-artifacts", "s3.region=eu-west-1",
                  "s3.workloadIdentity=true",
                  f"operator.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn={arn}",
                  f"steps.serviceAccountAnnotations.eks\\.amazonaws\\.com/role-arn={arn}")
    assert env(objs)["KUBELINE_S3_WORKLOAD_IDENTITY"] == "true"
    assert secret_data(by_kind(objs, "Secret")[0]) == {"bucket": "ml-artifacts",
                                                        "region": "eu-west-1"}
    for sa in by_kind(objs, "ServiceAccount"):
        assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == arn, sa


# --------------------------------------------------------------------------- models


def test_step_model_promotion_is_opt_in_and_least_privilege() -> None:
    def granted(*sets: str) -> set[tuple[str, str]]:
        return {(r, v) for rule in bound_rules(render("stepNamespaces={ml}", *sets),
                                               "kubeline-step", "ml")
                for r in rule["resources"] for v in rule["verbs"]}

    assert ("modelversions", "patch") not in granted()
    promoting = granted("steps.allowModelPromotion=true")
    assert ("modelversions", "patch") in promoting
    assert not {(r, v) for r, v in promoting if v in ("create", "delete", "update")} - {
        ("events", "create")}  # the outputs-committed Event, as without the opt-in
    assert not granted("steps.allowModelPromotion=true", "steps.apiAccess=none")


def test_promoter_role_grants_promotion_and_nothing_else() -> None:
    role = one(render(), "ClusterRole", "kubeline-model-promoter")
    granted = {(r, v) for rule in role["rules"] for r in rule["resources"] for v in rule["verbs"]}
    assert granted == {("models", "get"), ("models", "list"), ("models", "watch"),
                       ("modelversions", "get"), ("modelversions", "list"),
                       ("modelversions", "watch"), ("modelversions", "patch")}


def test_model_version_policy_covers_every_spec_field_but_the_stage() -> None:
    from kubeline.resources.models import ModelVersionSpec

    objs = render()
    policy = one(objs, "ValidatingAdmissionPolicy", "kubeline-modelversion-changes")
    assert one(objs, "ValidatingAdmissionPolicyBinding",
               "kubeline-modelversion-changes")["spec"]["validationActions"] == ["Deny"]
    only_stage = next(v["expression"] for v in policy["spec"]["variables"]
                      if v["name"] == "onlyStage")
    fields = {f.alias or name for name, f in ModelVersionSpec.model_fields.items()} - {"stage"}
    for field in fields:
        assert f"object.spec.{field} == oldObject.spec.{field}" in only_stage, field
    assert "object.spec.stage" not in only_stage
    rules = policy["spec"]["matchConstraints"]["resourceRules"]
    assert rules[0]["resources"] == ["modelversions"]  # never the status subresource
    assert not by_kind(render("models.admissionPolicy=false", "models.promoterRole=false",
                              "operator.podPolicy=false", "steps.provenancePolicy=false"),
                       "ValidatingAdmissionPolicy")


# --------------------------------------------------------------------------- the UI (ui.*)


def _ui(objs: list[dict[str, Any]]) -> dict[str, Any]:
    return one(objs, "Deployment", "kubeline-ui")


def test_ui_is_off_by_default() -> None:
    objs = render()
    assert not [o for o in objs if o["metadata"]["name"].startswith("kubeline-ui")]


def test_client_mode_ui_has_no_rights_and_no_token() -> None:
    objs = render("ui.enabled=true")
    dep = _ui(objs)
    pod = dep["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert one(objs, "ServiceAccount", "kubeline-ui")["automountServiceAccountToken"] is False
    assert bound_rules(objs, "kubeline-ui", "kubeline-system") == []
    (c,) = pod["containers"]
    assert c["command"][c["command"].index("--auth-mode") + 1] == "client"
    assert c["command"][:4] == ["python", "-m", "kubeline.cli.main", "ui"]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in c["env"]}
    assert env["KUBELINE_UI_CA_FILE"] == "/etc/kubeline/kube-ca/ca.crt"
    assert {"configMap": {"name": "kube-root-ca.crt"}, "name": "kube-ca"} in pod["volumes"]
    # probes, non-root, read-only root filesystem, resources
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"]
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"]
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert c["resources"]["requests"] == {"cpu": "50m", "memory": "128Mi"}
    assert c["resources"]["limits"]["memory"] == "384Mi"
    svc = one(objs, "Service", "kubeline-ui")
    assert svc["spec"]["ports"][0]["port"] == 80
    assert svc["spec"]["selector"]["app.kubernetes.io/component"] == "ui"


def test_server_mode_ui_reads_with_its_own_account_only() -> None:
    objs = render("ui.enabled=true", "ui.authMode=server")
    pod = _ui(objs)["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is True
    rules = bound_rules(objs, "kubeline-ui", "kubeline-system")
    assert rules, "server mode binds the reader role"
    for rule in rules:
        assert set(rule["verbs"]) <= {"get", "list", "watch"}, rule
        assert "secrets" not in rule["resources"]
    kinds = {r for rule in rules for r in rule["resources"]}
    assert {"pipelineruns", "artifactversions", "pods/log"} <= kinds


def test_server_mode_with_watch_namespaces_binds_only_there() -> None:
    objs = render("ui.enabled=true", "ui.authMode=server", "watchNamespaces={a,b}")
    bindings = [o for o in by_kind(objs, "RoleBinding")
                if o["metadata"]["name"] == "kubeline-ui-reader"]
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["a", "b"]
    assert not [o for o in by_kind(objs, "ClusterRoleBinding")
                if o["metadata"]["name"] == "kubeline-ui-reader"]


def test_run_provenance_policy_admits_the_pod_claim_only_from_that_pod() -> None:
    objs = render("steps.serviceAccountName=runner")
    policy = one(objs, "ValidatingAdmissionPolicy", "kubeline-run-provenance")
    (rule,) = policy["spec"]["matchConstraints"]["resourceRules"]
    assert rule["resources"] == ["pipelineruns"] and rule["operations"] == ["CREATE", "UPDATE"]
    (check,) = policy["spec"]["validations"]
    assert "variables.pod == variables.claimed" in check["expression"]
    assert "':runner'" in check["expression"]
    pod = next(v for v in policy["spec"]["variables"] if v["name"] == "pod")["expression"]
    assert "request.userInfo.extra['authentication.kubernetes.io/pod-name'][0]" in pod
    claimed = next(v for v in policy["spec"]["variables"] if v["name"] == "claimed")
    from kubeline.resources.names import ANNOTATION_TRIGGERED_FROM_POD, ENV_PROVENANCE_POLICY

    assert f"'{ANNOTATION_TRIGGERED_FROM_POD}'" in claimed["expression"]
    assert env(objs)[ENV_PROVENANCE_POLICY] == "true"
    off = render("steps.provenancePolicy=false")
    assert env(off)[ENV_PROVENANCE_POLICY] == "false"
    assert "kubeline-run-provenance" not in {o["metadata"]["name"] for o in
                                             by_kind(off, "ValidatingAdmissionPolicy")}


def test_kubeline_object_policies_judge_only_the_watched_namespaces() -> None:
    """The run-provenance and ModelVersion bindings cover watchNamespaces (every namespace
    when it is empty), so a second release never judges this release's objects."""
    names = ("kubeline-run-provenance", "kubeline-modelversion-changes")
    for name in names:
        binding = one(render(), "ValidatingAdmissionPolicyBinding", name)
        assert "matchResources" not in binding["spec"], binding
    objs = render("watchNamespaces={team-a,team-b,team-a}", "stepNamespaces={team-a}")
    for name in names:
        spec = one(objs, "ValidatingAdmissionPolicyBinding", name)["spec"]
        assert spec["policyName"] == name and spec["validationActions"] == ["Deny"]
        assert spec["matchResources"] == {"namespaceSelector": {"matchExpressions": [
            {"key": "kubernetes.io/metadata.name", "operator": "In",
             "values": ["team-a", "team-b"]}]}}, spec
    # The operator-Pod policy is scoped by the operator's own ServiceAccount instead.
    pods = one(objs, "ValidatingAdmissionPolicy", "kubeline-operator-pods")
    assert "kubeline-system:kubeline-operator'" in (
        pods["spec"]["matchConditions"][0]["expression"])


def test_step_pods_default_resources_and_uid_reach_the_operator() -> None:
    import json

    from kubeline_operator.settings import OperatorSettings

    settings = OperatorSettings.from_env(env(render())).pod
    assert settings.run_as_user == 10001
    assert dict(settings.default_resources) == {
        "requests": (("cpu", "50m"), ("memory", "128Mi")),
        "limits": (("cpu", "2"), ("memory", "2Gi"))}
    custom = env(render("steps.resources.limits.memory=8Gi", "steps.runAsUser=20002"))
    assert json.loads(custom["KUBELINE_STEP_RESOURCES"])["limits"]["memory"] == "8Gi"
    assert custom["KUBELINE_STEP_RUN_AS_USER"] == "20002"
    bad = _run_helm("template", "kubeline", str(CHART), "--set", "steps.runAsUser=0")
    assert bad.returncode != 0 and "runAsUser" in bad.stderr
