"""The UI's ASGI app (Starlette): JSON and server-sent events over the SDK's Client.

Every request builds a Client with the caller's credentials (:mod:`kubeline.ui.auth`) and
reads only what its page needs: a run page is a GET of the run and of its snapshot, a
runs list is one page of a server-side list (``limit``/``continue``). Live views are
server-sent events fed by Kubernetes watches.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from kubeline.errors import (
    ArtifactStoreError,
    ClusterUnreachableError,
    ConfigurationError,
    KubelineError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)
from kubeline.resources import names
from kubeline.resources.phases import RUN_PHASES, TERMINAL_STEP_PHASES
from kubeline.ui import dashboard, payloads
from kubeline.ui.auth import TOKEN_COOKIE, Connector, bearer_token, forbidden_details
from kubeline.ui.cache_explain import StepRecord, explain, step_record
from kubeline.ui.security import (
    CSRF_COOKIE,
    VISUALIZATION_CSP,
    CsrfMiddleware,
    SecurityHeadersMiddleware,
    new_csrf_token,
)
from kubeline.ui.streams import WatchExpired, pod_log_stream, watch_events

STATIC_DIR = Path(__file__).parent / "static"
FINISHED_STEP = TERMINAL_STEP_PHASES
EARLIER_RUNS = 8  # earlier runs read to explain a cache miss (bounded)
MAX_VISUALIZATION = 20 * 1024 * 1024
HEARTBEAT = 15.0
_NS = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_CONTENT_TYPES = {"html": "text/html; charset=utf-8", "markdown": "text/markdown; charset=utf-8",
                  "csv": "text/csv; charset=utf-8", "json": "application/json"}


# --------------------------------------------------------------------------- plumbing
def error_body(exc: Exception) -> tuple[int, dict[str, Any]]:
    """HTTP status and JSON body for an error; a 403 names the verb and resource refused."""
    text = str(exc)
    if isinstance(exc, UnauthenticatedError):
        return 401, {"error": "unauthenticated", "message": text}
    if isinstance(exc, PermissionDeniedError):
        return 403, {"error": "forbidden", "message": text, **forbidden_details(text)}
    if isinstance(exc, NotFoundError):
        return 404, {"error": "not_found", "message": text}
    if isinstance(exc, ConfigurationError):
        return 400, {"error": "bad_request", "message": text}
    if isinstance(exc, ClusterUnreachableError | ArtifactStoreError):
        return 502, {"error": "unavailable", "message": text}
    return 500, {"error": "error", "message": text}


def _namespace(request: Request) -> str | None:
    ns = request.query_params.get("ns") or None
    if ns is not None and not _NS.match(ns):
        raise ConfigurationError(f"namespace {ns!r} is not a valid namespace name")
    return ns


class UI:
    """The app's state: how to connect, and the artifact stores opened so far."""

    def __init__(self, connector: Connector) -> None:
        self.connector = connector
        self._stores: dict[Any, Any] = {}

    def client_for(self, request: Request) -> Any:
        token = bearer_token(request.headers, dict(request.cookies))
        return self.connector.client(token, _namespace(request))

    async def call(self, request: Request, fn: Callable[[Any], Any]) -> Response:
        """Run ``fn(client)`` in a thread with the caller's Client; errors become JSON."""
        try:
            client = self.client_for(request)
        except KubelineError as exc:
            status, body = error_body(exc)
            return JSONResponse(body, status)
        try:
            result = await run_in_threadpool(fn, client)
        except KubelineError as exc:
            status, body = error_body(exc)
            return JSONResponse(body, status)
        finally:
            self.connector.release(client)
        return result if isinstance(result, Response) else JSONResponse(result)

    def store(self, client: Any) -> Any:
        """The artifact store: the UI's S3 settings, else the namespace's Secret (caller's
        rights). Bytes are read only for objects the caller could GET first."""
        from kubeline.artifact_store import ArtifactStore, S3Settings

        settings = S3Settings.resolve(client.kube)
        if settings not in self._stores:
            self._stores[settings] = ArtifactStore.from_settings(settings)
        return self._stores[settings]


def sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def with_heartbeat(source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Forward ``source``, adding a comment line when idle so dead connections are noticed."""
    queue: asyncio.Queue[Any] = asyncio.Queue()
    done = object()

    async def pump() -> None:
        try:
            async for item in source:
                await queue.put(item)
        except Exception as exc:  # reported to the browser as an error event
            status, body = error_body(exc)
            await queue.put(sse("error", {**body, "status": status}))
        finally:
            await queue.put(done)

    task = asyncio.create_task(pump())
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), HEARTBEAT)
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            if item is done:
                return
            yield item
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        close = getattr(source, "aclose", None)
        if close is not None:
            await close()


def event_stream(gen: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(with_heartbeat(gen), media_type="text/event-stream",
                             headers={"cache-control": "no-store", "x-accel-buffering": "no"})


# --------------------------------------------------------------------------- handlers
def make_app(connector: Connector, static_dir: Path | None = None) -> Starlette:
    """The UI app for one way of connecting (see :class:`kubeline.ui.auth.Connector`)."""
    from kubeline.client.runs import RunView

    ui = UI(connector)
    static = static_dir or STATIC_DIR

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def config(request: Request) -> Response:
        token = bearer_token(request.headers, dict(request.cookies))
        return JSONResponse({
            "mode": connector.mode, "namespace": connector.namespace,
            "readOnly": connector.read_only,
            "signedIn": connector.mode != "client" or bool(token),
            "phases": list(RUN_PHASES), "stepPhases": list(payloads.STEP_PHASES),
        })

    async def login(request: Request) -> Response:
        if connector.mode != "client":
            return JSONResponse({"error": "bad_request",
                                 "message": f"no sign-in in {connector.mode} mode"}, 400)
        body = await request.json()
        token = str(body.get("token") or "").strip()
        if not token:
            return JSONResponse({"error": "bad_request", "message": "token is empty"}, 400)
        resp = JSONResponse({"ok": True})
        resp.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
        return resp

    async def logout(request: Request) -> Response:
        resp = JSONResponse({"ok": True})
        resp.delete_cookie(TOKEN_COOKIE, path="/")
        return resp

    # ------------------------------------------------------------ pipelines and runs
    async def pipelines(request: Request) -> Response:
        limit = min(int(request.query_params.get("limit") or 50), 200)
        cont = request.query_params.get("continue") or None

        def fn(client: Any) -> dict[str, Any]:
            from kubeline.client.pipelines import PipelineView

            page = client.kube.list(names.PIPELINES, limit=limit, continue_token=cont)
            rows = []
            for obj in page.get("items", []):
                view = PipelineView(client, obj)
                last_name = view.k8s_status.get("lastRun")
                last = None
                if last_name:
                    try:
                        last = client._run_by_object_name(last_name)
                    except NotFoundError:
                        last = None
                rows.append(payloads.pipeline_row(view, last))
            return {"items": rows, "continue": page.get("metadata", {}).get("continue")}

        return await ui.call(request, fn)

    def runs_selectors(request: Request, client: Any) -> dict[str, str | None]:
        pipeline = request.query_params.get("pipeline") or None
        status = request.query_params.get("status") or None
        label = None
        if pipeline:
            label = f"{names.LABEL_PIPELINE}={names.label_value(pipeline)}"
        field = None
        if status:
            if status not in RUN_PHASES:
                raise ConfigurationError(f"status {status!r}: use one of {', '.join(RUN_PHASES)}")
            if status == "initialized":  # a new run has no phase yet
                field = ",".join(f"status.phase!={p}" for p in RUN_PHASES if p != status)
            else:
                field = f"status.phase={status}"
        return {"label_selector": label, "field_selector": field}

    async def runs(request: Request) -> Response:
        limit = min(int(request.query_params.get("limit") or 50), 500)
        cont = request.query_params.get("continue") or None

        def fn(client: Any) -> dict[str, Any]:
            sel = runs_selectors(request, client)
            page = client.kube.list(names.PIPELINE_RUNS, limit=limit, continue_token=cont, **sel)
            meta = page.get("metadata", {})
            return {"items": [payloads.run_summary(RunView(client, o)) for o in page["items"]],
                    "continue": meta.get("continue"),
                    "remaining": meta.get("remainingItemCount"),
                    "resourceVersion": meta.get("resourceVersion")}

        return await ui.call(request, fn)

    async def runs_events(request: Request) -> Response:
        try:
            client = ui.client_for(request)
            sel = runs_selectors(request, client)
        except KubelineError as exc:
            status, body = error_body(exc)
            return JSONResponse(body, status)
        rv = request.query_params.get("rv") or None

        def current_version() -> str | None:
            # a watch without a version would first replay every matching run as ADDED
            page = client.kube.list(names.PIPELINE_RUNS, limit=1, **sel)
            return page.get("metadata", {}).get("resourceVersion")

        async def gen() -> AsyncIterator[bytes]:
            nonlocal rv
            try:
                while True:
                    if rv is None:
                        rv = await run_in_threadpool(current_version)
                    try:
                        async for kind, obj in watch_events(client.kube, names.PIPELINE_RUNS,
                                                            rv, **sel):
                            rv = obj.get("metadata", {}).get("resourceVersion") or rv
                            if kind == "BOOKMARK":
                                continue
                            yield sse("run", {"type": kind,
                                              "run": payloads.run_summary(RunView(client, obj))})
                    except WatchExpired:
                        rv = None
                        yield sse("reset", {})
            finally:
                connector.release(client)

        return event_stream(gen())

    def load_run(client: Any, name: str) -> Any:
        return client._run_by_object_name(name)

    def snapshot_spec(run: Any) -> dict[str, Any] | None:
        try:
            return run.snapshot.spec
        except NotFoundError:
            return None

    async def run_page(request: Request) -> Response:
        name = request.path_params["name"]

        def fn(client: Any) -> dict[str, Any]:
            run = load_run(client, name)
            spec = snapshot_spec(run)
            try:
                triggered = run.triggered_runs
            except PermissionDeniedError:
                triggered = []
            return payloads.run_page(run, spec, triggered)

        return await ui.call(request, fn)

    async def run_events(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            client = ui.client_for(request)
        except KubelineError as exc:
            status, body = error_body(exc)
            return JSONResponse(body, status)
        rv = request.query_params.get("rv") or None

        async def gen() -> AsyncIterator[bytes]:
            nonlocal rv
            previous: dict[str, dict[str, Any]] | None = None
            try:
                if rv is None:
                    run = await run_in_threadpool(load_run, client, name)
                    update, previous = payloads.status_update(run, None)
                    rv = run.metadata.get("resourceVersion")
                    yield sse("update", {**update, "full": True})
                while True:
                    try:
                        async for kind, obj in watch_events(
                                client.kube, names.PIPELINE_RUNS, rv,
                                field_selector=f"metadata.name={name}"):
                            rv = obj.get("metadata", {}).get("resourceVersion") or rv
                            if kind == "BOOKMARK":
                                continue
                            if kind == "DELETED":
                                yield sse("deleted", {"name": name})
                                return
                            update, previous = payloads.status_update(RunView(client, obj),
                                                                      previous)
                            update["sentAt"] = time.time()
                            yield sse("update", update)
                    except WatchExpired:
                        run = await run_in_threadpool(load_run, client, name)
                        rv = run.metadata.get("resourceVersion")
                        update, previous = payloads.status_update(run, previous)
                        yield sse("update", update)
            finally:
                connector.release(client)

        return event_stream(gen())

    async def cancel_run(request: Request) -> Response:
        if connector.read_only:
            return JSONResponse({"error": "forbidden", "verb": "patch",
                                 "resource": "pipelineruns", "message":
                                 "the UI runs in read-only server mode"}, 403)
        name = request.path_params["name"]
        return await ui.call(request, lambda c: payloads.run_summary(load_run(c, name).cancel()))

    # ------------------------------------------------------------ steps
    def earlier_records(client: Any, run: Any, sid: str) -> list[StepRecord]:
        """The step in up to EARLIER_RUNS runs before this one (Pipeline.status.recentRuns)."""
        try:
            recent = list(run.pipeline.k8s_status.get("recentRuns") or [])
        except NotFoundError:
            return []
        if run.name in recent:
            recent = recent[recent.index(run.name) + 1:]
        else:
            recent = [r for r in recent if r < run.name]
        out = []
        for other_name in recent[:EARLIER_RUNS]:
            try:
                other = load_run(client, other_name)
            except NotFoundError:
                continue
            rec = step_record(other, snapshot_spec(other), sid)
            if rec is not None:
                out.append(rec)
        return out

    def pod_info(client: Any, pod: str | None) -> dict[str, Any] | None:
        if not pod:
            return None
        kube = client.kube
        try:
            obj = kube._call(f"pods/{pod}", kube.core.read_namespaced_pod, pod, kube.namespace)
        except NotFoundError:
            return {"name": pod, "exists": False}
        data = kube.api_client.sanitize_for_serialization(obj)
        status = data.get("status") or {}
        info: dict[str, Any] = {"name": pod, "exists": True, "phase": status.get("phase"),
                                "node": (data.get("spec") or {}).get("nodeName"),
                                "startTime": status.get("startTime")}
        for cs in status.get("containerStatuses") or []:
            term = (cs.get("state") or {}).get("terminated") or (
                cs.get("lastState") or {}).get("terminated")
            if term:
                info["exitCode"] = term.get("exitCode")
                info["terminationMessage"] = term.get("message")
        return info

    def traceback_tail(pod: dict[str, Any] | None) -> str | None:
        text = (pod or {}).get("terminationMessage")
        if not text:
            return None
        try:
            return json.loads(text).get("traceback")
        except (ValueError, AttributeError):
            return text[-2000:]

    async def step_detail(request: Request) -> Response:
        name, sid = request.path_params["name"], request.path_params["step"]

        def fn(client: Any) -> dict[str, Any]:
            run = load_run(client, name)
            if sid not in run._steps_read:
                raise NotFoundError(f"run {name} has no step {sid!r}")
            step = run._steps_read[sid]
            spec = snapshot_spec(run)
            this = step_record(run, spec, sid)
            cfg = run.config
            step_cfg = cfg.steps.get(sid)
            run_off = cfg.enable_cache is False
            step_off = step_cfg is not None and step_cfg.enable_cache is False
            enabled = not run_off and not step_off
            disabled_by = ("this run (enable_cache=False)" if run_off else
                           "this step (enable_cache=False)" if step_off else None)
            earlier = earlier_records(client, run, sid) if step.status != "cached" else []
            cache = explain(this, earlier, enabled, disabled_by) if this else None
            pod = pod_info(client, step.pod)
            step_spec: dict[str, Any] = next(
                (s for s in (spec or {}).get("steps") or [] if s["id"] == sid), {})
            return {
                "run": name, "id": sid, "name": step_spec.get("name") or names.dns_name(sid),
                "status": step.status, "attempts": step.attempts, "pod": pod,
                "startTime": step._status.get("startTime"), "endTime": step._status.get("endTime"),
                "duration": step.duration, "message": step.message, "reason": step.reason,
                "nextRetryTime": step._status.get("nextRetryTime"),
                "cachedFrom": step.cached_from,
                "parameters": step_cfg.parameters if step_cfg else {},
                "settings": step_cfg.settings if step_cfg else {},
                "enableCache": enabled,
                "function": step_spec.get("function"), "entrypoint": step_spec.get("entrypoint"),
                "docstring": (step_spec.get("extra") or {}).get("docstring"),
                "outputs": step.output_names,
                "inputs": (this.inputs if this else {}),
                "cache": cache,
                "traceback": traceback_tail(pod) if step.status == "failed" else None,
            }

        return await ui.call(request, fn)

    async def step_logs(request: Request) -> Response:
        name, sid = request.path_params["name"], request.path_params["step"]
        try:
            client = ui.client_for(request)
        except KubelineError as exc:
            status, body = error_body(exc)
            return JSONResponse(body, status)
        attempt_q = request.query_params.get("attempt")

        def locate() -> dict[str, Any]:
            run = load_run(client, name)
            if sid not in run._steps_read:
                raise NotFoundError(f"run {name} has no step {sid!r}")
            step = run._steps_read[sid]
            attempt = int(attempt_q) if attempt_q else step.attempts
            spec = snapshot_spec(run)
            step_name = next((s["name"] for s in (spec or {}).get("steps") or []
                              if s["id"] == sid), names.dns_name(sid))
            pod = (step.pod if attempt == step.attempts else
                   names.step_pod_name(run.name, step_name, attempt))
            return {"run": run, "step": step, "attempt": attempt, "pod": pod,
                    "stepName": step_name}

        def saved_log(where: dict[str, Any]) -> str | None:
            run = where["run"]
            store = ui.store(client)
            uri = store.step_log_uri(run.metadata.get("namespace") or client.namespace,
                                     run.pipeline_object_name or "", run.name,
                                     where["stepName"], where["attempt"])
            try:
                return store.read_bytes(uri).decode(errors="replace")
            except FileNotFoundError:
                return None

        async def gen() -> AsyncIterator[bytes]:
            try:
                where = await run_in_threadpool(locate)
                step = where["step"]
                info = {"attempt": where["attempt"], "attempts": step.attempts,
                        "pod": where["pod"], "status": step.status}
                if step.status == "cached":
                    yield sse("end", {**info, "note": "served from the cache: no Pod ran; "
                                      "see the run it came from"})
                    return
                finished = step.status in FINISHED_STEP or where["attempt"] < step.attempts
                if finished:
                    text = await run_in_threadpool(saved_log, where)
                    if text is not None:
                        yield sse("text", {**info, "source": "store", "text": text})
                        yield sse("end", info)
                        return
                if not where["pod"]:
                    yield sse("end", {**info, "note": "no Pod has started yet"})
                    return
                for _ in range(120):  # the container may still be starting
                    try:
                        stream = pod_log_stream(client.kube, where["pod"], follow=not finished)
                        yield sse("source", {**info, "source": "pod"})
                        async for chunk in stream.chunks():
                            yield sse("text", {"text": chunk.decode(errors="replace")})
                        break
                    except NotFoundError:
                        text = await run_in_threadpool(saved_log, where)
                        if text is not None:
                            yield sse("text", {**info, "source": "store", "text": text})
                        else:
                            yield sse("end", {**info, "note": "the Pod is gone and no log was "
                                              "saved for this attempt"})
                            return
                        break
                    except KubelineError as exc:
                        if "waiting to start" not in str(exc) and "ContainerCreating" not in str(
                                exc) and "PodInitializing" not in str(exc):
                            raise
                        await asyncio.sleep(1.0)
                yield sse("end", info)
            finally:
                connector.release(client)

        return event_stream(gen())

    # ------------------------------------------------------------ artifacts
    async def artifact(request: Request) -> Response:
        av_name = request.path_params["name"]

        def fn(client: Any) -> dict[str, Any]:
            av = client._artifact_version_by_object_name(av_name)
            consumers: list[dict[str, str]] = []
            prod = av.producer or {}
            if prod.get("run"):
                try:
                    run = load_run(client, prod["run"])
                    consumers = payloads.consumers_in(snapshot_spec(run), run.name,
                                                      prod["step"], prod["output"])
                except NotFoundError:
                    consumers = []
            return payloads.artifact_detail(av, consumers)

        return await ui.call(request, fn)

    async def visualization(request: Request) -> Response:
        av_name = request.path_params["name"]
        index = int(request.path_params["index"])

        def fn(client: Any) -> Response:
            av = client._artifact_version_by_object_name(av_name)  # the caller may read it
            vis = av.visualizations
            if not 0 <= index < len(vis):
                raise NotFoundError(f"artifact version {av_name} has no visualization {index}")
            store = ui.store(client)
            uri = vis[index]["uri"]
            if store.size(uri) > MAX_VISUALIZATION:
                raise KubelineError(f"visualization {uri} is larger than 20 MiB")
            data = store.read_bytes(uri)
            kind = vis[index].get("type") or ""
            media = _CONTENT_TYPES.get(kind) or _image_type(data)
            headers = {"content-security-policy": VISUALIZATION_CSP,
                       "x-frame-options": "SAMEORIGIN", "cache-control": "private, max-age=300"}
            return Response(data, media_type=media, headers=headers)

        return await ui.call(request, fn)

    # ------------------------------------------------------------ pages
    async def index(request: Request) -> Response:
        page = static / "index.html"
        resp: Response
        if page.exists():
            resp = FileResponse(page, headers={"cache-control": "no-store"})
        else:  # the API still works (and needs the CSRF cookie) without the built pages
            resp = Response(
                "The UI's assets are not built: run `make ui` (Node 20 and npm), or install "
                "a kubeline wheel, which ships them.", 503, media_type="text/plain")
        if CSRF_COOKIE not in request.cookies:
            resp.set_cookie(CSRF_COOKIE, new_csrf_token(), samesite="strict", path="/",
                            secure=request.url.scheme == "https")
        return resp

    from kubeline.ui.snapshot_routes import snapshot_routes

    routes: list[Any] = [
        *snapshot_routes(ui),
        Route("/healthz", healthz),
        Route("/api/config", config),
        Route("/api/login", login, methods=["POST"]),
        Route("/api/logout", logout, methods=["POST"]),
        Route("/api/pipelines", pipelines),
        Route("/api/runs", runs),
        Route("/api/runs-events", runs_events),
        Route("/api/runs/{name}", run_page),
        Route("/api/runs/{name}/events", run_events),
        Route("/api/runs/{name}/cancel", cancel_run, methods=["POST"]),
        Route("/api/runs/{name}/steps/{step}", step_detail),
        Route("/api/runs/{name}/steps/{step}/logs", step_logs),
        Route("/api/artifacts/{name}", artifact),
        Route("/api/artifacts/{name}/visualizations/{index:int}", visualization),
        *dashboard.routes(ui),
    ]
    if (static / "assets").is_dir():
        routes.append(Mount("/assets", StaticFiles(directory=static / "assets")))
    routes.append(Route("/{path:path}", index))
    app = Starlette(routes=routes)
    app.add_middleware(CsrfMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    return app


def _image_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if b"<svg" in data[:512]:
        return "image/svg+xml"
    return "application/octet-stream"
