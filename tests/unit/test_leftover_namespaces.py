"""tests/leftover_namespaces.py labels the namespaces it creates as this session's, and at a
session's start deletes only the scratch namespaces of processes that are gone (with their S3
identities), logging them; nothing else is deleted."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

from kubeline.dev.scratch_namespaces import (
    ANNOTATION_SCRATCH_OWNER,
    LABEL_SCRATCH,
    ProcessIdentity,
    current_process,
)
from leftover_namespaces import create_scratch_namespace, remove_leftover_namespaces


class FakeCluster:
    """kubectl answers of a cluster holding two scratch namespaces: one of a process that is
    gone, one of this (running) process."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.inputs: list[str | None] = []
        self.dropped: list[str] = []
        me = current_process()
        gone = ProcessIdentity(me.boot, me.pidns, 999_999_999, 1)

        def ns(name: str, owner: ProcessIdentity) -> dict[str, Any]:
            return {"metadata": {"name": name, "creationTimestamp": "2026-12-01T18:00:00Z",
                                 "labels": {LABEL_SCRATCH: "test"},
                                 "annotations": {ANNOTATION_SCRATCH_OWNER: owner.to_annotation()}}}
        self.items = [ns("t-dead0001", gone), ns("t-live0001", me)]

    def kubectl(self, *args: str, input: str | None = None, **_: Any
                ) -> subprocess.CompletedProcess[str]:
        self.calls.append(args)
        self.inputs.append(input)
        out = json.dumps({"items": self.items}) if args[:2] == ("get", "namespaces") else ""
        return subprocess.CompletedProcess([], 0, out, "")

    def drop_namespace_s3(self, namespace: str) -> None:
        self.dropped.append(namespace)


def test_only_the_namespace_of_a_gone_process_is_deleted_and_logged() -> None:
    cluster, logged = FakeCluster(), []
    later = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
    assert remove_leftover_namespaces(cluster, later, log=logged.append) == ["t-dead0001"]
    assert cluster.calls[0][:5] == ("get", "namespaces", "-l", LABEL_SCRATCH, "-o")
    deletes = [c for c in cluster.calls if c[0] == "delete"]
    assert [c[:3] for c in deletes] == [("delete", "namespace", "t-dead0001")]
    assert "--wait=false" in deletes[0]
    assert cluster.dropped == ["t-dead0001"]
    assert logged == ["[cleanup] deleted 1 namespace(s) left by test sessions or benches that "
                      "no longer run: t-dead0001"]


def test_namespaces_made_after_the_session_started_are_left_alone() -> None:
    cluster, logged = FakeCluster(), []
    earlier = datetime(2026, 12, 1, 18, 0, tzinfo=UTC) - timedelta(seconds=1)
    assert remove_leftover_namespaces(cluster, earlier, log=logged.append) == []
    assert [c for c in cluster.calls if c[0] == "delete"] == [] and logged == []
    assert cluster.dropped == []


def test_a_created_namespace_carries_this_session_s_label_and_owner() -> None:
    cluster = FakeCluster()
    assert create_scratch_namespace(cluster, "t-new00001", labels={"team": "a"}) == "t-new00001"
    assert cluster.calls[0] == ("create", "-f", "-")
    body = json.loads(cluster.inputs[0] or "")
    meta = body["metadata"]
    assert body["kind"] == "Namespace" and meta["name"] == "t-new00001"
    assert meta["labels"] == {LABEL_SCRATCH: "test", "team": "a"}
    owner = ProcessIdentity.from_annotation(meta["annotations"][ANNOTATION_SCRATCH_OWNER])
    assert owner == current_process()
    assert cluster.calls[1][:3] == ("get", "serviceaccount", "default")
