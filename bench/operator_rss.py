"""The operator's resident memory with 10,000 finished runs in its namespace.

Creates ``--runs`` finished PipelineRuns (3 completed steps each, with cache keys and
output ArtifactVersion names, as the operator writes them) directly through the API,
statuses via the status subresource, all labelled for the bench's operator class. Then
starts the bench's own operator (``python -m kubeline_operator`` on this host, watching
only that namespace) and waits until its ``kubeline_pipelineruns`` gauge counts every
run, i.e. it has listed, indexed (cache index: one entry per completed step) and
classified them all; then samples its RSS for ``--sample`` seconds.

Not created: the runs' step Pods and ArtifactVersions (Pods of finished runs are usually
gone through the TTL; the operator indexes ArtifactVersions separately).

Goal: < 250 MB.

Usage: python bench/operator_rss.py [--runs 10000] [--sample 10] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kwok_env import BENCH_CLASS, bench_env, custom_api, noop_snapshot

GOAL_MB = 250.0
G, V = "kubeline.dev", "v1alpha1"


def _ts(i: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1_700_000_000 + i * 60))


def finished_status(i: int, snapshot: str) -> dict[str, Any]:
    steps = []
    for k in range(3):
        key = uuid.uuid5(uuid.NAMESPACE_URL, f"{i}-{k}").hex * 2
        steps.append({
            "name": f"s{k}", "phase": "completed", "attempts": 1, "pod": f"rss-{i:06d}-s{k}-1",
            "startTime": _ts(i), "endTime": _ts(i), "reason": "Completed",
            "outputs": {"output": f"rss-pipeline-s{k}-output-{i + 1}"},
            "cache": {"key": key, "parts": {"code": "0" * 64, "image": key[:64],
                                            "parameters": key[64:], "inputs": "",
                                            "outputs": key[:64], "env": "", "cacheVersion": ""}},
        })
    return {"phase": "completed", "pipeline": "rss-pipeline", "snapshot": snapshot,
            "index": i + 1, "reason": "Completed", "message": "all steps completed",
            "startTime": _ts(i), "endTime": _ts(i), "duration": "3s", "progress": "3/3",
            "counts": {"total": 3, "completed": 3}, "steps": steps,
            "conditions": [{"type": "Succeeded", "status": "True", "reason": "Completed",
                            "message": "all steps completed", "lastTransitionTime": _ts(i)}]}


def populate(custom: Any, namespace: str, runs: int, concurrency: int) -> float:
    snapshot = noop_snapshot("rss-pipeline", 3)
    custom.create_namespaced_custom_object(G, V, namespace, "snapshots", snapshot)
    done = [0]
    lock = threading.Lock()

    def one(i: int) -> None:
        name = f"rss-{i:06d}"
        body = {"apiVersion": f"{G}/{V}", "kind": "PipelineRun",
                "metadata": {"name": name, "labels": {"kubeline.dev/operator-class": BENCH_CLASS,
                                                      "kubeline.dev/pipeline": "rss-pipeline"}},
                "spec": {"snapshot": "rss-pipeline"}}
        custom.create_namespaced_custom_object(G, V, namespace, "pipelineruns", body)
        custom.patch_namespaced_custom_object_status(
            G, V, namespace, "pipelineruns", name,
            {"status": finished_status(i, "rss-pipeline")})
        with lock:
            done[0] += 1
            if done[0] % 1000 == 0:
                print(f"  {done[0]} runs created", flush=True)

    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(runs)))
    return time.monotonic() - started


def runs_counted(port: int) -> float:
    """Sum of the operator's kubeline_pipelineruns gauge."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("kubeline_pipelineruns{"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10000)
    parser.add_argument("--sample", type=float, default=10.0, help="seconds of RSS sampling")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    custom = custom_api()
    with bench_env("kl-rss") as bench:
        took = populate(custom, bench.namespace, args.runs, args.concurrency)
        print(f"created {args.runs} finished runs in {took:.0f}s")
        started = time.monotonic()
        bench.start_operator()
        idle_rss = bench.operator_rss_mb()
        deadline, last_print = started + 600, 0.0
        while runs_counted(bench.metrics_port) < args.runs:
            if time.monotonic() - last_print > 10:
                last_print = time.monotonic()
                print(f"  {time.monotonic() - started:.0f}s: counted "
                      f"{runs_counted(bench.metrics_port):.0f}, "
                      f"RSS {bench.operator_rss_mb():.0f} MB",
                      flush=True)
            if time.monotonic() > deadline:
                raise SystemExit(f"the operator counted only {runs_counted(bench.metrics_port):.0f}"
                                 f" of {args.runs} runs in 600s")
            time.sleep(0.5)
        indexed_after = time.monotonic() - started
        samples = []
        end = time.monotonic() + args.sample
        while time.monotonic() < end:
            samples.append(bench.operator_rss_mb())
            time.sleep(0.5)
        peak = max(samples)
        verdict = "met" if peak < GOAL_MB else f"MISSED by {peak - GOAL_MB:.0f} MB"
        print(f"operator started and had listed, indexed and counted {args.runs} finished runs "
              f"after {indexed_after:.1f}s (RSS right after start: {idle_rss:.0f} MB)")
        print(f"operator RSS with {args.runs} finished runs: max {peak:.0f} MB, "
              f"last {samples[-1]:.0f} MB over {args.sample:.0f}s (goal < {GOAL_MB:.0f} MB: "
              f"{verdict})")


if __name__ == "__main__":
    main()
