"""``Tag``, ``add_tags`` and ``remove_tags``: tags on runs, pipelines, snapshots and artifact
versions.

Tags given at creation live in the object's spec (``@pipeline(tags=...)``,
``ArtifactConfig(tags=...)``); tags added later live in the object's
``kubeline.dev/tags`` annotation (a JSON list), which every view merges in. Inside a step,
``add_tags`` tags the current run (no target) or this step's outputs (``infer_artifact`` /
``artifact_name``): the operator applies them when the step ends, so steps need no write
access to the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubeline.errors import ConfigurationError, KubelineError
from kubeline.resources import names

ANNOTATION_TAGS = names.ANNOTATION_TAGS
merged_tags = names.merged_tags


@dataclass(frozen=True)
class Tag:
    """A tag. ``exclusive`` and ``cascade`` are ZenML's tag options; Kubeline refuses them
    (see docs/authoring.md, "Differences from ZenML")."""

    name: str
    exclusive: bool = False
    cascade: bool = False
    color: str | None = None


def tag_names(tags: Any, where: str = "tags") -> list[str]:
    """Names of ``tags`` (strings or ``Tag``); refuses exclusive/cascade tags."""
    if isinstance(tags, (str, Tag)):
        tags = [tags]
    out: list[str] = []
    for tag in tags or []:
        if isinstance(tag, Tag):
            if tag.exclusive or tag.cascade:
                raise ConfigurationError(
                    f"{where}: Tag({tag.name!r}, exclusive/cascade) is not supported by "
                    "Kubeline: tags are plain labels of each object")
            tag = tag.name
        if not isinstance(tag, str) or not tag or len(tag) > 63:
            raise ConfigurationError(f"{where}: a tag must be a string of 1-63 characters, "
                                     f"not {tag!r}")
        if tag not in out:
            out.append(tag)
    return out


def _targets(kw: dict[str, Any]) -> list[str]:
    return [k for k, v in kw.items() if v not in (None, False)]


def add_tags(tags: Any, pipeline: str | None = None, run: str | None = None,
             snapshot: str | None = None, artifact: str | None = None,
             artifact_version_id: str | None = None, artifact_name: str | None = None,
             artifact_version: str | None = None, infer_artifact: bool = False,
             **kwargs: Any) -> None:
    """Add ``tags`` to one object (ZenML's targets); in a step with no target, to its run."""
    _change(tags, True, pipeline=pipeline, run=run, snapshot=snapshot, artifact=artifact,
            artifact_version_id=artifact_version_id, artifact_name=artifact_name,
            artifact_version=artifact_version, infer_artifact=infer_artifact, **kwargs)


def remove_tags(tags: Any, pipeline: str | None = None, run: str | None = None,
                snapshot: str | None = None, artifact: str | None = None,
                artifact_version_id: str | None = None, artifact_name: str | None = None,
                artifact_version: str | None = None, infer_artifact: bool = False,
                **kwargs: Any) -> None:
    """Remove tags added with :func:`add_tags` (tags set at creation stay)."""
    _change(tags, False, pipeline=pipeline, run=run, snapshot=snapshot, artifact=artifact,
            artifact_version_id=artifact_version_id, artifact_name=artifact_name,
            artifact_version=artifact_version, infer_artifact=infer_artifact, **kwargs)


def _change(tags: Any, add: bool, **kw: Any) -> None:
    what = "add_tags" if add else "remove_tags"
    unsupported = [k for k in ("run_template", "deployment", "model", "model_version")
                   if kw.pop(k, None) is not None]
    if kw.pop("infer_model", False) or unsupported:
        raise ConfigurationError(
            f"{what}: tagging {unsupported or ['models']} is not supported here (models: "
            "Model(tags=...))")
    if kw:
        unknown = [k for k, v in kw.items() if k not in (
            "pipeline", "run", "snapshot", "artifact", "artifact_version_id", "artifact_name",
            "artifact_version", "infer_artifact")]
        if unknown:
            raise ConfigurationError(f"{what}: unknown argument(s) {sorted(unknown)}")
    names_ = tag_names(tags, what)
    from kubeline.context import _STEP_CONTEXT

    ctx = _STEP_CONTEXT.get()
    targets = _targets(kw)
    if ctx is not None and (not targets or kw["infer_artifact"] or (
            kw["artifact_name"] and not kw["artifact_version"] and kw["artifact_name"]
            in ctx.output_names)):
        _in_step(ctx, names_, add, kw, what)
        return
    if kw["infer_artifact"]:
        raise KubelineError(f"{what}(infer_artifact=True) works only inside a running step")
    if kw["artifact"]:
        raise ConfigurationError(
            f"{what}(artifact=...): Kubeline has no artifact objects apart from their "
            "versions; give artifact_name= and artifact_version= (or artifact_version_id=)")
    if len(targets) != 1 and set(targets) != {"artifact_name", "artifact_version"}:
        raise ConfigurationError(
            f"{what}: name exactly one target (pipeline=, run=, snapshot=, "
            "artifact_version_id= or artifact_name= with artifact_version=)")
    _patch_annotation(_resolve(kw), names_, add)


def _in_step(ctx: Any, tags: list[str], add: bool, kw: dict[str, Any], what: str) -> None:
    if kw["infer_artifact"] or kw["artifact_name"]:
        if add:
            ctx.add_output_tags(tags, kw["artifact_name"])
        else:
            ctx.remove_output_tags(tags, kw["artifact_name"])
        return
    if add:
        ctx.run_tags.extend(t for t in tags if t not in ctx.run_tags)
    else:
        raise KubelineError(f"{what}: inside a step tags can only be added to its run")


def _resolve(kw: dict[str, Any]) -> Any:
    from kubeline.client import Client

    client = Client()
    if kw["pipeline"]:
        return client.get_pipeline(kw["pipeline"])
    if kw["run"]:
        return client.get_pipeline_run(kw["run"])
    if kw["snapshot"]:
        return client.get_snapshot(kw["snapshot"])
    if kw["artifact_version_id"]:
        return client.get_artifact_version(kw["artifact_version_id"])
    if kw["artifact_name"] and kw["artifact_version"]:
        return client.get_artifact_version(kw["artifact_name"], kw["artifact_version"])
    raise ConfigurationError("add_tags: artifact_name= needs artifact_version= outside a step")


def _patch_annotation(view: Any, tags: list[str], add: bool) -> None:
    view.refresh()
    value = merged_tags(view.annotations.get(ANNOTATION_TAGS), tags, add)
    view._client.kube.patch(view.plural, view.object_name, {"metadata": {
        "annotations": {ANNOTATION_TAGS: value},
        "resourceVersion": view.metadata.get("resourceVersion")}})
