"""Outputs manifests -> ArtifactVersion objects; ArtifactVersion objects -> input info (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubeline.resources import layout
from kubeline.resources.manifest import ManifestError, OutputsManifest, status_metadata
from kubeline.resources.models import (
    ArtifactVersionSpec,
    Producer,
    SaveType,
    StepSpec,
    Visualization,
)
from kubeline.resources.names import (
    ANNOTATION_CACHE_KEY,
    ANNOTATION_NAME,
    ANNOTATION_OUTPUT,
    ANNOTATION_STEP_ID,
    API_VERSION,
    LABEL_ARTIFACT,
    LABEL_CACHE_KEY,
    LABEL_PIPELINE,
    LABEL_RUN,
    LABEL_STEP,
    LABEL_VERSION,
    artifact_version_name,
    label_value,
)

from kubeline_operator.actions import ArtifactInfo, MarkStepCompleted

__all__ = ["ANNOTATION_CACHE_KEY", "ANNOTATION_OUTPUT", "ANNOTATION_STEP_ID", "ManifestError",
           "ManifestOutput", "artifact_info", "artifact_version_body", "default_artifact_name",
           "outside_message", "parse_manifest", "parse_manual_artifacts", "run_tags_of",
           "step_completed", "uris_outside"]


@dataclass(frozen=True)
class ManifestOutput:
    output: str
    uri: str
    materializer: str
    data_type: str
    content_hash: str | None
    metadata: Mapping[str, Any]
    visualizations: tuple[Visualization, ...]
    artifact_name: str
    version: str | None
    tags: tuple[str, ...] = ()
    artifact_type: str | None = None
    save_type: SaveType = "step_output"


def uris_outside(prefix: str, manifest_uri: str, outputs: list[ManifestOutput]) -> list[str]:
    """Every URI of the manifest (itself, each output and visualization) not under the run's
    own ``prefix`` (``layout.run_prefix``): a step may record only what its run wrote."""
    uris = [manifest_uri]
    for out in outputs:
        uris.append(out.uri)
        uris.extend(v.uri for v in out.visualizations)
    return [u for u in uris if not layout.is_under(u, prefix)]


def outside_message(step_id: str, prefix: str, bad: list[str]) -> str:
    shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
    return (f"step '{step_id}' recorded URIs outside its run's prefix {prefix}/: {shown}; "
            "a step may record only what it wrote under its own outputsUri")


def default_artifact_name(pipeline_name: str, step_id: str, output: str) -> str:
    """'<pipeline>::<step id>::<output>' (docs/contracts.md)."""
    return f"{pipeline_name}::{step_id}::{output}"


def parse_manifest(data: Any, step: StepSpec, pipeline_name: str) -> list[ManifestOutput]:
    """The declared outputs as saved by the step (``data``: the manifest, decoded or parsed);
    raises ManifestError naming what is wrong."""
    return declared_outputs(_manifest(data), step, pipeline_name)


def declared_outputs(manifest: OutputsManifest, step: StepSpec, pipeline_name: str
                     ) -> list[ManifestOutput]:
    """Each declared output of ``step`` as the manifest records it (ManifestError if absent)."""
    parsed = []
    for declared in step.outputs:
        entry = manifest.outputs.get(declared.name)
        if entry is None:
            raise ManifestError(
                f"step '{step.id}' did not save its declared output '{declared.name}'"
            )
        parsed.append(ManifestOutput(
            output=declared.name,
            uri=entry.uri,
            materializer=entry.materializer or declared.materializer,
            data_type=entry.data_type or declared.data_type or "",
            content_hash=entry.content_hash or None,
            metadata=dict(entry.metadata),
            visualizations=tuple(entry.visualizations[:8]),
            artifact_name=(entry.artifact_name or declared.artifact_name
                           or default_artifact_name(pipeline_name, step.id, declared.name)),
            version=entry.version or None,
            tags=tuple(entry.tags),
            artifact_type=entry.artifact_type,
        ))
    return parsed


MAX_MANUAL_ARTIFACTS = 32


def _manifest(data: Any) -> OutputsManifest:
    if isinstance(data, OutputsManifest):
        return data
    try:
        return OutputsManifest.from_wire(data, "outputs manifest")
    except ValueError as exc:
        raise ManifestError(str(exc)) from None


def parse_manual_artifacts(data: Any, step: StepSpec) -> list[ManifestOutput]:
    """Versions a step saved with ``save_artifact`` (manifest ``manualArtifacts``)."""
    return [
        ManifestOutput(
            output=f"manual-{i}", uri=entry.uri, materializer=entry.materializer,
            data_type=entry.data_type, content_hash=entry.content_hash,
            metadata=dict(entry.metadata), visualizations=tuple(entry.visualizations),
            artifact_name=entry.artifact_name, version=entry.version or None,
            tags=tuple(entry.tags), artifact_type=entry.artifact_type, save_type="manual")
        for i, entry in enumerate(_manifest(data).manual_artifacts[:MAX_MANUAL_ARTIFACTS])
    ]


def run_tags_of(data: Any) -> list[str]:
    """Tags a step added to its run (manifest ``runTags``)."""
    return list(_manifest(data).run_tags)


def artifact_version_body(
    out: ManifestOutput,
    version: str,
    namespace: str,
    pipeline: str,
    run: str,
    step: StepSpec,
    cache_key: str | None,
) -> dict[str, Any]:
    """The ArtifactVersion object for one saved output."""
    spec = ArtifactVersionSpec(
        artifact_name=out.artifact_name, version=version, uri=out.uri,
        materializer=out.materializer, data_type=out.data_type, content_hash=out.content_hash,
        metadata=dict(out.metadata), visualizations=list(out.visualizations),
        producer=Producer(pipeline=pipeline, run=run, step=step.id, output=out.output),
        tags=list(out.tags), artifact_type=out.artifact_type, save_type=out.save_type,
    )
    labels = {
        LABEL_ARTIFACT: label_value(out.artifact_name),
        LABEL_VERSION: label_value(version),
        LABEL_RUN: label_value(run),
        LABEL_STEP: step.name,
        LABEL_PIPELINE: label_value(pipeline),
    }
    annotations = {
        ANNOTATION_NAME: out.artifact_name,
        ANNOTATION_OUTPUT: out.output,
        ANNOTATION_STEP_ID: step.id,
    }
    if cache_key:
        labels[LABEL_CACHE_KEY] = cache_key[:63]
        annotations[ANNOTATION_CACHE_KEY] = cache_key
    return {
        "apiVersion": API_VERSION,
        "kind": "ArtifactVersion",
        "metadata": {
            "name": artifact_version_name(out.artifact_name, version),
            "namespace": namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": spec.to_k8s(),
    }


def artifact_info(obj: Mapping[str, Any]) -> ArtifactInfo:
    """An ArtifactVersion object as a step input sees it."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    return ArtifactInfo(
        artifact_version=meta.get("name", ""),
        id=meta.get("uid", ""),
        uri=spec.get("uri", ""),
        materializer=spec.get("materializer", ""),
        data_type=spec.get("dataType", ""),
        artifact_name=spec.get("artifactName", ""),
        version=str(spec.get("version", "")),
        content_hash=spec.get("contentHash"),
    )


def step_completed(step_id: str, recorded: Mapping[str, str], time: float,
                   manifest: OutputsManifest, manifest_uri: str) -> MarkStepCompleted:
    """The step's completion with its outputs and the metadata it logged (inline when small,
    else a pointer to the manifest: ``manifest.status_metadata``)."""
    metadata, run_metadata, uri = status_metadata(manifest, manifest_uri)
    return MarkStepCompleted(step_id, dict(recorded), time, metadata=metadata,
                             run_metadata=run_metadata, metadata_uri=uri)
