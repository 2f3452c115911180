"""Lineage query cost: ``Client().get_pipeline(p).last_run.steps[s].outputs[o]`` with 100 and
with 10,000 runs of the pipeline.

Creates the objects the operator would (a Pipeline, a Snapshot, N PipelineRuns with their
status, the last run's ArtifactVersions) directly through the API, statuses via the status
subresource; no Pods. Then times the query with fresh Clients and counts its API requests.

A running operator sees each run between its creation and its status patch. The runs are
created with ``spec.cancel: true`` so that an operator winning that race cancels the run
(no Pods, no Pipeline bookkeeping) instead of starting it; the bench's status patch then
sets the final status either way (a losing operator patch is rejected by its
resourceVersion guard, and the operator leaves runs in a terminal phase alone). At the end
the bench checks that no Pod was created in its namespaces.

Goals: the same request count at both sizes (<= 5) and p50 < 50 ms.

Usage: KUBECONFIG=... python bench/lineage_query.py [--sizes 100,10000] [--repeat 50]
       [--concurrency 16] [--keep]. The kubeline CRDs must be installed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kubeline.client import Client
from kubeline.client.client import forget_connections
from kubeline.errors import KubelineError
from kubeline.kube import Kube
from kubeline.resources import names as n

PIPELINE = "bench_pipeline"
STEP = "trainer"
OUTPUT = "model"
GOAL_REQUESTS = 5
GOAL_P50_MS = 50.0


def _ts(i: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1_700_000_000 + i * 60))


def run_name(i: int) -> str:
    return f"{n.dns_name(PIPELINE)}-{i:06d}"


def run_status(pipeline: str, snapshot: str, i: int, outputs: dict[str, str]) -> dict[str, Any]:
    steps = [
        {"name": "loader", "phase": "completed", "attempts": 1, "pod": f"{run_name(i)}-loader-1",
         "startTime": _ts(i), "endTime": _ts(i), "outputs": {"data": outputs["data"]},
         "cache": {"key": uuid.uuid5(uuid.NAMESPACE_URL, f"l{i}").hex * 2}},
        {"name": STEP, "phase": "completed", "attempts": 1, "pod": f"{run_name(i)}-trainer-1",
         "startTime": _ts(i), "endTime": _ts(i), "outputs": {OUTPUT: outputs[OUTPUT]},
         "cache": {"key": uuid.uuid5(uuid.NAMESPACE_URL, f"t{i}").hex * 2}},
    ]
    return {"phase": "completed", "pipeline": pipeline, "snapshot": snapshot, "index": i + 1,
            "reason": "Completed", "message": "all steps completed", "duration": "0ms",
            "startTime": _ts(i), "endTime": _ts(i), "progress": "2/2",
            "counts": {"total": 2, "completed": 2}, "steps": steps}


def snapshot_spec(pipeline: str) -> dict[str, Any]:
    """A two-step snapshot in the wire form the SDK writes (defaults filled in)."""
    from kubeline.resources.models import SnapshotSpec

    def step(name: str, inputs: list[dict[str, Any]], output: str) -> dict[str, Any]:
        return {"name": name, "id": name, "function": name, "entrypoint": f"bench:{name}",
                "codeHash": "0" * 64, "inputs": inputs,
                "outputs": [{"name": output, "materializer": "m"}]}

    return SnapshotSpec.model_validate({
        "pipeline": pipeline, "pipelineName": PIPELINE, "image": "localhost/none:0",
        "steps": [step("loader", [], "data"),
                  step(STEP, [{"name": "data", "step": "loader", "output": "data"}], OUTPUT)],
    }).to_k8s()


class Populator:
    """Creates the objects of one namespace with bounded concurrency, printing progress."""

    def __init__(self, kube: Kube, concurrency: int) -> None:
        self.kube = kube
        self.concurrency = concurrency
        self._done = 0
        self._lock = threading.Lock()

    def create_with_status(self, plural: str, body: dict[str, Any],
                           status: dict[str, Any] | None) -> None:
        self.kube.create(plural, body)
        if status is not None:
            name = body["metadata"]["name"]
            self.kube._call(f"{plural}/{name}/status",
                            self.kube.custom.patch_namespaced_custom_object_status,
                            n.GROUP, n.VERSION, self.kube.namespace, plural, name,
                            {"status": status})

    def populate(self, size: int) -> None:
        pipeline = n.dns_name(PIPELINE)
        snapshot = f"{pipeline}-bench"
        self.create_with_status(n.SNAPSHOTS, {
            "kind": "Snapshot",
            "metadata": {"name": snapshot, "labels": {n.LABEL_PIPELINE: pipeline}},
            "spec": snapshot_spec(pipeline)}, None)
        outputs = {}
        for out, step in (("data", "loader"), (OUTPUT, STEP)):
            av = n.artifact_version_name(f"{PIPELINE}::{step}::{out}", "1")
            outputs[out] = av
            self.kube.create(n.ARTIFACT_VERSIONS, {
                "kind": "ArtifactVersion",
                "metadata": {"name": av, "labels": {
                    n.LABEL_ARTIFACT: n.label_value(f"{PIPELINE}::{step}::{out}"),
                    n.LABEL_VERSION: "1", n.LABEL_RUN: run_name(size - 1), n.LABEL_STEP: step,
                    n.LABEL_PIPELINE: pipeline}},
                "spec": {"artifactName": f"{PIPELINE}::{step}::{out}", "version": "1",
                         "uri": f"s3://bench/{out}", "materializer": "m",
                         "metadata": {"storage_size": 1024},
                         "producer": {"pipeline": pipeline, "run": run_name(size - 1),
                                      "step": step, "output": out}}})

        def one(i: int) -> None:
            self.create_with_status(n.PIPELINE_RUNS, {
                "kind": "PipelineRun",
                "metadata": {"name": run_name(i), "labels": {n.LABEL_PIPELINE: pipeline,
                                                             n.LABEL_SNAPSHOT: snapshot}},
                "spec": {"snapshot": snapshot, "cancel": True}},
                run_status(pipeline, snapshot, i, outputs))
            with self._lock:
                self._done += 1
                if self._done % max(1, size // 10) == 0 or self._done == size:
                    print(f"  [{self.kube.namespace}] {self._done}/{size} runs", flush=True)

        self._done = 0
        started = time.monotonic()
        with ThreadPoolExecutor(self.concurrency) as pool:
            for future in [pool.submit(one, i) for i in range(size)]:
                future.result()
        recent = [run_name(i) for i in range(size - 1, max(-1, size - 51), -1)]
        self.create_with_status(n.PIPELINES, {
            "kind": "Pipeline", "metadata": {"name": pipeline}, "spec": {"name": PIPELINE}},
            {"runCount": size, "lastRun": recent[0], "lastSuccessfulRun": recent[0],
             "recentRuns": recent, "latestSnapshot": snapshot})
        print(f"  created {size} runs in {time.monotonic() - started:.1f}s", flush=True)


def measure(namespace: str, repeat: int) -> dict[str, Any]:
    """Time the query with a fresh ``Client()`` each time (as users write it; Clients in a
    process share the HTTP connection) and with a brand-new connection each time (kubeconfig
    read + TLS handshake: the first query of a process); count the requests of one query."""
    fresh, new_conn, counts = [], [], set()
    for _ in range(repeat):
        forget_connections()
        t0 = time.perf_counter()
        client = Client(namespace=namespace)
        av = client.get_pipeline(PIPELINE).last_run.steps[STEP].outputs[OUTPUT]
        new_conn.append((time.perf_counter() - t0) * 1000)
        counts.add(client.kube.requests)
        assert av.name == f"{PIPELINE}::{STEP}::{OUTPUT}", av.name
        t0 = time.perf_counter()
        client = Client(namespace=namespace)
        client.get_pipeline(PIPELINE).last_run.steps[STEP].outputs[OUTPUT]
        fresh.append((time.perf_counter() - t0) * 1000)
        counts.add(client.kube.requests)

    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return {"requests": sorted(counts), "fresh_p50": statistics.median(fresh),
            "fresh_p99": pct(fresh, 0.99), "conn_p50": statistics.median(new_conn),
            "conn_p99": pct(new_conn, 0.99)}


def pooled(kube: Kube, size: int) -> Kube:
    """``kube`` with an HTTP connection pool big enough for ``size`` threads."""
    from kubernetes import client as k8s

    cfg = kube.api_client.configuration
    cfg.connection_pool_maxsize = size
    kube.api_client = k8s.ApiClient(cfg)
    return kube


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,10000")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--keep", action="store_true", help="Keep the namespaces afterwards.")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    from kubeline.dev.scratch_namespaces import owner_metadata
    from kubernetes import client as k8s

    base = Kube.connect(namespace="default")
    core = k8s.CoreV1Api(base.api_client)
    try:
        base.list(n.PIPELINES, limit=1)
    except KubelineError as exc:
        print(f"cannot list kubeline objects: {exc}", file=sys.stderr)
        return 2
    results: dict[int, dict[str, Any]] = {}
    pods: dict[int, int] = {}
    namespaces = []
    try:
        for size in sizes:
            ns = f"kl-bench-{size}-{uuid.uuid4().hex[:5]}"
            namespaces.append(ns)
            core.create_namespace({"metadata": {"name": ns, **owner_metadata("bench")}})
            print(f"populating {ns} with {size} runs (concurrency {args.concurrency})",
                  flush=True)
            kube = pooled(Kube.connect(namespace=ns), args.concurrency)
            Populator(kube, args.concurrency).populate(size)
            results[size] = measure(ns, args.repeat)
            pods[size] = len(core.list_namespaced_pod(ns).items)
    finally:
        if not args.keep:
            for ns in namespaces:
                core.delete_namespace(ns)
    print("\nget_pipeline(p).last_run.steps[s].outputs[o]")
    print(f"{'runs':>7} {'requests':>9} {'p50':>7} {'p99':>7} {'new-conn p50':>13} "
          f"{'new-conn p99':>13}  (ms; new-conn = first query in a process: kubeconfig + TLS)")
    for size, r in results.items():
        print(f"{size:>7} {','.join(map(str, r['requests'])):>9} {r['fresh_p50']:>7.1f} "
              f"{r['fresh_p99']:>7.1f} {r['conn_p50']:>13.1f} {r['conn_p99']:>13.1f}")
    counts = {tuple(r["requests"]) for r in results.values()}
    same = len(counts) == 1 and len(next(iter(counts))) == 1
    most = max(max(r["requests"]) for r in results.values())
    p50 = max(r["fresh_p50"] for r in results.values())
    print(f"goal: same request count at every size (<= {GOAL_REQUESTS}): "
          f"{'met' if same and most <= GOAL_REQUESTS else 'MISSED'} ({most})")
    print("pods created in the bench namespaces (must be 0): "
          + ", ".join(f"{size} runs: {count}" for size, count in pods.items()))
    print(f"goal: p50 < {GOAL_P50_MS:.0f} ms with a fresh Client: "
          f"{'met' if p50 < GOAL_P50_MS else 'MISSED'} ({p50:.1f} ms)")
    ok = same and most <= GOAL_REQUESTS and p50 < GOAL_P50_MS and not any(pods.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
