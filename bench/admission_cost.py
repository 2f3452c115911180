"""Where a run's admission time goes, measured on a private API server, next to Argo.

The Argo side-by-side bench's admission row is create -> first Pod seen by a watch, so it
holds the run's own create and the controller's path to the first Pod. This bench starts a
private etcd and kube-apiserver on free loopback ports (a temporary folder, its own
certificates, an audit log; both stopped by PID at the end: nothing of the shared local
cluster is touched, so no cluster lock is needed) and measures the two parts apart.

1. The API server's share: objects created one at a time, the variants taking turns in a
   rotating order (A B C ..., then B C ... A) so load drifts hit all alike:
   ``run+vap`` a PipelineRun as the bench submits it, the chart's run-provenance
   ValidatingAdmissionPolicy bound (``helm template``, as installed; checked in force: a
   forged provenance annotation is refused); ``run`` the same CRD (schema, CEL rules) under
   a test group, no policy; ``run-cel`` without its ``x-kubernetes-validations``;
   ``run-schema`` with no schema; ``workflow`` an Argo Workflow (Argo's minimal CRD, read from
   the Go module cache at run time). Per variant: the client's round trip (p50, p99) and the
   API server's ``apiserver_request_duration_seconds`` mean for those POSTs.
2. The controllers' share: the Argo bench's own systems (the operator on this host at the
   matched budget; ``workflow-controller`` with ``DEFAULT_REQUEUE_TIME=1s`` and the same
   QPS), one run every ``--interval`` s, alternating. Per system: create -> first Pod ADDED
   on a watch (p50, p99), and from the audit log (medians): the run's POST, run stored ->
   the first Pod's POST received (the controller's reaction), that Pod's POST, and how many
   of the controller's requests reached the API server between the two.

About 2 minutes at the defaults on 2 cores. ``--no-argo`` leaves Argo out (no Go module).

Usage: python bench/admission_cost.py [--rounds 300] [--runs 60] [--interval 0.3]
       [--no-argo] [--only apiserver|controllers] [--json FILE]
Needs the cached etcd, hyperkube and helm (``kubeline dev up`` fetched them), and for Argo
``kubeline dev build workflow-controller``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: kwok_env

from kwok_env import free_port, percentile, stop_processes

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "charts" / "kubeline"
RUN_CRD = CHART / "crds" / "kubeline.dev_pipelineruns.yaml"
BIN = Path.home() / ".cache" / "kubeline" / "bin"
TEST_GROUPS = {"run": "plain.admit.test", "run-cel": "nocel.admit.test",
               "run-schema": "noschema.admit.test"}
PROVENANCE = "kubeline.dev/triggered-from-pod"
# Part 2's audit log: every request in its namespaces, with timestamps, no bodies.
AUDIT_POLICY = """apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  namespaces: ["kl", "ar"]
"""


# ----------------------------------------------------------------------------- pure parts


def variant_crd(crd: dict[str, Any], group: str, *, cel: bool = True, schema: bool = True
                ) -> dict[str, Any]:
    """The PipelineRun CRD under ``group``; without its CEL rules, or without any schema."""
    out = copy.deepcopy(crd)
    out["metadata"] = {"name": f"{out['spec']['names']['plural']}.{group}"}
    out["spec"]["group"] = group
    for version in out["spec"]["versions"]:
        if not schema:
            version["schema"] = {"openAPIV3Schema": {
                "type": "object", "x-kubernetes-preserve-unknown-fields": True}}
            version.pop("selectableFields", None)
            version.pop("additionalPrinterColumns", None)
        elif not cel:
            strip_rules(version["schema"])
    return out


def strip_rules(node: Any) -> None:
    """Remove every ``x-kubernetes-validations`` list from a schema, in place."""
    if isinstance(node, dict):
        node.pop("x-kubernetes-validations", None)
        for value in node.values():
            strip_rules(value)
    elif isinstance(node, list):
        for value in node:
            strip_rules(value)


def rotations(names: list[str], rounds: int) -> Iterator[list[str]]:
    """``rounds`` orders of ``names``, each rotated by one from the last."""
    for i in range(rounds):
        k = i % len(names)
        yield names[k:] + names[:k]


def histogram(text: str, metric: str, match: dict[str, str]) -> tuple[float, float]:
    """(sum, count) of a Prometheus histogram over the series whose labels include ``match``."""
    total = count = 0.0
    for line in text.splitlines():
        if not line.startswith(metric + "_"):
            continue
        head, _, value = line.rpartition(" ")
        name, _, labels = head.partition("{")
        pairs = dict(p.split("=", 1) for p in labels.rstrip("}").split(",") if "=" in p)
        pairs = {k: v.strip('"') for k, v in pairs.items()}
        if any(pairs.get(k) != v for k, v in match.items()):
            continue
        if name == metric + "_sum":
            total += float(value)
        elif name == metric + "_count":
            count += float(value)
    return total, count


def _stamp(text: str) -> float:
    return datetime.strptime(text.rstrip("Z")[:26], "%Y-%m-%dT%H:%M:%S.%f").replace(
        tzinfo=UTC).timestamp()


@dataclass
class Admission:
    """One run's path to its first Pod as the API server saw it (seconds)."""

    run_post: float  # the run's POST, received -> stored
    reaction: float  # run stored -> the first Pod's POST received
    pod_post: float  # the first Pod's POST
    total: float  # run received -> first Pod stored
    before_pod: int  # the controller's requests received in between (watches left out)


