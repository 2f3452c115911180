"""Kubeline and Argo Workflows side by side on the same cluster and the same kwok node.

The same workloads run as an Argo DAG Workflow and as a Kubeline Snapshot: (a) a 3-step
no-op chain, (b) fan-out 1 -> 20 -> 1, (c) one 200-step chain. In one script run, the two
systems take turns, alternating (by default Kubeline, Argo at the matched budget, Kubeline,
Argo at its defaults: ``--order``), each in a fresh namespace with only its own controller
running, so the machine's noise falls on both alike. **matched**: the same client QPS budget
for both, Argo at its documented latency tuning (``DEFAULT_REQUEUE_TIME``, ``--qps`` /
``--burst``); **defaults**: each as it comes. Kubeline's defaults are the matched budget, so
each Kubeline turn serves both columns. Per turn: admission p50/p99 (create -> first Pod;
also the create's round trip and the API server's, etcd's and the admission policies' time
for it), step transition p50/p99 (upstream Pod Succeeded -> next Pod created) at 1, 10 and
100 concurrent runs, the fan-out and the 200-step run's create -> finished, bytes stored in
etcd per run, then throughput over ``--duration`` at ``--inflight`` runs in flight with the
API requests (kube-apiserver's ``apiserver_request_total``, less the fake kubelet's, the
scheduler's and the bench's own) and control-plane CPU seconds (controller, kube-apiserver,
etcd, from /proc, less their idle rate) per step; and the machine's load over the turn. It
prints every turn's figures, then the medians over each column's turns (how many, in the
column's title) as a table of Kubeline/Argo ratios, the one in docs/benchmarks.md.

**Argo is a benchmark peer only.** ``workflow-controller`` is built from the Go module
``github.com/argoproj/argo-workflows/v4`` at the pinned version (``kubeline dev build
workflow-controller``, cached under ~/.cache/kubeline/bin keyed by its inputs) and runs on
this host against the local cluster, namespaced, for the length of the bench. It never
ships with Kubeline and never runs user code: known advisories for that version do not
matter for a local benchmark. Its CRDs are read from the module cache at bench time and
applied file by file (and removed again if the bench installed them); nothing of Argo's is
in this repository.

Needs the local cluster and kwok; run it under the cluster lock. The full run takes about
35 minutes on 2 cores (turns measured earlier: Kubeline 5.2 min, Argo 9.7 min matched and
12.8 min at its defaults, whose 10 s requeue makes every phase slow; the 200-step run is
capped by ``--long-cap``; each turn's length includes deleting its namespace's thousands of
throughput Pods); ``--short`` is a smoke run of every phase of every turn whose figures are
not to be quoted.

Usage: python bench/peers/argo.py [--short] [--order SYSTEM:CONFIG,...] [--duration 180]
       [--inflight 50] [--qps 100] [--burst 200] [--tuned-requeue 1s] [--long-cap 240]
       [--phases admission,transitions,fanout,chain200,throughput] [--json FILE]

Kubeline only (no Argo binary, no Argo CRDs, no ratio table), e.g. its 200-step run and
requests per step: ``--order kubeline:matched --configs matched --phases chain200,throughput``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: kwok_env

import argo_workloads as W
from kwok_env import (
    NODE_LABEL,
    TAINT_KEY,
    Bench,
    bench_env,
    core_api,
    custom_api,
    free_port,
    kubeconfig,
)

IMAGE = "localhost/kubeline-bench-noop:0"
DEV = Path.home() / ".cache" / "kubeline" / "dev"
ETCD_URL = os.environ.get("KUBELINE_BENCH_ETCD", "http://127.0.0.1:12379")
ARGO_HEALTH = "http://127.0.0.1:6060/healthz"  # the controller's fixed health port


# ----------------------------------------------------------------------------- /proc, etcd


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def control_plane_pid(name: str) -> int:
    """The local cluster's process ``name`` (``kube-apiserver``, ``etcd``)."""
    path = DEV / "pids" / f"{name}.pid"
    if not path.exists():
        sys.exit(f"no {path}: is the local cluster (kubeline dev up) running?")
    return int(path.read_text().split()[0])


def _etcd_range(start: bytes, end: bytes, keys_only: bool) -> list[tuple[bytes, int]]:
    """(key, value size) of every key in [start, end), paged, from etcd's JSON gateway."""
    out: list[tuple[bytes, int]] = []
    while True:
        body = {"key": base64.b64encode(start).decode(),
                "range_end": base64.b64encode(end).decode(), "limit": 5000,
                "keys_only": keys_only}
        req = urllib.request.Request(f"{ETCD_URL}/v3/kv/range", data=json.dumps(body).encode())
        with urllib.request.urlopen(req, timeout=60) as resp:
            page = json.load(resp)
        kvs = page.get("kvs") or []
        out += [(base64.b64decode(kv["key"]), len(base64.b64decode(kv.get("value", ""))))
                for kv in kvs]
        if not page.get("more") or not kvs:
            return out
        start = base64.b64decode(kvs[-1]["key"]) + b"\0"


