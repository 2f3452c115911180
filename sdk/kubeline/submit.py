"""Running a pipeline: compile -> package code -> Pipeline -> Snapshot -> PipelineRun -> wait.

I/O only; the decisions (DAG, names, hashes) are made by the pure compiler.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kubeline.artifact_store import ArtifactStore, S3Settings
from kubeline.client import Client
from kubeline.client.trigger import build_run
from kubeline.code_archive import build_archive, upload_archive
from kubeline.compiler import CompiledPipeline, compile_pipeline
from kubeline.errors import AlreadyExistsError, ConfigurationError
from kubeline.kube import Kube
from kubeline.resources.names import (
    ANNOTATION_NAME,
    API_VERSION,
    LABEL_PIPELINE,
    LABEL_SNAPSHOT,
    PIPELINE_RUNS,
    PIPELINES,
    SCHEDULES,
    SNAPSHOTS,
    dns_name,
    label_value,
)
from kubeline.resources.phases import UNSUCCESSFUL_RUN_PHASES
from kubeline.resources.run_objects import new_run_name

if TYPE_CHECKING:
    from kubeline.pipelines import Pipeline

log = logging.getLogger("kubeline")


def pipeline_object(compiled: CompiledPipeline, description: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": compiled.spec.pipeline_name}
    if description:
        spec["description"] = description[:1024]
    return {"apiVersion": API_VERSION, "kind": "Pipeline",
            "metadata": {"name": compiled.pipeline_object_name}, "spec": spec}


def _package_code(pipeline: Pipeline, compiled_root: Any, kube: Kube) -> dict[str, Any]:
    archive = build_archive(compiled_root, max_bytes=pipeline.options.code_max_bytes)
    try:
        store = ArtifactStore.from_settings(S3Settings.resolve(kube))
        uri = upload_archive(store, archive)
    finally:
        archive.path.unlink(missing_ok=True)
    log.info("code archive %s (%d files, %d bytes)", uri, archive.file_count, archive.size)
    return {"uri": uri, "sha256": archive.sha256, "size": archive.size}


def _compile_and_store(pipeline: Pipeline, args: tuple[Any, ...], kwargs: dict[str, Any],
                       display_name: str | None, for_snapshot: bool = False,
                       ) -> tuple[Kube, CompiledPipeline]:
    """Compile (once without code to validate cheaply), package, then create the objects.

    ``for_snapshot``: step parameters without a value may stay unset (required at run time).
    """
    draft = compile_pipeline(pipeline, args, kwargs, display_name=display_name,
                             allow_unset_parameters=for_snapshot)
    kube = Kube.connect(namespace=pipeline.options.namespace)
    code = None if draft.code_in_image else _package_code(pipeline, draft.source_root, kube)
    compiled = compile_pipeline(pipeline, args, kwargs, code=code, source_root=draft.source_root,
                                display_name=display_name,
                                allow_unset_parameters=for_snapshot) if code else draft
    kube.create_or_get(PIPELINES, pipeline_object(compiled, pipeline.entrypoint.__doc__))
    kube.create_or_get(SNAPSHOTS, compiled.snapshot_object())
    return kube, compiled


def _client(kube: Kube) -> Any:
    return Client(namespace=kube.namespace, kube=kube)


def run_pipeline(pipeline: Pipeline, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Submit a run; wait for it (with progress) unless the pipeline is asynchronous."""
    kube, compiled = _compile_and_store(pipeline, args, kwargs, display_name=None)
    body = build_run(compiled.snapshot_object(), compiled.run_config)
    name = body["metadata"]["name"]
    kube.create(PIPELINE_RUNS, body)
    print(f"Pipeline run {name} created (snapshot {compiled.snapshot_name}, namespace "
          f"{kube.namespace}).", flush=True)
    run = _client(kube).get_pipeline_run(name)
    if pipeline.options.synchronous:
        run.wait(show_progress=True)
        run = _client(kube).get_pipeline_run(name)
        if run.status in UNSUCCESSFUL_RUN_PHASES:
            from kubeline.client.waiting import run_failed_error

            raise run_failed_error(run)
    return run


def create_snapshot(pipeline: Pipeline, args: tuple[Any, ...], kwargs: dict[str, Any],
                    display_name: str | None = None) -> Any:
    """Create (or reuse) the pipeline's Snapshot without running it; returns its view."""
    kube, compiled = _compile_and_store(pipeline, args, kwargs, display_name=display_name,
                                        for_snapshot=True)
    client = _client(kube)
    getter = getattr(client, "get_snapshot", None)
    if callable(getter):
        return getter(compiled.snapshot_name)
    return kube.get(SNAPSHOTS, compiled.snapshot_name)


def schedule_object(compiled: CompiledPipeline, schedule: Any, now: datetime | None = None
                    ) -> dict[str, Any]:
    """The Schedule resource that runs ``compiled``'s snapshot on ``schedule`` (pure).

    Unnamed schedules are named after the pipeline and the time, as ZenML names them; a
    given name that is not a DNS label is kept verbatim in the kubeline.dev/name annotation.
    """
    given = schedule.name
    name = dns_name(given) if given else new_run_name(compiled.pipeline_object_name, now)
    meta: dict[str, Any] = {"name": name, "labels": {
        LABEL_PIPELINE: compiled.pipeline_object_name,
        LABEL_SNAPSHOT: label_value(compiled.snapshot_name)}}
    if given and given != name:
        meta["annotations"] = {ANNOTATION_NAME: given}
    return {"apiVersion": API_VERSION, "kind": "Schedule", "metadata": meta,
            "spec": schedule.to_spec(snapshot=compiled.snapshot_name,
                                     config=compiled.run_config or None)}


def schedule_pipeline(pipeline: Pipeline, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Create the Snapshot and the Schedule (no run); returns the Schedule's view."""
    kube, compiled = _compile_and_store(pipeline, args, kwargs, display_name=None)
    body = schedule_object(compiled, pipeline.options.schedule)
    name = body["metadata"]["name"]
    try:
        kube.create(SCHEDULES, body)
    except AlreadyExistsError:
        raise ConfigurationError(
            f"schedule {name!r} exists already in namespace {kube.namespace}: change it with "
            f"Client().update_schedule({name!r}, ...), or delete it first "
            f"(Client().delete_schedule({name!r}))") from None
    print(f"Schedule {name} created for pipeline {compiled.spec.pipeline_name} (snapshot "
          f"{compiled.snapshot_name}, namespace {kube.namespace}); the operator starts its "
          "runs.", flush=True)
    return _client(kube).get_schedule(name)
