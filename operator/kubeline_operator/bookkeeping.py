"""Pointers on Pipelines and Snapshots, kept by the operator with optimistic concurrency.

Several runs of one pipeline are reconciled in parallel, so each update
computes the new status (pure functions below) from the last copy this process
read or wrote and patches it with that ``resourceVersion``; a conflict means
the copy was stale: it is re-read and the update recomputed. Updates of one
object are serialized in this process, and concurrent run admissions of one
pipeline are coalesced into one patch (group commit), so 100 runs starting at
once cost a few requests instead of a storm of conflicts. Snapshot run counts
are coalesced off the reconcile path.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from kubeline.resources.names import PIPELINES, SNAPSHOTS

from kubeline_operator.api import Conflict, Gone, OperatorApi

log = logging.getLogger("kubeline.operator")
RECENT_RUNS = 50
ATTEMPTS = 8
CACHE_SECONDS = 60.0
CACHE_SIZE = 2000


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


def admit_runs(status: dict[str, Any], runs: list[str], out: dict[str, int]
               ) -> dict[str, Any] | None:
    """One patch admitting ``runs`` in order; their indexes go into ``out``."""
    current: dict[str, Any] = dict(status)
    patch: dict[str, Any] = {}
    for run in runs:
        change, out[run] = admit_run(current, run)
        if change:
            current.update(change)
            patch.update(change)
    return patch or None


def add_run_count(status: dict[str, Any], n: int) -> dict[str, Any]:
    return {"runCount": int(status.get("runCount") or 0) + n}


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


Key = tuple[str, str, str]  # (plural, namespace, name)
_latest: dict[Key, tuple[dict[str, Any], float]] = {}
_locks: dict[Key, asyncio.Lock] = {}


def _remember(key: Key, obj: dict[str, Any] | None) -> None:
    if obj is None:
        _latest.pop(key, None)
        return
    _latest[key] = (obj, time.monotonic())
    if len(_latest) > CACHE_SIZE:
        _latest.pop(next(iter(_latest)))


def _cached(key: Key) -> dict[str, Any] | None:
    hit = _latest.get(key)
    if hit is None or time.monotonic() - hit[1] > CACHE_SECONDS:
        return None
    return hit[0]


async def update_status(
    api: OperatorApi, plural: str, namespace: str, name: str,
    compute: Callable[[dict[str, Any]], dict[str, Any] | None],
) -> dict[str, Any] | None:
    """Compute-patch ``status`` guarded by the resourceVersion of the last copy seen (read
    again on conflict); None when the object is gone."""
    key = (plural, namespace, name)
    lock = _locks.setdefault(key, asyncio.Lock())
    async with lock:
        try:
            return await _update_locked(api, key, compute)
        finally:
            if not lock.locked() and not lock._waiters:  # type: ignore[attr-defined]
                _locks.pop(key, None)


async def _update_locked(api: OperatorApi, key: Key,
                         compute: Callable[[dict[str, Any]], dict[str, Any] | None]
                         ) -> dict[str, Any] | None:
    plural, namespace, name = key
    obj = _cached(key)
    for _ in range(ATTEMPTS):
        if obj is None:
            try:
                obj = await api.get(plural, namespace, name)
            except Gone:
                _remember(key, None)
                return None
        patch = compute(obj.get("status") or {})
        if patch is None:
            _remember(key, obj)
            return obj
        body = {"metadata": {"resourceVersion": obj["metadata"]["resourceVersion"]},
                "status": patch}
        try:
            result = await api.patch_status(plural, namespace, name, body)
        except Conflict:
            obj = None
            continue
        except Gone:
            _remember(key, None)
            return None
        _remember(key, result)
        return result
    _remember(key, None)
    log.warning("gave up updating %s %s/%s after %d conflicts", plural, namespace, name, ATTEMPTS)
    return None


class _Admissions:
    """Group commit of run admissions per pipeline: runs arriving while a patch is in
    flight are admitted together by the next one."""

    def __init__(self) -> None:
        self.pending: dict[tuple[str, str], list[tuple[str, asyncio.Future[int | None]]]] = {}
        self.flushing: set[tuple[str, str]] = set()

    async def admit(self, api: OperatorApi, namespace: str, pipeline: str, run: str
                    ) -> int | None:
        key = (namespace, pipeline)
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self.pending.setdefault(key, []).append((run, future))
        if key not in self.flushing:
            self.flushing.add(key)
            _spawn(self._flush(api, key))
        return await future

    async def _flush(self, api: OperatorApi, key: tuple[str, str]) -> None:
        batch: list[tuple[str, asyncio.Future[int | None]]] = []
        try:
            while self.pending.get(key):
                batch = self.pending.pop(key)
                indexes: dict[str, int] = {}
                runs = [run for run, _ in batch]
                obj = await update_status(api, PIPELINES, key[0], key[1],
                                          functools.partial(admit_runs, runs=runs, out=indexes))
                for run, future in batch:
                    if not future.done():
                        future.set_result(indexes.get(run) if obj is not None else None)
                batch = []
        except Exception as exc:  # hand the error to every waiting reconcile
            for _, future in batch + self.pending.pop(key, []):
                if not future.done():
                    future.set_exception(exc)
        finally:
            self.flushing.discard(key)


_background: set[asyncio.Task[None]] = set()


def _spawn(coro: Any) -> None:
    task = asyncio.get_running_loop().create_task(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)


_admissions = _Admissions()
_snapshot_counts: dict[tuple[str, str], int] = {}
_snapshot_flushing: set[tuple[str, str]] = set()


async def assign_run_index(api: OperatorApi, namespace: str, pipeline: str, run: str
                           ) -> int | None:
    """Count the run on its Pipeline and return its index (idempotent across restarts)."""
    return await _admissions.admit(api, namespace, pipeline, run)


async def record_finish(api: OperatorApi, namespace: str, pipeline: str, run: str,
                        successful: bool) -> None:
    await update_status(api, PIPELINES, namespace, pipeline,
                        lambda st: finish_run(st, run, successful))


def count_snapshot_run(api: OperatorApi, namespace: str, snapshot: str) -> None:
    """Add one to the Snapshot's runCount soon (coalesced, off the reconcile path)."""
    key = (namespace, snapshot)
    _snapshot_counts[key] = _snapshot_counts.get(key, 0) + 1
    if key not in _snapshot_flushing:
        _snapshot_flushing.add(key)
        _spawn(_flush_snapshot_count(api, key))


async def _flush_snapshot_count(api: OperatorApi, key: tuple[str, str]) -> None:
    try:
        while _snapshot_counts.get(key):
            n = _snapshot_counts.pop(key)
            try:
                await update_status(api, SNAPSHOTS, key[0], key[1],
                                    functools.partial(add_run_count, n=n))
            except Exception as exc:  # a count is bookkeeping: log, never fail a run
                log.warning("could not count runs of snapshot %s/%s: %s", *key, exc)
    finally:
        _snapshot_flushing.discard(key)


async def set_latest_snapshot(api: OperatorApi, namespace: str, pipeline: str, snapshot: str
                              ) -> None:
    await update_status(
        api, PIPELINES, namespace, pipeline,
        lambda st: None if st.get("latestSnapshot") == snapshot else {"latestSnapshot": snapshot},
    )
