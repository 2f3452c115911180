"""Rate-limited, counted Kubernetes API calls for the operator (thin I/O).

Plain asynchronous HTTP (aiohttp, which kopf already uses) on the kopf event
loop: no thread pool, no request/response model objects. The official client
only reads the credentials (in-cluster ServiceAccount or ``KUBECONFIG``), so
every auth method it supports works here too. Each call first takes a token
from the client-side bucket (``KUBELINE_API_QPS``).

Transient failures are retried with jittered exponential backoff, bounded in time
(:class:`RetryPolicy`): 429 (after its ``Retry-After``), 5xx and connection errors.
A create (POST) is retried only when the server cannot have acted on it (429, or
the connection never opened): a repeated create would make a second object
(``generateName``) or answer 409 to our own first one (which callers read as a
name someone else took). Each retry calls ``on_retry(reason)`` (the operator
counts them in ``/metrics``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import random
import ssl
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import aiohttp
from kubeline.resources.names import EVENT_REPORTING_COMPONENT, GROUP, VERSION

from kubeline_operator.ratelimit import TokenBucket

MERGE_PATCH = "application/merge-patch+json"
TIMEOUT_SECONDS = 30


class ApiError(Exception):
    """An API request failed with an HTTP status (``status``) and the server's message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


class Conflict(ApiError):
    """HTTP 409: the object changed (resourceVersion mismatch) or already exists."""


class Gone(ApiError):
    """HTTP 404: the object does not exist."""


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often a failed request is tried again."""

    max_seconds: float = 60.0  # no retry starts later than this after the first try
    base_seconds: float = 0.2  # the first backoff's upper bound; doubles each retry
    cap_seconds: float = 10.0  # largest backoff (and largest Retry-After honoured)


#: Retry reasons (the ``reason`` label of kubeline_api_retries_total).
RETRY_THROTTLED, RETRY_SERVER, RETRY_CONNECTION = "throttled", "server_error", "connection"


def backoff_seconds(attempt: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
    return rng.uniform(0, min(policy.cap_seconds, policy.base_seconds * 2 ** attempt))


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def _error(status: int, body: bytes, reason: str) -> ApiError:
    message = reason
    with contextlib.suppress(ValueError, AttributeError):
        message = json.loads(body).get("message") or reason
    cls = Conflict if status == 409 else Gone if status == 404 else ApiError
    return cls(status, message)


def _credentials() -> Any:
    """The official client's Configuration: in-cluster, else ``KUBECONFIG``/~/.kube/config."""
    from kubernetes import client, config

    cfg = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=cfg)
    except config.ConfigException:
        config.load_kube_config(config_file=os.environ.get("KUBECONFIG") or None,
                                client_configuration=cfg)
    return cfg


def auth_headers(cfg: Any) -> dict[str, str]:
    """The Authorization header the official client would send (a token from the
    ServiceAccount, kubeconfig or an exec plugin; re-read when rotated). Client
    certificates need no header."""
    out = {}
    for setting in cfg.auth_settings().values():  # runs the token refresh hook
        if setting.get("in") == "header" and setting.get("value"):
            out[str(setting["key"]).title()] = str(setting["value"])
    return out


def _ssl_context(cfg: Any) -> ssl.SSLContext | bool:
    if not cfg.host.startswith("https"):
        return False
    ctx = ssl.create_default_context(cafile=cfg.ssl_ca_cert or None)
    if not cfg.verify_ssl:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cfg.cert_file:
        ctx.load_cert_chain(cfg.cert_file, cfg.key_file)
    return ctx


def proxy_of(cfg: Any) -> str | None:
    """The kubeconfig's ``proxy-url`` (the official client's ``proxy``), or None.

    aiohttp speaks to HTTP(S) proxies only: a SOCKS proxy is refused here, naming it, rather
    than ignored."""
    proxy = getattr(cfg, "proxy", None) or None
    if proxy is None:
        return None
    parts = urlsplit(proxy)
    if parts.scheme not in ("http", "https"):
        shown = f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"
        raise ValueError(
            f"the kubeconfig's proxy-url {shown} is not an http:// or https:// proxy: the "
            "operator's API client supports only those (no SOCKS); use an HTTP proxy")
    return str(proxy)


def server_name_of(cfg: Any) -> str | None:
    """The kubeconfig's ``tls-server-name``: the name sent in SNI and checked against the
    API server's certificate instead of the server URL's host (None: the host)."""
    return getattr(cfg, "tls_server_name", None) or None


class ServerNameContext(ssl.SSLContext):
    """A client SSL context that always names ``server_name`` (SNI and the certificate
    check), for a session whose requests cannot pass one each (kopf's watches)."""

    server_name: str = ""

    def wrap_bio(self, incoming: Any, outgoing: Any, server_side: bool = False,
                 server_hostname: Any = None, session: Any = None) -> Any:
        return super().wrap_bio(incoming, outgoing, server_side=server_side,
                                server_hostname=server_hostname if server_side
                                else self.server_name, session=session)

    def wrap_socket(self, sock: Any, server_side: bool = False,
                    do_handshake_on_connect: bool = True, suppress_ragged_eofs: bool = True,
                    server_hostname: Any = None, session: Any = None) -> Any:
        return super().wrap_socket(sock, server_side=server_side,
                                   do_handshake_on_connect=do_handshake_on_connect,
                                   suppress_ragged_eofs=suppress_ragged_eofs,
                                   server_hostname=server_hostname if server_side
                                   else self.server_name, session=session)