def admissions(lines: Iterable[str], namespace: str, plural: str,
               run_of_pod: Callable[[str], str]) -> dict[str, Admission]:
    """Per run of ``namespace``: its path to its first Pod, from audit log lines
    (``ResponseComplete`` events); the run's own POST is by the bench, everything else
    in the namespace between it and the Pod's POST is counted as the controller's."""
    events = []
    for line in lines:
        event = json.loads(line)
        ref = event.get("objectRef") or {}
        if event.get("stage") != "ResponseComplete" or ref.get("namespace") != namespace:
            continue
        if event.get("verb") in ("watch", "list"):
            continue
        events.append((_stamp(event["requestReceivedTimestamp"]),
                       _stamp(event["stageTimestamp"]), event["verb"],
                       ref.get("resource", ""), ref.get("name") or ""))
    events.sort()
    runs: dict[str, tuple[float, float]] = {}
    pods: dict[str, tuple[float, float]] = {}
    for received, stored, verb, resource, name in events:
        if verb != "create":
            continue
        if resource == plural:
            runs.setdefault(name, (received, stored))
        elif resource == "pods":
            pods.setdefault(run_of_pod(name), (received, stored))
    out = {}
    for run, (r0, r1) in runs.items():
        if run not in pods:
            continue
        p0, p1 = pods[run]
        between = sum(1 for t, _, _, _, _ in events if r1 <= t < p0)
        out[run] = Admission(r1 - r0, p0 - r1, p1 - p0, p1 - r0, between)
    return out


# ----------------------------------------------------------------------------- the API server


