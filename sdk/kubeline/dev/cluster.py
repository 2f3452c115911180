"""``kubeline dev up/down/status``: a real single-node Kubernetes on this machine.

Upstream components built from their Go modules (``gobuild``) run as plain
processes: etcd, kube-apiserver (HTTPS, RBAC), kube-controller-manager,
kube-scheduler, containerd + runc, a CNI bridge, kube-proxy and a kubelet; a
versitygw S3 server listens on the node's address. Every process is tracked by
a PID file under the state directory, so ``down`` stops exactly what ``up``
started, and ``up`` recovers after an unclean stop.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from kubeline.dev import gobuild, network
from kubeline.dev.paths import DevPaths
from kubeline.dev.pki import Pki, kubeconfig
from kubeline.dev.procs import ProcessTable, wait_for

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

# Start order; ``down`` stops in reverse.
COMPONENTS = (
    "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
    "containerd", "kube-proxy", "kubelet", "versitygw",
)

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


class DevCluster:
    """The local cluster rooted at ``paths.home``."""

    def __init__(self, paths: DevPaths | None = None, log: Log = print) -> None:
        self.paths = paths or DevPaths.default()
        self.procs = ProcessTable(self.paths.pids, self.paths.logs)
        self.pki = Pki(self.paths.pki)
        self.log = log

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
        return str(gobuild.tool_path(name, log=self.log))

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
        """Start (or complete) the cluster; idempotent."""
        t0 = time.monotonic()
        self.check_prerequisites()
        st = self.state()
        self.log(f"node {NODE_NAME} at {st.node_ip} (state in {self.paths.home})")
        for name in ("hyperkube", "etcd", "pause", "versitygw", "helm"):
            self.tool(name)
        self.pki.ensure(NODE_NAME, st.node_ip, network.SERVICE_IP)
        self._write_kubeconfigs(st)
        network.enable_forwarding()
        network.ensure_guards(network.HostNetwork(st.node_ip, st.iface))
        network.write_cni_config(self.paths.cni_conf_dir, self.paths.cni_ipam_dir)

        self._start_etcd()
        self._start_apiserver(st)
        self._wait_http("kube-apiserver", f"{st.server}/readyz", timeout)
        self._start_controllers()
        self._start_containerd()
        from kubeline.dev import images

        images.ensure_pause_image(self, log=self.log)
        self._start_kube_proxy()
        self._start_kubelet(st)
        self._start_s3(st)
        self._wait_node_ready(timeout)
        self._ensure_s3_secret(st)
        self.write_shims()
        self.log(f"cluster ready in {time.monotonic() - t0:.1f}s")
        return st

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

    def _alive(self, *names: str) -> Callable[[], str | None]:
        def check() -> str | None:
            for name in names:
                if not self.procs.get(name):
                    return f"{name} exited; last log lines:\n{self.procs.tail(name)}"
            return None
        return check

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
        wait_for("etcd", lambda: _http_ok(f"http://127.0.0.1:{ETCD_CLIENT_PORT}/health"), 60,
                 alive=self._alive("etcd"))

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

    def _wait_http(self, name: str, url: str, timeout: float) -> None:
        ctx = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        ctx.load_cert_chain(str(self.pki.cert("admin")), str(self.pki.key("admin")))
        wait_for(name, lambda: _http_ok(url, ctx), timeout, alive=self._alive(name))

    def _start_controllers(self) -> None:
        p, c = self.pki, self.paths.component_kubeconfig
        cm = str(c("controller-manager"))
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
        sc = str(c("scheduler"))
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
        wait_for("containerd", lambda: self.ctr("version").returncode == 0, 60,
                 alive=self._alive("containerd"))

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
        out = self.kubectl("get", "node", NODE_NAME, "-o",
                           "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
                           check=False)
        return out.stdout.strip() == "True"

    def _wait_node_ready(self, timeout: float) -> None:
        self.log("waiting for the node to be Ready ...")
        wait_for("node Ready", self.node_ready, timeout, interval=0.5,
                 alive=self._alive("kubelet", "containerd", "kube-apiserver"))

    # ------------------------------------------------------------------ S3
    def _start_s3(self, st: ClusterState) -> None:
        self.paths.s3_data.mkdir(parents=True, exist_ok=True)
        (self.paths.s3_data / st.s3_bucket).mkdir(exist_ok=True)
        self.procs.start(
            "versitygw",
            [self.tool("versitygw"), "--port", f"{st.node_ip}:{S3_PORT}",
             "posix", str(self.paths.s3_data)],
            env={"ROOT_ACCESS_KEY": st.s3_access_key, "ROOT_SECRET_KEY": st.s3_secret_key},
        )
        wait_for("S3 server", lambda: _port_open(st.node_ip, S3_PORT), 30,
                 alive=self._alive("versitygw"))

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
        stopped: list[str] = []
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
    def status(self) -> dict[str, object]:
        procs = {name: (p.pid if (p := self.procs.get(name)) else None) for name in COMPONENTS}
        info: dict[str, object] = {"home": str(self.paths.home), "processes": procs}
        if self.paths.state_file.exists():
            st = self.state()
            info.update(server=st.server, s3=st.s3_endpoint, kubeconfig=str(self.paths.kubeconfig))
            if procs["kube-apiserver"]:
                info["nodeReady"] = self.node_ready()
        return info


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


def _http_ok(url: str, ctx: ssl.SSLContext | None = None) -> bool:
    with urllib.request.urlopen(url, timeout=2, context=ctx) as resp:
        return resp.status == 200


def _port_open(host: str, port: int) -> bool:
    with socket.create_connection((host, port), timeout=1):
        return True
