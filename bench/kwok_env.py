"""Shared set-up of the operator benchmarks: a kwok fake node, a bench namespace and the
bench's own operator process, all torn down again.

- **kwok** (``~/.cache/kubeline/bin/kwok``, built by ``kubeline dev build kwok``) runs on the
  host against our API server with the admin kubeconfig and manages one fake Node
  (annotation ``kwok.x-k8s.io/node=fake``, taint ``kwok.x-k8s.io/node=fake:NoSchedule`` so
  no real Pod lands there). Its Stages (written below) make a Pod on that node Running and
  then Succeeded with the runtime's success termination message, after ``--pod-ms``.
- **The bench's operator** is ``python -m kubeline_operator`` on the host, watching only
  the bench namespace, with ``KUBELINE_OPERATOR_CLASS=bench``; every PipelineRun the bench
  creates carries ``kubeline.dev/operator-class=bench``. The in-cluster operator (class "")
  ignores such runs and their Pods, so it never acts in the bench — without scaling it down
  under the other people using the cluster. Step Pods are pinned to the fake node through
  ``KUBELINE_STEP_NODE_SELECTOR`` / ``KUBELINE_STEP_TOLERATIONS``.
- Steps have no outputs, so a Succeeded Pod completes its step without any outputs
  manifest (the operator reads none when there is nothing to record).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KWOK = Path.home() / ".cache" / "kubeline" / "bin" / "kwok"
BENCH_CLASS = "bench"
NODE_LABEL = "kubeline.dev/bench-node"
TAINT_KEY = "kwok.x-k8s.io/node"


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest-rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(round(q / 100 * len(ordered) + 0.5) - 1, 0)
    return ordered[min(rank, len(ordered) - 1)]


def summary(label: str, seconds: list[float], goal_p99: float | None = None) -> str:
    """'label: n=.. median=..ms p99=..ms max=..ms [goal ...]'."""
    if not seconds:
        return f"{label}: no samples"
    med, p99 = statistics.median(seconds), percentile(seconds, 99)
    text = (f"{label}: n={len(seconds)} median={med * 1000:.0f} ms p99={p99 * 1000:.0f} ms "
            f"max={max(seconds) * 1000:.0f} ms")
    if goal_p99 is not None:
        verdict = "met" if p99 < goal_p99 else f"MISSED by {(p99 - goal_p99) * 1000:.0f} ms"
        text += f" (goal p99 < {goal_p99 * 1000:.0f} ms: {verdict})"
    return text


def kubeconfig() -> str:
    path = os.environ.get("KUBECONFIG") or str(
        Path.home() / ".cache" / "kubeline" / "dev" / "kubeconfig")
    if not Path(path).exists():
        sys.exit(f"no kubeconfig at {path}: start the cluster (kubeline dev up) or set KUBECONFIG")
    return path


def core_api() -> Any:
    from kubernetes import client, config

    cfg = client.Configuration()
    config.load_kube_config(config_file=kubeconfig(), client_configuration=cfg)
    cfg.connection_pool_maxsize = 32
    return client.CoreV1Api(client.ApiClient(cfg))


def custom_api() -> Any:
    from kubernetes import client, config

    cfg = client.Configuration()
    config.load_kube_config(config_file=kubeconfig(), client_configuration=cfg)
    cfg.connection_pool_maxsize = 32
    return client.CustomObjectsApi(client.ApiClient(cfg))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------- kwok


POD_IP = ("{{ PodIPWith .spec.nodeName false .metadata.uid .metadata.name .metadata.namespace "
          "| Quote }}")


# statusTemplate lines of a Ready node: kwok's default conditions, stamped now.
NODE_CONDITIONS = """\
      {{ $now := Now }}
      conditions:
      {{ range NodeConditions }}
      - lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $now | Quote }}
        message: {{ .message | Quote }}
        reason: {{ .reason | Quote }}
        status: {{ .status | Quote }}
        type: {{ .type | Quote }}
      {{ end }}
