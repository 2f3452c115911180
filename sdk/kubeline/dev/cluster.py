"""``kubeline dev up/down/status``: a real single-node Kubernetes on this machine.

Upstream components built from their Go modules (``gobuild``) run as plain
processes: etcd, kube-apiserver (HTTPS, RBAC), kube-controller-manager,
kube-scheduler, containerd + runc, a CNI bridge, kube-proxy and a kubelet; a
versitygw S3 server listens on the node's address. Every process is tracked by
a PID file under the state directory, so ``down`` stops exactly what ``up``
started, and ``up`` recovers after an unclean stop.

``up`` starts one component at a time and waits until it is really ready
(``bringup``): etcd's /health, the API server's /readyz, the controllers'
/healthz, containerd's CRI Status (RuntimeReady and NetworkReady), the
kubelet's /healthz and its Node, kube-proxy's /healthz, the S3 port; then the
node Ready and a probe Pod Running. It ends by starting the ``supervisor``,
which restarts a component that dies while the cluster runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kubeline.dev import gobuild, health, network
from kubeline.dev.bringup import Bringup, Component, ComponentFailed
from kubeline.dev.health import ComponentHealth, Probe
from kubeline.dev.paths import DevPaths
from kubeline.dev.pki import Pki, kubeconfig
from kubeline.dev.procs import ProcessTable, wait_for
from kubeline.dev.restart_log import read_events, restart_counts
from kubeline.dev.s3_identities import S3Admin, ensure_namespace_identity

NODE_NAME = "kubeline-node"
ETCD_CLIENT_PORT = 12379
ETCD_PEER_PORT = 12380
APISERVER_PORT = 6443
S3_PORT = 7070
S3_BUCKET = "kubeline"
# The S3 credentials of the dev cluster, kept in the cluster itself. Not named
# like the chart's Secret (kubeline-s3), which the chart creates and owns.
S3_SECRET = "kubeline-dev-s3"
S3_SECRET_NAMESPACE = "kube-system"
#: The bucket setting of per-namespace isolation: one bucket per namespace, owned by that
#: namespace's versitygw account (``kubeline.dev.s3_identities``, docs/security.md).
S3_NAMESPACE_BUCKET = "kubeline-{namespace}"

# Start order; ``down`` stops in reverse. kube-proxy comes after the kubelet: it reads
# the node's address from the Node the kubelet registers.
COMPONENTS = (
    "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
    "containerd", "kubelet", "kube-proxy", "versitygw",
)
# The process that restarts a component dying while the cluster runs (``supervisor``).
SUPERVISOR = "supervisor"
# Restarts of one component during one ``up`` before it fails.
MAX_UP_RESTARTS = 3
KUBELET_HEALTHZ = "http://127.0.0.1:10248/healthz"
KUBE_PROXY_HEALTHZ = "http://127.0.0.1:10256/healthz"
CONTROLLER_MANAGER_HEALTHZ = "https://127.0.0.1:10257/healthz"
SCHEDULER_HEALTHZ = "https://127.0.0.1:10259/healthz"
# The Pod ``up`` creates to prove the node runs Pods (kube-system, deleted at once).
PROBE_POD_LABEL = "kubeline.dev/up-probe"

DEB_PACKAGES = {
    "containerd": "containerd",
    "ctr": "containerd",
    "runc": "runc",
    "iptables": "iptables",
    "openssl": "openssl",
    "ip": "iproute2",
    "mount": "mount",
}

Log = Callable[[str], None]

# The Go garbage collector was a quarter of the API server's CPU under load on 2 cores; a
# larger heap target trades some memory (this is a one-node dev cluster) for CPU.
CONTROL_PLANE_ENV = {"GOGC": "300"}


@dataclass
class ClusterState:
    """What ``up`` decided once and keeps across restarts (cluster.json)."""

    node_ip: str
    iface: str
    s3_access_key: str
    s3_secret_key: str
    s3_bucket: str = S3_BUCKET

    @property
    def server(self) -> str:
        return f"https://{self.node_ip}:{APISERVER_PORT}"

    @property
    def s3_endpoint(self) -> str:
        return f"http://{self.node_ip}:{S3_PORT}"

    def s3_settings(self) -> dict[str, str]:
        """S3 settings in the Secret's key layout (docs/contracts.md)."""
        return {
            "bucket": self.s3_bucket,
            "endpoint": self.s3_endpoint,
            "region": "us-east-1",
            "accessKeyId": self.s3_access_key,
            "secretAccessKey": self.s3_secret_key,
        }

    def s3_admin(self) -> S3Admin:
        """The admin API of the cluster's S3 server, with its root keys."""
        return S3Admin(self.s3_endpoint, self.s3_access_key, self.s3_secret_key)


