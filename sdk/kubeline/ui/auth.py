"""Whose rights a UI request uses: the user's token, the UI's ServiceAccount, or the kubeconfig.

- ``client`` (the in-cluster default, as Argo's ``--auth-mode=client``): every request
  carries the user's bearer token (``Authorization`` header, or the ``kubeline-token``
  cookie the login form sets), and the UI forwards it to the API server. The server keeps
  no token and has no rights of its own.
- ``server`` (opt-in, read-only): the UI's own ServiceAccount, for a team that gives
  every viewer the same read rights.
- ``local`` (``kubeline ui``): the kubeconfig's current credentials.

A refusal by the API server is never retried with other credentials.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kubeline.errors import ConfigurationError, UnauthenticatedError
from kubeline.resources.names import ENV_NAMESPACE, ENV_UI_CA_FILE

if TYPE_CHECKING:
    from kubeline.client import Client

MODES = ("client", "server", "local")
TOKEN_COOKIE = "kubeline-token"
_SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
_FORBIDDEN = re.compile(
    r'(?:User "(?P<user>[^"]*)" )?cannot (?P<verb>\S+) resource "(?P<resource>[^"]+)"'
    r'(?: in API group "(?P<group>[^"]*)")?(?: in the namespace "(?P<namespace>[^"]*)")?'
)


def forbidden_details(message: str) -> dict[str, str | None]:
    """Verb, resource, group, namespace and user from the API server's 403 message."""
    m = _FORBIDDEN.search(message)
    if not m:
        return {"verb": None, "resource": None, "group": None, "namespace": None, "user": None}
    return m.groupdict()


def bearer_token(headers: Any, cookies: dict[str, str]) -> str | None:
    """The user's token: ``Authorization: Bearer`` first, else the login cookie."""
    auth = headers.get("authorization") or ""
    if auth.lower().startswith("bearer "):
        token = auth[7:].strip()
        return token or None
    return cookies.get(TOKEN_COOKIE) or None


@dataclass
class Connector:
    """Makes the Client one request uses.

    ``host``/``ca_file`` locate the API server for ``client`` mode (in a Pod: the
    in-cluster address and CA; locally: the kubeconfig's cluster, without its user).
    """

    mode: str
    namespace: str
    host: str | None = None
    ca_file: str | None = None
    verify_ssl: bool = True
    context: str | None = None

    @property
    def read_only(self) -> bool:
        """``server`` mode never changes anything (its ServiceAccount only reads)."""
        return self.mode == "server"

    @classmethod
    def create(cls, mode: str, namespace: str | None = None,
               context: str | None = None) -> Connector:
        if mode not in MODES:
            raise ConfigurationError(f"auth mode {mode!r}: use one of {', '.join(MODES)}")
        if mode == "client":
            host, ca, verify, default_ns = _cluster_location(context)
            return cls(mode, namespace or default_ns, host=host, ca_file=ca, verify_ssl=verify,
                       context=context)
        from kubeline.client.client import connect_shared

        kube = connect_shared(namespace, context)
        return cls(mode, kube.namespace, context=context)

    def client(self, token: str | None, namespace: str | None = None) -> Client:
        """A Client for one request, in ``namespace`` (default: the UI's)."""
        from kubeline.client import Client
        from kubeline.kube import Kube

        ns = namespace or self.namespace
        if self.mode != "client":
            from kubeline.client.client import connect_shared

            shared = connect_shared(None, self.context)
            return Client(kube=Kube(namespace=ns, api_client=shared.api_client))
        if not token:
            raise UnauthenticatedError(
                "no token: sign in with a Kubernetes bearer token (e.g. `kubectl create token "
                "<serviceaccount>`) or send an Authorization: Bearer header")
        from kubernetes import client as k8s

        cfg = k8s.Configuration()
        cfg.host = self.host or cfg.host
        cfg.ssl_ca_cert = self.ca_file
        cfg.verify_ssl = self.verify_ssl
        cfg.api_key = {"authorization": token}
        cfg.api_key_prefix = {"authorization": "Bearer"}
        cfg.retries = 1
        return Client(kube=Kube(namespace=ns, api_client=k8s.ApiClient(cfg)))

    def release(self, client: Client) -> None:
        """Close a per-request connection (``client`` mode); shared ones stay open."""
        if self.mode == "client" and client._kube is not None:
            client._kube.api_client.close()


def _cluster_location(context: str | None) -> tuple[str, str | None, bool, str]:
    """API server URL, CA file, TLS verification and default namespace, without credentials."""
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    # In a Pod the chart mounts only the cluster's CA (ENV_UI_CA_FILE), not a token.
    ca = os.environ.get(ENV_UI_CA_FILE) or f"{_SA_DIR}/ca.crt"
    if host and os.path.exists(ca):
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        ns = os.environ.get(ENV_NAMESPACE) or "default"
        return f"https://{host}:{port}", ca, True, ns
    from kubernetes import client as k8s
    from kubernetes import config

    cfg = k8s.Configuration()
    kubeconfig = os.environ.get("KUBECONFIG") or None
    try:
        config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=cfg)
        _, active = config.list_kube_config_contexts(config_file=kubeconfig)
    except config.ConfigException as exc:
        raise ConfigurationError(
            f"client auth mode needs the API server's address: run in a Pod or set KUBECONFIG "
            f"({exc})") from None
    ns = os.environ.get(ENV_NAMESPACE) or (active or {}).get("context", {}).get(
        "namespace") or "default"
    return cfg.host, cfg.ssl_ca_cert, bool(cfg.verify_ssl), ns