"""


def stop_processes(procs: Sequence[subprocess.Popen[Any]], timeout: float) -> None:
    """SIGTERM each still-running process, newest first; SIGKILL it after ``timeout`` s."""
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def stages_yaml(pod_ms: int) -> str:
    """kwok config (16 parallel Pod stage workers, default 4) and Stages: node init and
    heartbeat; a Pod Running at once and Succeeded after ``pod_ms`` or, with ``pod_ms`` 0 (a
    no-op container), Succeeded at once: one status report, as a kubelet sends when the
    container has exited before its first status sync."""
    pod_stages = _run_then_succeed_stages(pod_ms) if pod_ms > 0 else _succeed_stage()
    return f"""\
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  podPlayStageParallelism: 16
  nodePlayStageParallelism: 4
  nodeLeaseParallelism: 4
  podsOnNodeSyncParallelism: 1
  nodeLeaseDurationSeconds: 40
  nodeStatusUpdateFrequencyMilliseconds: 10000
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata: {{name: node-initialize}}
spec:
  resourceRef: {{apiGroup: v1, kind: Node}}
  selector:
    matchExpressions:
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: NotIn
      values: ['True']
  next:
    statusTemplate: |
{NODE_CONDITIONS}      addresses:
      - address: {{{{ NodeIP | Quote }}}}
        type: InternalIP
      allocatable: {{cpu: 1k, memory: 1Ti, pods: 1M}}
      capacity: {{cpu: 1k, memory: 1Ti, pods: 1M}}
      phase: Running
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata: {{name: node-heartbeat}}
spec:
  resourceRef: {{apiGroup: v1, kind: Node}}
  selector:
    matchExpressions:
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: In
      values: ['True']
  delay: {{durationMilliseconds: 20000, jitterDurationMilliseconds: 25000}}
  next:
    statusTemplate: |
{NODE_CONDITIONS}{pod_stages}---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata: {{name: pod-delete}}
spec:
  resourceRef: {{apiGroup: v1, kind: Pod}}
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: Exists
  next:
    finalizers: {{empty: true}}
    delete: true
"""


def _exited_ok() -> str:
    """statusTemplate lines (after ``$now``): every container exited 0 with the runtime's
    success termination message."""
    message = json.dumps({"ok": True}).replace('"', '\\"')
    return f"""\
      {{{{ $now := Now }}}}
      containerStatuses:
      {{{{ range .spec.containers }}}}
      - image: {{{{ .image | Quote }}}}
        name: {{{{ .name | Quote }}}}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: 0
            finishedAt: {{{{ $now | Quote }}}}
            reason: Completed
            message: "{message}"
            startedAt: {{{{ $now | Quote }}}}
      {{{{ end }}}}
"""


def _run_then_succeed_stages(pod_ms: int) -> str:
    """Pod Running at once (IP, conditions), then Succeeded after ``pod_ms``."""
    exited = _exited_ok()
    return f"""\
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata: {{name: pod-ready}}
spec:
  resourceRef: {{apiGroup: v1, kind: Pod}}
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: DoesNotExist
    - key: '.status.podIP'
      operator: DoesNotExist
  next:
    statusTemplate: |
      {{{{ $now := Now }}}}
      conditions:
      - {{lastTransitionTime: {{{{ $now | Quote }}}}, status: "True", type: Initialized}}
      - {{lastTransitionTime: {{{{ $now | Quote }}}}, status: "True", type: Ready}}
      - {{lastTransitionTime: {{{{ $now | Quote }}}}, status: "True", type: ContainersReady}}
      containerStatuses:
      {{{{ range .spec.containers }}}}
      - image: {{{{ .image | Quote }}}}
        name: {{{{ .name | Quote }}}}
        ready: true
        restartCount: 0
        state:
          running:
            startedAt: {{{{ $now | Quote }}}}
      {{{{ end }}}}
      hostIP: {{{{ NodeIPWith .spec.nodeName | Quote }}}}
      podIP: {POD_IP}
      phase: Running
      startTime: {{{{ $now | Quote }}}}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata: {{name: pod-complete}}