class Apiserver:
    """A private etcd + kube-apiserver in ``workdir`` on free loopback ports."""

    def __init__(self, workdir: Path, extra_args: tuple[str, ...] = ()) -> None:
        self.dir = workdir
        self.extra_args = extra_args
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        from kubeline.dev.pki import Pki, kubeconfig

        pki = Pki(self.dir / "pki")
        pki.ensure("admit", "127.0.0.1", "10.96.0.1")
        etcd_port, peer_port, port = free_port(), free_port(), free_port()
        log = open(self.dir / "etcd.log", "wb")  # noqa: SIM115 - lives as long as the process
        self.procs.append(subprocess.Popen([
            str(BIN / "etcd"), "--name", "admit", "--data-dir", str(self.dir / "etcd"),
            "--listen-client-urls", f"http://127.0.0.1:{etcd_port}",
            "--advertise-client-urls", f"http://127.0.0.1:{etcd_port}",
            "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-cluster", f"admit=http://127.0.0.1:{peer_port}",
            "--unsafe-no-fsync", "--log-level", "warn"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        log = open(self.dir / "apiserver.log", "wb")  # noqa: SIM115
        self.procs.append(subprocess.Popen([
            str(BIN / "hyperkube"), "kube-apiserver",
            f"--etcd-servers=http://127.0.0.1:{etcd_port}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            f"--secure-port={port}", f"--tls-cert-file={pki.cert('apiserver')}",
            f"--tls-private-key-file={pki.key('apiserver')}", f"--client-ca-file={pki.ca_cert}",
            f"--service-account-key-file={pki.sa_pub}",
            f"--service-account-signing-key-file={pki.sa_key}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--service-cluster-ip-range=10.96.0.0/24", "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction", "--v=0", *self.extra_args],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        self.server = f"https://127.0.0.1:{port}"
        self.kubeconfig = self.dir / "kubeconfig"
        self.kubeconfig.write_text(kubeconfig(self.server, pki, "admin", "kubeline-admin"))
        self.ssl = ssl.create_default_context(cafile=str(pki.ca_cert))
        self.ssl.load_cert_chain(str(pki.cert("admin")), str(pki.key("admin")))
        deadline = time.monotonic() + 90
        while True:
            with contextlib.suppress(OSError):
                if self.get("/readyz") == "ok":
                    return
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                tail = (self.dir / "apiserver.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the private kube-apiserver did not become ready:\n{tail}")
            time.sleep(0.5)

    def get(self, path: str) -> str:
        with urllib.request.urlopen(self.server + path, context=self.ssl, timeout=10) as resp:
            return str(resp.read().decode())

    def kubectl(self, *args: str, stdin: str | None = None) -> None:
        kubectl = Path.home() / ".cache" / "kubeline" / "dev" / "bin" / "kubectl"
        subprocess.run([str(kubectl), f"--kubeconfig={self.kubeconfig}", *args], check=True,
                       input=stdin, text=True, capture_output=True)

    def stop(self) -> None:
        stop_processes(self.procs, timeout=20)


# ----------------------------------------------------------------------------- set-up


def provenance_policy() -> str:
    """The chart's run-provenance policy and binding, rendered by helm as installed."""
    return subprocess.run([str(BIN / "helm"), "template", "admit", str(CHART), "--namespace",
                           "kubeline-system", "--kube-version", "1.34.0",
                           "--show-only", "templates/provenance-policy.yaml"],
                          check=True, capture_output=True, text=True).stdout


def argo_crd() -> Path:
    from kubeline.dev.gobuild import ARGO_MODULE, ARGO_VERSION, module_dir

    folder = module_dir(ARGO_MODULE, ARGO_VERSION) / "manifests" / "base" / "crds" / "minimal"
    return folder / "argoproj.io_workflows.yaml"


def bodies(namespace: str, argo: bool) -> dict[str, Any]:
    """Per variant: (group, plural, body maker)."""
    sys.path.insert(0, str(ROOT / "bench" / "peers"))
    import argo_workloads as W
    from kubeline.resources.names import (
        LABEL_OPERATOR_CLASS,
        LABEL_PIPELINE,
        LABEL_SNAPSHOT,
        label_value,
    )

    def run(group: str) -> Any:
        def make(name: str) -> dict[str, Any]:
            return {"apiVersion": f"{group}/v1alpha1", "kind": "PipelineRun",
                    "metadata": {"name": name, "namespace": namespace,
                                 "labels": {LABEL_OPERATOR_CLASS: "bench",
                                            LABEL_PIPELINE: "chain3",
                                            LABEL_SNAPSHOT: label_value("chain3")}},
                    "spec": {"snapshot": "chain3"}}
        return group, "pipelineruns", make

    out: dict[str, Any] = {"run+vap": run("kubeline.dev")}
    out.update({k: run(g) for k, g in TEST_GROUPS.items()})
    if argo:
        out["workflow"] = (W.ARGO_GROUP, W.ARGO_PLURAL, lambda name: W.argo_workflow(
            name, namespace, W.WORKLOADS["chain3"], "none", "localhost/noop:0",
            "kubeline.dev/bench-node", "kubeline.dev/bench"))
    return out


def policy_in_force(custom: Any, namespace: str) -> bool:
    """A forged provenance annotation is refused (the policy is loaded and bound)."""
    from kubernetes.client.exceptions import ApiException

    body = {"apiVersion": "kubeline.dev/v1alpha1", "kind": "PipelineRun",
            "metadata": {"generateName": "forged-", "annotations": {PROVENANCE: "some-pod"}},
            "spec": {"snapshot": "chain3"}}
    try:
        custom.create_namespaced_custom_object("kubeline.dev", "v1alpha1", namespace,
                                               "pipelineruns", body)
    except ApiException as exc:
        return exc.status in (400, 403, 422) and "leave the annotation out" in str(exc.body)
    return False


# ----------------------------------------------------------------------------- part 1


def apiserver_share(api: Apiserver, rounds: int, argo: bool) -> dict[str, dict[str, float]]:
    """Part 1: each variant's create, client round trip and the API server's own time."""
    from kubernetes import client, config

    crd = yaml.safe_load(RUN_CRD.read_text())
    docs = [crd, variant_crd(crd, TEST_GROUPS["run"]),
            variant_crd(crd, TEST_GROUPS["run-cel"], cel=False),
            variant_crd(crd, TEST_GROUPS["run-schema"], schema=False)]
    api.kubectl("apply", "--server-side", "-f", "-",
                stdin="\n---\n".join(json.dumps(d) for d in docs))
    api.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd", "--all")
    ns = "admit-api"
    api.kubectl("create", "namespace", ns)
    config.load_kube_config(str(api.kubeconfig))
    custom = client.CustomObjectsApi()
    deadline = time.monotonic() + 60
    while not policy_in_force(custom, ns):
        if time.monotonic() > deadline:
            sys.exit("the run-provenance policy did not come into force")
        time.sleep(0.5)
    variants = bodies(ns, argo)
    names = list(variants)
    for name in names:  # warm-up: each path a few times, not measured
        group, plural, make = variants[name]
        for i in range(5):
            custom.create_namespaced_custom_object(group, "v1alpha1", ns, plural,
                                                   make(f"warm-{i}"))
    before = api.get("/metrics")
    rtt: dict[str, list[float]] = {n: [] for n in names}
    load0 = os.getloadavg()[0]
    for i, order in enumerate(rotations(names, rounds)):
        for name in order:
            group, plural, make = variants[name]
            body = make(f"r-{i:05d}")
            t = time.perf_counter()
            custom.create_namespaced_custom_object(group, "v1alpha1", ns, plural, body)
            rtt[name].append(time.perf_counter() - t)
    after = api.get("/metrics")
    print(f"1. the API server's share: n={rounds} creates per variant, rotating order; load "
          f"average (1 min) {load0:.2f} -> {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"   {'variant':<12} {'client p50':>10} {'p99':>8} {'server mean':>12}")
    figures: dict[str, dict[str, float]] = {}
    for name in names:
        group, plural, _ = variants[name]
        match = {"verb": "POST", "group": group, "resource": plural}
        s0, c0 = histogram(before, "apiserver_request_duration_seconds", match)
        s1, c1 = histogram(after, "apiserver_request_duration_seconds", match)
        v = rtt[name]
        row = figures[name] = {
            "p50": percentile(v, 50) * 1000, "p99": percentile(v, 99) * 1000,
            "server_mean": (s1 - s0) / (c1 - c0) * 1000 if c1 > c0 else float("nan")}
        print(f"   {name:<12} {row['p50']:>8.2f}ms {row['p99']:>6.2f}ms "
              f"{row['server_mean']:>10.2f}ms")
    return figures


# ----------------------------------------------------------------------------- part 2


def first_pods(watch: Any, runs: list[str], timeout: float) -> dict[str, float]:
    """When the watch saw each run's first Pod (waits until all are seen or ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        seen = {n: t for n in runs if (t := watch.first_pod(n)) is not None}
        if len(seen) == len(runs) or time.monotonic() > deadline:
            return seen
        time.sleep(0.1)


def controllers_share(api: Apiserver, runs: int, interval: float, argo: bool
                      ) -> dict[str, dict[str, float]]:
    """Part 2: create -> first Pod with each controller running, and its audit breakdown."""
    os.environ["KUBECONFIG"] = str(api.kubeconfig)  # kwok_env and the bench's systems use it
    sys.path.insert(0, str(ROOT / "bench" / "peers"))
    import argo as A
    from kwok_env import Bench, core_api

    files = sorted((CHART / "crds").glob("*.yaml"))
    if argo:  # Argo's minimal CRDs file by file (their folder's kustomization is no manifest)
        files += sorted(argo_crd().parent.glob("argoproj.io_*.yaml"))
    api.kubectl("apply", "--server-side", *(f"--filename={f}" for f in files))
    api.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd", "--all")
    core = core_api()
    budget = ({"KUBELINE_API_QPS": "100", "KUBELINE_API_BURST": "200"},
              {"DEFAULT_REQUEUE_TIME": "1s"}, ["--qps=100", "--burst=200"])
    systems: list[Any] = []
    for ns in (["kl", "ar"] if argo else ["kl"]):
        core.create_namespace({"metadata": {"name": ns}})
        for sa in ("default", "kubeline-step"):  # no controller-manager makes them here
            core.create_namespaced_service_account(ns, {"metadata": {"name": sa}})
        bench = Bench(namespace=ns, node="none", workdir=api.dir)
        systems.append(A.KubelineSystem(bench, budget[0]) if ns == "kl"
                       else A.ArgoSystem(bench, A.argo_binary(), budget[1], budget[2]))
    figures: dict[str, dict[str, float]] = {}
    try:
        for system in systems:
            system.prepare()
            system.start()
        with contextlib.ExitStack() as stack:
            watches = {s.name: stack.enter_context(A.Watcher(s.bench.namespace, s))
                       for s in systems}
            for s in systems:  # warm-up
                s.create("warm-0", "chain3")
                first_pods(watches[s.name], ["warm-0"], 60)
            created: dict[str, dict[str, float]] = {s.name: {} for s in systems}
            load0 = os.getloadavg()[0]
            for i in range(runs):
                for s in (systems if i % 2 == 0 else systems[::-1]):
                    name = f"r-{i:05d}"
                    created[s.name][name] = time.time()
                    s.create(name, "chain3")
                    time.sleep(interval)
            lat = {}
            for s in systems:  # no kubelet here: runs never finish, their first Pods count
                seen = first_pods(watches[s.name], list(created[s.name]), 30)
                lat[s.name] = [seen[n] - t for n, t in created[s.name].items() if n in seen]
            load1 = os.getloadavg()[0]
        print(f"2. the controllers' share: n={runs} runs each, one every {interval} s, "
              f"alternating; load average (1 min) {load0:.2f} -> {load1:.2f}")
        print(f"   {'system':<9} {'create->Pod p50':>15} {'p99':>7} | audit medians: "
              f"{'run POST':>8} {'reaction':>8} {'Pod POST':>8} {'total':>7} {'between':>7}")
        audit = (api.dir / "audit.log").read_text().splitlines()
        for s in systems:
            kl = s.name == "kubeline"
            got = admissions(audit, s.bench.namespace, s.plural,
                             (lambda p: p.split("-s0-")[0]) if kl
                             else (lambda p: p.rsplit("-", 2)[0]))
            rows = [got[n] for n in created[s.name] if n in got]
            med = {k: statistics.median(getattr(r, k) for r in rows) for k in
                   ("run_post", "reaction", "pod_post", "total", "before_pod")} if rows else {}
            v = lat[s.name]
            row = figures[s.name] = {"p50": percentile(v, 50) * 1000,
                                     "p99": percentile(v, 99) * 1000,
                                     **{k: x * (1 if k == "before_pod" else 1000)
                                        for k, x in med.items()}}
            if med:
                print(f"   {s.name:<9} {row['p50']:>13.1f}ms {row['p99']:>5.1f}ms |"
                      f"{' ' * 15}{row['run_post']:>6.1f}ms {row['reaction']:>6.1f}ms "
                      f"{row['pod_post']:>6.1f}ms {row['total']:>5.1f}ms {row['before_pod']:>7.0f}")
    finally:
        for system in systems:
            with contextlib.suppress(Exception):
                system.stop()
    return figures


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300, help="part 1: creates per variant")
    parser.add_argument("--runs", type=int, default=60, help="part 2: runs per system")
    parser.add_argument("--interval", type=float, default=0.3, help="part 2: s between creates")
    parser.add_argument("--only", choices=["apiserver", "controllers"], help="one part only")
    parser.add_argument("--no-argo", action="store_true", help="leave Argo out")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # still clean up
    with tempfile.TemporaryDirectory(prefix="kl-admit-") as tmp:
        workdir = Path(tmp)
        (workdir / "audit-policy.yaml").write_text(AUDIT_POLICY)
        api = Apiserver(workdir, (f"--audit-policy-file={workdir / 'audit-policy.yaml'}",
                                  f"--audit-log-path={workdir / 'audit.log'}"))
        figures: dict[str, Any] = {}
        try:
            t0 = time.monotonic()
            api.start()
            print(f"private kube-apiserver ready in {time.monotonic() - t0:.1f} s", flush=True)
            if not args.no_argo:
                api.kubectl("apply", "--server-side", "-f", str(argo_crd()))
            api.kubectl("apply", "-f", "-", stdin=provenance_policy())
            if args.only != "controllers":
                figures["apiserver"] = apiserver_share(api, args.rounds, not args.no_argo)
            if args.only != "apiserver":
                figures["controllers"] = controllers_share(api, args.runs, args.interval,
                                                           not args.no_argo)
            print(f"(took {(time.monotonic() - t0) / 60:.1f} min)")
        finally:
            api.stop()
        if args.json:
            args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
