"""Pod networking of the local cluster: a CNI bridge, and guards that keep traffic local.

Pods get addresses on a bridge from ``POD_CIDR``; they reach the API server
(through kube-proxy's rewrite of the ``kubernetes`` Service IP) and S3 on the
node's own address. Guard rules reject anything from the pod network, or to
the Service range, that would leave through the default-route interface, so a
missing rule fails loudly here instead of sending packets off the machine.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

BRIDGE = "kubeline0"
POD_CIDR = "10.244.0.0/16"
NODE_POD_RANGE = "10.244.0.0/24"
SERVICE_CIDR = "10.96.0.0/16"
SERVICE_IP = "10.96.0.1"
GUARD_COMMENT = "kubeline-dev-guard"
CNI_BIN_DIRS = ("/usr/lib/cni", "/opt/cni/bin")


@dataclass(frozen=True)
class HostNetwork:
    """The node's address and the interface of its default route."""

    ip: str
    iface: str


def detect_host_network() -> HostNetwork:
    """The default route's interface and its IPv4 address (the node IP)."""
    routes = json.loads(_ip("-j", "-4", "route", "show", "default") or "[]")
    if not routes:
        raise RuntimeError("no default IPv4 route: cannot choose the node's address")
    iface = routes[0]["dev"]
    addrs = json.loads(_ip("-j", "-4", "addr", "show", "dev", iface))
    for info in addrs[0].get("addr_info", []):
        if info.get("family") == "inet":
            return HostNetwork(ip=info["local"], iface=iface)
    raise RuntimeError(f"interface {iface} has no IPv4 address")


def cni_bin_dir() -> str:
    for d in CNI_BIN_DIRS:
        if Path(d, "bridge").exists():
            return d
    raise FileNotFoundError(
        "CNI plugins not found in /usr/lib/cni or /opt/cni/bin: "
        "apt-get install containernetworking-plugins"
    )


def write_cni_config(conf_dir: Path, ipam_dir: Path) -> Path:
    """Write the bridge + host-local + portmap conflist (idempotent)."""
    conf_dir.mkdir(parents=True, exist_ok=True)
    conf = {
        "cniVersion": "1.0.0",
        "name": "kubeline",
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "dataDir": str(ipam_dir),
                    "ranges": [[{"subnet": NODE_POD_RANGE}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
    path = conf_dir / "10-kubeline.conflist"
    path.write_text(json.dumps(conf, indent=2))
    return path


def guard_rules(host: HostNetwork) -> list[list[str]]:
    """iptables rule specs (chain first) that keep pod and Service traffic on this machine."""
    tag = ["-m", "comment", "--comment", GUARD_COMMENT, "-j", "REJECT"]
    return [
        ["FORWARD", "-s", POD_CIDR, "-o", host.iface, *tag],
        ["OUTPUT", "-d", SERVICE_CIDR, "-o", host.iface, *tag],
        ["FORWARD", "-d", SERVICE_CIDR, "-o", host.iface, *tag],
    ]


def ensure_guards(host: HostNetwork) -> None:
    """Insert the guard rules at the top of their chains, once each."""
    for rule in guard_rules(host):
        chain, spec = rule[0], rule[1:]
        if subprocess.run(["iptables", "-C", chain, *spec], capture_output=True).returncode != 0:
            _run(["iptables", "-I", chain, "1", *spec])


def remove_guards(host: HostNetwork) -> None:
    for rule in guard_rules(host):
        chain, spec = rule[0], rule[1:]
        while subprocess.run(["iptables", "-D", chain, *spec], capture_output=True).returncode == 0:
            pass


def enable_forwarding() -> None:
    Path("/proc/sys/net/ipv4/ip_forward").write_text("1\n")
    nf = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
    if nf.exists():
        nf.write_text("1\n")


def remove_bridge() -> None:
    if subprocess.run(["ip", "link", "show", BRIDGE], capture_output=True).returncode == 0:
        _run(["ip", "link", "delete", BRIDGE])


def remove_leftover_netns(known: set[str]) -> list[str]:
    """Delete network namespaces named in ``known`` that still exist (pods' sandboxes)."""
    removed = []
    for name in sorted(known):
        if Path("/var/run/netns", name).exists():
            subprocess.run(["ip", "netns", "delete", name], capture_output=True)
            removed.append(name)
    return removed


def _ip(*args: str) -> str:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=True).stdout


def _run(cmd: list[str]) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {result.stderr.strip()}")