spec:
  resourceRef: {{apiGroup: v1, kind: Pod}}
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: DoesNotExist
    - key: '.status.phase'
      operator: In
      values: ['Running']
  delay: {{durationMilliseconds: {pod_ms}}}
  next:
    statusTemplate: |
{exited}      phase: Succeeded
"""


def _succeed_stage() -> str:
    """Pod Succeeded at once, in one status update."""
    exited = _exited_ok()
    return f"""\
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata: {{name: pod-succeed}}
spec:
  resourceRef: {{apiGroup: v1, kind: Pod}}
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: DoesNotExist
    - key: '.status.phase'
      operator: NotIn
      values: ['Succeeded', 'Failed']
  next:
    statusTemplate: |
{exited}      hostIP: {{{{ NodeIPWith .spec.nodeName | Quote }}}}
      phase: Succeeded
      startTime: {{{{ $now | Quote }}}}
"""


@dataclass
class Bench:
    """A running bench environment: namespace, fake node, kwok and (optionally) an operator."""

    namespace: str
    node: str
    workdir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    operator: subprocess.Popen[bytes] | None = None
    metrics_port: int = 0

    def run_body(self, name: str, snapshot: str, labels: dict[str, str] | None = None
                 ) -> dict[str, Any]:
        """A run of ``snapshot`` as the SDK submits it (pipeline and snapshot labels), for
        the bench's operator class."""
        from kubeline.resources.names import (
            LABEL_OPERATOR_CLASS,
            LABEL_PIPELINE,
            LABEL_SNAPSHOT,
            label_value,
        )

        return {
            "apiVersion": "kubeline.dev/v1alpha1", "kind": "PipelineRun",
            "metadata": {"name": name, "namespace": self.namespace,
                         "labels": {LABEL_OPERATOR_CLASS: BENCH_CLASS,
                                    LABEL_PIPELINE: snapshot, LABEL_SNAPSHOT: label_value(snapshot),
                                    **(labels or {})}},
            "spec": {"snapshot": snapshot},
        }

    def create_pipeline(self, name: str, steps: int, parallel: bool = False,
                        model: str | None = None) -> None:
        """The Pipeline object and a Snapshot ``name`` of ``steps`` no-op steps (see
        :func:`noop_snapshot`), as ``kubeline`` registers them before a first run."""
        custom = custom_api()
        custom.create_namespaced_custom_object(
            "kubeline.dev", "v1alpha1", self.namespace, "pipelines",
            {"apiVersion": "kubeline.dev/v1alpha1", "kind": "Pipeline",
             "metadata": {"name": name}, "spec": {"name": name.replace("-", "_")}})
        custom.create_namespaced_custom_object("kubeline.dev", "v1alpha1", self.namespace,
                                               "snapshots",
                                               noop_snapshot(name, steps, parallel, model))

    def start_operator(self, extra_env: dict[str, str] | None = None) -> None:
        """``python -m kubeline_operator`` on the host, watching only the bench namespace."""
        health, self.metrics_port = free_port(), free_port()
        env = {
            **os.environ,
            "KUBECONFIG": kubeconfig(),
            "KUBELINE_WATCH_NAMESPACES": self.namespace,
            "KUBELINE_OPERATOR_CLASS": BENCH_CLASS,
            "KUBELINE_STEP_NODE_SELECTOR": f"{NODE_LABEL}={self.node}",
            "KUBELINE_STEP_TOLERATIONS": json.dumps([
                {"key": TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}]),
            "KUBELINE_S3_BUCKET": os.environ.get("KUBELINE_S3_BUCKET") or "kubeline-bench",
            "KUBELINE_DEFAULT_IMAGE": "localhost/kubeline-bench-noop:0",
            "KUBELINE_HEALTH_PORT": str(health),
            "KUBELINE_METRICS_PORT": str(self.metrics_port),
            "KUBELINE_LOG_LEVEL": "WARNING",
            **(extra_env or {}),
        }
        log = open(self.workdir / "operator.log", "wb")  # noqa: SIM115 - closed with the process
        profile = os.environ.get("KUBELINE_BENCH_PROFILE")  # write a cProfile of the operator
        prefix = ["-m", "cProfile", "-o", profile] if profile else []
        self.operator = subprocess.Popen(
            [sys.executable, *prefix, "-m", "kubeline_operator"], env=env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(self.operator)
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), urllib.request.urlopen(
                    f"http://127.0.0.1:{health}/healthz", timeout=1):
                return
            if self.operator.poll() is not None:
                raise RuntimeError("the bench operator exited:\n" + self.operator_log()[-3000:])
            if time.monotonic() > deadline:
                raise RuntimeError("the bench operator was not healthy in 60s:\n"
                                   + self.operator_log()[-3000:])
            time.sleep(0.2)

    def operator_log(self) -> str:
        path = self.workdir / "operator.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def operator_rss_mb(self) -> float:
        """Resident set size of the bench operator process, in MB (from /proc)."""
        assert self.operator is not None
        for line in Path(f"/proc/{self.operator.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS for the operator process")

    def stop_operator(self) -> None:
        if self.operator is not None and self.operator.poll() is None:
            self.operator.send_signal(signal.SIGTERM)
            try:
                self.operator.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.operator.kill()
                self.operator.wait()
        self.operator = None


