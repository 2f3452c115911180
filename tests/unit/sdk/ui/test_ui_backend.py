"""The UI backend's pure parts: payloads, cache explanations, security, auth, inline DAG."""

from __future__ import annotations

from typing import Any

import pytest
from kubeline.client.runs import RunView
from kubeline.ui import payloads
from kubeline.ui.auth import bearer_token, forbidden_details
from kubeline.ui.cache_explain import StepRecord, explain, input_versions, parameter_changes
from kubeline.ui.inline import dag_svg
from kubeline.ui.security import csrf_problem, security_headers

pytestmark = pytest.mark.unit

SNAPSHOT = {
    "steps": [
        {"name": "loader", "id": "loader", "function": "loader",
         "outputs": [{"name": "X", "materializer": "m"}, {"name": "y", "materializer": "m"}]},
        {"name": "svc-trainer", "id": "svc_trainer", "function": "svc_trainer",
         "inputs": [{"name": "X_train", "step": "loader", "output": "X"},
                    {"name": "ref", "artifact": {"name": "iris", "version": "2"}}],
         "outputs": [{"name": "model", "materializer": "m"}], "enableCache": False},
        {"name": "report", "id": "report", "function": "report", "after": ["svc-trainer"]},
    ]
}


def _run(steps: list[dict[str, Any]], name: str = "p-1", **status: Any) -> RunView:
    obj = {"metadata": {"name": name, "namespace": "ns", "uid": "u", "resourceVersion": "7"},
           "spec": {"snapshot": "snap"}, "status": {"phase": "running", "steps": steps, **status}}
    return RunView(None, obj)  # type: ignore[arg-type]


def test_run_dag_joins_snapshot_edges_with_step_state() -> None:
    run = _run([{"name": "loader", "phase": "cached",
                 "cachedFrom": {"run": "p-0", "step": "loader"},
                 "outputs": {"X": "x-1", "y": "y-1"}},
                {"name": "svc_trainer", "phase": "running", "pod": "p-1-svc-trainer-1"}])
    dag = payloads.run_dag(run, SNAPSHOT)
    steps = {s["id"]: s for s in dag["steps"]}
    assert steps["loader"]["phase"] == "cached"
    assert steps["loader"]["cachedFrom"] == {"run": "p-0", "step": "loader"}
    assert steps["svc_trainer"]["inputs"][0] == {"name": "X_train", "step": "loader", "output": "X"}
    assert steps["svc_trainer"]["inputs"][1]["artifact"] == {"name": "iris", "version": "2"}
    assert steps["report"] == {**steps["report"], "phase": "pending", "after": ["svc_trainer"]}
    arts = {a["id"]: a for a in dag["artifacts"]}
    assert arts["loader/X"]["artifactVersion"] == "x-1"
    assert arts["svc_trainer/model"]["artifactVersion"] is None


def test_status_update_sends_only_changed_steps() -> None:
    first, state = payloads.status_update(_run([{"name": "a", "phase": "running"},
                                                {"name": "b", "phase": "pending"}]), None)
    assert [s["id"] for s in first["steps"]] == ["a", "b"]
    second, _ = payloads.status_update(_run([{"name": "a", "phase": "completed"},
                                             {"name": "b", "phase": "pending"}]), state)
    assert second["steps"] == [{"id": "a", "phase": "completed"}]
    assert second["run"]["status"] == "running"


def test_consumers_follow_the_snapshot_inputs() -> None:
    assert payloads.consumers_in(SNAPSHOT, "p-1", "loader", "X") == [
        {"run": "p-1", "step": "svc_trainer", "input": "X_train"}]
    assert payloads.consumers_in(SNAPSHOT, "p-1", "loader", "y") == []


def _rec(run: str, phase: str, parts: dict[str, str], params: dict[str, Any],
         inputs: dict[str, str | None] | None = None, **extra: Any) -> StepRecord:
    return StepRecord(run=run, status={"name": "svc_trainer", "phase": phase,
                                       "cache": {"key": "k" + run, "parts": parts}, **extra},
                      parameters=params, inputs=inputs or {})


def test_cache_miss_names_the_parameter_that_changed() -> None:
    parts = {"code": "c", "image": "i", "parameters": "p1", "inputs": "n"}
    earlier = [_rec("r1", "completed", {**parts, "code": "other"}, {"gamma": 0.001}),
               _rec("r2", "completed", parts, {"gamma": 0.001})]
    this = _rec("r3", "completed", {**parts, "parameters": "p2"}, {"gamma": 0.01})
    out = explain(this, earlier, cache_enabled=True)
    assert out["comparedWith"]["run"] == "r2"  # fewest differing parts
    assert out["changes"] == [{"part": "parameters", "detail": "parameter gamma 0.001 → 0.01"}]
    assert out["summary"] == "Not cached: against run r2, parameter gamma 0.001 → 0.01."


def test_cache_explanations_for_hits_disabled_inputs_and_same_key() -> None:
    parts = {"code": "c", "inputs": "a"}
    hit = _rec("r3", "cached", parts, {}, cachedFrom={"run": "r1", "step": "svc_trainer"})
    assert explain(hit, [], True)["summary"].startswith("Served from the cache")
    off = explain(_rec("r3", "completed", parts, {}), [_rec("r2", "completed", parts, {})],
                  False, "this step (enable_cache=False)")
    assert off["summary"] == "Not cached: caching is disabled for this step (enable_cache=False)."
    moved = explain(_rec("r3", "completed", {**parts, "inputs": "b"}, {}, {"X": "x-2"}),
                    [_rec("r2", "completed", parts, {}, {"X": "x-1"})], True)
    assert moved["changes"] == [{"part": "inputs", "detail": "input X: x-1 → x-2"}]
    same = explain(_rec("r3", "completed", parts, {}), [_rec("r2", "failed", parts, {})], True)
    assert "has the same key" in same["summary"]
    assert explain(_rec("r3", "completed", parts, {}), [], True)["summary"].startswith(
        "Not cached: no earlier run")
    pending = StepRecord(run="r", status={"name": "s", "phase": "pending"})
    assert explain(pending, [], True)["summary"].startswith("Not evaluated yet")


