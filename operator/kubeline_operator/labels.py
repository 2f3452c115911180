"""Lookup labels the operator adds to objects it did not create (pure).

Runs applied with kubectl, GitOps or REST carry no labels; the Client finds runs
of a pipeline or snapshot, and ArtifactVersions by id, through these labels. Every run,
however it was made, also gets an input label per ArtifactVersion its steps took from
outside the run (and per model they took artifacts of), set as the operator resolves
the inputs, so "which runs consumed this version" is one label-selected list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubeline.resources.models import SnapshotSpec
from kubeline.resources.names import (
    LABEL_PIPELINE,
    LABEL_SNAPSHOT,
    LABEL_UID,
    input_artifact_label,
    input_model_label,
    label_value,
)

from kubeline_operator.planner import StepResolution


def missing_run_labels(body: dict[str, Any], pipeline: str | None, snapshot: str | None,
                       inputs: Mapping[str, str] | None = None) -> dict[str, str]:
    """Labels a run should carry (pipeline, snapshot, and the ``inputs`` labels of
    :func:`input_labels`) that it lacks or has wrong. Runs the SDK submits have the first
    two, so only kubectl/GitOps/REST runs cost a label patch for them; a run is found by id
    through its ``status.uid`` selectable field, which needs no label."""
    meta = body.get("metadata", {})
    have = meta.get("labels") or {}
    want = {
        LABEL_PIPELINE: label_value(pipeline) if pipeline else None,
        LABEL_SNAPSHOT: label_value(snapshot) if snapshot else None,
        **(inputs or {}),
    }
    return {k: v for k, v in want.items() if v and have.get(k) != v}


def input_labels(snapshot: SnapshotSpec, resolutions: Mapping[str, StepResolution]
                 ) -> dict[str, str]:
    """Input labels of a run for the steps just resolved: ``input.kubeline.dev/<uid>`` for
    each ArtifactVersion a step takes from outside the run (pinned by id, by name and
    version, or the newest by name: the version it resolved to) and
    ``model-input.kubeline.dev/<model>`` for each model a step takes an artifact of."""
    steps = {s.id: s for s in snapshot.steps}
    labels: dict[str, str] = {}
    for step_id, res in resolutions.items():
        step = steps.get(step_id)
        if step is None or res.error is not None:
            continue
        for inp in step.inputs:
            if inp.step:
                continue  # an upstream step's output: lineage follows the run itself
            info = res.inputs.get(inp.name)
            if info is not None and info.id:
                labels[input_artifact_label(info.id)] = "true"
            if inp.model_artifact is not None:
                labels[input_model_label(inp.model_artifact.model)] = "true"
    return labels


def uid_label(body: dict[str, Any]) -> dict[str, str]:
    """The uid label of a created object, if it lacks it."""
    meta = body.get("metadata", {})
    uid = meta.get("uid")
    return {LABEL_UID: uid} if uid and (meta.get("labels") or {}).get(LABEL_UID) != uid else {}