def noop_snapshot(name: str, steps: int, parallel: bool = False,
                  model: str | None = None) -> dict[str, Any]:
    """A Snapshot of ``steps`` output-free steps: a chain (or all independent); with
    ``model``, each run of it creates a new version of that model."""
    from kubeline.resources.models import SnapshotSpec

    spec = SnapshotSpec.model_validate({
        "pipeline": name, "pipelineName": name.replace("-", "_"),
        "image": "localhost/kubeline-bench-noop:0",
        "steps": [{"name": f"s{i}", "id": f"s{i}", "function": f"s{i}",
                   "entrypoint": f"bench:s{i}", "codeHash": "0" * 64,
                   "after": [] if parallel or i == 0 else [f"s{i - 1}"]}
                  for i in range(steps)],
        "enableCache": False,
        **({"model": {"name": model}} if model else {}),
    }).to_k8s()
    return {"apiVersion": "kubeline.dev/v1alpha1", "kind": "Snapshot",
            "metadata": {"name": name}, "spec": spec}


@contextlib.contextmanager
def bench_env(prefix: str, pod_ms: int = 0) -> Iterator[Bench]:
    """Namespace + kwok node + kwok process; everything removed on exit."""
    from kubernetes.client.exceptions import ApiException

    if not KWOK.exists():
        sys.exit(f"kwok is not built at {KWOK}: run `kubeline dev build kwok`")
    core = core_api()
    suffix = uuid.uuid4().hex[:6]
    namespace, node = f"{prefix}-{suffix}", f"kubeline-bench-kwok-{suffix}"
    workdir = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    bench = Bench(namespace=namespace, node=node, workdir=workdir)
    ok = False
    try:
        from kubeline.dev.scratch_namespaces import owner_metadata

        core.create_namespace({"metadata": {"name": namespace, **owner_metadata("bench")}})
        core.create_node({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": node, "annotations": {"kwok.x-k8s.io/node": "fake"},
                         "labels": {NODE_LABEL: node, "type": "kwok"}},
            "spec": {"taints": [{"key": TAINT_KEY, "value": "fake", "effect": "NoSchedule"}]},
        })
        deadline = time.monotonic() + 30
        while True:  # pods cannot be created before the namespace's default ServiceAccount
            try:
                core.read_namespaced_service_account("default", namespace)
                break
            except ApiException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        core.create_namespaced_service_account(namespace, {"metadata": {"name": "kubeline-step"}})
        stages = workdir / "stages.yaml"
        stages.write_text(stages_yaml(pod_ms))
        log = open(workdir / "kwok.log", "wb")  # noqa: SIM115 - closed with the process
        bench.procs.append(subprocess.Popen(
            [str(KWOK), f"--kubeconfig={kubeconfig()}", f"--config={stages}",
             f"--manage-single-node={node}", "--node-lease-duration-seconds=40",
             "--node-ip=10.254.0.1", f"--server-address=127.0.0.1:{free_port()}",
             "--cidr=10.254.0.0/16"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "GOGC": "300"}))  # as the dev cluster's control plane
        deadline = time.monotonic() + 60
        while not _node_ready(core, node):
            if bench.procs[-1].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("kwok did not make the fake node Ready:\n"
                                   + (workdir / "kwok.log").read_text(errors="replace")[-3000:])
            time.sleep(0.3)
        yield bench
        ok = True
    finally:
        bench.stop_operator()
        stop_processes(bench.procs, timeout=10)
        with contextlib.suppress(ApiException):
            core.delete_namespace(namespace, propagation_policy="Background")
        _force_delete_pods(core, namespace)
        with contextlib.suppress(ApiException):
            core.delete_node(node)
        if ok and not os.environ.get("KUBELINE_BENCH_KEEP_LOGS"):
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"operator and kwok logs kept in {workdir}", file=sys.stderr)


