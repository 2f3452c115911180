"""The local cluster is a real Kubernetes: nodes, pods in real containers, GC, helm, S3."""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent


def test_one_ready_node_at_v134(cluster):
    nodes = json.loads(cluster.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    assert len(nodes) == 1
    ready = {c["type"]: c["status"] for c in nodes[0]["status"]["conditions"]}["Ready"]
    assert ready == "True"
    version = json.loads(cluster.kubectl("version", "-o", "json").stdout)["serverVersion"]
    assert re.fullmatch(r"v1\.34\.\d+", version["gitVersion"]), version


PROBE = textwrap.dedent("""
    import os, sys
    import s3fs
    from kubernetes import client, config
    fs = s3fs.S3FileSystem(key=os.environ["AWS_ACCESS_KEY_ID"],
                           secret=os.environ["AWS_SECRET_ACCESS_KEY"],
                           client_kwargs={"endpoint_url": os.environ["KUBELINE_S3_ENDPOINT"]})
    bucket = os.environ["KUBELINE_S3_BUCKET"]
    fs.pipe(f"{bucket}/probe/hello.txt", b"hi")
    print("s3:", fs.ls(f"{bucket}/probe"))
    config.load_incluster_config()
    print("api:", client.CoreApi().get_api_versions().versions)
    print("python:", sys.version.split()[0])
""")


def _s3_env():
    keys = {"KUBELINE_S3_ENDPOINT": "endpoint", "KUBELINE_S3_BUCKET": "bucket",
            "AWS_ACCESS_KEY_ID": "accessKeyId", "AWS_SECRET_ACCESS_KEY": "secretAccessKey"}
    return [{"name": k, "valueFrom": {"secretKeyRef": {"name": "kubeline-s3", "key": v}}}
            for k, v in keys.items()]


def test_pod_in_kubeline_image_reaches_s3_and_api(cluster, step_namespace):
    pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "probe", "namespace": step_namespace},
        "spec": {
            "restartPolicy": "Never",
            # step_namespace enforces the restricted Pod Security level.
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "probe", "image": cluster.image, "imagePullPolicy": "Never",
                "command": ["python", "-c", PROBE], "env": _s3_env(),
                "securityContext": {"allowPrivilegeEscalation": False,
                                    "capabilities": {"drop": ["ALL"]}},
            }],
        },
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(pod))
    cluster.kubectl("wait", "pod/probe", "-n", step_namespace, "--timeout=180s",
                    "--for=jsonpath={.status.phase}=Succeeded", timeout=200)
    logs = cluster.kubectl("logs", "probe", "-n", step_namespace).stdout
    # The Pod writes with its namespace's own identity, into its namespace's own bucket.
    bucket = cluster.step_bucket.replace("{namespace}", step_namespace) or "kubeline"
    assert f"s3: ['{bucket}/probe/hello.txt']" in logs, logs
    assert "api: ['v1']" in logs, logs
    assert "python: 3.11" in logs, logs


def test_deployment_ready_and_garbage_collected(cluster, namespace):
    ns = ["-n", namespace]
    cluster.kubectl("create", "deployment", "web", "--image=localhost/kubeline/pause:3.10", *ns)
    cluster.kubectl("rollout", "status", "deployment/web", "--timeout=120s", *ns, timeout=150)
    assert cluster.kubectl("get", "rs,pods", "-o", "name", *ns).stdout.count("\n") == 2
    cluster.kubectl("delete", "deployment", "web", *ns)
    cluster.kubectl("wait", "--for=delete", "rs,pods", "--all", "--timeout=60s", *ns, timeout=90)
    assert cluster.kubectl("get", "rs,pods", "-o", "name", *ns).stdout.strip() == ""


def test_helm_install_and_uninstall(cluster, namespace):
    ns = ["-n", namespace]
    cluster.helm("install", "demo", str(HERE / "charts" / "hello"), *ns, "--wait",
                 "--timeout", "120s", "--set", "message=from-test")
    cm = json.loads(cluster.kubectl("get", "configmap", "demo-hello", "-o", "json", *ns).stdout)
    assert cm["data"]["message"] == "from-test"
    assert "demo" in cluster.helm("list", "-q", *ns).stdout
    cluster.helm("uninstall", "demo", *ns, "--wait")
    assert cluster.kubectl("get", "configmap", "demo-hello", *ns, check=False).returncode != 0


def test_guard_rules_keep_pod_and_service_traffic_local(cluster):
    """The installed iptables rules, as docs/local-cluster.md states them (written out here,
    not derived from the code that installs them): Pod traffic leaving by the default
    interface, and Service-range traffic going out of it, is rejected."""
    from kubeline.dev.cluster import DevCluster

    iface = DevCluster().state().iface
    tail = f"-o {iface} -m comment --comment kubeline-dev-guard -j REJECT"
    expected = {
        "FORWARD": [f"-A FORWARD -s 10.244.0.0/16 {tail}", f"-A FORWARD -d 10.96.0.0/16 {tail}"],
        "OUTPUT": [f"-A OUTPUT -d 10.96.0.0/16 {tail}"],
    }
    for chain, rules in expected.items():
        listed = subprocess.run(["iptables", "-S", chain], capture_output=True, text=True,
                                check=True).stdout.splitlines()
        for rule in rules:
            assert any(line.startswith(rule) for line in listed), (
                f"guard rule missing: {rule}\n" + "\n".join(listed))


def test_service_ip_is_rewritten_by_kube_proxy(cluster):
    """The kubernetes Service IP has kube-proxy rules pointing at the node's API server."""
    out = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True).stdout
    assert "10.96.0.1/32" in out and "KUBE-SERVICES" in out
    assert f"{cluster.node_ip}:6443" in out
