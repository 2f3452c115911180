"""Pointers on Pipelines and Snapshots, kept by the operator with optimistic concurrency.

Several runs of one pipeline are reconciled in parallel, so each update
computes the new status (pure functions below) from the last copy this process
read or wrote and patches it with that ``resourceVersion``; a conflict means
the copy was stale: it is re-read and the update recomputed. Updates of one
object are serialized in this process, and run admissions and finishes of one
pipeline (and run counts of one snapshot) are coalesced into one patch (group
commit; when busy, at most one every 0.25 s per pipeline, 1 s per snapshot), so
100 runs starting at once cost a few requests instead of a storm of conflicts.
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
            if not lock.locked() and not lock._waiters:
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


Op = tuple[str, ...]  # ("admit", run) or ("finish", run, "1"/"")


def fold_pipeline_ops(status: dict[str, Any], ops: list[Op], results: list[Any]
                      ) -> dict[str, Any] | None:
    """One Pipeline status patch applying ``ops`` in order (admissions and finishes);
    ``results`` gets each op's result (an admitted run's index, None for a finish)."""
    current: dict[str, Any] = dict(status)
    patch: dict[str, Any] = {}
    for op in ops:
        if op[0] == "admit":
            change, index = admit_run(current, op[1])
            results.append(index)
        else:
            change = finish_run(current, op[1], bool(op[2]))
            results.append(None)
        if change:
            current.update(change)
            patch.update(change)
    return patch or None


def fold_run_counts(status: dict[str, Any], ops: list[int], results: list[Any]
                    ) -> dict[str, Any] | None:
    results.extend([None] * len(ops))
    return add_run_count(status, sum(ops)) if ops else None


class GroupCommit:
    """Updates of one object kind coalesced per object: ops arriving while a patch is in
    flight go out together in the next one; when that batch was large (many runs at once),
    the next patch also waits ``interval`` seconds. So runs starting and finishing at 20 a
    second cost a few Pipeline patches a second, not 40, while a single run's admission
    (which its first status write waits for) is never held back.
    """

    def __init__(self, plural: str, fold: Callable[[dict[str, Any], list[Any], list[Any]],
                                                    dict[str, Any] | None],
                 interval: float) -> None:
        self.plural, self.fold, self.interval = plural, fold, interval
        self.pending: dict[tuple[str, str], list[tuple[Any, asyncio.Future[Any]]]] = {}
        self.flushing: set[tuple[str, str]] = set()

    def submit(self, api: OperatorApi, namespace: str, name: str, op: Any) -> asyncio.Future[Any]:
        """Queue ``op``; the future gets its result once the patch carrying it is written
        (None for every op if the object does not exist)."""
        key = (namespace, name)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending.setdefault(key, []).append((op, future))
        if key not in self.flushing:
            self.flushing.add(key)
            _spawn(self._flush(api, key))
        return future

    def _compute(self, ops: list[Any], results: list[Any], status: dict[str, Any]
                 ) -> dict[str, Any] | None:
        results.clear()  # computed again after a conflict
        return self.fold(status, ops, results)

    async def _flush(self, api: OperatorApi, key: tuple[str, str]) -> None:
        batch: list[tuple[Any, asyncio.Future[Any]]] = []
        try:
            while self.pending.get(key):
                batch = self.pending.pop(key)
                results: list[Any] = []
                obj = await update_status(api, self.plural, key[0], key[1], functools.partial(
                    self._compute, [op for op, _ in batch], results))
                for i, (_, future) in enumerate(batch):
                    if not future.done():
                        future.set_result(results[i] if obj is not None and i < len(results)
                                          else None)
                size, batch = len(batch), []
                if self.interval and size >= BUSY_BATCH and self.pending.get(key):
                    await asyncio.sleep(self.interval)  # busy: let the next batch grow
        except Exception as exc:  # hand the error to every waiting caller
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


BUSY_BATCH = 3  # a batch this large means many runs at once: wait `interval` to coalesce
PIPELINE_INTERVAL = 0.25
SNAPSHOT_INTERVAL = 1.0
_pipelines = GroupCommit(PIPELINES, fold_pipeline_ops, PIPELINE_INTERVAL)
_snapshots = GroupCommit(SNAPSHOTS, fold_run_counts, SNAPSHOT_INTERVAL)


async def assign_run_index(api: OperatorApi, namespace: str, pipeline: str, run: str
                           ) -> int | None:
    """Count the run on its Pipeline and return its index (idempotent across restarts)."""
    return await _pipelines.submit(api, namespace, pipeline, ("admit", run))


def record_finish(api: OperatorApi, namespace: str, pipeline: str, run: str,
                  successful: bool) -> None:
    """Move the Pipeline's lastSuccessfulRun soon (coalesced, off the reconcile path)."""
    _log_failure(_pipelines.submit(api, namespace, pipeline,
                                   ("finish", run, "1" if successful else "")),
                 f"record the end of run {namespace}/{run} on pipeline {pipeline}")


def count_snapshot_run(api: OperatorApi, namespace: str, snapshot: str) -> None:
    """Add one to the Snapshot's runCount soon (coalesced, off the reconcile path)."""
    _log_failure(_snapshots.submit(api, namespace, snapshot, 1),
                 f"count a run of snapshot {namespace}/{snapshot}")


def _log_failure(future: asyncio.Future[Any], what: str) -> None:
    """Bookkeeping nobody waits for: log a failure, never fail a run over it."""
    def done(f: asyncio.Future[Any]) -> None:
        if not f.cancelled() and f.exception() is not None:
            log.warning("could not %s: %s", what, f.exception())
    future.add_done_callback(done)


async def set_latest_snapshot(api: OperatorApi, namespace: str, pipeline: str, snapshot: str
                              ) -> None:
    await update_status(
        api, PIPELINES, namespace, pipeline,
        lambda st: None if st.get("latestSnapshot") == snapshot else {"latestSnapshot": snapshot},
    )
