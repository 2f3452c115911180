"""Routes beyond the run page: models and promotion, run comparison, lineage across
pipelines and the artifacts browser.

Each request uses the caller's Client (:meth:`kubeline.ui.app.UI.call`); promotion goes
through ``Client.update_model_version``, the SDK's own rule (``force``, one version per
exclusive stage), and whether the caller may patch ModelVersions is the API server's answer
to a SelfSubjectAccessReview.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kubeline.constants import PAGE_SIZE_MAXIMUM
from kubeline.errors import ConfigurationError, NotFoundError
from kubeline.resources import names
from kubeline.ui import compare as compare_mod
from kubeline.ui import lineage
from kubeline.ui.access import can_i
from kubeline.ui.payloads import artifact_detail
from kubeline.utils.pagination_utils import depaginate

ARTIFACT_PAGE = 500  # ArtifactVersions read per page of the artifacts list
MAX_COMPARED_OUTPUTS = 40  # outputs' metadata read for a comparison


class Counted:
    """Counts the API requests a Client makes (every call goes through ``Kube._call``)."""

    def __init__(self, client: Any) -> None:
        self.requests = 0
        kube = client.kube
        inner = kube._call

        def call(*args: Any, **kwargs: Any) -> Any:
            self.requests += 1
            return inner(*args, **kwargs)

        kube._call = call


class ClientReader:
    """:class:`kubeline.ui.lineage.Reader` over a Client: each object read once."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._memo: dict[tuple[str, str], Any] = {}

    def _once(self, key: tuple[str, str], fn: Callable[[], Any]) -> Any:
        if key not in self._memo:
            try:
                self._memo[key] = fn()
            except NotFoundError:
                self._memo[key] = None
        return self._memo[key]

    def artifact(self, object_name: str) -> Any:
        return self._once(("av", object_name),
                          lambda: self.client._artifact_version_by_object_name(object_name))

    def artifact_by_uid(self, uid: str) -> Any:
        def find() -> Any:
            from kubeline.client.artifacts import ArtifactVersionView

            obj = self.client._find_by_uid(names.ARTIFACT_VERSIONS, uid)
            return ArtifactVersionView(self.client, obj) if obj else None
        return self._once(("uid", uid), find)

    def artifact_by_ref(self, name: str, version: str | None) -> Any:
        return self._once(("ref", f"{name}@{version}"),
                          lambda: self.client.get_artifact_version(name, version))

    def run(self, object_name: str) -> Any:
        return self._once(("run", object_name),
                          lambda: self.client._run_by_object_name(object_name))

    def snapshot_spec(self, run: Any) -> dict[str, Any] | None:
        return self._once(("snap", run.snapshot_name or ""), lambda: run.snapshot.spec)

    def snapshots_labelled(self, label_key: str) -> list[str]:
        page = self.client.kube.list(names.SNAPSHOTS, label_selector=label_key, limit=50)
        return [o["metadata"]["name"] for o in page.get("items", [])]

    def runs_of_snapshot(self, snapshot: str, limit: int) -> list[Any]:
        page = self.client.kube.list(
            names.PIPELINE_RUNS, limit=limit,
            label_selector=f"{names.LABEL_SNAPSHOT}={names.label_value(snapshot)}")
        return self._runs(page)

    def runs_labelled(self, label_key: str, limit: int) -> list[Any]:
        return self._runs(self.client.kube.list(names.PIPELINE_RUNS, limit=limit,
                                                label_selector=label_key))

    def _runs(self, page: dict[str, Any]) -> list[Any]:
        from kubeline.client.runs import RunView

        runs = [RunView(self.client, o) for o in page.get("items", [])]
        for run in runs:
            self._memo.setdefault(("run", run.name), run)
        return runs


