"""Pointers on Pipelines and Snapshots, kept by the operator with optimistic concurrency.

Several runs of one pipeline are reconciled in parallel, so each update reads
the Pipeline, computes its new status (pure functions below) and patches it
with the read ``resourceVersion``; a conflict means another update won, and
the update is recomputed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kubeline.resources.names import PIPELINES, SNAPSHOTS

from kubeline_operator.api import Conflict, Gone, OperatorApi

log = logging.getLogger("kubeline.operator")
RECENT_RUNS = 50
ATTEMPTS = 8


def admit_run(status: dict[str, Any], run: str) -> tuple[dict[str, Any] | None, int]:
    """(status patch or None if already admitted, the run's 1-based index)."""
    recent = list(status.get("recentRuns") or [])
    count = int(status.get("runCount") or 0)
    if run in recent:
        return None, count - recent.index(run)
    return {
        "runCount": count + 1,
        "lastRun": run,
        "recentRuns": [run, *recent][:RECENT_RUNS],
    }, count + 1


def finish_run(status: dict[str, Any], run: str, successful: bool) -> dict[str, Any] | None:
    """Patch for ``lastSuccessfulRun`` when this run is newer than the recorded one."""
    if not successful:
        return None
    current = status.get("lastSuccessfulRun")
    if current == run:
        return None
    recent = list(status.get("recentRuns") or [])
    both = current in recent and run in recent
    if current and both and recent.index(current) < recent.index(run):
        return None  # the recorded one is newer
    if current and current in recent and run not in recent:
        return None  # this run is older than every recent run
    return {"lastSuccessfulRun": run}


async def update_status(
    api: OperatorApi, plural: str, namespace: str, name: str,
    compute: Callable[[dict[str, Any]], dict[str, Any] | None],
) -> dict[str, Any] | None:
    """Read-compute-patch ``status`` with the resourceVersion; None when the object is gone."""
    for _ in range(ATTEMPTS):
        try:
            obj = await api.get(plural, namespace, name)
        except Gone:
            return None
        patch = compute(obj.get("status") or {})
        if patch is None:
            return obj
        body = {"metadata": {"resourceVersion": obj["metadata"]["resourceVersion"]},
                "status": patch}
        try:
            return await api.patch_status(plural, namespace, name, body)
        except Conflict:
            continue
    log.warning("gave up updating %s %s/%s after %d conflicts", plural, namespace, name, ATTEMPTS)
    return None


async def assign_run_index(api: OperatorApi, namespace: str, pipeline: str, run: str
                           ) -> int | None:
    """Count the run on its Pipeline and return its index (idempotent across restarts)."""
    result: dict[str, int] = {}

    def compute(status: dict[str, Any]) -> dict[str, Any] | None:
        patch, index = admit_run(status, run)
        result["index"] = index
        return patch

    obj = await update_status(api, PIPELINES, namespace, pipeline, compute)
    return result.get("index") if obj is not None else None


async def record_finish(api: OperatorApi, namespace: str, pipeline: str, run: str,
                        successful: bool) -> None:
    await update_status(api, PIPELINES, namespace, pipeline,
                        lambda st: finish_run(st, run, successful))


async def count_snapshot_run(api: OperatorApi, namespace: str, snapshot: str) -> None:
    await update_status(api, SNAPSHOTS, namespace, snapshot,
                        lambda st: {"runCount": int(st.get("runCount") or 0) + 1})


async def set_latest_snapshot(api: OperatorApi, namespace: str, pipeline: str, snapshot: str
                              ) -> None:
    await update_status(
        api, PIPELINES, namespace, pipeline,
        lambda st: None if st.get("latestSnapshot") == snapshot else {"latestSnapshot": snapshot},
    )
