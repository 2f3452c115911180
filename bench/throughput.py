"""Sustained throughput: 3-step no-op runs through the operator on a kwok node, in steps
per minute.

Keeps ``--inflight`` runs in flight for ``--duration`` seconds: a watch on the bench
namespace's PipelineRuns sees each run finish and a new one is created in its place.
Counted: steps of runs that completed inside the measurement window (after
``--warmup`` seconds), divided by the window. kwok turns each step Pod Running and then
Succeeded with no container behind it, so this measures the operator, the API server and
kwok, not containers. The bench's own operator runs on this host (see kwok_env.py).

Goal: >= 3,000 steps per minute on 2 cores.

Usage: python bench/throughput.py [--duration 180] [--inflight 50] [--warmup 15]
       [--qps 100] [--workers 32] [--ttl SECONDS] [--breakdown]
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kwok_env import PodWatch, bench_env, custom_api, summary

GOAL_STEPS_PER_MIN = 3000
STEPS = 3
TERMINAL = ("completed", "failed", "cached", "cancelled")


class RunWatch:
    """Calls ``on_finish(name, phase, when)`` once per run that reaches a terminal phase."""

    def __init__(self, namespace: str, on_finish: Any) -> None:
        self.namespace = namespace
        self.on_finish = on_finish
        self.seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def _run(self) -> None:
        from kubernetes import watch

        custom = custom_api()
        rv = custom.list_namespaced_custom_object(
            "kubeline.dev", "v1alpha1", self.namespace, "pipelineruns", limit=1
        )["metadata"]["resourceVersion"]
        while not self._stop.is_set():
            w = watch.Watch()
            try:
                for ev in w.stream(custom.list_namespaced_custom_object, "kubeline.dev",
                                   "v1alpha1", self.namespace, "pipelineruns",
                                   resource_version=rv, timeout_seconds=5,
                                   allow_watch_bookmarks=True, deserialize=False):
                    obj = ev["object"]
                    rv = obj["metadata"]["resourceVersion"]
                    if ev["type"] == "BOOKMARK":
                        continue
                    name = obj["metadata"]["name"]
                    phase = (obj.get("status") or {}).get("phase")
                    if phase in TERMINAL and name not in self.seen:
                        self.seen.add(name)
                        self.on_finish(name, phase, time.time())
                    if self._stop.is_set():
                        break
            except Exception as exc:  # a dropped watch: resume (relist on 410)
                if "410" in str(exc) or "Expired" in str(exc):
                    rv = custom.list_namespaced_custom_object(
                        "kubeline.dev", "v1alpha1", self.namespace, "pipelineruns", limit=1
                    )["metadata"]["resourceVersion"]
                time.sleep(0.1)
            finally:
                w.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=180.0, help="seconds of load")
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds not counted")
    parser.add_argument("--inflight", type=int, default=50, help="runs kept in flight")
    parser.add_argument("--qps", type=float, default=100.0, help="operator KUBELINE_API_QPS")
    parser.add_argument("--workers", type=int, default=32, help="operator KUBELINE_WORKERS")
    parser.add_argument("--pod-ms", type=int, default=0, help="kwok Pod run time")
    parser.add_argument("--breakdown", action="store_true",
                        help="also watch every Pod and print where a run's time goes")
    parser.add_argument("--ttl", type=int, default=None,
                        help="ttlSecondsAfterFinished + deleteAfterTtl on each run (keeps the "
                             "namespace small; the operator does the deleting)")
    args = parser.parse_args()
    custom = custom_api()
    with bench_env("kl-tput", pod_ms=args.pod_ms) as bench:
        bench.start_operator({"KUBELINE_API_QPS": str(args.qps),
                              "KUBELINE_WORKERS": str(args.workers)})
        bench.create_pipeline("tput3", STEPS)
        finished: list[tuple[str, str, float]] = []
        lock = threading.Condition()

        def on_finish(name: str, phase: str, when: float) -> None:
            with lock:
                finished.append((name, phase, when))
                lock.notify()

        watch = RunWatch(bench.namespace, on_finish)
        watch.start()
        # The per-phase breakdown needs a watch of every Pod: one more API client on the
        # same 2 cores, so it is opt-in (--breakdown) and off for the headline figure.
        pods = PodWatch(bench.namespace).__enter__() if args.breakdown else None
        time.sleep(1.0)
        created = 0
        created_at: dict[str, float] = {}

        counter_lock = threading.Lock()

        def create() -> None:
            nonlocal created
            with counter_lock:
                body = bench.run_body(f"tput-{created:06d}", "tput3")
                created += 1
            created_at[body["metadata"]["name"]] = time.time()
            if args.ttl is not None:
                body["spec"].update(ttlSecondsAfterFinished=args.ttl, deleteAfterTtl=True)
            custom.create_namespaced_custom_object("kubeline.dev", "v1alpha1", bench.namespace,
                                                   "pipelineruns", body)

        started = time.time()
        window_start, end = started + args.warmup, started + args.warmup + args.duration
        cpu_start: float | None = None
        pool = ThreadPoolExecutor(8)
        list(pool.map(lambda _: create(), range(args.inflight)))
        while time.time() < end:
            with lock:
                lock.wait(timeout=0.5)
                in_flight = created - len(finished)
            if cpu_start is None and time.time() >= window_start:
                cpu_start = _cpu_seconds(bench.operator.pid)
            list(pool.map(lambda _: create(), range(max(args.inflight - in_flight, 0))))
        pool.shutdown()
        cpu_end = _cpu_seconds(bench.operator.pid)
        watch.stop()
        if pods is not None:
            pods.__exit__(None, None, None)
        with lock:
            window = [(n, p) for n, p, t in finished if window_start <= t <= end]
        phases = Counter(p for _, p in window)
        minutes = args.duration / 60
        steps_per_min = phases["completed"] * STEPS / minutes
        print(f"throughput: {args.inflight} runs in flight, 3-step no-op runs, "
              f"{args.duration:.0f}s measured after {args.warmup:.0f}s warm-up, kwok node")
        print(f"runs finished in the window: {dict(phases)}; created in total: {created}")
        verdict = ("met" if steps_per_min >= GOAL_STEPS_PER_MIN else
                   f"MISSED by {GOAL_STEPS_PER_MIN - steps_per_min:.0f}")
        print(f"steps per minute: {steps_per_min:.0f} (goal >= {GOAL_STEPS_PER_MIN}: {verdict}); "
              f"runs per minute: {phases['completed'] / minutes:.0f}")
        if pods is not None:
            _breakdown(pods, window_start, end, created_at,
                       {n: t for n, _, t in finished if window_start <= t <= end})
        if cpu_start is not None:
            print(f"operator CPU: {(cpu_end - cpu_start) / args.duration * 100:.0f}% of one core "
                  f"(host has {os.cpu_count()} cores; API QPS {args.qps:g}, "
                  f"{args.workers} workers)")


def _breakdown(pods: PodWatch, start: float, end: float, created: dict[str, float],
               finished: dict[str, float]) -> None:
    """Where a run's time goes: admission, Pod life, transitions, finishing."""
    with pods.lock:
        by_key = {(lab.get("kubeline.dev/run"), lab.get("kubeline.dev/step")): name
                  for name, lab in pods.labels.items()}
        life = [pods.succeeded[n] - pods.added[n] for n in pods.succeeded
                if start <= pods.added[n] <= end]
        gaps = []
        for (run, step), name in by_key.items():
            k = int(step[1:]) if step and step[1:].isdigit() else 0
            up = by_key.get((run, f"s{k - 1}")) if k else None
            if up in pods.succeeded and start <= pods.added[name] <= end:
                gaps.append(pods.added[name] - pods.succeeded[up])
        admit = [pods.added[by_key[(r, "s0")]] - t for r, t in created.items()
                 if (r, "s0") in by_key and start <= t <= end]
        last = f"s{STEPS - 1}"
        finish = [t - pods.succeeded[by_key[(r, last)]] for r, t in finished.items()
                  if by_key.get((r, last)) in pods.succeeded]
        total = [t - created[r] for r, t in finished.items() if r in created]
    print(summary("  run duration (create -> seen finished)", total))
    print(summary("  run created -> first Pod created (operator)", admit))
    print(summary("  step Pod created -> seen Succeeded (scheduler + kwok)", life))
    print(summary("  upstream Succeeded -> next step Pod created (operator)", gaps))
    print(summary("  last Pod Succeeded -> run seen finished (operator)", finish))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