# --------------------------------------------------------------------------- models
def model_row(model: Any) -> dict[str, Any]:
    st = model.k8s_status
    return {"name": model.name, "objectName": model.object_name,
            "description": model.description, "tags": model.tags,
            "latest": st.get("latestVersion"), "production": st.get("productionVersion"),
            "staging": st.get("stagingVersion"), "versions": st.get("versionCount") or 0,
            "created": model.metadata.get("creationTimestamp")}


def version_row(mv: Any) -> dict[str, Any]:
    return {"name": mv.name, "objectName": mv.object_name, "number": mv.number,
            "stage": mv.stage, "requestedStage": mv.requested_stage,
            "created": mv.metadata.get("creationTimestamp"),
            "producerRun": mv.sp.producer_run, "description": mv.description,
            "tags": mv.tags, "artifacts": mv.links,
            "metadata": dict(mv.spec.get("metadata") or {}),
            "stageHistory": mv.stage_history}


def promotion_access(client: Any, read_only: bool) -> dict[str, Any]:
    """May the caller patch ModelVersions here? (SelfSubjectAccessReview)"""
    if read_only:
        return {"allowed": False, "reason": "the UI runs in read-only server mode"}
    answer = can_i(client.kube, "patch", names.MODEL_VERSIONS)
    reason = answer["reason"]
    if not answer["allowed"]:
        reason += "; the ClusterRole kubeline-model-promoter allows it"
    return {"allowed": answer["allowed"], "reason": reason or ""}


REQUESTS_HEADER = "x-kubeline-api-requests"