def _pem(data: str | bytes) -> str:
    text = data.decode("ascii") if isinstance(data, bytes) else data
    return text if text.startswith("-----BEGIN ") else base64.b64decode(text).decode("ascii")


def server_name_session(info: Any, server_name: str) -> aiohttp.ClientSession:
    """An aiohttp session for kopf (``kopf.AiohttpSession``) with the credentials of its
    ``ConnectionInfo`` ``info``, its proxy, and ``server_name`` for TLS (the kubeconfig's
    tls-server-name, which kopf's own session does not apply)."""
    ctx = ServerNameContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.server_name = server_name
    if info.ca_path or info.ca_data:
        ctx.load_verify_locations(cafile=info.ca_path or None,
                                  cadata=_pem(info.ca_data) if info.ca_data else None)
    else:
        ctx.load_default_certs()
    with tempfile.TemporaryDirectory() as tmp:  # ssl loads a client key from files only
        cert, key = info.certificate_path, info.private_key_path
        if info.certificate_data:
            cert = os.path.join(tmp, "client.crt")
            with open(cert, "w") as f:
                f.write(_pem(info.certificate_data))
        if info.private_key_data:
            key = os.path.join(tmp, "client.key")
            with open(key, "w") as f:
                f.write(_pem(info.private_key_data))
        if cert and key:
            ctx.load_cert_chain(cert, key)
    if info.insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, ssl=ctx),
                                 headers=info.as_http_headers(), proxy=info.proxy_url)


def _path(plural: str, namespace: str | None, name: str = "", sub: str = "") -> str:
    core = plural in ("pods", "events")
    base = "/api/v1" if core else f"/apis/{GROUP}/{VERSION}"
    path = f"{base}/namespaces/{quote(namespace)}/{plural}" if namespace else f"{base}/{plural}"
    if name:
        path += f"/{quote(name)}"
    return path + (f"/{sub}" if sub else "")


