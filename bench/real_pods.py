"""Real-Pod latency: where a step's time goes, and call -> result of whole pipelines.

Runs on the local cluster with the in-cluster operator (the Helm release in
kubeline-system) and real containers (containerd, the Kubeline image). Reported:

- per step, medians over all steps of all runs (``pod_phases.PHASES``): Pod created ->
  container started -> runtime entered -> user function entered -> outputs written -> Pod
  Succeeded -> operator observed -> next Pod created (the last step: the call returned),
  the user's imports and function inside them, and Kubeline's own overhead (all of it but
  container start, the user's imports and the user's function);
- call -> result of seed 000's iris pipeline (examples/iris) uncached and fully cached, and
  of a 10-step chain of trivial steps (uncached).

Where each timestamp comes from: Pod created and Pod Succeeded are when this script's Pod
watch saw them (the API server's own timestamps have whole-second precision); container
started, runtime entered and the runtime's other marks are the outputs manifest's
``timings`` (``kubeline.resources.manifest.StepTimings``: process start from ``/proc``, the
runtime's clock). The operator records no precise time at which it observed a step's end
(the step's ``endTime`` is the container's ``finishedAt``, whole seconds), so Pod Succeeded
-> next Pod created is reported as one phase. Step Pods and this script share the node's
clock.

Usage: python bench/real_pods.py [--repeat 5] [--only iris,cached,chain] [--install]
``--install`` first builds the Kubeline image from this tree and upgrades the shared release
to it (as the e2e ``operator`` fixture does). Needs the S3 settings (eval
"$(kubeline dev env)"). Goals (idle machine, medians of 5): iris uncached <= 6 s, iris fully
cached <= 0.25 s, 10-step chain <= 12 s, Kubeline's per-step overhead <= 0.5 s.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cached_rerun import SOURCE as CHAIN_SOURCE
from cached_rerun import make_namespace
from kwok_env import core_api, custom_api
from pod_phases import PHASES, USER_PARTS, StepMarks, link_steps, median_table

ROOT = Path(__file__).resolve().parents[1]
IRIS = ROOT / "examples" / "iris"
GOALS = {"iris uncached": 6.0, "iris fully cached": 0.25, "10-step chain uncached": 12.0}
OVERHEAD_GOAL = 0.5


class PodWatch:
    """Records when each step Pod of a namespace was first seen, and first seen Succeeded."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.created: dict[str, float] = {}
        self.terminated: dict[str, float] = {}
        self.succeeded: dict[str, float] = {}
        self.bodies: dict[str, Any] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PodWatch:
        self._thread.start()
        time.sleep(0.5)  # the watch is open before the first run
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()

    def _run(self) -> None:
        from kubernetes import watch

        core = core_api()
        while not self._stop.is_set():
            w = watch.Watch()
            try:
                for ev in w.stream(core.list_namespaced_pod, self.namespace,
                                   label_selector="kubeline.dev/component=step",
                                   timeout_seconds=60):
                    now = time.time()
                    pod = ev["object"]
                    name = pod.metadata.name
                    self.created.setdefault(name, now)
                    if any(cs.state and cs.state.terminated
                           for cs in pod.status.container_statuses or []):
                        self.terminated.setdefault(name, now)
                    if pod.status.phase == "Succeeded" and name not in self.succeeded:
                        self.succeeded[name] = now
                        self.bodies[name] = pod
                    if self._stop.is_set():
                        break
            except Exception as exc:  # a dropped watch is reopened
                print(f"pod watch: {exc!r}; reopening", file=sys.stderr)
                time.sleep(0.2)

    def container_id(self, pod: str) -> str | None:
        """The step container's containerd id (from the Pod's status when it Succeeded)."""
        body = self.bodies.get(pod)
        statuses = body.status.container_statuses if body else None
        if not statuses or not statuses[0].container_id:
            return None
        return str(statuses[0].container_id).rpartition("://")[2]

    def wait_succeeded(self, pods: list[str], timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while any(p not in self.succeeded for p in pods) and time.monotonic() < deadline:
            time.sleep(0.05)


class CommitEvents:
    """When each step Pod's outputs-committed Event was first seen (a watch like the
    operator's: the reason as a field selector)."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> CommitEvents:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()

    def _run(self) -> None:
        from kubeline.resources.names import EVENT_OUTPUTS_COMMITTED
        from kubernetes import watch

        core = core_api()
        while not self._stop.is_set():
            try:
                for ev in watch.Watch().stream(
                        core.list_namespaced_event, self.namespace, timeout_seconds=60,
                        field_selector=f"reason={EVENT_OUTPUTS_COMMITTED}"):
                    self.seen.setdefault(ev["object"].involved_object.name, time.time())
                    if self._stop.is_set():
                        break
            except Exception as exc:  # a dropped watch is reopened
                print(f"event watch: {exc!r}; reopening", file=sys.stderr)
                time.sleep(0.2)


def grant_chart_step_rbac(namespace: str, commit_events: bool = True) -> None:
    """The chart's step ServiceAccount Role (default values) in the bench namespace, as in
    each of a release's stepNamespaces; ``commit_events=False`` withholds its Events right
    (the A arm of the outputs-committed lever: steps then finish on their Pod's exit)."""
    import yaml
    from kubeline.dev.gobuild import tool_path
    from kubernetes import client

    rendered = subprocess.run(
        [str(tool_path("helm")), "template", "kubeline", str(ROOT / "charts" / "kubeline"),
         "--kube-version", "1.34.0", "--set-json", f'stepNamespaces=["{namespace}"]',
         "--show-only", "templates/steps.yaml"],
        check=True, capture_output=True, text=True).stdout
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    rbac = client.RbacAuthorizationV1Api(core_api().api_client)
    for doc in docs:  # the ServiceAccount exists already (make_namespace)
        if doc["kind"] == "Role":
            if not commit_events:
                doc["rules"] = [r for r in doc["rules"] if "events" not in r["resources"]]
            rbac.create_namespaced_role(namespace, doc)
        elif doc["kind"] == "RoleBinding":
            rbac.create_namespaced_role_binding(namespace, doc)


class ContainerExits:
    """When containerd saw each container's process exit (``ctr events``, /tasks/exit)."""

    def __init__(self) -> None:
        self.exited: dict[str, float] = {}
        self._proc: subprocess.Popen[str] | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ContainerExits:
        from kubeline.dev.cluster import DevCluster

        socket = DevCluster(log=lambda m: None).paths.containerd_socket
        if shutil.which("ctr") and socket.exists():
            self._proc = subprocess.Popen(["ctr", "--address", str(socket), "-n", "k8s.io",
                                           "events"], stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL, text=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=5)

    def _run(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            if "/tasks/exit" not in line or "{" not in line:
                continue
            with contextlib.suppress(ValueError, KeyError):
                event = json.loads(line[line.index("{"):])
                self.exited.setdefault(event["container_id"], parse_rfc3339(event["exited_at"]))


def parse_rfc3339(text: str) -> float:
    """Epoch seconds of an RFC 3339 time with up to nanoseconds (containerd's)."""
    head, _, frac = text.rstrip("Z").partition(".")
    seconds = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp()
    return seconds + (float(f"0.{frac}") if frac else 0.0)


def run_marks(run_name: str, namespace: str, watch: PodWatch, store: Any,
              returned: float, exits: ContainerExits | None = None,
              commits: CommitEvents | None = None) -> list[StepMarks]:
    """The marks of every executed step of a finished run, in DAG order (a chain here)."""
    from kubeline.resources.manifest import OutputsManifest, TerminationMessage
    from kubeline.resources.names import GROUP, VERSION

    body = custom_api().get_namespaced_custom_object(GROUP, VERSION, namespace, "pipelineruns",
                                                     run_name)
    steps = [s for s in body.get("status", {}).get("steps", []) if s.get("phase") == "completed"]
    watch.wait_succeeded([s["pod"] for s in steps])
    out = []
    for ss in steps:
        pod = ss["pod"]
        # The step's endTime is the container's finishedAt (whole seconds), not when the
        # operator observed the end: no operator-observed mark until the operator records one.
        cid = watch.container_id(pod)
        marks = StepMarks(step=ss["name"], pod_created=watch.created.get(pod),
                          terminated_seen=watch.terminated.get(pod),
                          container_exited=exits.exited.get(cid) if exits and cid else None,
                          pod_succeeded=watch.succeeded.get(pod),
                          commit_seen=commits.seen.get(pod) if commits else None)
        obj = watch.bodies.get(pod)
        term = (obj.status.container_statuses[0].state.terminated
                if obj and obj.status.container_statuses else None)
        if term and term.message:
            msg = TerminationMessage.from_json(term.message)
            if msg.manifest:
                timings = OutputsManifest.parse(store.read_bytes(msg.manifest)).timings
                for key, value in (timings.model_dump() if timings else {}).items():
                    if hasattr(marks, key) and value is not None:
                        setattr(marks, key, value)
        out.append(marks)
    return link_steps(out, returned)


def timed_call(fn: Any) -> tuple[float, float, Any]:
    """(seconds, epoch at return, result) of ``fn()``."""
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, time.time(), result


def load_module(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def install_operator() -> None:
    """Build the image from this tree and roll the shared release to it (the e2e fixture's way)."""
    from kubeline.dev.cluster import DevCluster
    from kubeline.dev.gobuild import tool_path
    from kubeline.dev.images import ensure_kubeline_image

    dev = DevCluster(log=lambda m: print(f"[dev] {m}", flush=True))
    image = ensure_kubeline_image(dev, log=lambda m: print(f"[image] {m}", flush=True))
    repo, _, tag = image.rpartition(":")
    env = os.environ
    s3 = {"bucket": env["KUBELINE_S3_BUCKET"], "endpoint": env.get("KUBELINE_S3_ENDPOINT", ""),
          "region": env.get("KUBELINE_S3_REGION", "us-east-1"),
          "accessKeyId": env.get("AWS_ACCESS_KEY_ID", ""),
          "secretAccessKey": env.get("AWS_SECRET_ACCESS_KEY", "")}
    args = [str(tool_path("helm")), "upgrade", "--install", "kubeline",
            str(ROOT / "charts" / "kubeline"), "-n", "kubeline-system", "--create-namespace",
            "--kubeconfig", str(dev.paths.kubeconfig),
            "--set", f"image.repository={repo}", "--set", f"image.tag={tag}",
            "--set-json", "stepNamespaces=[]",
            "--set-string", f"podAnnotations.kubeline\\.dev/test-session={uuid.uuid4().hex[:8]}",
            "--wait", "--timeout", "240s"]
    for key, value in s3.items():
        if value:
            args += ["--set-string", f"s3.{key}={value}"]
    # make_namespace gives each bench namespace a copy of these keys: one shared identity.
    args += ["--set", "s3.stepCredentials=shared"]
    subprocess.run(args, check=True, capture_output=True, text=True)
    print("operator upgraded to the image built from this tree", flush=True)


def print_call(label: str, times: list[float]) -> None:
    med = statistics.median(times)
    goal = GOALS.get(label)
    verdict = "" if goal is None else (
        f" (goal <= {goal:g} s: {'met' if med <= goal else 'MISSED'})")
    spread = f"min {min(times):.2f} max {max(times):.2f}"
    print(f"call -> result, {label}: n={len(times)} median {med:.2f} s, {spread}{verdict}")


def print_phases(label: str, runs: list[list[StepMarks]]) -> None:
    table = median_table(runs)
    print(f"per-step phases, {label} (median over {sum(len(r) for r in runs)} steps):")
    for name, _, _ in PHASES + USER_PARTS:
        if name in table:
            print(f"  {name:<52} {table[name] * 1000:7.0f} ms")
    over = table.get("Kubeline overhead per step")
    if over is not None:
        verdict = "met" if over <= OVERHEAD_GOAL else "MISSED"
        print(f"  {'Kubeline overhead per step':<52} {over * 1000:7.0f} ms "
              f"(goal <= {OVERHEAD_GOAL * 1000:.0f} ms: {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", default="iris,cached,chain")
    parser.add_argument("--install", action="store_true",
                        help="build the image from this tree and upgrade the release first")
    parser.add_argument("--keep", action="store_true", help="keep the namespace")
    parser.add_argument("--image", default="",
                        help="step image (A/B of runtime changes with one operator)")
    parser.add_argument("--withhold-commit-events", action="store_true",
                        help="step Role without the Events right (A arm: steps finish on "
                             "their Pod's exit, not on their outputs-committed Event)")
    args = parser.parse_args()
    only = set(args.only.split(","))
    if not os.environ.get("KUBELINE_S3_BUCKET"):
        sys.exit('KUBELINE_S3_BUCKET is not set: eval "$(kubeline dev env)" first')
    if args.install:
        install_operator()
    core = core_api()
    from kubeline.artifact_store import ArtifactStore, S3Settings
    from kubernetes import client

    deploy = client.AppsV1Api(core.api_client).read_namespaced_deployment(
        "kubeline-operator", "kubeline-system")
    if not deploy.status.ready_replicas:
        sys.exit("the in-cluster operator (deployment/kubeline-operator in kubeline-system) "
                 "is not ready: install the chart first (or pass --install)")
    settings = S3Settings.from_env()
    assert settings is not None
    store = ArtifactStore.from_settings(settings)
    namespace = make_namespace(core)
    grant_chart_step_rbac(namespace, commit_events=not args.withhold_commit_events)
    os.environ["KUBELINE_NAMESPACE"] = namespace
    workdir = Path(tempfile.mkdtemp(prefix="kl-realpods-"))
    sys.path.insert(0, str(IRIS))
    try:
        with PodWatch(namespace) as watch, ContainerExits() as exits, \
                CommitEvents(namespace) as commits:
            iris = load_module(IRIS / "run.py", f"iris_run_{uuid.uuid4().hex[:6]}")
            image = {"image": args.image} if args.image else {}
            base = iris.training_pipeline.with_options(**image)
            if only & {"iris", "cached"}:
                times, runs = [], []
                for i in range(args.repeat):
                    # The namespace is fresh, so the first call is uncached with the cache on
                    # (it fills the cache for the cached rows); the others turn it off.
                    pipe = base if i == 0 else base.with_options(enable_cache=False)
                    seconds, returned, run = timed_call(pipe)
                    if run.status != "completed":
                        sys.exit(f"iris run {run.name} ended {run.status}")
                    times.append(seconds)
                    runs.append(run_marks(run.name, namespace, watch, store, returned, exits,
                                         commits))
                if "iris" in only:
                    print_call("iris uncached", times)
                    print_phases("iris", runs)
            if "cached" in only:
                times = []
                for _ in range(args.repeat):
                    seconds, _, run = timed_call(base)
                    if run.status != "cached":
                        sys.exit(f"the cached iris run {run.name} ended {run.status}")
                    times.append(seconds)
                print_call("iris fully cached", times)
            if "chain" in only:
                module = f"chain10_{uuid.uuid4().hex[:6]}"
                (workdir / f"{module}.py").write_text(CHAIN_SOURCE.format(n=9))
                sys.path.insert(0, str(workdir))
                chain = importlib.import_module(module).chain10.with_options(enable_cache=False,
                                                                          **image)
                times, runs = [], []
                for _ in range(args.repeat):
                    seconds, returned, run = timed_call(chain)
                    if run.status != "completed":
                        sys.exit(f"chain run {run.name} ended {run.status}")
                    times.append(seconds)
                    runs.append(run_marks(run.name, namespace, watch, store, returned, exits,
                                         commits))
                print_call("10-step chain uncached", times)
                print_phases("10-step chain", runs)
    finally:
        for p in (str(IRIS), str(workdir)):
            if p in sys.path:
                sys.path.remove(p)
        shutil.rmtree(workdir, ignore_errors=True)
        if not args.keep:
            with contextlib.suppress(Exception):
                core.delete_namespace(namespace, propagation_policy="Background")


if __name__ == "__main__":
    main()
