"""The UI's HTTP surface with an in-memory API (no cluster): status codes, 403 details,
CSRF, read-only server mode, sign-in, and the headers of a stored visualization."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():  # starlette asks for httpx2; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from kubeline.client import Client
from kubeline.errors import NotFoundError, PermissionDeniedError
from kubeline.ui.app import make_app
from kubeline.ui.auth import Connector

pytestmark = pytest.mark.unit

FORBIDDEN = ('permission denied on pipelineruns: pipelineruns.kubeline.dev is forbidden: User '
             '"alice" cannot list resource "pipelineruns" in API group "kubeline.dev" in the '
             'namespace "team"')


class FakeKube:
    """The few Kube calls the UI makes, over dicts; ``refuse`` makes lists fail with a 403."""

    def __init__(self, objects: dict[str, dict[str, dict[str, Any]]], refuse: bool = False):
        self.objects = objects
        self.refuse = refuse
        self.namespace = "team"
        self.patches: list[tuple[str, str, dict[str, Any]]] = []
        self.requests = 0

    def get(self, plural: str, name: str) -> dict[str, Any]:
        try:
            return self.objects[plural][name]
        except KeyError:
            raise NotFoundError(f"{plural}/{name} not found") from None

    def list(self, plural: str, label_selector: str | None = None, limit: int | None = None,
             continue_token: str | None = None, field_selector: str | None = None
             ) -> dict[str, Any]:
        if self.refuse:
            raise PermissionDeniedError(FORBIDDEN)
        items = sorted(self.objects.get(plural, {}).values(), key=lambda o: o["metadata"]["name"])
        if field_selector and field_selector.startswith("status.phase="):
            want = field_selector.split("=", 1)[1]
            items = [o for o in items if (o.get("status") or {}).get("phase") == want]
        start = int(continue_token or 0)
        page = items[start:start + (limit or len(items))]
        more = start + len(page) < len(items)
        return {"items": page, "metadata": {"continue": str(start + len(page)) if more else None,
                                            "resourceVersion": "1"}}

    def iter(self, plural: str, label_selector: str | None = None, page_size: int = 500) -> Any:
        yield from self.list(plural)["items"]

    def _call(self, *args: Any, **kwargs: Any) -> Any:
        """What the dashboard's request counter wraps (this fake answers without it)."""
        raise AssertionError("FakeKube answers get/list/iter itself")

    def patch(self, plural: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        self.patches.append((plural, name, body))
        obj = self.get(plural, name)
        obj["spec"].update(body.get("spec", {}))
        return obj


class FakeConnector(Connector):
    def __init__(self, kube: FakeKube, mode: str = "local") -> None:
        super().__init__(mode, "team")
        self.kube = kube

    def client(self, token: str | None, namespace: str | None = None) -> Client:
        if self.mode == "client" and not token:
            return super().client(token, namespace)  # raises UnauthenticatedError
        return Client(kube=self.kube)  # type: ignore[arg-type]

    def release(self, client: Client) -> None:
        pass


def _objects() -> dict[str, dict[str, dict[str, Any]]]:
    run = {"metadata": {"name": "p-1", "namespace": "team", "uid": "u1",
                        "resourceVersion": "5"},
           "spec": {"snapshot": "snap"},
           "status": {"phase": "running", "snapshot": "snap", "pipeline": "p",
                      "steps": [{"name": "load", "phase": "completed",
                                 "outputs": {"out": "out-1"}}]}}
    done = {"metadata": {"name": "p-0", "namespace": "team", "uid": "u0"},
            "spec": {"snapshot": "snap"}, "status": {"phase": "completed"}}
    snap = {"metadata": {"name": "snap"}, "spec": {"steps": [
        {"name": "load", "id": "load", "function": "load",
         "outputs": [{"name": "out", "materializer": "m"}]},
        {"name": "use", "id": "use", "function": "use",
         "inputs": [{"name": "x", "step": "load", "output": "out"}]}]}}
    av = {"metadata": {"name": "out-1"},
          "spec": {"artifactName": "out", "version": "1", "uri": "s3://b/out",
                   "materializer": "m", "visualizations": [{"uri": "s3://b/v.html",
                                                            "type": "html"}],
                   "producer": {"run": "p-1", "step": "load", "output": "out"}}}
    return {"pipelineruns": {"p-1": run, "p-0": done}, "snapshots": {"snap": snap},
            "artifactversions": {"out-1": av}}


STATIC = Path()  # the stand-in for the built assets, made for this module's tests


@pytest.fixture(scope="module", autouse=True)
def _static_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A stand-in for the built assets: the tests need the page, not the frontend build.
    Made when the module's first test runs (not at import, which a session that selects
    none of them would leave behind), under pytest's basetemp."""
    global STATIC
    STATIC = tmp_path_factory.mktemp("ui-static")
    (STATIC / "index.html").write_text("<!doctype html><div id=root></div>")


def _client(kube: FakeKube, mode: str = "local") -> TestClient:
    return TestClient(make_app(FakeConnector(kube, mode), static_dir=STATIC),
                      base_url="http://127.0.0.1:8050")


def test_runs_page_by_page_and_filtered() -> None:
    http = _client(FakeKube(_objects()))
    first = http.get("/api/runs?limit=1").json()
    assert [r["name"] for r in first["items"]] == ["p-0"] and first["continue"] == "1"
    second = http.get(f"/api/runs?limit=1&continue={first['continue']}").json()
    assert [r["name"] for r in second["items"]] == ["p-1"] and second["continue"] is None
    assert [r["name"] for r in http.get("/api/runs?status=running").json()["items"]] == ["p-1"]
    assert http.get("/api/runs?status=bogus").status_code == 400