def etcd_sizes(namespace: str) -> dict[str, int]:
    """Every etcd key of ``namespace`` and the size of its stored value, in bytes (etcd's
    JSON gateway on its loopback client port): keys first, then the values of each of the
    namespace's key prefixes only."""
    marker = f"/{namespace}/".encode()
    prefixes = {k[: k.index(marker) + len(marker)]
                for k, _ in _etcd_range(b"/registry/", b"/registry0", True) if marker in k}
    out: dict[str, int] = {}
    for prefix in prefixes:
        end = prefix[:-1] + bytes([prefix[-1] + 1])
        for key, size in _etcd_range(prefix, end, False):
            out[key.decode(errors="replace")] = size
    return out


def apiserver_metrics() -> str:
    """kube-apiserver's /metrics, as text."""
    from kubernetes import client, config

    cfg = client.Configuration()
    config.load_kube_config(config_file=kubeconfig(), client_configuration=cfg)
    api = client.ApiClient(cfg)  # its pool has the kubeconfig's TLS client credentials
    headers = {"Authorization": cfg.api_key["authorization"]} if cfg.api_key else {}
    resp = api.rest_client.pool_manager.request("GET", f"{cfg.host}/metrics", headers=headers)
    if resp.status != 200:
        raise RuntimeError(f"GET /metrics: HTTP {resp.status}")
    return str(resp.data.decode())


def apiserver_requests() -> Counter[tuple[str, str, str]]:
    """kube-apiserver's ``apiserver_request_total`` summed by (verb, resource, subresource)."""
    return Counter(W.request_counts(apiserver_metrics()))


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all cores, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


class LoadSampler:
    """The machine's load over one turn: the 1-minute load average every few seconds, and
    the cores busy (all processes) between start and stop."""

    def __init__(self, every: float = 5.0) -> None:
        self.every = every
        self.samples = [os.getloadavg()[0]]
        self.busy0 = machine_busy()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append(os.getloadavg()[0])

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join(timeout=self.every + 1)
        end = os.getloadavg()[0]
        busy1 = machine_busy()
        total = busy1[1] - self.busy0[1]
        cores = os.cpu_count() or 1
        return {"load_start": self.samples[0], "load_mean": sum(self.samples) / len(self.samples),
                "load_max": max([*self.samples, end]), "load_end": end,
                "busy_cores": (busy1[0] - self.busy0[0]) / total * cores if total else math.nan}


# Requests the controllers do not make: the fake kubelet's Pod status writes and node
# heartbeats, the scheduler's bindings and its Events (events.k8s.io: one "Scheduled" per
# Pod; both controllers post core v1 Events), leases, and the bench's own run creates and
# watches.
NOT_THE_CONTROLLERS = {("PATCH", "pods", "status"), ("PUT", "pods", "status"),
                       ("POST", "pods", "binding"), ("POST", "events.k8s.io/events", ""),
                       ("PATCH", "events.k8s.io/events", ""), ("PATCH", "nodes", "status"),
                       ("PUT", "nodes", "status"), ("PUT", "leases", ""), ("GET", "leases", ""),
                       ("PATCH", "nodes", "")}


# ----------------------------------------------------------------------------- watches


