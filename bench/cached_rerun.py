"""Wall time of a fully cached 10-step rerun, from the SDK call to the returned run.

Uses the in-cluster operator (the Helm release in kubeline-system) and real step Pods
for the first, uncached run of a 10-step chain (each step adds one to its input).
Then calls the pipeline again ``--repeat`` times: every step is a cache hit, no Pod is
created, and the call returns a run in phase ``cached``. Timed: the whole user call
``pipeline()`` (compile, code archive check, Snapshot, PipelineRun, wait for the end).

Goal: < 1 s.

Usage: python bench/cached_rerun.py [--repeat 10] [--keep]
Needs the local cluster with the operator installed (the e2e ``operator`` fixture or
``helm install kubeline charts/kubeline``) and the S3 settings (eval "$(kubeline dev env)").
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import importlib
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from kwok_env import core_api, percentile

STEPS = 10
GOAL_SECONDS = 1.0
SOURCE = '''\
from kubeline import pipeline, step


@step
def first() -> int:
    return 0


@step
def add_one(x: int) -> int:
    return x + 1


@pipeline
def chain10():
    x = first()
    for _ in range({n}):
        x = add_one(x)
'''


def release_bucket(core: object) -> str | None:
    """The installed release's bucket setting (its ``kubeline-s3`` Secret in kubeline-system),
    or None when it has none there."""
    try:
        secret = core.read_namespaced_secret("kubeline-s3", "kubeline-system")  # type: ignore[attr-defined]
    except Exception:
        return None
    raw = (secret.data or {}).get("bucket")
    return base64.b64decode(raw).decode() if raw else None


def make_namespace(core: object) -> str:
    """A namespace ready for step Pods: the S3 Secret, the kubeline-step ServiceAccount and the
    operator's Pod Role.

    When the installed release keeps one bucket per namespace (``kubeline-{namespace}``, the
    chart's default), the namespace gets its own account and bucket in the dev cluster's S3
    server (``kubeline dev namespace-s3``) and this process's SDK uses the same setting;
    otherwise its Secret holds a copy of this shell's S3 settings (one shared identity)."""
    env = os.environ
    if not env.get("KUBELINE_S3_BUCKET"):
        sys.exit('KUBELINE_S3_BUCKET is not set: eval "$(kubeline dev env)" first')
    from kubeline.dev.scratch_namespaces import owner_metadata

    name = f"kl-cached-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {  # type: ignore[attr-defined]
        "name": name, **owner_metadata("bench")}})  # a killed bench's: removed by tests
    bucket = release_bucket(core)
    if bucket and "{namespace}" in bucket:
        from kubeline.dev.cluster import DevCluster

        DevCluster(log=lambda msg: print(msg, file=sys.stderr)).namespace_s3(name, bucket)
        env["KUBELINE_S3_BUCKET"] = bucket
    else:
        data = {"bucket": env["KUBELINE_S3_BUCKET"],
                "endpoint": env.get("KUBELINE_S3_ENDPOINT", ""),
                "region": env.get("KUBELINE_S3_REGION", "us-east-1"),
                "accessKeyId": env.get("AWS_ACCESS_KEY_ID", ""),
                "secretAccessKey": env.get("AWS_SECRET_ACCESS_KEY", "")}
        core.create_namespaced_secret(name, {  # type: ignore[attr-defined]
            "metadata": {"name": "kubeline-s3"},
            "stringData": {k: v for k, v in data.items() if v}})
    deadline = time.monotonic() + 30
    while True:
        try:
            core.read_namespaced_service_account("default", name)  # type: ignore[attr-defined]
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    core.create_namespaced_service_account(  # type: ignore[attr-defined]
        name, {"metadata": {"name": "kubeline-step"}})
    grant_step_pods(name, core)
    return name


def grant_step_pods(namespace: str, core: object) -> None:
    """What the chart grants the operator in each of its stepNamespaces (the release is
    installed without this namespace): create and delete Pods, read them."""
    from kubernetes import client

    rbac = client.RbacAuthorizationV1Api(core.api_client)  # type: ignore[attr-defined]
    meta = {"name": "kubeline-operator-pods", "namespace": namespace}
    rbac.create_namespaced_role(namespace, {"metadata": meta, "rules": [{
        "apiGroups": [""], "resources": ["pods"],
        "verbs": ["get", "list", "watch", "create", "delete"]}]})
    rbac.create_namespaced_role_binding(namespace, {
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                    "name": "kubeline-operator-pods"},
        "subjects": [{"kind": "ServiceAccount", "name": "kubeline-operator",
                      "namespace": "kubeline-system"}]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the namespace")
    args = parser.parse_args()
    core = core_api()
    from kubernetes import client

    deploy = client.AppsV1Api(core.api_client).read_namespaced_deployment(
        "kubeline-operator", "kubeline-system")
    if not deploy.status.ready_replicas:
        sys.exit("the in-cluster operator (deployment/kubeline-operator in kubeline-system) "
                 "is not ready: install the chart first")
    namespace = make_namespace(core)
    os.environ["KUBELINE_NAMESPACE"] = namespace
    workdir = Path(tempfile.mkdtemp(prefix="kl-cached-"))
    module = f"chain10_{uuid.uuid4().hex[:6]}"
    (workdir / f"{module}.py").write_text(SOURCE.format(n=STEPS - 1))
    sys.path.insert(0, str(workdir))
    try:
        mod = importlib.import_module(module)
        started = time.perf_counter()
        first = mod.chain10()
        uncached = time.perf_counter() - started
        if first.status != "completed":
            sys.exit(f"the first run ended {first.status}: {first.name}")
        pods_before = len(core.list_namespaced_pod(namespace).items)
        times, statuses = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            run = mod.chain10()
            times.append(time.perf_counter() - t0)
            statuses.append(run.status)
        pods_after = len(core.list_namespaced_pod(namespace).items)
        print(f"first (uncached) {STEPS}-step run with real Pods: {uncached:.1f} s")
        print(f"fully cached reruns: statuses {sorted(set(statuses))}, "
              f"new Pods: {pods_after - pods_before}")
        med, p99 = statistics.median(times), percentile(times, 99)
        verdict = "met" if med < GOAL_SECONDS else f"MISSED by {(med - GOAL_SECONDS) * 1000:.0f} ms"
        print(f"cached {STEPS}-step rerun, SDK call -> returned run: n={len(times)} "
              f"median={med * 1000:.0f} ms p99={p99 * 1000:.0f} ms min={min(times) * 1000:.0f} ms "
              f"(goal < {GOAL_SECONDS * 1000:.0f} ms: {verdict})")
    finally:
        sys.path.remove(str(workdir))
        shutil.rmtree(workdir, ignore_errors=True)
        if not args.keep:
            with contextlib.suppress(Exception):
                core.delete_namespace(namespace, propagation_policy="Background")


if __name__ == "__main__":
    main()