def counted(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``fn(client)`` answering JSON with the number of API requests it made in a header
    (bench/ui.py reports it per view)."""

    def run(client: Any) -> Any:
        counter = Counted(client)
        result = fn(client)
        if isinstance(result, Response):
            result.headers[REQUESTS_HEADER] = str(counter.requests)
            return result
        return JSONResponse(result, headers={REQUESTS_HEADER: str(counter.requests)})

    return run


def routes(ui: Any) -> list[Route]:
    """The dashboard's API routes, served by ``ui`` (:class:`kubeline.ui.app.UI`)."""
    read_only = bool(ui.connector.read_only)

    async def models(request: Request) -> Response:
        return await ui.call(request, counted(lambda c: {
            "items": [model_row(m) for m in depaginate(c.list_models, sort_by="name",
                                                                   size=PAGE_SIZE_MAXIMUM)]}))

    async def model_page(request: Request) -> Response:
        name = request.path_params["name"]

        def fn(client: Any) -> dict[str, Any]:
            model = client.get_model(name)
            versions = depaginate(client.list_model_versions, model_name_or_id=model.name,
                                  size=PAGE_SIZE_MAXIMUM)
            return {"model": model_row(model), "versions": [version_row(v) for v in versions],
                    "promotion": promotion_access(client, read_only)}

        return await ui.call(request, counted(fn))

    async def set_stage(request: Request) -> Response:
        if read_only:
            return JSONResponse({"error": "forbidden", "verb": "patch",
                                 "resource": "modelversions",
                                 "message": "the UI runs in read-only server mode"}, 403)
        name, version = request.path_params["name"], request.path_params["version"]
        body = await request.json()
        stage, force = body.get("stage"), bool(body.get("force"))

        def fn(client: Any) -> Any:
            try:
                mv = client.update_model_version(name, version, stage=stage, force=force)
            except (RuntimeError, ValueError) as exc:  # the SDK's rule refused it
                return JSONResponse({"error": "conflict", "message": str(exc)}, 409)
            return version_row(mv)

        return await ui.call(request, counted(fn))

    # ------------------------------------------------------------ compare
    async def compare(request: Request) -> Response:
        wanted = [r for r in (request.query_params.get("runs") or "").split(",") if r]

        def fn(client: Any) -> dict[str, Any]:
            if not compare_mod.MIN_RUNS <= len(wanted) <= compare_mod.MAX_RUNS:
                raise ConfigurationError(
                    f"compare {compare_mod.MIN_RUNS} to {compare_mod.MAX_RUNS} runs "
                    f"(got {len(wanted)})")
            reader = ClientReader(client)
            runs = []
            budget = MAX_COMPARED_OUTPUTS
            for name in dict.fromkeys(wanted):
                run = reader.run(name)
                if run is None:
                    raise NotFoundError(f"no run {name!r}")
                outputs: dict[str, dict[str, Any]] = {}
                for st in run.step_statuses:
                    for av_name in (st.get("outputs") or {}).values():
                        if budget <= 0:
                            break
                        budget -= 1
                        av = reader.artifact(av_name)
                        if av is not None:
                            outputs[av_name] = dict(av.spec.get("metadata") or {})
                runs.append(compare_mod.ComparedRun(run, reader.snapshot_spec(run), outputs))
            pipelines = {r.run.pipeline_object_name for r in runs}
            if len(pipelines) > 1:
                raise ConfigurationError(
                    "compare runs of one pipeline; these belong to " + ", ".join(
                        sorted(p or "?" for p in pipelines)))
            return compare_mod.compare(runs)

        return await ui.call(request, counted(fn))

    # ------------------------------------------------------------ lineage
    async def lineage_view(request: Request) -> Response:
        q = request.query_params

        def fn(client: Any) -> dict[str, Any]:
            started = time.perf_counter()
            counter = Counted(client)
            reader = ClientReader(client)
            if q.get("artifact"):
                av = reader.artifact(q["artifact"])
                if av is None:
                    raise NotFoundError(f"no artifact version {q['artifact']!r}")
                out = lineage.for_artifact(reader, av)
            elif q.get("model"):
                mv = client.get_model_version(q["model"], q.get("version") or "latest")
                out = lineage.for_model_version(reader, mv)
            else:
                raise ConfigurationError("lineage of what? give ?artifact=<ArtifactVersion> or "
                                         "?model=<name>&version=<version or stage>")
            out["stats"] = {"requests": counter.requests,
                            "ms": round((time.perf_counter() - started) * 1000, 1)}
            return out

        return await ui.call(request, counted(fn))

    # ------------------------------------------------------------ artifacts
    async def artifact_names(request: Request) -> Response:
        cont = request.query_params.get("continue") or None

        def fn(client: Any) -> dict[str, Any]:
            page = client.kube.list(names.ARTIFACT_VERSIONS, limit=ARTIFACT_PAGE,
                                    continue_token=cont)
            grouped: dict[str, dict[str, Any]] = {}
            for obj in page.get("items", []):
                spec = obj.get("spec") or {}
                row = grouped.setdefault(spec.get("artifactName") or "?", {
                    "name": spec.get("artifactName"), "versions": 0, "latest": None,
                    "latestCreated": None, "type": spec.get("artifactType")})
                row["versions"] += 1
                created = obj["metadata"].get("creationTimestamp") or ""
                if created >= (row["latestCreated"] or ""):
                    row["latest"], row["latestCreated"] = spec.get("version"), created
            return {"items": sorted(grouped.values(), key=lambda r: str(r["name"])),
                    "continue": page.get("metadata", {}).get("continue")}

        return await ui.call(request, counted(fn))

    async def artifact_versions(request: Request) -> Response:
        name = request.path_params["name"]

        def fn(client: Any) -> dict[str, Any]:
            view = client.get_artifact(name)
            rows = []
            for av in view.versions.values():  # a Mapping: iterating it gives version strings
                d = artifact_detail(av, [])
                d.pop("consumers")
                rows.append(d)
            return {"name": name, "versions": rows}

        return await ui.call(request, counted(fn))

    return [
        Route("/api/models", models),
        Route("/api/models/{name}", model_page),
        Route("/api/models/{name}/versions/{version}/stage", set_stage, methods=["POST"]),
        Route("/api/compare", compare),
        Route("/api/lineage", lineage_view),
        Route("/api/artifact-names", artifact_names),
        Route("/api/artifact-names/{name}", artifact_versions),
    ]
