"""Lookup labels the operator adds to runs and artifact versions."""

from __future__ import annotations

from kubeline.resources.names import LABEL_PIPELINE, LABEL_SNAPSHOT, LABEL_UID
from kubeline_operator.labels import missing_run_labels, uid_label


def _body(labels=None, uid="u-1"):
    return {"metadata": {"name": "r", "uid": uid, "labels": labels or {}}}


def test_gitops_run_gets_pipeline_and_snapshot_labels():
    assert missing_run_labels(_body(), "training-pipeline", "training-snapshot") == {
        LABEL_PIPELINE: "training-pipeline", LABEL_SNAPSHOT: "training-snapshot",
    }


def test_sdk_labelled_run_needs_no_patch_and_unknown_parts_are_skipped():
    # No uid label for runs: they are found by id through the status.uid field selector.
    assert missing_run_labels(_body({LABEL_PIPELINE: "p", LABEL_SNAPSHOT: "s"}), "p", "s") == {}
    assert missing_run_labels(_body(), None, None) == {}


def test_snapshot_label_value_is_sanitized():
    labels = missing_run_labels(_body(), "p", "My Snapshot!")
    assert labels[LABEL_SNAPSHOT] != "My Snapshot!"
    assert len(labels[LABEL_SNAPSHOT]) <= 63


def test_uid_label_only_when_missing():
    assert uid_label(_body()) == {LABEL_UID: "u-1"}
    assert uid_label(_body({LABEL_UID: "u-1"})) == {}
    assert uid_label({"metadata": {}}) == {}
