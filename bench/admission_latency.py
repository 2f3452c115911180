"""Admission latency: PipelineRun created -> its first step Pod created, on a kwok node.

The bench's own operator (``python -m kubeline_operator`` on this host, watching only the
bench namespace, operator class ``bench``) reconciles the runs; kwok fakes the Pods, so no
container time is counted. Runs are created one at a time (``--interval`` apart); the
latency is from just before the create request to the moment a watch on the namespace's
Pods sees the run's first Pod (both on this host's clock).

Goal: p99 < 0.5 s. With ``--model`` the pipeline has a Model, so each run's admission also
creates a new ModelVersion (Model GET, a compare-and-swap on its version counter, the
version's create and status write) before its first Pod.

Usage: python bench/admission_latency.py [--runs 100] [--interval 0.2] [--warmup 5] [--model]
Needs the local cluster (kubeline dev up) and kwok (kubeline dev build kwok).
"""

from __future__ import annotations

import argparse
import time

from kwok_env import PodWatch, bench_env, custom_api, summary

GOAL_P99 = 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between creates")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--model", action="store_true",
                        help="runs belong to a model: each creates a model version")
    args = parser.parse_args()
    custom = custom_api()
    with bench_env("kl-admit", pod_ms=200) as bench:
        bench.start_operator()
        bench.create_pipeline("admit-bench", steps=1,
                              model="admit_bench_model" if args.model else None)
        created: dict[str, float] = {}
        with PodWatch(bench.namespace) as watch:
            for i in range(args.warmup + args.runs):
                name = f"admit-{i:05d}"
                body = bench.run_body(name, "admit-bench")
                created[name] = time.time()
                custom.create_namespaced_custom_object("kubeline.dev", "v1alpha1",
                                                       bench.namespace, "pipelineruns", body)
                time.sleep(args.interval)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with watch.lock:
                    seen = {watch.labels[p].get("kubeline.dev/run") for p in watch.added}
                if len(seen & set(created)) == len(created):
                    break
                time.sleep(0.2)
            with watch.lock:
                first_pod = {}
                for pod, at in watch.added.items():
                    run = watch.labels[pod].get("kubeline.dev/run")
                    first_pod[run] = min(at, first_pod.get(run, at))
        measured = [f"admit-{i:05d}" for i in range(args.warmup, args.warmup + args.runs)]
        missing = [r for r in measured if r not in first_pod]
        latencies = [first_pod[r] - created[r] for r in measured if r in first_pod]
        print(f"admission latency, {args.runs} runs created {args.interval}s apart "
              f"(after {args.warmup} warm-up runs), kwok node, bench operator on this host"
              + (", each run creating a model version" if args.model else ""))
        print(summary("PipelineRun create -> first Pod create", latencies, GOAL_P99))
        if missing:
            print(f"{len(missing)} runs got no Pod within 60s: {missing[:5]}")
        if args.model:
            items = custom.list_namespaced_custom_object(
                "kubeline.dev", "v1alpha1", bench.namespace, "modelversions")["items"]
            numbers = sorted((o.get("status") or {}).get("number") or 0 for o in items)
            print(f"model versions: {len(items)}, numbers distinct: "
                  f"{len(set(numbers)) == len(numbers)}, 1..{numbers[-1] if numbers else 0}")


if __name__ == "__main__":
    main()
