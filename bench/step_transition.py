"""Step-transition latency: upstream step Pod Succeeded -> downstream step Pod created, with
1, 10 and 100 runs in flight at once, on a kwok node.

Each run is a chain of 3 output-free steps (s0 -> s1 -> s2), so every run gives two
transitions. kwok turns each Pod Running at once and Succeeded ``--pod-ms`` later. A watch
on the namespace's Pods timestamps (on this host's clock) when a Pod is first seen
Succeeded and when the next step's Pod is first seen; the difference is the transition.
The bench's own operator runs on this host (see kwok_env.py).

Goal: p99 < 1 s at 100 concurrent runs.

Usage: python bench/step_transition.py [--concurrency 1,10,100] [--samples 40]
       [--pod-ms 100] [--qps 100]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

from kwok_env import PodWatch, bench_env, custom_api, summary

GOAL_P99_AT_100 = 1.0
STEPS = 3


def transitions(watch: PodWatch, runs: set[str]) -> tuple[list[float], int]:
    """(latencies, transitions missing) over the chains of ``runs``."""
    with watch.lock:
        pods = {(lab.get("kubeline.dev/run"), lab.get("kubeline.dev/step")): name
                for name, lab in watch.labels.items()}
        out, missing = [], 0
        for run in runs:
            for k in range(1, STEPS):
                up, down = pods.get((run, f"s{k - 1}")), pods.get((run, f"s{k}"))
                if up in watch.succeeded and down in watch.added:
                    out.append(watch.added[down] - watch.succeeded[up])
                else:
                    missing += 1
    return out, missing


def wait_chains(watch: PodWatch, runs: set[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with watch.lock:
            done = {lab.get("kubeline.dev/run") for name, lab in watch.labels.items()
                    if lab.get("kubeline.dev/step") == f"s{STEPS - 1}" and name in watch.succeeded}
        if runs <= done:
            return
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", default="1,10,100")
    parser.add_argument("--samples", type=int, default=40,
                        help="at least this many transitions per concurrency level")
    parser.add_argument("--pod-ms", type=int, default=100, help="kwok Pod run time")
    parser.add_argument("--qps", type=float, default=100.0, help="operator KUBELINE_API_QPS")
    parser.add_argument("--workers", type=int, default=32, help="operator KUBELINE_WORKERS")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    custom = custom_api()
    results: dict[int, list[float]] = {}
    with bench_env("kl-trans", pod_ms=args.pod_ms) as bench:
        bench.start_operator({"KUBELINE_API_QPS": str(args.qps),
                              "KUBELINE_WORKERS": str(args.workers)})
        bench.create_pipeline("chain3", STEPS)
        counter = 0
        with PodWatch(bench.namespace) as watch, ThreadPoolExecutor(16) as pool:
            # Warm-up: one run through the whole chain.
            levels_run = [("warmup", 1)] + [(c, c) for c in levels]
            for label, conc in levels_run:
                rounds = 1 if label == "warmup" else max(
                    1, -(-args.samples // (conc * (STEPS - 1))))
                lat: list[float] = []
                missing = 0
                for _ in range(rounds):
                    names = [f"chain-{counter + i:05d}" for i in range(conc)]
                    counter += conc
                    list(pool.map(lambda n: custom.create_namespaced_custom_object(
                        "kubeline.dev", "v1alpha1", bench.namespace, "pipelineruns",
                        bench.run_body(n, "chain3")), names))
                    wait_chains(watch, set(names), timeout=120 + conc)
                    got, miss = transitions(watch, set(names))
                    lat += got
                    missing += miss
                if label != "warmup":
                    results[conc] = lat
                    goal = GOAL_P99_AT_100 if conc == 100 else None
                    print(summary(f"{conc:>3} concurrent runs: Succeeded -> next Pod", lat, goal)
                          + (f"; {missing} transitions not seen" if missing else ""), flush=True)
        print(f"(kwok Pods run {args.pod_ms} ms; operator API QPS {args.qps:g}, "
              f"{args.workers} workers; "
              "bench operator on this host)")


if __name__ == "__main__":
    main()
