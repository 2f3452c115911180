"""The run form's backend (no cluster): widgets from typed parameters, the operator's
messages for a bad value (one rule: kubeline.resources.run_config), YAML both ways, a
snapshot made from a run, and the routes' refusals."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from kubeline import pipeline, step
from kubeline.resources.models import RunConfiguration, StepSpec
from kubeline.resources.run_config import StepParameters, run_config_problems
from kubeline.ui import run_form

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.unit
ROOT = Path(__file__).parent


@step
def loader(rows: int = 10, ratio: float = 0.5, shuffle: bool = True, name: str = "iris",
           cols: list = [1, 2], opts: dict = {"a": 1}) -> int:  # noqa: B006
    return rows


@step
def trainer(x: int, gamma: float, anything=None) -> int:
    return x


@pipeline
def form_pipeline():
    trainer(loader())


def _snapshot() -> dict[str, Any]:
    compiled = form_pipeline.compile(source_root=ROOT, allow_unset_parameters=True)
    return {"apiVersion": "kubeline.dev/v1alpha1", "kind": "Snapshot",
            "metadata": {"name": compiled.snapshot_name,
                         "labels": {"kubeline.dev/pipeline": compiled.pipeline_object_name}},
            "spec": compiled.spec.to_k8s()}


def _fields() -> dict[str, dict[str, Any]]:
    return {f"{s['id']}.{f['name']}": f for s in run_form.form(_snapshot()["spec"])
            for f in s["parameters"]}


def test_form_widgets_defaults_and_required_from_the_typed_parameters() -> None:
    f = _fields()
    assert {k: v["widget"] for k, v in f.items()} == {
        "loader.rows": "number", "loader.ratio": "number", "loader.shuffle": "checkbox",
        "loader.name": "text", "loader.cols": "json", "loader.opts": "json",
        "trainer.gamma": "number", "trainer.anything": "json"}
    assert f["loader.rows"]["value"] == 10 and f["loader.rows"]["jsonType"] == "integer"
    assert f["loader.opts"]["value"] == {"a": 1}
    assert f["trainer.gamma"]["required"] and not f["trainer.gamma"]["hasDefault"]
    assert not f["loader.rows"]["required"] and f["loader.rows"]["hasDefault"]
    assert "x" not in {k.split(".")[1] for k in f if k.startswith("trainer.")}  # an input


@pytest.mark.parametrize("params", [{"rows": 2.5}, {"shuffle": "yes"}, {"cols": "[1"},
                                    {"nope": 1}])
def test_form_problems_are_the_operators_messages(params: dict[str, Any]) -> None:
    snap = _snapshot()
    body = {"config": {"steps": {"loader": {"parameters": params},
                                 "trainer": {"parameters": {"gamma": 0.1}}}}}
    config, shown = run_form.check(snap["spec"], body)
    assert config is not None
    steps = [StepParameters.of(StepSpec.model_validate(s)) for s in snap["spec"]["steps"]]
    operator = run_config_problems(  # as the operator's planner asks it
        steps, (RunConfiguration.model_validate(snap["spec"].get("configTemplate") or {}),
                RunConfiguration.model_validate(body["config"])))
    assert [p["message"] for p in shown["problems"]] == operator and len(operator) == 1
    (name,) = params
    placed = shown["problems"][0]
    assert (placed["step"], placed["parameter"]) == ("loader", name)


def test_a_required_parameter_left_empty_is_placed_on_its_field() -> None:
    _, shown = run_form.check(_snapshot()["spec"], {"config": {}})
    (problem,) = shown["problems"]
    assert (problem["step"], problem["parameter"]) == ("trainer", "gamma")
    assert problem["message"].startswith("step 'trainer' needs parameter 'gamma'")


def test_yaml_round_trip_and_bad_yaml() -> None:
    spec = _snapshot()["spec"]
    text = run_form.to_yaml(run_form.parse_config(run_form.template(spec)))
    assert "gamma: null" in text and "rows: 10" in text
    _, shown = run_form.check(spec, {"yaml": text.replace("gamma: null", "gamma: 0.01")})
    assert shown["problems"] == [] and shown["config"]["steps"]["trainer"]["parameters"][
        "gamma"] == 0.01
    _, shown = run_form.check(spec, {"yaml": "steps: [1"})
    assert shown["config"] is None and "not valid YAML" in shown["problems"][0]["message"]
    _, shown = run_form.check(spec, {"yaml": "stepz: {}"})
    assert "invalid run configuration: stepz" in shown["problems"][0]["message"]


def test_snapshot_from_run_takes_the_runs_configuration() -> None:
    snap = _snapshot()
    new = run_form.snapshot_from_run(
        snap, {"steps": {"trainer": {"parameters": {"gamma": 0.3}}}, "runName": "x"},
        "tuned", "from a run")
    assert new["spec"]["displayName"] == "tuned"
    steps = new["spec"]["configTemplate"]["steps"]
    assert steps["trainer"]["parameters"]["gamma"] == 0.3
    assert steps["loader"]["parameters"]["rows"] == 10  # the template's, kept
    assert "runName" not in new["spec"]["configTemplate"]
    assert new["metadata"]["name"] != snap["metadata"]["name"]
    assert new["metadata"]["labels"] == snap["metadata"]["labels"]
    again = run_form.snapshot_from_run(snap, {"steps": {"trainer": {"parameters": {
        "gamma": 0.3}}}}, "tuned", "from a run")
    assert again["metadata"]["name"] == new["metadata"]["name"]  # content-addressed


class _Kube:
    namespace = "team"
    requests = 0

    def __init__(self, snap: dict[str, Any]) -> None:
        self.snap = snap
        self.created: list[dict[str, Any]] = []

    def get(self, plural: str, name: str) -> dict[str, Any]:
        assert (plural, name) == ("snapshots", self.snap["metadata"]["name"])
        return self.snap

    def create(self, plural: str, body: dict[str, Any]) -> dict[str, Any]:
        self.created.append(body)
        return body


def _app(kube: _Kube, mode: str = "local") -> TestClient:
    from kubeline.client import Client
    from kubeline.ui.app import make_app
    from kubeline.ui.auth import Connector

    class Conn(Connector):
        def client(self, token: str | None, namespace: str | None = None) -> Client:
            return Client(kube=kube)  # type: ignore[arg-type]

        def release(self, client: Client) -> None:
            pass

    tc = TestClient(make_app(Conn(mode, "team"), static_dir=Path("/nonexistent")),
                    base_url="http://ui.test")
    tc.get("/")  # the CSRF cookie
    tc.headers.update({"x-kubeline-csrf": tc.cookies.get("kubeline-csrf") or "",
                       "origin": "http://ui.test"})
    return tc


def test_start_run_refuses_a_bad_value_and_creates_nothing() -> None:
    snap = _snapshot()
    kube = _Kube(snap)
    tc = _app(kube)
    name = snap["metadata"]["name"]
    resp = tc.post(f"/api/snapshots/{name}/runs", json={
        "config": {"steps": {"trainer": {"parameters": {"gamma": "high"}}}}})
    assert resp.status_code == 400
    assert resp.json()["problems"][0]["parameter"] == "gamma"
    assert "must be of type float (JSON number), got str 'high'" in resp.json()["message"]
    assert kube.created == []
    resp = tc.post(f"/api/snapshots/{name}/runs", json={
        "config": {"steps": {"trainer": {"parameters": {"gamma": 0.2}}}}})
    assert resp.status_code == 201, resp.text
    (run,) = kube.created
    assert run["kind"] == "PipelineRun" and run["spec"]["snapshot"] == name
    assert run["spec"]["config"]["steps"]["trainer"]["parameters"]["gamma"] == 0.2
    assert resp.json()["run"] == run["metadata"]["name"]


def test_server_mode_refuses_to_start_runs() -> None:
    snap = _snapshot()
    kube = _Kube(snap)
    resp = _app(kube, "server").post(f"/api/snapshots/{snap['metadata']['name']}/runs",
                                     json={"config": {}})
    assert resp.status_code == 403 and "read-only" in resp.json()["message"]
    assert kube.created == []


def test_post_routes_refuse_a_body_that_is_not_a_json_object() -> None:
    snap = _snapshot()
    kube = _Kube(snap)
    tc = _app(kube)
    name = snap["metadata"]["name"]
    for path in (f"/api/snapshots/{name}/check", f"/api/snapshots/{name}/runs",
                 "/api/runs/some-run/snapshot"):
        resp = tc.post(path, content=b"not json", headers={"content-type": "application/json"})
        assert resp.status_code == 400 and resp.json()["message"] == "the request body is not JSON"
        resp = tc.post(path, json=[1, 2])
        assert resp.status_code == 400, path
        assert resp.json()["message"] == "the request body must be a JSON object"
    assert kube.created == []
    server = _app(kube, "server")
    assert server.post(f"/api/snapshots/{name}/check", json={"config": {}}).status_code == 200
    assert server.post("/api/runs/some-run/snapshot", json={"name": "x"}).status_code == 403