def _node_ready(core: Any, node: str) -> bool:
    obj = core.read_node(node)
    return any(c.type == "Ready" and c.status == "True" for c in obj.status.conditions or [])


def _force_delete_pods(core: Any, namespace: str) -> None:
    """With kwok gone nothing finalizes the fake node's Pods: delete them with grace 0."""
    from kubernetes.client.exceptions import ApiException

    with contextlib.suppress(ApiException):
        core.delete_collection_namespaced_pod(namespace, grace_period_seconds=0)


class PodWatch:
    """Watches the bench namespace's step Pods and timestamps, on this host's clock, when
    each Pod is first seen and when it is first seen Succeeded."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.added: dict[str, float] = {}
        self.succeeded: dict[str, float] = {}
        self.labels: dict[str, dict[str, str]] = {}
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.lock = threading.Lock()

    def __enter__(self) -> PodWatch:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the pod watch did not start")
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=70)

    def _run(self) -> None:
        from kubernetes import watch

        core = core_api()
        rv = core.list_namespaced_pod(self.namespace).metadata.resource_version
        self._ready.set()
        while not self._stop.is_set():
            w = watch.Watch()
            try:
                for ev in w.stream(core.list_namespaced_pod, self.namespace,
                                   label_selector="kubeline.dev/component=step",
                                   resource_version=rv, timeout_seconds=5,
                                   allow_watch_bookmarks=True, deserialize=False):
                    now = time.time()
                    obj = ev["object"]  # plain JSON: the bench must stay light on CPU
                    meta = obj.get("metadata") or {}
                    rv = meta.get("resourceVersion", rv)
                    if ev["type"] == "BOOKMARK":
                        continue
                    name = meta.get("name", "")
                    with self.lock:
                        self.added.setdefault(name, now)
                        self.labels.setdefault(name, dict(meta.get("labels") or {}))
                        if (obj.get("status") or {}).get("phase") == "Succeeded":
                            self.succeeded.setdefault(name, now)
                    if self._stop.is_set():
                        break
            except Exception as exc:  # a dropped watch: resume from the last version
                if "410" in str(exc) or "Expired" in str(exc):
                    rv = core.list_namespaced_pod(self.namespace).metadata.resource_version
                time.sleep(0.1)
            finally:
                w.stop()


def wait_runs_finished(custom: Any, namespace: str, names: set[str], timeout: float
                       ) -> dict[str, str]:
    """Poll (one list per second) until every run in ``names`` has a terminal phase."""
    deadline = time.monotonic() + timeout
    phases: dict[str, str] = {}
    while True:
        items = custom.list_namespaced_custom_object(
            "kubeline.dev", "v1alpha1", namespace, "pipelineruns")["items"]
        phases = {i["metadata"]["name"]: (i.get("status") or {}).get("phase", "")
                  for i in items if i["metadata"]["name"] in names}
        done = [p for p in phases.values() if p in ("completed", "failed", "cached", "cancelled")]
        if len(done) == len(names):
            return phases
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(done)}/{len(names)} runs finished in {timeout:.0f}s")
        time.sleep(1.0)