class OperatorApi:
    """The few API operations the operator needs, each one request."""

    def __init__(self, qps: float, burst: int, connections: int = 32, event_qps: float = 10.0,
                 retry: RetryPolicy | None = None,
                 on_retry: Callable[[str], None] | None = None,
                 on_request: Callable[[], None] | None = None,
                 cfg: Any = None) -> None:
        self.cfg = cfg if cfg is not None else _credentials()
        self.host = self.cfg.host.rstrip("/")
        # The kubeconfig's proxy-url and tls-server-name, on every request.
        self._route: dict[str, Any] = {}
        if proxy_of(self.cfg):
            self._route["proxy"] = proxy_of(self.cfg)
        if server_name_of(self.cfg) and self.host.startswith("https"):
            self._route["server_hostname"] = server_name_of(self.cfg)
        self.connections = max(connections, 4)
        self._session: aiohttp.ClientSession | None = None
        self.bucket = TokenBucket(qps, burst)
        # Events are best effort and have their own budget: a burst of them never delays
        # the Pod creations and status writes that move runs forward.
        self.event_bucket = TokenBucket(event_qps, max(int(event_qps * 2), 1))
        self.requests = 0
        self.retry = retry or RetryPolicy()
        self.retries: dict[str, int] = {}
        self._on_retry = on_retry
        self._on_request = on_request
        self._rng = random.Random()

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:  # created on the running loop, at first use
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.connections,
                                               ssl=_ssl_context(self.cfg)),
                json_serialize=json.dumps)
        return self._session

    def _headers(self, content_type: str | None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        headers.update(auth_headers(self.cfg))
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    async def request(self, method: str, path: str, body: Any = None, *,
                      params: dict[str, Any] | None = None, content_type: str | None = None,
                      bucket: TokenBucket | None = None, want: bool = True,
                      timeout: float = TIMEOUT_SECONDS) -> Any:
        """One request, retried on transient failures (:class:`RetryPolicy`); returns the
        decoded JSON response (None with ``want=False``). Raises Conflict (409), Gone (404)
        or ApiError, or the last connection error once the retry time is spent."""
        url = self.host + path + (f"?{urlencode(params)}" if params else "")
        data = None if body is None else json.dumps(body).encode()
        if data is not None and content_type is None:
            content_type = "application/json"
        creates = method == "POST"
        deadline = time.monotonic() + self.retry.max_seconds
        attempt = 0
        while True:
            await (bucket or self.bucket).acquire()
            self.requests += 1
            if self._on_request:
                self._on_request()
            wait: float | None = None
            try:
                async with self._http().request(
                        method, url, data=data, headers=self._headers(content_type),
                        timeout=aiohttp.ClientTimeout(total=timeout), **self._route) as resp:
                    raw = await resp.read()
                    if resp.status < 400:
                        return json.loads(raw) if want and raw else None
                    error = _error(resp.status, raw, resp.reason or "")
                    if resp.status == 429:
                        reason = RETRY_THROTTLED
                        wait = retry_after_seconds(resp.headers.get("Retry-After"))
                    elif resp.status >= 500 and not creates:
                        reason = RETRY_SERVER
                        if resp.status == 503:
                            wait = retry_after_seconds(resp.headers.get("Retry-After"))
                    else:
                        raise error
                    failure: BaseException = error
            except (TimeoutError, aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError,
                    aiohttp.ClientOSError, aiohttp.ClientPayloadError) as exc:
                # A create is repeated only if its connection never opened.
                if creates and not isinstance(exc, aiohttp.ClientConnectorError):
                    raise
                reason, failure = RETRY_CONNECTION, exc
            delay = backoff_seconds(attempt, self.retry, self._rng) if wait is None \
                else min(wait, self.retry.cap_seconds)
            if time.monotonic() + delay > deadline:
                raise failure
            attempt += 1
            self.retries[reason] = self.retries.get(reason, 0) + 1
            if self._on_retry:
                self._on_retry(reason)
            await asyncio.sleep(delay)

    # ------------------------------------------------------------- custom objects
    async def get(self, plural: str, namespace: str, name: str) -> dict[str, Any]:
        return await self.request("GET", _path(plural, namespace, name))

    async def create(self, plural: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        body.setdefault("apiVersion", f"{GROUP}/{VERSION}")
        return await self.request("POST", _path(plural, namespace), body)

    async def list_runs(self, namespace: str | None, token: str | None, selector: str = "",
                        limit: int = 500) -> dict[str, Any]:
        """One page of PipelineRuns (a namespace, or all with None) matching the label
        ``selector``."""
        params: dict[str, Any] = {"limit": limit}
        if selector:
            params["labelSelector"] = selector
        if token:
            params["continue"] = token
        return await self.request("GET", _path("pipelineruns", namespace), params=params,
                                  timeout=120)

    async def list_objects(self, plural: str, namespace: str, selector: str = ""
                           ) -> dict[str, Any]:
        """Every object of ``plural`` in ``namespace`` matching the label ``selector``, in one
        consistent read (no resourceVersion: the API server serves the newest state)."""
        params = {"labelSelector": selector} if selector else None
        return await self.request("GET", _path(plural, namespace), params=params, timeout=120)

    async def patch(self, plural: str, namespace: str, name: str, body: dict[str, Any]
                    ) -> dict[str, Any]:
        """JSON merge patch; include metadata.resourceVersion to make it conditional."""
        return await self.request("PATCH", _path(plural, namespace, name), body,
                                  content_type=MERGE_PATCH)

    async def patch_status(self, plural: str, namespace: str, name: str, body: dict[str, Any]
                           ) -> dict[str, Any]:
        """Merge-patch the status subresource."""
        return await self.request("PATCH", _path(plural, namespace, name, "status"), body,
                                  content_type=MERGE_PATCH)

    async def delete(self, plural: str, namespace: str, name: str) -> None:
        with contextlib.suppress(Gone):
            await self.request("DELETE", _path(plural, namespace, name), want=False)

    # ------------------------------------------------------------- pods and events
    async def create_pod(self, namespace: str, body: dict[str, Any]) -> bool:
        """Create a Pod; False when one of that name exists already (idempotent)."""
        try:
            await self.request("POST", _path("pods", namespace), body, want=False)
            return True
        except Conflict:
            return False

    async def delete_pod(self, namespace: str, name: str) -> None:
        with contextlib.suppress(Gone):
            await self.request("DELETE", _path("pods", namespace, name),
                               params={"propagationPolicy": "Background"}, want=False)

    async def post_event(self, involved: dict[str, Any], type_: str, reason: str,
                         message: str, now_rfc3339: str) -> None:
        meta = involved.get("metadata") or {}
        name = f"{meta.get('name', 'x')[:200]}.{uuid.uuid4().hex[:12]}"
        body = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": meta.get("namespace")},
            "involvedObject": {
                "apiVersion": involved.get("apiVersion", f"{GROUP}/{VERSION}"),
                "kind": involved.get("kind", "PipelineRun"),
                "name": meta.get("name"),
                "namespace": meta.get("namespace"),
                "uid": meta.get("uid"),
            },
            "reason": reason,
            "message": message[:1024],
            "type": type_,
            "firstTimestamp": now_rfc3339,
            "lastTimestamp": now_rfc3339,
            "count": 1,
            "source": {"component": "kubeline-operator"},
            "reportingComponent": EVENT_REPORTING_COMPONENT,
        }
        await self.request("POST", _path("events", meta.get("namespace")), body,
                           bucket=self.event_bucket, want=False)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
