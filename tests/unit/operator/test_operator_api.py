"""The operator's HTTP layer: auth headers, paths and error mapping (no cluster)."""

from __future__ import annotations

from kubeline_operator.api import ApiError, Conflict, Gone, _error, _path, auth_headers
from kubernetes import client


def test_in_cluster_token_becomes_the_authorization_header_and_is_refreshed():
    cfg = client.Configuration()
    cfg.api_key["BearerToken"] = "bearer first"
    assert auth_headers(cfg) == {"Authorization": "bearer first"}

    def rotate(c: client.Configuration) -> None:  # what the in-cluster loader's hook does
        c.api_key["BearerToken"] = "bearer rotated"

    cfg.refresh_api_key_hook = rotate
    assert auth_headers(cfg) == {"Authorization": "bearer rotated"}


def test_client_certificates_need_no_header():
    assert auth_headers(client.Configuration()) == {}


def test_paths_of_core_and_kubeline_resources():
    assert _path("pods", "ns", "p-1") == "/api/v1/namespaces/ns/pods/p-1"
    assert _path("events", "ns") == "/api/v1/namespaces/ns/events"
    assert _path("pipelineruns", "ns", "r", "status") == (
        "/apis/kubeline.dev/v1alpha1/namespaces/ns/pipelineruns/r/status")
    assert _path("pipelineruns", None) == "/apis/kubeline.dev/v1alpha1/pipelineruns"


def test_errors_carry_the_servers_message():
    body = b'{"kind":"Status","message":"pods \\"x\\" is forbidden: exceeded quota"}'
    err = _error(403, body, "Forbidden")
    assert type(err) is ApiError and err.status == 403
    assert err.message == 'pods "x" is forbidden: exceeded quota'
    assert isinstance(_error(409, b"{}", "Conflict"), Conflict)
    gone = _error(404, b"not json", "Not Found")
    assert isinstance(gone, Gone) and gone.message == "Not Found"
