"""Certificates and keys of the local cluster, made with the ``openssl`` command.

One CA signs the API server's serving certificate and a client certificate per
component; a separate key pair signs ServiceAccount tokens. Existing files are
kept, so ``up`` after ``down`` reuses them and kubeconfigs stay valid.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

# (file stem, common name, organization) of each client certificate.
CLIENTS: dict[str, tuple[str, str | None]] = {
    "admin": ("kubeline-admin", "system:masters"),
    "controller-manager": ("system:kube-controller-manager", None),
    "scheduler": ("system:kube-scheduler", None),
    "kube-proxy": ("system:kube-proxy", None),
    "apiserver-kubelet-client": ("kube-apiserver-kubelet-client", "system:masters"),
}


def _openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args[:2])} failed: {result.stderr.strip()}")


@dataclass(frozen=True)
class Pki:
    """Paths of the cluster's certificates."""

    dir: Path

    @property
    def ca_cert(self) -> Path:
        return self.dir / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.dir / "ca.key"

    @property
    def sa_key(self) -> Path:
        return self.dir / "sa.key"

    @property
    def sa_pub(self) -> Path:
        return self.dir / "sa.pub"

    def cert(self, stem: str) -> Path:
        return self.dir / f"{stem}.crt"

    def key(self, stem: str) -> Path:
        return self.dir / f"{stem}.key"

    def ensure(self, node_name: str, node_ip: str, service_ip: str) -> None:
        """Create whatever is missing (idempotent)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        d = self.dir
        if not self.ca_cert.exists():
            _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
                     "-out", "ca.crt", "-days", "3650", "-subj", "/CN=kubeline-dev-ca", cwd=d)
        if not self.sa_key.exists():
            _openssl("genrsa", "-out", "sa.key", "2048", cwd=d)
            _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=d)
        sans = ",".join([
            "DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
            "DNS:kubernetes.default.svc.cluster.local", "DNS:localhost", f"DNS:{node_name}",
            f"IP:{node_ip}", f"IP:{service_ip}", "IP:127.0.0.1",
        ])
        self._issue("apiserver", "kube-apiserver", None, sans, server=True)
        for stem, (cn, org) in CLIENTS.items():
            self._issue(stem, cn, org, None, server=False)
        self._issue("kubelet", f"system:node:{node_name}", "system:nodes",
                    f"DNS:{node_name},IP:{node_ip},IP:127.0.0.1", server=True)

    def _issue(self, stem: str, cn: str, org: str | None, sans: str | None, server: bool) -> None:
        if self.cert(stem).exists() and self.key(stem).exists():
            return
        d = self.dir
        subj = f"/CN={cn}" + (f"/O={org}" if org else "")
        usage = "serverAuth,clientAuth" if server else "clientAuth"
        ext = d / f"{stem}.ext"
        ext.write_text(
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
            f"extendedKeyUsage={usage}\n" + (f"subjectAltName={sans}\n" if sans else "")
        )
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{stem}.key",
                 "-out", f"{stem}.csr", "-subj", subj, cwd=d)
        _openssl("x509", "-req", "-in", f"{stem}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{stem}.crt", "-days", "3650",
                 "-extfile", ext.name, cwd=d)
        (d / f"{stem}.csr").unlink()
        ext.unlink()


def kubeconfig(server: str, pki: Pki, stem: str, user: str) -> str:
    """A kubeconfig using client certificate ``stem``; paths are absolute."""
    return f"""apiVersion: v1
kind: Config
clusters:
- name: kubeline-dev
  cluster:
    server: {server}
    certificate-authority: {pki.ca_cert}
users:
- name: {user}
  user:
    client-certificate: {pki.cert(stem)}
    client-key: {pki.key(stem)}
contexts:
- name: kubeline-dev
  context:
    cluster: kubeline-dev
    user: {user}
    namespace: default
current-context: kubeline-dev
"""