def test_refused_list_is_a_403_naming_verb_and_resource() -> None:
    resp = _client(FakeKube(_objects(), refuse=True)).get("/api/runs")
    assert resp.status_code == 403
    body = resp.json()
    assert (body["verb"], body["resource"], body["user"]) == ("list", "pipelineruns", "alice")


def test_run_page_and_artifact_panel() -> None:
    http = _client(FakeKube(_objects()))
    page = http.get("/api/runs/p-1").json()
    assert [s["id"] for s in page["steps"]] == ["load", "use"]
    assert page["artifacts"][0]["artifactVersion"] == "out-1"
    assert http.get("/api/runs/nope").status_code == 404
    av = http.get("/api/artifacts/out-1").json()
    assert av["consumers"] == [{"run": "p-1", "step": "use", "input": "x"}]
    assert av["visualizations"] == [{"index": 0, "type": "html"}]


def test_cancel_needs_the_csrf_token_and_write_mode() -> None:
    kube = FakeKube(_objects())
    http = _client(kube)
    assert http.post("/api/runs/p-1/cancel").status_code == 403  # no token
    http.get("/")  # sets the CSRF cookie (the page itself may be unbuilt: 503)
    token = http.cookies.get("kubeline-csrf")
    assert token
    bad = http.post("/api/runs/p-1/cancel", headers={"x-kubeline-csrf": token,
                                                     "origin": "http://evil.example"})
    assert bad.status_code == 403 and not kube.patches
    ok = http.post("/api/runs/p-1/cancel", headers={"x-kubeline-csrf": token})
    assert ok.status_code == 200 and ok.json()["cancelRequested"] is True
    assert kube.patches == [("pipelineruns", "p-1", {"spec": {"cancel": True}})]
    ro = _client(kube, mode="server")
    ro.get("/")
    refused = ro.post("/api/runs/p-1/cancel",
                      headers={"x-kubeline-csrf": ro.cookies.get("kubeline-csrf")})
    assert refused.status_code == 403 and refused.json()["resource"] == "pipelineruns"


def test_client_mode_without_a_token_is_401_and_login_sets_an_httponly_cookie() -> None:
    http = _client(FakeKube(_objects()), mode="client")
    assert http.get("/api/runs").status_code == 401
    assert http.get("/api/config").json()["signedIn"] is False
    http.get("/")
    csrf = http.cookies.get("kubeline-csrf")
    resp = http.post("/api/login", json={"token": "abc"}, headers={"x-kubeline-csrf": csrf})
    assert resp.status_code == 200
    cookie = resp.headers["set-cookie"]
    assert "kubeline-token=abc" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert http.get("/api/runs", headers={"authorization": "Bearer abc"}).status_code == 200


def test_visualization_is_sandboxed(monkeypatch: pytest.MonkeyPatch) -> None:
    from kubeline.ui import app as app_module

    class Store:
        def size(self, uri: str) -> int:
            return 20

        def read_bytes(self, uri: str) -> bytes:
            assert uri == "s3://b/v.html"
            return b"<h1>hi</h1>"

    monkeypatch.setattr(app_module.UI, "store", lambda self, client: Store())
    resp = _client(FakeKube(_objects())).get("/api/artifacts/out-1/visualizations/0")
    assert resp.status_code == 200 and resp.text == "<h1>hi</h1>"
    assert resp.headers["content-type"].startswith("text/html")
    assert resp.headers["content-security-policy"].startswith("sandbox allow-scripts")
    assert resp.headers["x-frame-options"] == "SAMEORIGIN"
    assert resp.headers["x-content-type-options"] == "nosniff"


def test_artifacts_browser_lists_names_then_one_artifacts_versions() -> None:
    objects = _objects()
    second = {"metadata": {"name": "out-2", "creationTimestamp": "2026-01-02T00:00:00Z"},
              "spec": {"artifactName": "out", "version": "2", "uri": "s3://b/out2",
                       "materializer": "m", "metadata": {"shape": [3, 4]},
                       "producer": {"run": "p-1", "step": "load", "output": "out"}}}
    objects["artifactversions"]["out-2"] = second
    objects["artifactversions"]["other-1"] = {
        "metadata": {"name": "other-1"},
        "spec": {"artifactName": "other", "version": "1", "uri": "s3://b/o", "materializer": "m"}}
    http = _client(FakeKube(objects))
    listed = http.get("/api/artifact-names").json()["items"]
    assert [(r["name"], r["versions"], r["latest"]) for r in listed] == [
        ("other", 1, "1"), ("out", 2, "2")]
    resp = http.get("/api/artifact-names/out")
    assert resp.status_code == 200, resp.text
    versions = resp.json()["versions"]
    assert [(v["objectName"], v["version"]) for v in versions] == [("out-1", "1"), ("out-2", "2")]
    assert versions[0]["visualizations"] == [{"index": 0, "type": "html"}]
    assert versions[1]["metadata"] == {"shape": [3, 4]}
    assert versions[1]["producer"] == {"run": "p-1", "step": "load", "output": "out"}
    assert "consumers" not in versions[0]
    assert http.get("/api/artifact-names/nope").status_code == 404
