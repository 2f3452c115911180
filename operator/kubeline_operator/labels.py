"""Lookup labels the operator adds to objects it did not create (pure).

Runs applied with kubectl, GitOps or REST carry no labels; the Client finds runs
of a pipeline or snapshot, and ArtifactVersions by id, through these labels.
"""

from __future__ import annotations

from typing import Any

from kubeline.resources.names import LABEL_PIPELINE, LABEL_SNAPSHOT, LABEL_UID, label_value


def missing_run_labels(body: dict[str, Any], pipeline: str | None, snapshot: str | None
                       ) -> dict[str, str]:
    """Labels a run should carry (pipeline, snapshot) that it lacks or has wrong. Runs the
    SDK submits have both, so only kubectl/GitOps/REST runs cost a label patch; a run is
    found by id through its ``status.uid`` selectable field, which needs no label."""
    meta = body.get("metadata", {})
    have = meta.get("labels") or {}
    want = {
        LABEL_PIPELINE: label_value(pipeline) if pipeline else None,
        LABEL_SNAPSHOT: label_value(snapshot) if snapshot else None,
    }
    return {k: v for k, v in want.items() if v and have.get(k) != v}


def uid_label(body: dict[str, Any]) -> dict[str, str]:
    """The uid label of a created object, if it lacks it."""
    meta = body.get("metadata", {})
    uid = meta.get("uid")
    return {LABEL_UID: uid} if uid and (meta.get("labels") or {}).get(LABEL_UID) != uid else {}
