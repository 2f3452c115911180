"""Routes of snapshots and the run form: a pipeline's snapshots, a snapshot's page, checking
a run configuration, starting a run, a snapshot made from a run, and ``can-i``.

Every request uses the caller's credentials (:meth:`UI.call`): a run is created with the
user's own token, so the cluster's RBAC decides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kubeline.errors import ConfigurationError, InvalidRunConfiguration
from kubeline.resources import names
from kubeline.ui import run_form
from kubeline.ui.access import can_i

if TYPE_CHECKING:
    from kubeline.ui.app import UI

RUNS_SHOWN = 20  # runs on a snapshot page (one label-selected page)
_RESOURCES = {"pipelines", "snapshots", "pipelineruns", "artifactversions", "models",
              "modelversions", "schedules"}
_VERBS = {"get", "list", "watch", "create", "patch", "update", "delete"}


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise ConfigurationError("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise ConfigurationError("the request body must be a JSON object")
    return body


def _bad(message: str, **extra: Any) -> Response:
    return JSONResponse({"error": "bad_request", "message": message, **extra}, 400)


def _read_only() -> Response:
    return JSONResponse({"error": "forbidden", "verb": "create", "message":
                         "the UI runs in read-only server mode"}, 403)


async def _body_or_refusal(request: Request, *, refuse_writes: bool) -> dict[str, Any] | Response:
    """The request's JSON object, or the answer refusing it (read-only mode, a bad body)."""
    if refuse_writes:
        return _read_only()
    try:
        return await _json_body(request)
    except ConfigurationError as exc:
        return _bad(str(exc))


def snapshot_routes(ui: UI) -> list[Route]:
    """The routes, bound to the app's state."""
    from kubeline.client.runs import RunView
    from kubeline.client.snapshots import SnapshotView

    read_only = ui.connector.read_only

    async def snapshots(request: Request) -> Response:
        limit = min(int(request.query_params.get("limit") or 50), 200)
        cont = request.query_params.get("continue") or None
        pipeline = request.query_params.get("pipeline") or None

        def fn(client: Any) -> dict[str, Any]:
            label = (f"{names.LABEL_PIPELINE}={names.label_value(pipeline)}"
                     if pipeline else None)
            page = client.kube.list(names.SNAPSHOTS, label_selector=label, limit=limit,
                                    continue_token=cont)
            rows = [run_form.snapshot_row(SnapshotView(client, o)) for o in page["items"]]
            rows.sort(key=lambda r: r["created"] or "", reverse=True)
            return {"items": rows, "continue": page.get("metadata", {}).get("continue")}

        return await ui.call(request, fn)

    def run_access(client: Any) -> dict[str, Any]:
        if read_only:
            return {"allowed": False, "verb": "create", "resource": "pipelineruns",
                    "reason": "the UI runs in read-only server mode"}
        return can_i(client.kube, "create", names.PIPELINE_RUNS)

    async def snapshot_page(request: Request) -> Response:
        name = request.path_params["name"]

        def fn(client: Any) -> dict[str, Any]:
            from kubeline.ui.payloads import run_summary, spec_dag

            snap = SnapshotView(client, client.kube.get(names.SNAPSHOTS, name))
            runs = client.kube.list(
                names.PIPELINE_RUNS, limit=RUNS_SHOWN,
                label_selector=f"{names.LABEL_SNAPSHOT}={names.label_value(name)}")
            config = run_form.parse_config(run_form.template(snap.spec))
            return {
                "snapshot": {**run_form.snapshot_row(snap), "image": snap.image},
                **spec_dag(snap.spec, {}),
                "triggeredRuns": [],
                "form": run_form.form(snap.spec),
                "template": run_form.dump(config),
                "yaml": run_form.to_yaml(config),
                "runs": [run_summary(RunView(client, o)) for o in runs["items"]],
                "moreRuns": bool(runs.get("metadata", {}).get("continue")),
                "canRun": run_access(client),
            }

        return await ui.call(request, fn)

    async def on_snapshot(request: Request, fn: Callable[[Any, str, dict[str, Any],
                                                         dict[str, Any]], Any],
                          *, writes: bool) -> Response:
        """A POST about one snapshot: its JSON body read, then ``fn(client, name, spec, body)``
        with the snapshot's spec (a write is refused in read-only mode)."""
        name = request.path_params["name"]
        body = await _body_or_refusal(request, refuse_writes=writes and read_only)
        if isinstance(body, Response):
            return body

        def call(client: Any) -> Any:
            spec = client.kube.get(names.SNAPSHOTS, name).get("spec") or {}
            return fn(client, name, spec, body)

        return await ui.call(request, call)

    async def check_config(request: Request) -> Response:
        return await on_snapshot(
            request, lambda _client, _name, spec, body: run_form.check(spec, body)[1],
            writes=False)

    async def start_run(request: Request) -> Response:
        def fn(client: Any, name: str, spec: dict[str, Any], body: dict[str, Any]) -> Response:
            config, shown = run_form.check(spec, body)
            if config is None or shown["problems"]:
                return JSONResponse({"error": "bad_request", "message": "; ".join(
                    p["message"] for p in shown["problems"]), **shown}, 400)
            try:
                run = client.trigger_pipeline(snapshot_name_or_id=name,
                                              run_configuration=run_form.dump(config))
            except InvalidRunConfiguration as exc:  # the snapshot changed under the form
                return _bad(str(exc))
            return JSONResponse({"run": run.name}, 201)

        return await on_snapshot(request, fn, writes=True)

    async def snapshot_from_run(request: Request) -> Response:
        run_name = request.path_params["name"]
        body = await _body_or_refusal(request, refuse_writes=read_only)
        if isinstance(body, Response):
            return body
        given = str(body.get("name") or "").strip()
        if not given:
            return _bad("a snapshot needs a name")
        if len(given) > 253:
            return _bad("a snapshot name has at most 253 characters")
        description = str(body.get("description") or "").strip() or None

        def fn(client: Any) -> Response:
            run = client._run_by_object_name(run_name)
            source = client.kube.get(names.SNAPSHOTS, run.snapshot_name)
            obj = run_form.snapshot_from_run(source, run.spec.get("config") or {}, given,
                                             description)
            made, created = client.kube.create_or_get(names.SNAPSHOTS, obj)
            return JSONResponse({"snapshot": made["metadata"]["name"], "created": created},
                                201 if created else 200)

        return await ui.call(request, fn)

    async def access(request: Request) -> Response:
        verb = request.query_params.get("verb") or ""
        resource = request.query_params.get("resource") or ""
        if verb not in _VERBS or resource not in _RESOURCES:
            return _bad(f"can-i: verb one of {sorted(_VERBS)}, resource one of "
                        f"{sorted(_RESOURCES)}")
        if read_only and verb not in ("get", "list", "watch"):
            return JSONResponse({"allowed": False, "verb": verb, "resource": resource,
                                 "reason": "the UI runs in read-only server mode"})
        target = request.query_params.get("name") or None
        return await ui.call(request, lambda c: can_i(c.kube, verb, resource, name=target))

    return [
        Route("/api/snapshots", snapshots),
        Route("/api/snapshots/{name}", snapshot_page),
        Route("/api/snapshots/{name}/check", check_config, methods=["POST"]),
        Route("/api/snapshots/{name}/runs", start_run, methods=["POST"]),
        Route("/api/runs/{name}/snapshot", snapshot_from_run, methods=["POST"]),
        Route("/api/can-i", access),
    ]
