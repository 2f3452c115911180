"""Where the local cluster keeps its state, caches and binaries."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def cache_root() -> Path:
    """Build caches (Go modules, binaries, images): ``~/.cache/kubeline`` or ``KUBELINE_CACHE``."""
    return Path(os.environ.get("KUBELINE_CACHE") or Path.home() / ".cache" / "kubeline")


def dev_home() -> Path:
    """Cluster state: ``~/.cache/kubeline/dev`` or ``KUBELINE_DEV_HOME``."""
    return Path(os.environ.get("KUBELINE_DEV_HOME") or cache_root() / "dev")


@dataclass(frozen=True)
class DevPaths:
    """All paths of one local cluster, derived from its home directory."""

    home: Path

    @classmethod
    def default(cls) -> DevPaths:
        return cls(dev_home())

    @property
    def pki(self) -> Path:
        return self.home / "pki"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def pids(self) -> Path:
        return self.home / "pids"

    @property
    def etcd_data(self) -> Path:
        return self.home / "etcd"

    @property
    def kubelet_root(self) -> Path:
        return self.home / "kubelet"

    @property
    def containerd_root(self) -> Path:
        return self.home / "containerd" / "root"

    @property
    def containerd_state(self) -> Path:
        return self.home / "containerd" / "state"

    @property
    def containerd_socket(self) -> Path:
        return self.home / "containerd" / "containerd.sock"

    @property
    def cni_conf_dir(self) -> Path:
        return self.home / "cni" / "net.d"

    @property
    def cni_ipam_dir(self) -> Path:
        return self.home / "cni" / "ipam"

    @property
    def s3_data(self) -> Path:
        return self.home / "s3"

    @property
    def s3_iam(self) -> Path:
        """versitygw's accounts (outside ``s3_data``, whose folders are buckets)."""
        return self.home / "s3-iam"

    @property
    def config(self) -> Path:
        return self.home / "config"

    @property
    def kubeconfig(self) -> Path:
        return self.home / "kubeconfig"

    @property
    def state_file(self) -> Path:
        return self.home / "cluster.json"

    def component_kubeconfig(self, component: str) -> Path:
        return self.config / f"{component}.kubeconfig"
