"""The kubeconfig's ``proxy-url`` and ``tls-server-name`` are honoured by the operator's API
client and by the SDK's: a real HTTP proxy and a real TLS API server on 127.0.0.1 (whose
certificate names only ``kube.test.internal``) see the requests."""

from __future__ import annotations

import asyncio
import datetime
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from kubeline.resources.names import GROUP, VERSION

pytestmark = pytest.mark.unit

SERVER_NAME = "kube.test.internal"
PATH = f"/apis/{GROUP}/{VERSION}/namespaces/ml/pipelineruns/r1"
RUN = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "PipelineRun",
       "metadata": {"name": "r1", "namespace": "ml"}}


def _cert(tmp: Path) -> tuple[Path, Path]:
    """A self-signed CA-style certificate for ``SERVER_NAME`` only (no IP address)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(SERVER_NAME)]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp / "server.crt", tmp / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@dataclass
class Loopback:
    """An API server (TLS or plain) and a forward proxy on 127.0.0.1, in a thread."""

    tls: bool
    tmp: Path
    api_port: int = 0
    proxy_port: int = 0
    ca: Path | None = None
    sni: list[str | None] = field(default_factory=list)  # server names the API server saw
    api_requests: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, auth
    proxied: list[str] = field(default_factory=list)  # request lines the proxy saw

    def __post_init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)

    async def _start(self) -> None:
        async def handler(request: web.Request) -> web.Response:
            self.api_requests.append((request.method, request.path,
                                      request.headers.get("Authorization", "")))
            return web.json_response(RUN)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        ctx = None
        if self.tls:
            cert, key = _cert(self.tmp)
            self.ca = cert
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(cert, key)
            ctx.sni_callback = lambda sock, name, _ctx: self.sni.append(name)  # type: ignore[assignment]
        site = web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=ctx)
        await site.start()
        self.api_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.proxy = await asyncio.start_server(self._proxy, "127.0.0.1", 0)
        self.proxy_port = self.proxy.sockets[0].getsockname()[1]

    async def _proxy(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """CONNECT tunnels and absolute-form requests, to 127.0.0.1 only (loopback rule)."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            line, *headers = head.decode("latin-1").split("\r\n")
            self.proxied.append(line)
            method, target, version = line.split(" ")
            if method == "CONNECT":
                host, port = target.rsplit(":", 1)
                rest = b""
            else:
                hostport = target.split("://", 1)[1].split("/", 1)[0]
                host, port = hostport.rsplit(":", 1)
                path = "/" + target.split("://", 1)[1].split("/", 1)[1]
                kept = [h for h in headers if h and not h.lower().startswith(
                    ("proxy-", "connection:"))]
                rest = "\r\n".join([f"{method} {path} {version}", *kept,
                                    "Connection: close", "", ""]).encode("latin-1")
            if host != "127.0.0.1":
                writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            if method == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                up_writer.write(rest)
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while chunk := await src.read(65536):
                dst.write(chunk)
                await dst.drain()
        except ConnectionError:
            pass
        finally:
            if dst.can_write_eof():
                dst.write_eof()

    def kubeconfig(self, proxy: bool = True, server_name: bool = True,
                   proxy_url: str | None = None) -> Path:
        scheme = "https" if self.tls else "http"
        cluster: dict[str, Any] = {"server": f"{scheme}://127.0.0.1:{self.api_port}"}
        if self.tls:
            cluster["certificate-authority"] = str(self.ca)
            if server_name:
                cluster["tls-server-name"] = SERVER_NAME
        if proxy or proxy_url:
            cluster["proxy-url"] = proxy_url or f"http://127.0.0.1:{self.proxy_port}"
        doc = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
               "clusters": [{"name": "c", "cluster": cluster}],
               "users": [{"name": "u", "user": {"token": "t0k"}}],
               "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u",
                                                      "namespace": "ml"}}]}
        path = self.tmp / f"kubeconfig-{len(list(self.tmp.glob('kubeconfig-*')))}"
        path.write_text(yaml.safe_dump(doc))
        return path

    def close(self) -> None:
        async def stop() -> None:
            self.proxy.close()
            await self.runner.cleanup()
        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def kube_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No in-cluster config and no proxy from the environment: only the kubeconfig counts."""
    for name in ("KUBERNETES_SERVICE_HOST", "HTTPS_PROXY", "HTTP_PROXY", "https_proxy",
                 "http_proxy", "NO_PROXY", "no_proxy", "KUBELINE_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def tls_site(tmp_path: Path, kube_env: None) -> Iterator[Loopback]:
    site = Loopback(tls=True, tmp=tmp_path)
    yield site
    site.close()


@pytest.fixture
def plain_site(tmp_path: Path, kube_env: None) -> Iterator[Loopback]:
    site = Loopback(tls=False, tmp=tmp_path)
    yield site
    site.close()


# ----------------------------------------------------------------------------- operator
def _operator_get(kubeconfig: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    from kubeline_operator.api import OperatorApi, RetryPolicy, _credentials

    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))

    async def main() -> dict[str, Any]:
        api = OperatorApi(1000, 1000, retry=RetryPolicy(max_seconds=0.5), cfg=_credentials())
        try:
            return dict(await api.get("pipelineruns", "ml", "r1"))
        finally:
            await api.close()
    return asyncio.run(main())


def test_operator_goes_through_the_proxy_with_the_tls_server_name(
        tls_site: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    got = _operator_get(tls_site.kubeconfig(), monkeypatch)
    assert got["metadata"]["name"] == "r1"
    assert tls_site.proxied == [f"CONNECT 127.0.0.1:{tls_site.api_port} HTTP/1.1"]
    assert tls_site.sni == [SERVER_NAME]
    assert tls_site.api_requests == [
        ("GET", PATH, "Bearer t0k")]


def test_operator_checks_the_certificate_against_the_tls_server_name(
        tls_site: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without tls-server-name the certificate (for kube.test.internal only) does not fit
    127.0.0.1 and the request is refused: the name is what made the first test pass."""
    import aiohttp

    with pytest.raises(aiohttp.ClientConnectorCertificateError,
                       match=r"not valid for .127\.0\.0\.1"):
        _operator_get(tls_site.kubeconfig(server_name=False), monkeypatch)
    assert tls_site.api_requests == []
    tls_site.proxied.clear()
    _operator_get(tls_site.kubeconfig(proxy=False), monkeypatch)  # direct, with the name
    assert tls_site.proxied == [] and tls_site.sni[-1] == SERVER_NAME