class DevCluster:
    """The local cluster rooted at ``paths.home``."""

    def __init__(self, paths: DevPaths | None = None, log: Log = print) -> None:
        self.paths = paths or DevPaths.default()
        self.procs = ProcessTable(self.paths.pids, self.paths.logs)
        self.pki = Pki(self.paths.pki)
        self.log = log
        self._tools: dict[str, str] = {}
        self._admin_ctx: ssl.SSLContext | None = None
        # What the last ``up`` waited on (seconds per component and phase) and restarted.
        self.last_up: dict[str, Any] = {}

    # ------------------------------------------------------------------ state
    def state(self) -> ClusterState:
        if self.paths.state_file.exists():
            return ClusterState(**json.loads(self.paths.state_file.read_text()))
        host = network.detect_host_network()
        state = ClusterState(
            node_ip=host.ip, iface=host.iface,
            s3_access_key="kubeline" + secrets.token_hex(4),
            s3_secret_key=secrets.token_hex(16),
        )
        self.paths.home.mkdir(parents=True, exist_ok=True)
        self.paths.state_file.write_text(json.dumps(asdict(state), indent=2))
        self.paths.state_file.chmod(0o600)
        return state

    def tool(self, name: str) -> str:
        if name not in self._tools:
            self._tools[name] = str(gobuild.tool_path(name, log=self.log))
        return self._tools[name]

    @contextlib.contextmanager
    def control(self, wait: bool = True) -> Iterator[bool]:
        """Hold the cluster's control lock (``up``, ``down`` and the supervisor take turns).
        Yields False when ``wait`` is off and someone else holds it."""
        self.paths.home.mkdir(parents=True, exist_ok=True)
        with open(self.paths.home / "control.lock", "a") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    # ------------------------------------------------------------------ API
    def admin_ssl(self) -> ssl.SSLContext:
        if self._admin_ctx is None:
            ctx = ssl.create_default_context(cafile=str(self.pki.ca_cert))
            ctx.load_cert_chain(str(self.pki.cert("admin")), str(self.pki.key("admin")))
            self._admin_ctx = ctx
        return self._admin_ctx

    def api(self, method: str, path: str, body: dict[str, Any] | None = None,
            timeout: float = 5.0) -> tuple[int, Any]:
        """One API server request as the admin: (status, parsed JSON or text); status 0 and
        the error text when the API server does not answer."""
        st = self.state()
        req = urllib.request.Request(
            st.server + path, method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self.admin_ssl()) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except (OSError, ValueError) as exc:
            return 0, str(getattr(exc, "reason", None) or exc)
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")

    def kubectl(self, *args: str, input: str | None = None, check: bool = True
                ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.tool("hyperkube"), "kubectl", "--kubeconfig", str(self.paths.kubeconfig), *args],
            input=input, capture_output=True, text=True,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
        return result

    # ------------------------------------------------------------------ checks
    def check_prerequisites(self) -> None:
        """Fail with what is missing and how to install it."""
        problems = []
        if os.geteuid() != 0:
            problems.append("run as root: the kubelet, containerd and the CNI bridge need it")
        missing = sorted({pkg for cmd, pkg in DEB_PACKAGES.items() if not shutil.which(cmd)})
        try:
            network.cni_bin_dir()
        except FileNotFoundError:
            missing.append("containernetworking-plugins")
        if missing:
            problems.append(
                "missing packages: apt-get install -y " + " ".join(sorted(set(missing)))
            )
        if not Path("/sys/fs/cgroup").exists():
            problems.append("no cgroup filesystem at /sys/fs/cgroup")
        if problems:
            raise RuntimeError("cannot start the local cluster:\n  - " + "\n  - ".join(problems))

    # ------------------------------------------------------------------ up
    def up(self, timeout: float = 300) -> ClusterState:
        """Start (or complete) the cluster; idempotent. Returns once the node is Ready and a
        Pod runs on it; raises ``ComponentFailed`` naming the component, cause and log."""
        t0 = time.monotonic()
        self.check_prerequisites()
        st = self.state()
        self.log(f"node {NODE_NAME} at {st.node_ip} (state in {self.paths.home})")
        for name in ("hyperkube", "etcd", "pause", "cristatus", "versitygw", "helm"):
            self.tool(name)
        with self.control():
            # A supervisor from an earlier ``up`` would race this one's restarts.
            self.procs.stop(SUPERVISOR, timeout=10)
            self.pki.ensure(NODE_NAME, st.node_ip, network.SERVICE_IP)
            self._write_kubeconfigs(st)
            network.enable_forwarding()
            network.ensure_guards(network.HostNetwork(st.node_ip, st.iface))
            network.write_cni_config(self.paths.cni_conf_dir, self.paths.cni_ipam_dir)
            run = Bringup(self.procs, self.log, deadline=t0 + timeout,
                          max_restarts=MAX_UP_RESTARTS)
            comps = self.components(st)
            kubelet_since: datetime | None = None
            for name in COMPONENTS:
                if name == "kubelet":
                    from kubeline.dev import images

                    t = time.monotonic()
                    images.ensure_pause_image(self, log=self.log)
                    run.waits["pause image"] = time.monotonic() - t
                    if not self.procs.get("kubelet"):
                        kubelet_since = datetime.now(UTC)
                run.ensure(comps[name])
                self.log(f"{name} ready ({run.waits[name]:.1f}s)")
            if run.restarts.get("kubelet"):
                kubelet_since = datetime.now(UTC) - timedelta(seconds=run.waits["kubelet"])
            self._timed(run, "node Ready", lambda: run.wait(
                "node Ready", self.node_probe(since=kubelet_since), 120, blame="kubelet"))
            self._ensure_s3_secret(st)
            self._timed(run, "probe Pod", lambda: self._probe_pod(run))
            self.write_shims()
            self.start_supervisor()
        total = time.monotonic() - t0
        self.last_up = {"seconds": total, "waits": dict(run.waits),
                        "restarts": dict(run.restarts)}
        self.paths.logs.mkdir(parents=True, exist_ok=True)
        (self.paths.logs / "last-up.json").write_text(json.dumps(self.last_up, indent=2))
        self.log(f"cluster ready in {total:.1f}s; {run.summary()}")
        return st

    @staticmethod
    def _timed(run: Bringup, what: str, step: Callable[[], object]) -> None:
        t = time.monotonic()
        step()
        run.waits[what] = time.monotonic() - t

    # ------------------------------------------------------------------ components
    def components(self, st: ClusterState) -> dict[str, Component]:
        """Every component: how ``up`` starts it and how it tells it is ready."""
        starts: dict[str, Callable[[], object]] = {
            "etcd": self._start_etcd,
            "kube-apiserver": lambda: self._start_apiserver(st),
            "kube-controller-manager": self._start_controller_manager,
            "kube-scheduler": self._start_scheduler,
            "containerd": self._start_containerd,
            "kubelet": lambda: self._start_kubelet(st),
            "kube-proxy": self._start_kube_proxy,
            "versitygw": lambda: self._start_s3(st),
        }
        # containerd loads its CRI state before it answers Status; with many images and
        # containers that can take a while on a loaded machine.
        timeouts = {"etcd": 60.0, "kube-apiserver": 120.0, "containerd": 120.0,
                    "kubelet": 120.0}
        return {name: Component(name, starts[name], self.probe(name, st),
                                timeouts.get(name, 60.0))
                for name in COMPONENTS}

    def probe(self, name: str, st: ClusterState | None = None) -> Probe:
        """The readiness probe of component ``name`` (see ``health``)."""
        st = st or self.state()
        if name == "etcd":
            return health.http_probe(f"http://127.0.0.1:{ETCD_CLIENT_PORT}/health",
                                     ok=lambda body: '"health":"true"' in body)
        if name == "kube-apiserver":
            return lambda: health.http_probe(f"{st.server}/readyz?verbose",
                                             self.admin_ssl())()
        if name in ("kube-controller-manager", "kube-scheduler"):
            url = CONTROLLER_MANAGER_HEALTHZ if name == "kube-controller-manager" \
                else SCHEDULER_HEALTHZ
            return health.http_probe(url, _loopback_tls())
        if name == "containerd":
            return lambda: health.cri_probe(Path(self.tool("cristatus")),
                                            self.paths.containerd_socket)()
        if name == "kubelet":
            healthz = health.http_probe(KUBELET_HEALTHZ)
            return lambda: healthz() or self._node_registered()
        if name == "kube-proxy":
            return health.http_probe(KUBE_PROXY_HEALTHZ)
        if name == "versitygw":
            return health.port_probe(st.node_ip, S3_PORT)
        raise KeyError(name)

    def _node_registered(self) -> str | None:
        status, body = self.api("GET", f"/api/v1/nodes/{NODE_NAME}")
        if status == 200:
            return None
        return f"node {NODE_NAME} not registered yet (GET node: {status or body})"

    def node_probe(self, since: datetime | None = None) -> Probe:
        """Ready when the node is Ready and its kubelet renews its Lease (since ``since``)."""
        def probe() -> str | None:
            status, node = self.api("GET", f"/api/v1/nodes/{NODE_NAME}")
            if status == 0:
                return f"the API server does not answer: {node}"
            if status != 200:
                return health.node_problem(None, None)
            ls, lease = self.api("GET", "/apis/coordination.k8s.io/v1/namespaces/"
                                 f"kube-node-lease/leases/{NODE_NAME}")
            return health.node_problem(node, lease if ls == 200 else None, since=since)
        return probe

    def _probe_pod(self, run: Bringup, timeout: float = 120) -> None:
        """Create a Pod (pause image, pod network) and wait until it is Ready; then delete it."""
        base = "/api/v1/namespaces/kube-system/pods"
        status, old = self.api("GET", f"{base}?labelSelector={PROBE_POD_LABEL}")
        for item in (old.get("items", []) if status == 200 else []):
            self.api("DELETE", f"{base}/{item['metadata']['name']}?gracePeriodSeconds=0")
        from kubeline.dev import images

        name = f"kubeline-up-probe-{secrets.token_hex(3)}"
        pod = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {PROBE_POD_LABEL: "true"}},
            "spec": {
                "containers": [{"name": "pause", "image": images.PAUSE_IMAGE,
                                "imagePullPolicy": "Never",
                                "securityContext": {"allowPrivilegeEscalation": False,
                                                    "capabilities": {"drop": ["ALL"]}}}],
                "automountServiceAccountToken": False, "terminationGracePeriodSeconds": 0,
                "securityContext": {"runAsNonRoot": True, "runAsUser": 65535,
                                    "seccompProfile": {"type": "RuntimeDefault"}},
            },
        }
        created = False

        def ready() -> str | None:
            nonlocal created
            if not created:
                status, body = self.api("POST", base, pod)
                if status not in (201, 409):
                    return f"cannot create the probe Pod: {status} {_message(body)}"
                created = True
            status, body = self.api("GET", f"{base}/{name}")
            if status != 200:
                return f"probe Pod: GET {status} {_message(body)}"
            return _pod_problem(body)

        try:
            run.wait("a probe Pod", ready, timeout, blame="kubelet")
        except ComponentFailed as exc:
            events = self._pod_events(name)
            raise ComponentFailed(exc.component, exc.cause + (f"; events: {events}"
                                  if events else ""), exc.log_path, exc.tail) from None
        finally:
            self.api("DELETE", f"{base}/{name}?gracePeriodSeconds=0")

    def _pod_events(self, name: str) -> str:
        status, body = self.api("GET", "/api/v1/namespaces/kube-system/events"
                                f"?fieldSelector=involvedObject.name={name}")
        if status != 200:
            return ""
        return " | ".join(f"{e.get('reason')}: {e.get('message', '').strip()}"
                          for e in body.get("items", [])[-5:])

    # ------------------------------------------------------------------ supervisor
    def start_supervisor(self) -> None:
        """Start the supervising process (tracked and stopped like every component)."""
        pkg_root = str(Path(__file__).resolve().parents[2])
        path = os.environ.get("PYTHONPATH", "")
        self.procs.start(SUPERVISOR, [sys.executable, "-m", "kubeline.dev.supervisor",
                                      str(self.paths.home)],
                         env={"PYTHONPATH": pkg_root + (os.pathsep + path if path else "")})

    def _write_kubeconfigs(self, st: ClusterState) -> None:
        self.paths.config.mkdir(parents=True, exist_ok=True)
        users = {
            "admin": "kubeline-admin", "controller-manager": "system:kube-controller-manager",
            "scheduler": "system:kube-scheduler", "kube-proxy": "system:kube-proxy",
            "kubelet": f"system:node:{NODE_NAME}",
        }
        for stem, user in users.items():
            text = kubeconfig(st.server, self.pki, stem, user)
            target = (self.paths.kubeconfig if stem == "admin"
                      else self.paths.component_kubeconfig(stem))
            if not target.exists() or target.read_text() != text:
                target.write_text(text)
                target.chmod(0o600)

    def _start_etcd(self) -> None:
        self.procs.start("etcd", [
            self.tool("etcd"), "--name", NODE_NAME, "--data-dir", str(self.paths.etcd_data),
            "--listen-client-urls", f"http://127.0.0.1:{ETCD_CLIENT_PORT}",
            "--advertise-client-urls", f"http://127.0.0.1:{ETCD_CLIENT_PORT}",
            "--listen-peer-urls", f"http://127.0.0.1:{ETCD_PEER_PORT}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{ETCD_PEER_PORT}",
            "--initial-cluster", f"{NODE_NAME}=http://127.0.0.1:{ETCD_PEER_PORT}",
            "--unsafe-no-fsync", "--watch-progress-notify-interval", "5s",
            "--quota-backend-bytes", str(4 * 1024**3), "--log-level", "warn",
        ], env=CONTROL_PLANE_ENV)

    def _start_apiserver(self, st: ClusterState) -> None:
        p = self.pki
        self.procs.start("kube-apiserver", [
            self.tool("hyperkube"), "kube-apiserver",
            f"--etcd-servers=http://127.0.0.1:{ETCD_CLIENT_PORT}",
            f"--bind-address={st.node_ip}", f"--advertise-address={st.node_ip}",
            f"--secure-port={APISERVER_PORT}",
            f"--tls-cert-file={p.cert('apiserver')}",
            f"--tls-private-key-file={p.key('apiserver')}",
            f"--client-ca-file={p.ca_cert}",
            f"--service-account-key-file={p.sa_pub}",
            f"--service-account-signing-key-file={p.sa_key}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-cluster-ip-range={network.SERVICE_CIDR}",
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",
            f"--kubelet-client-certificate={p.cert('apiserver-kubelet-client')}",
            f"--kubelet-client-key={p.key('apiserver-kubelet-client')}",
            "--kubelet-preferred-address-types=InternalIP",
            "--allow-privileged=true", "--profiling=true", "--event-ttl=1h",
            "--max-requests-inflight=800", "--max-mutating-requests-inflight=400",
            "--v=1",
        ], env=CONTROL_PLANE_ENV)

    def _start_controller_manager(self) -> None:
        p = self.pki
        cm = str(self.paths.component_kubeconfig("controller-manager"))
        self.procs.start("kube-controller-manager", [
            self.tool("hyperkube"), "kube-controller-manager",
            f"--kubeconfig={cm}", f"--authentication-kubeconfig={cm}",
            f"--authorization-kubeconfig={cm}", "--bind-address=127.0.0.1",
            "--leader-elect=false", "--use-service-account-credentials=true",
            f"--service-account-private-key-file={p.sa_key}", f"--root-ca-file={p.ca_cert}",
            f"--cluster-signing-cert-file={p.ca_cert}", f"--cluster-signing-key-file={p.ca_key}",
            f"--service-cluster-ip-range={network.SERVICE_CIDR}",
            "--allocate-node-cidrs=false", "--controllers=*,-bootstrapsigner,-tokencleaner",
            "--kube-api-qps=100", "--kube-api-burst=200", "--v=1",
        ], env=CONTROL_PLANE_ENV)

    def _start_scheduler(self) -> None:
        sc = str(self.paths.component_kubeconfig("scheduler"))
        self.procs.start("kube-scheduler", [
            self.tool("hyperkube"), "kube-scheduler",
            f"--kubeconfig={sc}", f"--authentication-kubeconfig={sc}",
            f"--authorization-kubeconfig={sc}", "--bind-address=127.0.0.1",
            # The default client budget (50 req/s) caps bindings at 3,000 Pods a minute.
            "--kube-api-qps=200", "--kube-api-burst=400",
            "--leader-elect=false", "--v=1",
        ], env=CONTROL_PLANE_ENV)

    # ------------------------------------------------------------------ node
    def containerd_config(self) -> str:
        paths = self.paths
        from kubeline.dev import images

        return f"""version = 2
root = "{paths.containerd_root}"
state = "{paths.containerd_state}"

[grpc]
  address = "{paths.containerd_socket}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{images.PAUSE_IMAGE}"
  # Without CAP_SYS_RESOURCE (as in these VMs) no process may lower its
  # oom_score_adj: clamp containers' values to containerd's own.
  restrict_oom_score_adj = {"true" if _restricted_oom_adj() else "false"}
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{network.cni_bin_dir()}"
    conf_dir = "{paths.cni_conf_dir}"
"""

    def ctr(self, *args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
        result = subprocess.run(
            ["ctr", "--address", str(self.paths.containerd_socket), "-n", "k8s.io", *args],
            capture_output=True, **kw,
        )
        if check and result.returncode != 0:
            err = result.stderr if isinstance(result.stderr, str) else result.stderr.decode()
            raise RuntimeError(f"ctr {' '.join(args[:3])} failed: {err.strip()}")
        return result

    def _start_containerd(self) -> None:
        self.paths.config.mkdir(parents=True, exist_ok=True)
        conf = self.paths.config / "containerd.toml"
        conf.write_text(self.containerd_config())
        self.procs.start("containerd", ["containerd", "--config", str(conf)])

    def _start_kube_proxy(self) -> None:
        self.procs.start("kube-proxy", [
            self.tool("hyperkube"), "kube-proxy",
            f"--kubeconfig={self.paths.component_kubeconfig('kube-proxy')}",
            f"--hostname-override={NODE_NAME}", f"--cluster-cidr={network.POD_CIDR}",
            "--proxy-mode=iptables", "--conntrack-max-per-core=0", "--nodeport-addresses=primary",
            f"--oom-score-adj={0 if _restricted_oom_adj() else -999}",
            "--metrics-bind-address=127.0.0.1:10249", "--healthz-bind-address=127.0.0.1:10256",
            "--v=1",
        ])

    def kubelet_config(self) -> str:
        p = self.pki
        resolv = self.paths.config / "pod-resolv.conf"
        # Pods get no resolver that could send queries off this machine.
        resolv.write_text("nameserver 127.0.0.1\noptions ndots:1 timeout:1 attempts:1\n")
        return f"""apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {{enabled: false}}
  webhook: {{enabled: true}}
  x509: {{clientCAFile: "{p.ca_cert}"}}
authorization: {{mode: Webhook}}
cgroupDriver: cgroupfs
containerRuntimeEndpoint: "unix://{self.paths.containerd_socket}"
failSwapOn: false
failCgroupV1: false
tlsCertFile: "{p.cert('kubelet')}"
tlsPrivateKeyFile: "{p.key('kubelet')}"
resolvConf: "{resolv}"
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "1%"
  imagefs.available: "1%"
  nodefs.inodesFree: "1%"
oomScoreAdj: {-999 if not _restricted_oom_adj() else 0}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
maxPods: 250
kubeAPIQPS: 100
kubeAPIBurst: 200
registerNode: true
"""

    def _start_kubelet(self, st: ClusterState) -> None:
        conf = self.paths.config / "kubelet.yaml"
        conf.write_text(self.kubelet_config())
        self.paths.kubelet_root.mkdir(parents=True, exist_ok=True)
        self.procs.start("kubelet", [
            self.tool("hyperkube"), "kubelet", f"--config={conf}",
            f"--kubeconfig={self.paths.component_kubeconfig('kubelet')}",
            f"--root-dir={self.paths.kubelet_root}", f"--node-ip={st.node_ip}",
            f"--hostname-override={NODE_NAME}", "--v=1",
        ])

    def node_ready(self) -> bool:
        """Whether the node reports Ready (False when the API server does not answer)."""
        status, node = self.api("GET", f"/api/v1/nodes/{NODE_NAME}")
        if status != 200:
            return False
        return health.node_problem(node, None) is None

    # ------------------------------------------------------------------ S3
    def _start_s3(self, st: ClusterState) -> None:
        self.paths.s3_data.mkdir(parents=True, exist_ok=True)
        (self.paths.s3_data / st.s3_bucket).mkdir(exist_ok=True)
        self.paths.s3_iam.mkdir(parents=True, exist_ok=True)
        argv = [self.tool("versitygw"), "--port", f"{st.node_ip}:{S3_PORT}",
                "--iam-dir", str(self.paths.s3_iam), "posix", str(self.paths.s3_data)]
        recorded = self.procs.recorded_argv("versitygw")
        if self.procs.get("versitygw") and recorded is not None and recorded != argv:
            # Started by an older ``up`` (e.g. without accounts, --iam-dir): restart it.
            self.log("versitygw runs with other arguments: restarting it")
            self.procs.stop("versitygw")
        self.procs.start(
            "versitygw", argv,
            env={"ROOT_ACCESS_KEY": st.s3_access_key, "ROOT_SECRET_KEY": st.s3_secret_key},
        )

    def namespace_s3(self, namespace: str, bucket: str = S3_NAMESPACE_BUCKET
                     ) -> dict[str, str]:
        """Give ``namespace`` its own S3 account and bucket, and put those credentials (only
        those) in its ``kubeline-s3`` Secret; returns the Secret's data."""
        from kubeline.resources.names import S3_SECRET as NAMESPACE_SECRET

        settings = ensure_namespace_identity(self.state().s3_admin(), namespace, bucket)
        args = [f"--from-literal={k}={v}" for k, v in settings.items()]
        manifest = self.kubectl("create", "secret", "generic", NAMESPACE_SECRET, "-n",
                                namespace, *args, "--dry-run=client", "-o", "yaml").stdout
        self.kubectl("apply", "-f", "-", input=manifest)
        return settings

    def _ensure_s3_secret(self, st: ClusterState, namespace: str = S3_SECRET_NAMESPACE) -> None:
        args = [f"--from-literal={k}={v}" for k, v in st.s3_settings().items()]
        manifest = self.kubectl("create", "secret", "generic", S3_SECRET, "-n", namespace,
                                *args, "--dry-run=client", "-o", "yaml").stdout
        self.kubectl("apply", "-f", "-", input=manifest)
        env = self.paths.home / "s3.env"
        env.write_text(
            f"KUBELINE_S3_ENDPOINT={st.s3_endpoint}\nKUBELINE_S3_BUCKET={st.s3_bucket}\n"
            f"KUBELINE_S3_REGION=us-east-1\nAWS_ACCESS_KEY_ID={st.s3_access_key}\n"
            f"AWS_SECRET_ACCESS_KEY={st.s3_secret_key}\n"
        )
        env.chmod(0o600)

    def write_shims(self) -> Path:
        """``<home>/bin`` with ``kubectl`` (v1.34, this build) and ``helm``, for PATH."""
        bin_dir = self.paths.home / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        kubectl = bin_dir / "kubectl"
        kubectl.write_text(f'#!/bin/sh\nexec "{self.tool("hyperkube")}" kubectl "$@"\n')
        kubectl.chmod(0o755)
        helm = bin_dir / "helm"
        helm.unlink(missing_ok=True)
        helm.symlink_to(self.tool("helm"))
        return bin_dir

    # ------------------------------------------------------------------ down
    def down(self) -> list[str]:
        """Stop everything ``up`` started and remove what it created; returns what was stopped."""
        with self.control():
            return self._down()

    def _down(self) -> list[str]:
        stopped: list[str] = []
        if self.procs.stop(SUPERVISOR, timeout=10):
            stopped.append(SUPERVISOR)
        # Let the kubelet tear pods down properly (CNI DEL, unmounts) while it still runs.
        if self.procs.get("kube-apiserver") and self.procs.get("kubelet"):
            for name in ("kube-controller-manager", "kube-scheduler"):
                if self.procs.stop(name):
                    stopped.append(name)
            self.kubectl("delete", "pods", "--all", "--all-namespaces", "--grace-period=1",
                         "--wait=false", check=False)
            try:
                wait_for("pods to stop", self._no_running_containers, 60, interval=0.5)
            except TimeoutError:
                self.log("some containers did not stop in 60s; killing them")
        netns = self._sandbox_netns()
        for name in reversed(COMPONENTS):
            if name == "containerd":
                self._kill_containers()
            if self.procs.stop(name, timeout=20):
                stopped.append(name)
        self._kill_shims()
        st = self.state() if self.paths.state_file.exists() else None
        if shutil.which("iptables") and gobuild.bin_dir().joinpath("hyperkube").exists():
            subprocess.run([str(gobuild.bin_dir() / "hyperkube"), "kube-proxy", "--cleanup"],
                           capture_output=True)
        self._unmount_all()
        network.remove_leftover_netns(netns)
        network.remove_bridge()
        if st:
            network.remove_guards(network.HostNetwork(st.node_ip, st.iface))
        return stopped

    def _no_running_containers(self) -> bool:
        out = self.ctr("tasks", "ls", "-q", check=False, text=True)
        return out.returncode != 0 or not out.stdout.split()

    def _sandbox_netns(self) -> set[str]:
        """Names of the network namespaces of this cluster's pod sandboxes."""
        names: set[str] = set()
        if not self.procs.get("containerd"):
            return names
        out = self.ctr("containers", "ls", "-q", check=False, text=True)
        for cid in out.stdout.split():
            info = self.ctr("containers", "info", cid, check=False, text=True)
            try:
                spec = json.loads(info.stdout).get("Spec", {})
            except ValueError:
                continue
            for ns in spec.get("linux", {}).get("namespaces", []):
                path = ns.get("path", "")
                if ns.get("type") == "network" and path.startswith("/var/run/netns/"):
                    names.add(Path(path).name)
        return names

    def _kill_containers(self) -> None:
        if not self.procs.get("containerd"):
            return
        out = self.ctr("tasks", "ls", "-q", check=False, text=True)
        for cid in out.stdout.split():
            self.ctr("tasks", "kill", "-s", "SIGKILL", cid, check=False)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not self._no_running_containers():
            time.sleep(0.2)
        for cid in self.ctr("tasks", "ls", "-q", check=False, text=True).stdout.split():
            self.ctr("tasks", "delete", "-f", cid, check=False)

    def _kill_shims(self) -> None:
        """Kill containerd shims (and their containers) that serve our containerd socket."""
        sock = str(self.paths.containerd_socket)
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                cmd = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmd and cmd[0].endswith(b"containerd-shim-runc-v2") and \
                    sock.encode() in b" ".join(cmd):
                _kill_tree(int(proc.name))

    def _unmount_all(self) -> None:
        """Unmount everything mounted under the state directory, deepest first."""
        home = str(self.paths.home.resolve())
        for _ in range(3):
            mounts = [line.split()[1].replace("\\040", " ")
                      for line in Path("/proc/mounts").read_text().splitlines()]
            ours = sorted({m for m in mounts if m == home or m.startswith(home + "/")},
                          key=len, reverse=True)
            if not ours:
                return
            for m in ours:
                if subprocess.run(["umount", m], capture_output=True).returncode != 0:
                    subprocess.run(["umount", "-l", m], capture_output=True)

    # ------------------------------------------------------------------ status
    def component_health(self, name: str, st: ClusterState | None = None,
                         restarts: int = 0) -> ComponentHealth:
        """``ready`` / ``running`` (with why not ready) / ``crashed`` (with its last error
        line) / ``stopped``."""
        log = str(self.procs.log_file(name))
        proc = self.procs.get(name)
        if proc:
            if name == SUPERVISOR:
                reason = None
            elif st is None and not self.paths.state_file.exists():
                reason = "no cluster state (cluster.json): not started by up"
            else:
                reason = health.run_probe(self.probe(name, st))
            return ComponentHealth(name, health.RUNNING if reason else health.READY, proc.pid,
                                   reason or "", restarts, log)
        if self.procs.crashed(name):
            tail = self.procs.tail(name, 200)
            err = health.last_error_line(tail) or (tail.splitlines() or ["(empty log)"])[-1]
            return ComponentHealth(name, health.CRASHED, None, err, restarts, log)
        return ComponentHealth(name, health.STOPPED, None, "", restarts, log)

    def status(self) -> dict[str, Any]:
        """Each component's health, the supervisor's restarts, the endpoints, node readiness."""
        st = self.state() if self.paths.state_file.exists() else None
        counts = restart_counts(self.paths)
        comps = [self.component_health(name, st, counts.get(name, 0))
                 for name in (*COMPONENTS, SUPERVISOR)]
        info: dict[str, Any] = {
            "home": str(self.paths.home),
            "components": [asdict(c) for c in comps],
            "processes": {c.name: c.pid for c in comps},
            "restartEvents": read_events(self.paths)[-5:],
        }
        if st:
            info.update(server=st.server, s3=st.s3_endpoint, kubeconfig=str(self.paths.kubeconfig))
            if info["processes"]["kube-apiserver"]:
                info["node"] = health.run_probe(self.node_probe()) or "Ready"
        return info

    def health_problem(self) -> str | None:
        """Why the running cluster cannot serve tests (None when it can): a component that
        is not running, or a node that is not Ready or whose kubelet stopped renewing."""
        for name in COMPONENTS:
            if not self.procs.get(name):
                h = self.component_health(name)
                detail = f": {h.detail}" if h.detail else ""
                return f"{name} is {h.state}{detail} (log: {h.log})"
        return health.run_probe(self.node_probe())


def _kill_tree(pid: int) -> None:
    import signal

    children = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            children += [int(c) for c in (task / "children").read_text().split()]
    for child in children:
        _kill_tree(child)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _restricted_oom_adj() -> bool:
    """True when this process lacks CAP_SYS_RESOURCE, so negative oom_score_adj is refused."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return not (int(line.split()[1], 16) >> 24) & 1
    return False


def _loopback_tls() -> ssl.SSLContext:
    """TLS for the controllers' self-signed /healthz on loopback (nothing secret is read)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _message(body: Any) -> str:
    return body.get("message", "") if isinstance(body, dict) else str(body)[:200]


def _pod_problem(pod: dict[str, Any]) -> str | None:
    """Why a Pod is not Ready yet (None once it is): its phase and containers' reasons."""
    status = pod.get("status", {})
    conds = {c.get("type"): c.get("status") for c in status.get("conditions", [])}
    if conds.get("Ready") == "True":
        return None
    why = [f"phase {status.get('phase', 'unknown')}"]
    for cs in status.get("containerStatuses", []):
        for key in ("waiting", "terminated"):
            st = cs.get("state", {}).get(key)
            if st:
                why.append(f"{cs.get('name')} {key}: {st.get('reason', '')} "
                           f"{st.get('message', '')}".strip())
    sched = [c for c in status.get("conditions", []) if c.get("type") == "PodScheduled"
             and c.get("status") != "True"]
    why += [f"unschedulable: {c.get('message', '')}" for c in sched]
    return "probe Pod not Ready: " + "; ".join(why)