def test_parameter_changes_added_removed() -> None:
    assert parameter_changes({"a": 1, "b": "x"}, {"b": "y", "c": [1]}) == [
        "parameter a removed (was 1)", "parameter b 'x' → 'y'", "parameter c added: [1]"]


def test_input_versions_from_upstream_outputs() -> None:
    statuses = {"loader": {"outputs": {"X": "x-1"}}}
    spec = SNAPSHOT["steps"][1]
    assert input_versions(spec, {"loader": "loader"}, statuses) == {"X_train": "x-1",
                                                                   "ref": "iris@2"}


def test_forbidden_details_from_the_api_message() -> None:
    msg = ('permission denied on pipelineruns: pipelineruns.kubeline.dev is forbidden: User '
           '"system:serviceaccount:t:viewer" cannot list resource "pipelineruns" in API group '
           '"kubeline.dev" in the namespace "t"')
    assert forbidden_details(msg) == {"user": "system:serviceaccount:t:viewer", "verb": "list",
                                      "resource": "pipelineruns", "group": "kubeline.dev",
                                      "namespace": "t"}
    assert forbidden_details("nope")["verb"] is None


def test_bearer_token_header_first_then_cookie() -> None:
    assert bearer_token({"authorization": "Bearer abc"}, {"kubeline-token": "c"}) == "abc"
    assert bearer_token({}, {"kubeline-token": "c"}) == "c"
    assert bearer_token({"authorization": "Basic x"}, {}) is None


def test_csrf_double_submit_and_origin() -> None:
    ok = {"x-kubeline-csrf": "t", "origin": "http://127.0.0.1:8050"}
    assert csrf_problem("GET", {}, {}, "http://h") is None
    assert csrf_problem("POST", ok, {"kubeline-csrf": "t"}, "http://127.0.0.1:8050") is None
    assert "CSRF" in csrf_problem("POST", {"x-kubeline-csrf": "u"}, {"kubeline-csrf": "t"}, "x")
    assert "CSRF" in csrf_problem("DELETE", {}, {}, "x")
    assert "cross-origin" in csrf_problem("POST", {**ok, "origin": "http://evil"},
                                          {"kubeline-csrf": "t"}, "http://127.0.0.1:8050")


def test_security_headers() -> None:
    h = security_headers("/api/runs", {})
    assert "script-src 'self'" in h["content-security-policy"]
    assert "frame-ancestors 'none'" in h["content-security-policy"]
    assert h["x-frame-options"] == "DENY" and h["cache-control"] == "no-store"
    own = security_headers("/api/artifacts/x/visualizations/0",
                           {"content-security-policy": "sandbox", "x-frame-options": "SAMEORIGIN"})
    assert "content-security-policy" not in own and "x-frame-options" not in own


def test_inline_svg_colours_steps_by_status() -> None:
    run = _run([{"name": "loader", "phase": "cached", "outputs": {"X": "x-1"}},
                {"name": "svc_trainer", "phase": "failed"}])
    svg = dag_svg(payloads.run_dag(run, SNAPSHOT), "p-1")
    assert '<g data-step="loader" data-status="cached"><rect' in svg
    assert 'fill="#16a34a"' in svg  # cached green
    assert 'data-status="failed"><rect x=' in svg and 'fill="#dc2626"' in svg
    assert svg.count("<line") == 5  # loader->X, loader->y, X->svc, svc->model, svc..report


def test_inline_colours_match_the_frontend_table() -> None:
    from pathlib import Path

    from kubeline.ui.inline import STATUS_COLORS

    ts = (Path(__file__).parents[4] / "ui" / "src" / "colors.ts").read_text()
    for phase, colour in STATUS_COLORS.items():
        assert f'{phase}: "{colour}"' in ts, phase


def test_run_summary_names_the_schedule_that_started_the_run() -> None:
    run = _run([])
    assert payloads.run_summary(run)["schedule"] is None
    obj = dict(run.object)
    obj["metadata"] = {**obj["metadata"], "labels": {"kubeline.dev/schedule": "nightly"},
                       "annotations": {"kubeline.dev/scheduled-time": "2026-01-02T03:00:00Z"}}
    summary = payloads.run_summary(RunView(None, obj))  # type: ignore[arg-type]
    assert (summary["schedule"], summary["scheduledTime"]) == ("nightly",
                                                               "2026-01-02T03:00:00Z")


def test_run_summary_carries_whether_the_trigger_is_verified() -> None:
    assert payloads.run_summary(_run([]))["triggeredBy"] is None
    why = "unverified: step s of run r is claimed, but ..."
    run = _run([], triggeredBy={"verified": False, "message": why})
    obj = dict(run.object)
    obj["spec"] = {**obj["spec"], "triggeredBy": {"run": "r", "step": "s"}}
    summary = payloads.run_summary(RunView(None, obj))  # type: ignore[arg-type]
    assert summary["triggeredBy"] == {"run": "r", "step": "s", "verified": False,
                                      "provenance": why}
    obj["status"] = {"phase": "initialized"}  # not checked yet
    assert payloads.run_summary(RunView(None, obj))["triggeredBy"]["verified"] is None  # type: ignore[arg-type]