def test_operator_sends_plain_http_through_the_proxy(
        plain_site: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    _operator_get(plain_site.kubeconfig(), monkeypatch)
    target = f"http://127.0.0.1:{plain_site.api_port}{PATH}"
    assert plain_site.proxied == [f"GET {target} HTTP/1.1"]
    assert plain_site.api_requests[0][2] == "Bearer t0k"


def test_operator_refuses_a_proxy_it_cannot_speak(
        plain_site: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match=r"socks5://127\.0\.0\.1:1080 is not an http://"):
        _operator_get(plain_site.kubeconfig(proxy_url="socks5://u:secret@127.0.0.1:1080"),
                      monkeypatch)
    assert plain_site.proxied == [] and plain_site.api_requests == []


def test_kopf_watches_name_the_tls_server_name_through_the_proxy(
        tls_site: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    """kopf's own session (its watches) gets the kubeconfig's tls-server-name from the
    operator's login handler, and keeps its proxy-url."""
    import logging

    import kopf
    from kubeline_operator.handlers import login

    async def main(kubeconfig: Path) -> tuple[Any, Any]:
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        info = await login(settings=kopf.OperatorSettings(), logger=logging.getLogger("t"))
        if not isinstance(info, kopf.AiohttpSession):
            return info, None
        async with info.aiohttp_session as session, session.get(info.server + PATH) as resp:
            return info, await resp.json()

    info, got = asyncio.run(main(tls_site.kubeconfig()))
    assert isinstance(info, kopf.AiohttpSession) and info.default_namespace == "ml"
    assert got["metadata"]["name"] == "r1"
    assert tls_site.proxied == [f"CONNECT 127.0.0.1:{tls_site.api_port} HTTP/1.1"]
    assert tls_site.sni == [SERVER_NAME]
    assert tls_site.api_requests == [("GET", PATH, "Bearer t0k")]
    # Without a tls-server-name kopf's own login is used as it is.
    plain, _ = asyncio.run(main(tls_site.kubeconfig(server_name=False)))
    assert isinstance(plain, kopf.ConnectionInfo)
    assert plain.proxy_url == f"http://127.0.0.1:{tls_site.proxy_port}"


# ----------------------------------------------------------------------------- SDK
def _sdk_get(kubeconfig: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    from kubeline.kube import Kube

    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    kube = Kube.connect()
    kube.api_client.configuration.retries = 0
    assert kube.namespace == "ml"
    try:
        return dict(kube.get("pipelineruns", "r1"))
    finally:
        kube.api_client.close()


def test_sdk_goes_through_the_proxy_with_the_tls_server_name(
        tls_site: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _sdk_get(tls_site.kubeconfig(), monkeypatch)["metadata"]["name"] == "r1"
    assert [line.split(" ")[:2] for line in tls_site.proxied] == [
        ["CONNECT", f"127.0.0.1:{tls_site.api_port}"]]
    assert tls_site.sni == [SERVER_NAME]
    assert tls_site.api_requests == [
        ("GET", PATH, "Bearer t0k")]


def test_sdk_checks_the_certificate_against_the_tls_server_name(
        tls_site: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    from kubeline.errors import ClusterUnreachableError

    with pytest.raises(ClusterUnreachableError):
        _sdk_get(tls_site.kubeconfig(server_name=False), monkeypatch)
    assert tls_site.api_requests == []


def test_sdk_sends_plain_http_through_the_proxy(
        plain_site: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    _sdk_get(plain_site.kubeconfig(), monkeypatch)
    target = f"http://127.0.0.1:{plain_site.api_port}{PATH}"
    assert [line.split(" ")[:2] for line in plain_site.proxied] == [["GET", target]]
    assert json.dumps(plain_site.api_requests[0]).count("Bearer t0k") == 1
