"""Which version a by-name input took (``kubeline.resources.input_versions``)."""

from __future__ import annotations

from typing import Any

from kubeline.resources import names
from kubeline.resources.input_versions import input_version_uids, version_taken_by_name


def _av(uid: str, artifact: str, version: str, created: str) -> dict[str, Any]:
    return {"metadata": {"uid": uid, "creationTimestamp": created},
            "spec": {"artifactName": artifact, "version": version}}


def test_the_newest_candidate_made_by_the_steps_start() -> None:
    candidates = [_av("a", "ds", "1", "2026-01-01T10:00:00Z"),
                  _av("b", "ds", "2", "2026-01-01T10:05:00Z"),
                  _av("c", "other", "9", "2026-01-01T10:01:00Z")]
    def taken(started: str | None) -> str | None:
        found = version_taken_by_name(candidates, "ds", started)
        return found["metadata"]["uid"] if found is not None else None

    assert taken("2026-01-01T10:04:59.9Z") == "a"
    assert taken("2026-01-01T10:05:00.4Z") == "b"  # whole seconds: same second counts
    assert taken("2026-01-01T09:59:00Z") is None  # nothing of ds made by then
    assert taken(None) is None  # not started: nothing resolved yet
    assert version_taken_by_name(candidates, "missing", "2027-01-01T00:00:00Z") is None
    # two versions made in one second: the higher number is the newer (the operator's rule)
    same = [_av("x", "ds", "10", "2026-01-01T10:00:00Z"), _av("y", "ds", "9",
                                                              "2026-01-01T10:00:00Z")]
    assert version_taken_by_name(same, "ds", "2026-01-02T00:00:00Z")["metadata"]["uid"] == "x"


def test_input_version_uids_come_from_the_runs_input_labels() -> None:
    labels = {names.input_artifact_label("u1"): "true", names.input_artifact_label("u2"): "true",
              names.input_model_label("m"): "true", names.LABEL_PIPELINE: "p"}
    assert input_version_uids(labels) == {"u1", "u2"}
