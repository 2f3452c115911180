"""Writing a run's status: the one writer of ``PipelineRun.status``.

Writes are batched: a change waits up to ``batch_seconds`` for the next ones (Pods are
never delayed, only the record of them: a step that reads its own run waits for the record
of its upstream steps, ``kubeline.client.own_run``); a run's end is written at once. Each
write is a JSON merge patch through the status subresource, guarded by the run's
``resourceVersion``; a conflict means someone changed the run (e.g. set ``spec.cancel``):
the caller re-plans from the fresh copy.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from kubeline.resources.json_values import merge_patch
from kubeline.resources.models import PipelineRunStatus
from kubeline.resources.names import PIPELINE_RUNS

from kubeline_operator.api import Conflict, Gone, OperatorApi

RunKey = tuple[str, str]


def resource_version(body: dict[str, Any]) -> int:
    """An object's ``metadata.resourceVersion`` as a number (0 if it has none)."""
    try:
        return int(body["metadata"]["resourceVersion"])
    except (KeyError, TypeError, ValueError):
        return 0


def stored_status(body: dict[str, Any]) -> PipelineRunStatus:
    """A run's stored status (empty if it does not parse: planned again from scratch)."""
    try:
        return PipelineRunStatus.model_validate(body.get("status") or {})
    except ValueError:
        return PipelineRunStatus()


@dataclass(frozen=True)
class WriteResult:
    """What a write did: ``written`` (the patched run), or a ``conflict`` (the fresh run,
    to plan again from), or the run is ``gone``."""

    written: dict[str, Any] | None = None
    conflict: dict[str, Any] | None = None
    gone: bool = False


class StatusWriter:
    """Holds each run's unwritten status and writes it, batched, with optimistic locking."""

    def __init__(self, api: OperatorApi, batch_seconds: float) -> None:
        self.api = api
        self.batch_seconds = batch_seconds
        self._pending: dict[RunKey, tuple[PipelineRunStatus, float]] = {}

    def pending(self, key: RunKey) -> PipelineRunStatus | None:
        """The run's status not written yet (planning continues from it), if any."""
        entry = self._pending.get(key)
        return entry[0] if entry is not None else None

    def forget(self, key: RunKey) -> None:
        self._pending.pop(key, None)

    def hold(self, key: RunKey, status: PipelineRunStatus, final: bool) -> float:
        """Keep ``status`` as the run's next write; the seconds left before it is due
        (0: write now; a final status is due at once)."""
        since = self._pending[key][1] if key in self._pending else time.monotonic()
        self._pending[key] = (status, since)
        wait = self.batch_seconds - (time.monotonic() - since)
        return 0.0 if final or wait <= 0 else wait

    async def write(self, key: RunKey, body: dict[str, Any], old: dict[str, Any],
                    new: dict[str, Any]) -> WriteResult:
        """Patch the run's status from ``old`` (as stored in ``body``) to ``new``."""
        namespace, name = key
        patch = {"metadata": {"resourceVersion": body["metadata"].get("resourceVersion")},
                 "status": merge_patch(old, new)}
        try:
            result = await self.api.patch_status(PIPELINE_RUNS, namespace, name, patch)
        except Conflict:
            try:
                fresh = await self.api.get(PIPELINE_RUNS, namespace, name)
            except Gone:
                self.forget(key)
                return WriteResult(gone=True)
            if stored_status(fresh).to_k8s() != old:
                # The status itself was written by someone else: plan again from it (Pods
                # already created are adopted), not from what this process had not written.
                self.forget(key)
            return WriteResult(conflict=fresh)
        except Gone:
            self.forget(key)
            return WriteResult(gone=True)
        self.forget(key)
        return WriteResult(written=result)
