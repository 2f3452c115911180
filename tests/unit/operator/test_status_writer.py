"""The status writer: batching of a run's status writes and what a conflict keeps."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kubeline.resources.models import PipelineRunStatus
from kubeline_operator.api import Conflict
from kubeline_operator.status_writer import StatusWriter

pytestmark = pytest.mark.unit
KEY = ("ns", "run-1")


class ConflictingApi:
    """Answers every status patch with a conflict; a GET returns ``fresh``."""

    def __init__(self, fresh: dict[str, Any]) -> None:
        self.fresh = fresh
        self.patches: list[dict[str, Any]] = []

    async def patch_status(self, plural: str, namespace: str, name: str,
                           body: dict[str, Any]) -> dict[str, Any]:
        self.patches.append(body)
        raise Conflict(409, "the object has been modified")

    async def get(self, plural: str, namespace: str, name: str) -> dict[str, Any]:
        return self.fresh


def test_a_change_waits_for_the_batch_but_the_end_is_written_at_once() -> None:
    writer = StatusWriter(api=None, batch_seconds=1.0)  # type: ignore[arg-type]
    running = PipelineRunStatus(phase="running")
    first = writer.hold(KEY, running, final=False)
    assert 0.9 < first <= 1.0
    assert writer.pending(KEY) is running
    second = writer.hold(KEY, running, final=False)
    assert second <= first  # the batch started with the first change, not the second
    assert writer.hold(KEY, PipelineRunStatus(phase="completed"), final=True) == 0.0
    writer.forget(KEY)
    assert writer.pending(KEY) is None


def _body(status: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "run-1", "namespace": "ns", "resourceVersion": "7"},
            "status": status}


def test_conflict_keeps_the_unwritten_status_when_nobody_else_wrote_the_status() -> None:
    old = PipelineRunStatus(phase="initialized").to_k8s()  # as stored, normalized
    api = ConflictingApi(fresh=_body(old) | {"spec": {"cancel": True}})
    writer = StatusWriter(api, batch_seconds=0.0)  # type: ignore[arg-type]
    status = PipelineRunStatus(phase="running")
    writer.hold(KEY, status, final=False)
    result = asyncio.run(writer.write(KEY, _body(old), old, status.to_k8s()))
    assert result.conflict == api.fresh and result.written is None and not result.gone
    assert api.patches[0]["metadata"]["resourceVersion"] == "7"
    assert api.patches[0]["status"] == {"phase": "running"}  # only what changed
    assert writer.pending(KEY) is status  # planned again from it: its Pods are not lost


def test_conflict_drops_the_unwritten_status_when_someone_else_wrote_one() -> None:
    old = PipelineRunStatus(phase="initialized").to_k8s()  # as stored, normalized
    api = ConflictingApi(fresh=_body({"phase": "failed"}))
    writer = StatusWriter(api, batch_seconds=0.0)  # type: ignore[arg-type]
    status = PipelineRunStatus(phase="running")
    writer.hold(KEY, status, final=False)
    result = asyncio.run(writer.write(KEY, _body(old), old, status.to_k8s()))
    assert result.conflict == api.fresh
    assert writer.pending(KEY) is None  # plan from the stored status, not from ours