@dataclass
class Watcher:
    """Watches one namespace's runs (Kubeline PipelineRuns or Argo Workflows) and step
    Pods; timestamps on this host's clock when each Pod is first seen and first seen
    Succeeded, and when each run is first seen finished."""

    namespace: str
    system: System
    pod_added: dict[tuple[str, str], float] = field(default_factory=dict)
    pod_done: dict[tuple[str, str], float] = field(default_factory=dict)
    run_done: dict[str, tuple[str, float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> Watcher:
        core, custom = core_api(), custom_api()
        s = self.system
        Lister = tuple[Any, tuple[Any, ...], dict[str, Any]]
        pods: Lister = (core.list_namespaced_pod, (self.namespace,),
                        {"label_selector": s.pod_selector})
        runs: Lister = (custom.list_namespaced_custom_object,
                        (s.group, s.version, self.namespace, s.plural), {})
        for lister, pos, kw in (pods, runs):
            ready = threading.Event()
            t = threading.Thread(target=self._loop, args=(lister, pos, kw, ready), daemon=True)
            t.start()
            self._threads.append(t)
            if not ready.wait(30):
                raise RuntimeError("a watch did not start")
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=15)

    def _loop(self, lister: Any, pos: tuple[Any, ...], kw: dict[str, Any],
              ready: threading.Event) -> None:
        from kubernetes import watch

        def relist() -> str:
            got = lister(*pos, **kw, limit=1)
            meta = got["metadata"] if isinstance(got, dict) else got.metadata
            return meta["resourceVersion"] if isinstance(meta, dict) else meta.resource_version

        rv = relist()
        ready.set()
        while not self._stop.is_set():
            w = watch.Watch()
            try:
                for ev in w.stream(lister, *pos, **kw, resource_version=rv, timeout_seconds=5,
                                   allow_watch_bookmarks=True, deserialize=False):
                    now = time.time()
                    obj = ev["object"]
                    rv = obj["metadata"].get("resourceVersion", rv)
                    if ev["type"] != "BOOKMARK":
                        self._seen(obj, now)
                    if self._stop.is_set():
                        break
            except Exception as exc:  # a dropped watch: resume (relist on 410)
                if "410" in str(exc) or "Expired" in str(exc):
                    rv = relist()
                time.sleep(0.1)
            finally:
                w.stop()

    def _seen(self, obj: dict[str, Any], now: float) -> None:
        phase = (obj.get("status") or {}).get("phase", "")
        with self.lock:
            if obj.get("kind") == "Pod":
                key = self.system.pod_key(obj)
                self.pod_added.setdefault(key, now)
                if phase == "Succeeded":
                    self.pod_done.setdefault(key, now)
            elif phase in self.system.done_phases:
                self.run_done.setdefault(obj["metadata"]["name"], (phase, now))

    def wait_runs(self, names: set[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if names <= self.run_done.keys():
                    return True
            time.sleep(0.1)
        return False

    def first_pod(self, run: str) -> float | None:
        with self.lock:
            times = [t for (r, _), t in self.pod_added.items() if r == run]
        return min(times) if times else None


# ----------------------------------------------------------------------------- the systems


@dataclass
class System:
    """One of the two systems under test, in one namespace."""

    name: str
    group: str
    version: str
    plural: str
    done_phases: tuple[str, ...]
    ok_phase: str
    pod_selector: str
    pod_key: Callable[[dict[str, Any]], tuple[str, str]]
    bench: Bench
    pid: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)
    extra_args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None

    def prepare(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def body(self, name: str, workload: str) -> dict[str, Any]:
        raise NotImplementedError

    def stop_run(self, name: str) -> None:
        """Stop a run that hit its time cap, so it does not load the measurements after it."""
        raise NotImplementedError

    def own_requests(self) -> float | None:
        """The controller's own count of its API requests so far (None if it has none)."""
        return None

    def create(self, name: str, workload: str) -> None:
        custom_api_cached().create_namespaced_custom_object(
            self.group, self.version, self.bench.namespace, self.plural,
            self.body(name, workload))


_CUSTOM: list[Any] = []


def custom_api_cached() -> Any:
    if not _CUSTOM:
        _CUSTOM.append(custom_api())
    return _CUSTOM[0]


class KubelineSystem(System):
    def __init__(self, bench: Bench, env: dict[str, str]) -> None:
        super().__init__("kubeline", "kubeline.dev", "v1alpha1", "pipelineruns",
                         W.KUBELINE_DONE, "completed", "kubeline.dev/component=step",
                         W.kubeline_step, bench, extra_env=env)

    def prepare(self) -> None:
        custom = custom_api_cached()
        for name, shape in W.WORKLOADS.items():
            custom.create_namespaced_custom_object(
                "kubeline.dev", "v1alpha1", self.bench.namespace, "pipelines",
                {"apiVersion": "kubeline.dev/v1alpha1", "kind": "Pipeline",
                 "metadata": {"name": name}, "spec": {"name": name}})
            custom.create_namespaced_custom_object(
                "kubeline.dev", "v1alpha1", self.bench.namespace, "snapshots",
                W.kubeline_snapshot(name, shape, IMAGE))

    def start(self) -> None:
        self.bench.start_operator(self.extra_env)
        assert self.bench.operator is not None
        self.pid = self.bench.operator.pid

    def stop(self) -> None:
        self.bench.stop_operator()

    def body(self, name: str, workload: str) -> dict[str, Any]:
        return self.bench.run_body(name, workload)

    def stop_run(self, name: str) -> None:
        custom_api_cached().delete_namespaced_custom_object(
            self.group, self.version, self.bench.namespace, self.plural, name)

    def own_requests(self) -> float | None:
        """``kubeline_api_requests_total`` from the operator's /metrics."""
        return self.operator_metrics().get("kubeline_api_requests_total")

    def operator_metrics(self) -> dict[str, float]:
        """The operator's /metrics, series (name with labels) -> value."""
        url = f"http://127.0.0.1:{self.bench.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as resp:
            text = resp.read().decode()
        return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
                for line in text.splitlines() if line and not line.startswith("#")}


class ArgoSystem(System):
    def __init__(self, bench: Bench, binary: Path, env: dict[str, str], args: list[str]
                 ) -> None:
        super().__init__("argo", W.ARGO_GROUP, W.ARGO_VERSION, W.ARGO_PLURAL, W.ARGO_DONE,
                         "Succeeded", W.ARGO_LABEL_WORKFLOW, W.argo_step, bench,
                         extra_env=env, extra_args=args)
        self.binary = binary

    def prepare(self) -> None:
        # The controller's config: Argo's defaults, its metrics on a free port (plain HTTP).
        core_api().create_namespaced_config_map(self.bench.namespace, {
            "metadata": {"name": "workflow-controller-configmap"},
            "data": {"metricsConfig": f"port: {free_port()}\nsecure: false\n"}})

    def start(self) -> None:
        ns = self.bench.namespace
        log = open(self.bench.workdir / f"argo-{ns}.log", "wb")  # noqa: SIM115 - closed with it
        self.proc = subprocess.Popen(
            [str(self.binary), f"--kubeconfig={kubeconfig()}", "--namespaced",
             f"--managed-namespace={ns}", f"--namespace={ns}",
             "--configmap=workflow-controller-configmap", "--loglevel=warn",
             *self.extra_args],
            env={**os.environ, "LEADER_ELECTION_DISABLE": "true", **self.extra_env},
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self.proc.pid
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), urllib.request.urlopen(ARGO_HEALTH, timeout=1):
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                text = (self.bench.workdir / f"argo-{ns}.log").read_text(errors="replace")
                raise RuntimeError(f"workflow-controller did not become healthy:\n{text[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def stop_run(self, name: str) -> None:
        custom_api_cached().patch_namespaced_custom_object(
            self.group, self.version, self.bench.namespace, self.plural, name,
            {"spec": {"shutdown": "Terminate"}})

    def body(self, name: str, workload: str) -> dict[str, Any]:
        return W.argo_workflow(name, self.bench.namespace, W.WORKLOADS[workload],
                               self.bench.node, IMAGE, NODE_LABEL, TAINT_KEY)


# ----------------------------------------------------------------------------- Argo set-up


def wait_for_apiserver(timeout: float = 120.0) -> None:
    """The lock can pass from a run that restarted the local cluster: wait for its API."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            core_api().list_namespace(limit=1, _request_timeout=5)
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                sys.exit(f"the local cluster's API server did not answer in {timeout:.0f} s: "
                         f"{exc}")
            time.sleep(2)


def argo_binary() -> Path:
    from kubeline.dev.gobuild import tool_path

    return tool_path("workflow-controller", log=lambda m: print(m, file=sys.stderr))


@contextlib.contextmanager
def argo_crds() -> Any:
    """Argo's minimal CRDs from the module cache, applied file by file; those the bench
    installed are removed on exit."""
    from kubeline.dev.gobuild import ARGO_MODULE, ARGO_VERSION, module_dir
    from kubernetes import client

    folder = module_dir(ARGO_MODULE, ARGO_VERSION) / "manifests" / "base" / "crds" / "minimal"
    files = sorted(folder.glob("argoproj.io_*.yaml"))
    if not files:
        sys.exit(f"no Argo CRDs in {folder}")
    kubectl = DEV / "bin" / "kubectl"
    ext = client.ApiextensionsV1Api(core_api().api_client)
    existing = {c.metadata.name for c in ext.list_custom_resource_definition().items
                if c.metadata is not None}
    installed = []
    for f in files:
        subprocess.run([str(kubectl), f"--kubeconfig={kubeconfig()}", "apply",
                        "--server-side", "-f", str(f)], check=True, capture_output=True)
        name = f.name.removeprefix("argoproj.io_").removesuffix(".yaml") + ".argoproj.io"
        if name not in existing:
            installed.append(name)
    subprocess.run([str(kubectl), f"--kubeconfig={kubeconfig()}", "wait",
                    "--for=condition=Established", "--timeout=60s",
                    "crd/workflows.argoproj.io"], check=True, capture_output=True)
    try:
        yield
    finally:
        for name in installed:
            with contextlib.suppress(Exception):
                ext.delete_custom_resource_definition(name)


# ----------------------------------------------------------------------------- namespaces


@contextlib.contextmanager
def turn_namespace(parent: Bench, label: str) -> Any:
    """A fresh namespace on the parent's kwok node (with the step ServiceAccount); deleted
    on exit, and waited for, so one turn's leftovers never load the next turn."""
    from kubernetes.client.exceptions import ApiException

    core = core_api()
    ns = f"{parent.namespace}-{label}"
    from kubeline.dev.scratch_namespaces import owner_metadata

    core.create_namespace({"metadata": {"name": ns, **owner_metadata("bench")}})
    deadline = time.monotonic() + 30
    while True:
        try:
            core.read_namespaced_service_account("default", ns)
            break
        except ApiException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    core.create_namespaced_service_account(ns, {"metadata": {"name": "kubeline-step"}})
    bench = Bench(namespace=ns, node=parent.node, workdir=parent.workdir)
    try:
        yield bench
    finally:
        bench.stop_operator()
        with contextlib.suppress(ApiException):
            core.delete_collection_namespaced_pod(ns, grace_period_seconds=0)
        with contextlib.suppress(ApiException):
            core.delete_namespace(ns, propagation_policy="Background")
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                core.read_namespace(ns)
            except ApiException:
                break
            time.sleep(1)


# ----------------------------------------------------------------------------- measuring


@dataclass
class Plan:
    """How much of each measurement a turn does."""

    admit_runs: int
    admit_interval: float
    levels: list[int]
    samples: int
    fan_runs: int
    long_steps: int
    long_cap: float
    duration: float
    warmup: float
    inflight: int
    idle: float
    phases: frozenset[str] = frozenset(W.PHASES)


def admission_diagnostics(system: System, before: str, after: str, out: dict[str, float],
                          log: Callable[[str], None]) -> None:
    """From two scrapes of the API server's metrics around the admission phase: its mean
    time per run create, etcd's create time for the run's resource, and the mean time of the
    ValidatingAdmissionPolicy plugin per CREATE (every resource's: the metric has no resource
    label) and of a CRD validation rule (CEL) evaluation."""
    n, out["admit_server_ms"] = W.histogram_mean_ms(
        before, after, "apiserver_request_duration_seconds",
        {"verb": "POST", "resource": system.plural, "subresource": None})
    _, out["admit_etcd_ms"] = W.histogram_mean_ms(
        before, after, "etcd_request_duration_seconds",
        {"operation": "create", "resource": system.plural})
    k, out["admit_vap_ms"] = W.histogram_mean_ms(
        before, after, "apiserver_admission_controller_admission_duration_seconds",
        {"name": "ValidatingAdmissionPolicy", "operation": "CREATE", "type": "validate"})
    log(f"  admission: API server {out['admit_server_ms']:.1f} ms per run create (n={n:.0f}), "
        f"etcd create {out['admit_etcd_ms']:.1f} ms; ValidatingAdmissionPolicy "
        f"{out['admit_vap_ms']:.2f} ms per CREATE (n={k:.0f}, all resources)")
    k, ms = W.histogram_mean_ms(before, after, "apiserver_cel_evaluation_duration_seconds", {})
    if k:
        out["admit_cel_ms"] = ms
        log(f"  admission: CRD validation rules: {k:.0f} evaluations, mean {ms:.2f} ms")


def measure(system: System, plan: Plan, long_cap: float, log: Callable[[str], None],
            out: dict[str, float], capped: set[str]) -> None:
    """Every figure of one turn into ``out`` (kept as far as it got if a step fails);
    ``capped`` gets the rows whose value is a lower bound; the 200-step run is cut off
    after ``long_cap`` seconds."""
    counter = [0]
    pool = ThreadPoolExecutor(8)

    def names(prefix: str, n: int) -> list[str]:
        got = [f"{prefix}-{counter[0] + i:05d}" for i in range(n)]
        counter[0] += n
        return got

    def submit(batch: list[str], workload: str) -> dict[str, float]:
        created: dict[str, float] = {}

        def one(n: str) -> None:
            created[n] = time.time()
            system.create(n, workload)

        list(pool.map(one, batch))
        return created

    ns = system.bench.namespace
    with Watcher(ns, system) as watch:
        # Warm-up: one run of each small workload.
        warm = names("warm", 1)
        submit(warm, "chain3")
        watch.wait_runs(set(warm), 120)

        if "admission" in plan.phases:
            # Admission: runs created one at a time; create -> first Pod seen. Also timed: the
            # create request's round trip, and from the API server's metrics its own time for
            # the create, etcd's and the admission policies' (what bounds this row).
            admit = names("adm", plan.admit_runs)
            created: dict[str, float] = {}
            returned: dict[str, float] = {}
            kubeline = system if isinstance(system, KubelineSystem) else None
            own0 = kubeline.operator_metrics() if kubeline is not None else {}
            metrics0 = apiserver_metrics()
            for n in admit:
                created[n] = time.time()
                system.create(n, "chain3")
                returned[n] = time.time()
                time.sleep(plan.admit_interval)
            watch.wait_runs(set(admit), 180)
            admission_diagnostics(system, metrics0, apiserver_metrics(), out, log)
            out["admit_create_p50"] = W.median([returned[n] - created[n] for n in admit]) * 1000
            after = [p - returned[n] for n in admit if (p := watch.first_pod(n)) is not None]
            out["admit_after_create_p50"] = W.median(after) * 1000
            log(f"  admission: create round trip p50 {out['admit_create_p50']:.1f} ms; create "
                f"returned -> first Pod p50 {out['admit_after_create_p50']:.1f} ms")
            if kubeline is not None:  # the operator's own share: its reconcile passes' wall time
                own1 = kubeline.operator_metrics()
                passes = own1["kubeline_reconcile_duration_seconds_count"] - own0[
                    "kubeline_reconcile_duration_seconds_count"]
                secs = own1["kubeline_reconcile_duration_seconds_sum"] - own0[
                    "kubeline_reconcile_duration_seconds_sum"]
                if passes:
                    out["reconcile_ms"] = secs / passes * 1000
                    log(f"  the operator's reconcile passes in the admission phase: {passes:.0f}, "
                        f"mean {out['reconcile_ms']:.1f} ms")
            lat = [p - created[n] for n in admit if (p := watch.first_pod(n)) is not None]
            out["admit_p50"] = W.median(lat) * 1000
            out["admit_p99"] = W.percentile(lat, 99) * 1000
            sizes = etcd_sizes(ns)
            out["etcd_chain3"] = W.median([W.run_bytes(sizes, n) / 1024 for n in admit])
            log(f"  admission: n={len(lat)} p50 {out['admit_p50']:.0f} ms p99 "
                f"{out['admit_p99']:.0f} ms; etcd {out['etcd_chain3']:.1f} KiB per 3-step run")

        if "transitions" in plan.phases:
            # Step transitions on 3-step chains at each concurrency.
            for conc in plan.levels:
                rounds = max(1, -(-plan.samples // (conc * 2)))
                lat = []
                for _ in range(rounds):
                    batch = names(f"tr{conc}", conc)
                    submit(batch, "chain3")
                    if not watch.wait_runs(set(batch), 300 + conc):
                        log(f"  transitions at {conc}: runs did not all finish")
                    with watch.lock:
                        for run in batch:
                            for i in (1, 2):
                                up = watch.pod_done.get((run, f"s{i - 1}"))
                                down = watch.pod_added.get((run, f"s{i}"))
                                if up is not None and down is not None:
                                    lat.append(down - up)
                out[f"trans{conc}_p50"] = W.median(lat) * 1000
                out[f"trans{conc}_p99"] = W.percentile(lat, 99) * 1000
                log(f"  transitions at {conc:>3}: n={len(lat)} p50 "
                    f"{out[f'trans{conc}_p50']:.0f} ms p99 {out[f'trans{conc}_p99']:.0f} ms")

        if "fanout" in plan.phases:
            # Fan-out 1 -> 20 -> 1, one at a time.
            took = []
            fans = []
            for _ in range(plan.fan_runs):
                batch = names("fan", 1)
                fans += batch
                t0 = submit(batch, "fan20")[batch[0]]
                if watch.wait_runs(set(batch), 300):
                    took.append(watch.run_done[batch[0]][1] - t0)
            out["fan20_s"] = W.median(took)
            sizes = etcd_sizes(ns)
            out["etcd_fan20"] = W.median([W.run_bytes(sizes, n) / 1024 for n in fans])
            log(f"  fan-out 1->20->1: {[round(t, 1) for t in took]} s; etcd "
                f"{out['etcd_fan20']:.1f} KiB per run")

        # One 200-step run (capped).
        if plan.long_steps and "chain200" in plan.phases:
            batch = names("long", 1)
            t0 = submit(batch, "chain200")[batch[0]]
            if watch.wait_runs(set(batch), long_cap):
                out["chain200_s"] = watch.run_done[batch[0]][1] - t0
            else:
                with watch.lock:
                    done = sum(1 for (r, _) in watch.pod_done if r == batch[0])
                out["chain200_s"] = long_cap
                capped.update({"chain200_s", "etcd_chain200"})  # a part of the run: >= both
                log(f"  200-step run: not finished in {long_cap:.0f} s ({done}/200 steps)")
            sizes = etcd_sizes(ns)
            out["etcd_chain200"] = W.run_bytes(sizes, batch[0]) / 1024
            with watch.lock:
                done = sum(1 for (r, _) in watch.pod_done if r == batch[0])
            if done:  # comparable when a run was cut off: per step it finished
                out["etcd_step200"] = out["etcd_chain200"] / done
            if "chain200_s" in capped:
                log(f"  200-step run: etcd {out['etcd_chain200']:.0f} KiB after {done} steps; "
                    "stopping it")
                system.stop_run(batch[0])
                watch.wait_runs(set(batch), 60)
            else:
                log(f"  200-step run: {out['chain200_s']:.1f} s; etcd "
                    f"{out['etcd_chain200']:.0f} KiB")

        if "throughput" in plan.phases:
            throughput_phase(system, plan, watch, names, submit, log, out)
    pool.shutdown()


def throughput_phase(system: System, plan: Plan, watch: Watcher,
                     names: Callable[[str, int], list[str]],
                     submit: Callable[[list[str], str], dict[str, float]],
                     log: Callable[[str], None], out: dict[str, float]) -> None:
    """Throughput over ``plan.duration`` at ``plan.inflight`` runs in flight, with the API
    requests and control-plane CPU per step over the window."""
    apiserver, etcd = control_plane_pid("kube-apiserver"), control_plane_pid("etcd")
    pids = {"cpu_ctl": system.pid, "cpu_apiserver": apiserver, "cpu_etcd": etcd}
    time.sleep(1.0)
    cpu0 = {k: cpu_seconds(p) for k, p in pids.items()}
    req0 = apiserver_requests()
    time.sleep(plan.idle)
    cpu_idle = {k: (cpu_seconds(p) - cpu0[k]) / plan.idle for k, p in pids.items()}
    req_idle = apiserver_requests() - req0
    total_created = 0
    lock = threading.Lock()

    def refill(n: int) -> None:
        nonlocal total_created
        batch = names("tput", n)
        with lock:
            total_created += n
        submit(batch, "chain3")

    before = set(watch.run_done)
    started = time.time()
    window_start = started + plan.warmup
    end = window_start + plan.duration
    refill(plan.inflight)
    cpu_start: dict[str, float] | None = None
    req_start: Counter[tuple[str, str, str]] | None = None
    while time.time() < end:
        time.sleep(0.2)
        if cpu_start is None and time.time() >= window_start:
            cpu_start = {k: cpu_seconds(p) for k, p in pids.items()}
            req_start = apiserver_requests()
            own_start = system.own_requests()
        with watch.lock:
            done = len([n for n in watch.run_done if n.startswith("tput-")])
        refill(max(plan.inflight - (total_created - done), 0))
    cpu_end = {k: cpu_seconds(p) for k, p in pids.items()}
    req_end = apiserver_requests()
    own_end = system.own_requests()
    assert cpu_start is not None and req_start is not None
    with watch.lock:
        window = [(n, ph) for n, (ph, t) in watch.run_done.items()
                  if n not in before and n.startswith("tput-") and window_start <= t <= end]
    ok = sum(1 for _, ph in window if ph == system.ok_phase)
    steps = ok * 3
    out["throughput"] = steps / (plan.duration / 60)
    for k in pids:  # the cluster's background load is not the controller's doing
        background = 0.0 if k == "cpu_ctl" else cpu_idle[k] * plan.duration
        used = cpu_end[k] - cpu_start[k] - background
        out[k] = used / steps * 1000 if steps else math.nan
    reqs = req_end - req_start
    idle_scale = plan.duration / plan.idle
    controller = sum(v - req_idle.get(key, 0) * idle_scale for key, v in reqs.items()
                     if key not in NOT_THE_CONTROLLERS and key[0] != "WATCH")
    runs_created = reqs.get(("POST", system.plural, ""), 0)
    bench_creates = min(runs_created, total_created)
    out["api_per_step"] = (controller - bench_creates) / steps if steps else math.nan
    # What bounds the rate: the controller's requests/s against its client QPS budget,
    # and its CPU use (1.0 = one core busy) over the window.
    out["api_rate"] = (controller - bench_creates) / plan.duration
    out["ctl_cores"] = (cpu_end["cpu_ctl"] - cpu_start["cpu_ctl"]) / plan.duration
    if own_start is not None and own_end is not None and steps:
        out["api_per_step_own"] = (own_end - own_start) / steps
        log(f"  the operator's own count (kubeline_api_requests_total): "
            f"{out['api_per_step_own']:.2f} requests per step")
    log(f"  controller: {out['api_rate']:.1f} requests/s, {out['ctl_cores']:.2f} cores "
        "busy over the window")
    top = ", ".join(f"{v} {verb} {res}{'/' + sub if sub else ''}"
                    for (verb, res, sub), v in reqs.most_common(8))
    log(f"  throughput: {out['throughput']:.0f} steps/min ({ok} runs ok of {len(window)} in "
        f"the window); per step: {out['api_per_step']:.2f} controller requests, CPU "
        f"{out['cpu_ctl']:.1f} ms controller, {out['cpu_apiserver']:.1f} ms apiserver, "
        f"{out['cpu_etcd']:.1f} ms etcd")
    log(f"  apiserver requests in the window: {top}")


def run_turns(order: list[tuple[str, str]],
              setups: dict[str, tuple[dict[str, str], dict[str, str], list[str]]],
              binary: Path | None, plan: Plan, config_cap: dict[str, float],
              log: Callable[[str], None], turns: list[W.Turn], save: Callable[[], None]) -> None:
    """The turns in ``order`` ((system, config) pairs), each in a fresh namespace deleted
    (and waited for) before the next; each turn's figures and load go into ``turns`` as it
    runs (kept as far as they got if it fails or is interrupted), then ``save()``."""
    with bench_env("kl-argo", pod_ms=0) as parent, (
            argo_crds() if binary is not None else contextlib.nullcontext()):
        for i, (name, config) in enumerate(order):
            k_env, a_env, a_args = setups[config]
            turn = W.Turn(name, config)
            turns.append(turn)
            t_turn = time.monotonic()
            sampler = LoadSampler()
            try:
                with turn_namespace(parent, f"{i + 1}-{config[:3]}-{name[:2]}") as bench:
                    assert name == "kubeline" or binary is not None
                    system: System = (ArgoSystem(bench, binary, a_env, a_args)
                                      if name == "argo" and binary is not None
                                      else KubelineSystem(bench, k_env))
                    log(f"turn {i + 1}/{len(order)}: {name} {config} in {bench.namespace}; "
                        f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
                    try:
                        system.prepare()
                        system.start()
                        measure(system, plan, config_cap[config], log, turn.figures,
                                turn.capped)
                    except Exception:  # keep what was measured, and the other turns' figures
                        turn.failed = True
                        log(f"turn {i + 1}: {name} {config} failed:\n{traceback.format_exc()}")
                    except KeyboardInterrupt:  # its figures so far are kept, marked so
                        turn.failed = True
                        raise
                    finally:
                        system.stop()
            finally:
                turn.load = sampler.stop()
                turn.minutes = (time.monotonic() - t_turn) / 60
                save()
            log(f"turn {i + 1}: {name} {config} took {turn.minutes:.1f} min with its namespace "
                f"deleted; load average (1 min) {turn.load['load_start']:.2f} at the start, "
                f"mean {turn.load['load_mean']:.2f}, max {turn.load['load_max']:.2f}; "
                f"{turn.load['busy_cores']:.2f} cores busy")


# ----------------------------------------------------------------------------- main


def kubeline_same(setups: dict[str, tuple[dict[str, str], dict[str, str], list[str]]]
                  ) -> dict[str, str]:
    """Each configuration -> the first configuration whose Kubeline settings (its client
    QPS budget) are the same: one Kubeline turn serves both columns then."""
    from kubeline_operator.settings import OperatorSettings

    def budget(env: dict[str, str]) -> tuple[float, int]:
        got = OperatorSettings.from_env(env)
        return got.api_qps, got.api_burst

    out: dict[str, str] = {}
    for c in setups:
        out[c] = next(d for d in setups if budget(setups[d][0]) == budget(setups[c][0]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="smoke run of every phase in "
                        "every turn: few samples, short throughput window")
    parser.add_argument("--duration", type=float, default=180.0, help="throughput seconds")
    parser.add_argument("--inflight", type=int, default=50)
    parser.add_argument("--qps", type=float, default=100.0, help="the matched client QPS")
    parser.add_argument("--burst", type=int, default=200, help="the matched client burst")
    parser.add_argument("--tuned-requeue", default="1s", help="Argo's DEFAULT_REQUEUE_TIME "
                        "when tuned for latency (its default is 10s)")
    parser.add_argument("--long-cap", type=float, default=240.0,
                        help="seconds the 200-step run may take before it is cut off")
    parser.add_argument("--long-cap-defaults", type=float, default=120.0,
                        help="the same cap at the defaults (Argo's 10 s requeue makes it "
                        "about 10 s a step there, so it never finishes in a bounded run)")
    parser.add_argument("--configs", default="matched,defaults",
                        help="the configurations, in column order")
    parser.add_argument("--order", default="",
                        help="the turns, SYSTEM:CONFIG comma-separated (default: Kubeline and "
                        "Argo alternating, one Kubeline turn before each Argo turn, e.g. "
                        "kubeline:matched,argo:matched,kubeline:matched,argo:defaults)")
    parser.add_argument("--samples", type=int, default=10,
                        help="at least this many step transitions per concurrency level")
    parser.add_argument("--admit-runs", type=int, default=20)
    parser.add_argument("--fan-runs", type=int, default=3)
    parser.add_argument("--phases", default=",".join(W.PHASES),
                        help="the phases each turn measures, comma-separated (default all; "
                        "e.g. chain200,throughput with --order kubeline:matched: Kubeline's "
                        "200-step run and requests per step only, no Argo)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    try:
        phases = W.parse_phases(args.phases)
    except ValueError as exc:
        sys.exit(f"--phases: {exc}")
    configs = [c for c in args.configs.split(",") if c]
    if args.short:
        plan = Plan(admit_runs=3, admit_interval=0.3, levels=[1, 10], samples=2, fan_runs=1,
                    long_steps=200, long_cap=30, duration=20, warmup=5, inflight=args.inflight,
                    idle=3, phases=phases)
    else:
        plan = Plan(admit_runs=args.admit_runs, admit_interval=0.5, levels=[1, 10, 100],
                    samples=args.samples, fan_runs=args.fan_runs, long_steps=200,
                    long_cap=args.long_cap, duration=args.duration,
                    warmup=15, inflight=args.inflight, idle=10, phases=phases)
    budget = {"KUBELINE_API_QPS": f"{args.qps:g}", "KUBELINE_API_BURST": str(args.burst)}
    all_setups = {
        "defaults": ({}, {}, []),
        "matched": (budget, {"DEFAULT_REQUEUE_TIME": args.tuned_requeue},
                    [f"--qps={args.qps:g}", f"--burst={args.burst}"]),
    }
    unknown = [c for c in configs if c not in all_setups]
    if unknown:
        sys.exit(f"--configs: unknown {', '.join(unknown)} (known: {', '.join(all_setups)})")
    setups = {c: all_setups[c] for c in configs}
    same = kubeline_same(setups)
    try:
        order = (W.parse_order(args.order, configs) if args.order
                 else W.default_order(configs, same))
    except ValueError as exc:
        sys.exit(f"--order: {exc}")
    titles = {"defaults": "defaults",
              "matched": f"{args.qps:g} QPS/{args.burst} burst, Argo requeue {args.tuned_requeue}"}
    with_argo = any(system == "argo" for system, _ in order)
    binary = argo_binary() if with_argo else None  # a Kubeline-only run needs no Argo
    wait_for_apiserver()
    turns: list[W.Turn] = []
    t_start = time.monotonic()
    started_at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())

    def log(msg: str) -> None:
        print(f"[{time.monotonic() - t_start:6.0f}s] {msg}", flush=True)

    log(f"turns: {', '.join(f'{s}:{c}' for s, c in order)}")
    config_cap = {"matched": plan.long_cap,
                  "defaults": min(plan.long_cap, args.long_cap_defaults)}
    cols = [(c, titles[c]) for c in configs]

    def save() -> None:
        if args.json is None:
            return
        results, capped, counts = W.combine(turns, configs, same)
        args.json.write_text(json.dumps(
            {"started": started_at, "order": [f"{s}:{c}" for s, c in order],
             "turns": [t.to_json() for t in turns], "medians": results,
             "capped": {c: {s: sorted(v) for s, v in d.items()} for c, d in capped.items()},
             "turn_counts": counts, "configs": cols, "kubeline_same": same,
             "cores": os.cpu_count(), "minutes": (time.monotonic() - t_start) / 60},
            indent=1))

    try:
        run_turns(order, setups, binary, plan, config_cap, log, turns, save)
    except KeyboardInterrupt:  # everything was cleaned up on the way out: print what ran
        log("interrupted: the tables have the turns that ran (the last one as far as it got)")
    results, capped, counts = W.combine(turns, configs, same)
    print()
    print("Every turn, in the order they ran:")
    print()
    print(W.turn_table(turns))
    print()
    if with_argo:
        print("Medians over the turns (each column says how many):")
        print()
        print(W.table(results, cols, capped, counts))
        for c in configs:
            behind = W.behind(results, c, capped.get(c))
            print(f"{c}: Kubeline behind or level on: {', '.join(behind) if behind else 'none'}")
    print(f"(machine: {os.cpu_count()} cores; load average now "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}; bench took "
          f"{(time.monotonic() - t_start) / 60:.1f} min)")
    if args.json is not None:
        save()
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
