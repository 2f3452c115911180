"""Outputs manifests -> ArtifactVersion objects; ArtifactVersion objects -> input info (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubeline.resources.models import ArtifactVersionSpec, Producer, StepSpec, Visualization
from kubeline.resources.names import (
    ANNOTATION_NAME,
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

from kubeline_operator.actions import ArtifactInfo

ANNOTATION_CACHE_KEY = "kubeline.dev/cache-key-full"
ANNOTATION_OUTPUT = "kubeline.dev/output"
ANNOTATION_STEP_ID = "kubeline.dev/step-id"


class ManifestError(ValueError):
    """The outputs manifest is missing an output or malformed (message names it)."""


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
    save_type: str = "step_output"


def default_artifact_name(pipeline_name: str, step_id: str, output: str) -> str:
    """'<pipeline>::<step id>::<output>' (docs/contracts.md)."""
    return f"{pipeline_name}::{step_id}::{output}"


def parse_manifest(data: Any, step: StepSpec, pipeline_name: str) -> list[ManifestOutput]:
    """The declared outputs as saved by the step; raises ManifestError naming what is wrong."""
    if not isinstance(data, Mapping) or not isinstance(data.get("outputs"), Mapping):
        raise ManifestError("outputs manifest has no 'outputs' object")
    outputs = data["outputs"]
    parsed = []
    for declared in step.outputs:
        entry = outputs.get(declared.name)
        if not isinstance(entry, Mapping) or not entry.get("uri"):
            raise ManifestError(
                f"step '{step.id}' did not save its declared output '{declared.name}'"
            )
        visualizations = []
        for vis in entry.get("visualizations") or []:
            try:
                visualizations.append(Visualization.model_validate(vis))
            except ValueError:
                continue
        version = entry.get("version")
        parsed.append(ManifestOutput(
            output=declared.name,
            uri=str(entry["uri"]),
            materializer=str(entry.get("materializer") or declared.materializer),
            data_type=str(entry.get("dataType") or declared.data_type or ""),
            content_hash=entry.get("contentHash") or None,
            metadata=dict(entry.get("metadata") or {}),
            visualizations=tuple(visualizations[:8]),
            artifact_name=str(entry.get("artifactName") or declared.artifact_name
                              or default_artifact_name(pipeline_name, step.id, declared.name)),
            version=str(version) if version not in (None, "") else None,
            tags=tuple(str(t)[:63] for t in (entry.get("tags") or [])[:32]),
            artifact_type=str(entry["artifactType"])[:64] if entry.get("artifactType") else None,
        ))
    return parsed


MAX_MANUAL_ARTIFACTS = 32


def parse_manual_artifacts(data: Any, step: StepSpec) -> list[ManifestOutput]:
    """Versions a step saved with ``save_artifact`` (manifest ``manualArtifacts``); entries
    that are malformed are skipped, at most MAX_MANUAL_ARTIFACTS are kept."""
    entries = data.get("manualArtifacts") if isinstance(data, Mapping) else None
    out: list[ManifestOutput] = []
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        if len(out) >= MAX_MANUAL_ARTIFACTS:
            break
        if not isinstance(entry, Mapping) or not entry.get("uri") or not entry.get(
                "artifactName") or not entry.get("materializer"):
            continue
        version = entry.get("version")
        out.append(ManifestOutput(
            output=f"manual-{i}", uri=str(entry["uri"]), materializer=str(entry["materializer"]),
            data_type=str(entry.get("dataType") or ""), content_hash=entry.get("contentHash"),
            metadata=dict(entry.get("metadata") or {}),
            visualizations=tuple(Visualization.model_validate(v)
                                 for v in (entry.get("visualizations") or [])[:8]
                                 if isinstance(v, Mapping) and v.get("uri")),
            artifact_name=str(entry["artifactName"]),
            version=str(version) if version not in (None, "") else None,
            tags=tuple(str(t)[:63] for t in (entry.get("tags") or [])[:32]),
            artifact_type=str(entry["artifactType"])[:64] if entry.get("artifactType") else None,
            save_type="manual"))
    return out


def run_tags_of(data: Any) -> list[str]:
    """Tags a step added to its run (manifest ``runTags``)."""
    tags = data.get("runTags") if isinstance(data, Mapping) else None
    return [str(t)[:63] for t in tags[:32]] if isinstance(tags, list) else []


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
