"""Finding an in-cluster S3 server from outside the cluster (the chart's embedded store)."""

from __future__ import annotations

import socket
import threading
from types import SimpleNamespace
from typing import Any

import pytest
from kubeline import port_forward
from kubeline.artifact_store import S3Settings
from kubeline.errors import ArtifactStoreError
from kubeline.port_forward import ServiceRef, _pump

pytestmark = pytest.mark.unit

SECRET = {"bucket": "kubeline", "endpoint": "http://kubeline-store.kubeline-system.svc:7070",
          "region": "us-east-1", "accessKeyId": "kl123", "secretAccessKey": "s3cr3t",
          "inClusterService": "kubeline-system/kubeline-store:7070"}


def test_service_ref_parses_and_refuses_garbage() -> None:
    ref = ServiceRef.parse("kubeline-system/kubeline-store:7070")
    assert (ref.namespace, ref.name, ref.port) == ("kubeline-system", "kubeline-store", 7070)
    assert str(ref) == "kubeline-system/kubeline-store:7070"
    for bad in ("kubeline-store:7070", "ns/svc", "ns/svc:http", "/svc:1"):
        with pytest.raises(ArtifactStoreError, match="namespace>/<service>:<port>"):
            ServiceRef.parse(bad)


def test_secret_with_a_service_is_reached_through_a_tunnel_outside_the_cluster(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    opened: list[ServiceRef] = []

    def fake_tunnel(api_client: Any, service: ServiceRef) -> Any:
        opened.append(service)
        return SimpleNamespace(endpoint="http://127.0.0.1:40123")

    monkeypatch.setattr(port_forward, "tunnel", fake_tunnel)
    settings = S3Settings.from_secret(SECRET)
    assert settings.in_cluster_service == "kubeline-system/kubeline-store:7070"
    here = settings.reachable_from_here(SimpleNamespace(api_client=object()))
    assert here.endpoint == "http://127.0.0.1:40123"
    assert (here.bucket, here.access_key, here.secret_key) == ("kubeline", "kl123", "s3cr3t")
    assert opened == [ServiceRef("kubeline-system", "kubeline-store", 7070)]


def test_inside_the_cluster_or_without_a_service_the_endpoint_is_used_as_is(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(port_forward, "tunnel", lambda *a: pytest.fail("no tunnel expected"))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    settings = S3Settings.from_secret(SECRET)
    assert settings.reachable_from_here(None).endpoint == SECRET["endpoint"]
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST")
    plain = S3Settings.from_secret({k: v for k, v in SECRET.items() if k != "inClusterService"})
    assert plain.reachable_from_here(None) is plain


def test_pump_copies_both_ways_and_passes_the_end_on() -> None:
    a_local, a_remote = socket.socketpair()
    b_local, b_remote = socket.socketpair()
    threads = [threading.Thread(target=_pump, args=(a_remote, b_local)),
               threading.Thread(target=_pump, args=(b_local, a_remote))]
    for t in threads:
        t.start()
    payload = b"x" * 300_000
    a_local.sendall(payload)
    a_local.shutdown(socket.SHUT_WR)
    got = b""
    while chunk := b_remote.recv(1 << 16):
        got += chunk
    assert got == payload  # and the end of a's writes reached b
    b_remote.sendall(b"reply")
    b_remote.shutdown(socket.SHUT_WR)
    assert a_local.recv(100) == b"reply"
    for t in threads:
        t.join(5)
        assert not t.is_alive()
    for s in (a_local, a_remote, b_local, b_remote):
        s.close()
