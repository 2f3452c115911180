"""Schedules: the thin I/O around the pure schedule planner.

Each Schedule is planned when it changes, when one of its runs changes, and at its next
due time (a timer in this process's work queue: no kopf timer, so kopf writes nothing on the
object). A pass plans, creates the due runs (deterministic names: a create that finds the
run already there is a no-op), cancels and deletes what the plan says, then writes the
status guarded by the Schedule's resourceVersion; on a conflict it reads the Schedule again
and plans again. Runs are created before the status that records them, so a crash in
between leaves a run that the next pass adopts, never a lost or doubled one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from kubeline.resources.json_values import merge_patch
from kubeline.resources.models import ScheduleSpec, ScheduleStatus
from kubeline.resources.names import (
    ANNOTATION_SCHEDULED_TIME,
    API_VERSION,
    LABEL_OPERATOR_CLASS,
    LABEL_SCHEDULE,
    PIPELINE_RUNS,
    SCHEDULES,
    label_value,
)
from kubeline.resources.reasons import ScheduleEventReason
from kubeline.resources.run_objects import pipeline_run

from kubeline_operator.api import Conflict, Gone, OperatorApi
from kubeline_operator.peering_gate import CACHE_SECONDS, PeeringGate
from kubeline_operator.schedule_planner import (
    ObservedRun,
    RunToCreate,
    SchedulePlan,
    ScheduleState,
    plan_schedule,
)
from kubeline_operator.timeutil import parse_time, to_rfc3339
from kubeline_operator.workqueue import WorkQueue

log = logging.getLogger("kubeline.operator.schedules")
Key = tuple[str, str]  # (namespace, schedule name)
ATTEMPTS = 5
WORKERS = 2


def observed_run(body: dict[str, Any]) -> tuple[Key, ObservedRun] | None:
    """The schedule a run belongs to and what the planner needs of it (None: not scheduled)."""
    meta = body.get("metadata") or {}
    schedule = (meta.get("labels") or {}).get(LABEL_SCHEDULE)
    scheduled = parse_time((meta.get("annotations") or {}).get(ANNOTATION_SCHEDULED_TIME))
    if not schedule or scheduled is None:
        return None
    status = body.get("status") or {}
    return (meta.get("namespace", ""), schedule), ObservedRun(
        name=meta.get("name", ""), scheduled=scheduled,
        phase=str(status.get("phase") or "initialized"),
        cancel_requested=bool((body.get("spec") or {}).get("cancel")))


def run_body(schedule: dict[str, Any], spec: ScheduleSpec, run: RunToCreate) -> dict[str, Any]:
    """The PipelineRun of one due time: labelled back to its Schedule (and Pipeline)."""
    meta = schedule["metadata"]
    labels = {LABEL_SCHEDULE: label_value(meta["name"])}
    klass = (meta.get("labels") or {}).get(LABEL_OPERATOR_CLASS)
    if klass is not None:
        labels[LABEL_OPERATOR_CLASS] = klass
    return pipeline_run(run.name, spec.config.to_k8s(), snapshot=spec.snapshot,
                        pipeline=spec.pipeline, labels=labels, namespace=meta["namespace"],
                        annotations={ANNOTATION_SCHEDULED_TIME: to_rfc3339(run.scheduled)})


class ScheduleController:
    """Every Schedule this operator owns, its runs, and a timer per Schedule."""

    def __init__(self, api: OperatorApi, allow_short_intervals: bool = False,
                 gate: PeeringGate | None = None) -> None:
        self.api = api
        self.allow_short_intervals = allow_short_intervals
        self.gate = gate
        self.schedules: dict[Key, dict[str, Any]] = {}
        self.runs: dict[Key, dict[str, ObservedRun]] = {}
        self.queue: WorkQueue[Key] = WorkQueue()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        for i in range(WORKERS):
            self._tasks.append(asyncio.create_task(self._worker(), name=f"kubeline-sched-{i}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    # ------------------------------------------------------------------ inputs
    def observe_schedule(self, body: dict[str, Any], deleted: bool = False) -> None:
        meta = body.get("metadata") or {}
        key = (meta.get("namespace", ""), meta.get("name", ""))
        if deleted:
            self.schedules.pop(key, None)
            self.runs.pop(key, None)  # its runs stay in the cluster; nothing plans them now
            self.queue.forget(key)
            return
        known = self.schedules.get(key)
        if known is None or _rv(body) >= _rv(known) or _uid(known) != _uid(body):
            self.schedules[key] = body
        self.queue.add(key)

    def observe_run(self, body: dict[str, Any], deleted: bool = False) -> None:
        """A run labelled with a schedule changed: remember it, plan its schedule again."""
        found = observed_run(body)
        if found is None:
            return
        key, run = found
        runs = self.runs.setdefault(key, {})
        if deleted:
            runs.pop(run.name, None)
        else:
            old = runs.get(run.name)
            runs[run.name] = run
            if old == run:
                return  # nothing the planner looks at changed
        if key in self.schedules:
            self.queue.add(key)

    # ------------------------------------------------------------------ work
    async def _worker(self) -> None:
        while True:
            key = await self.queue.get()
            try:
                await self.reconcile(key)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("schedule %s/%s failed; retrying in 5s", *key)
                self.queue.add_after(key, 5.0)
            finally:
                self.queue.done(key)

    async def reconcile(self, key: Key) -> None:
        body = self.schedules.get(key)
        if body is None:
            return
        if self.gate is not None and await self.gate.paused(key[0]):
            # kopf paused this replica (a peer with a higher or the same priority is alive):
            # no runs from here; look again shortly (the due times wait in the cursor).
            self.queue.add_after(key, CACHE_SECONDS)
            return
        result: SchedulePlan | None = None
        for _ in range(ATTEMPTS):
            result, body = await self._pass(key, body)
            if body is None:
                return  # gone
            if result is not None:
                break
        if result is not None and result.wake_at is not None:
            # A little after the due time, so that "now" is past it when the timer fires.
            self.queue.add_after(key, max(result.wake_at - time.time(), 0.0) + 0.05)

    async def _pass(self, key: Key, body: dict[str, Any]
                    ) -> tuple[SchedulePlan | None, dict[str, Any] | None]:
        """One plan-execute-write; (None, fresh body) after a write conflict."""
        namespace, name = key
        meta = body["metadata"]
        try:
            spec = ScheduleSpec.model_validate(body.get("spec") or {})
        except ValueError as exc:
            log.warning("schedule %s/%s has an invalid spec: %s", namespace, name, exc)
            return SchedulePlan(), body
        try:
            old = ScheduleStatus.model_validate(body.get("status") or {})
        except ValueError:
            old = ScheduleStatus()
        state = ScheduleState(
            name=name, spec=spec, status=old, now=time.time(),
            created=parse_time(meta.get("creationTimestamp")) or time.time(),
            generation=int(meta.get("generation") or 1),
            runs=tuple(self.runs.get(key, {}).values()),
            allow_short_intervals=self.allow_short_intervals)
        result = plan_schedule(state)
        existed: set[str] = set()
        for run in result.create:
            if not await self._create_run(body, spec, run):
                existed.add(run.name)  # created by a pass (or replica) that wrote no status
            self.runs.setdefault(key, {}).setdefault(run.name, ObservedRun(run.name, run.scheduled))
        for run_name in result.cancel:
            await self._cancel(namespace, run_name)
        for run_name in result.delete:
            await self.api.delete(PIPELINE_RUNS, namespace, run_name)
            self.runs.get(key, {}).pop(run_name, None)
        new = result.status.to_k8s()
        patch = merge_patch(body.get("status") or {}, new)
        if patch:
            try:
                written = await self.api.patch_status(SCHEDULES, namespace, name, {
                    "metadata": {"resourceVersion": meta.get("resourceVersion")},
                    "status": patch})
            except Conflict:
                try:
                    fresh = await self.api.get(SCHEDULES, namespace, name)
                except Gone:
                    self.schedules.pop(key, None)
                    return None, None
                self.schedules[key] = fresh
                return None, fresh
            except Gone:
                self.schedules.pop(key, None)
                return None, None
            if _rv(written) >= _rv(self.schedules.get(key, body)):
                self.schedules[key] = written
        for type_, reason, message in result.events:
            if reason == ScheduleEventReason.RUN_CREATED and any(n in message for n in existed):
                continue
            await self._event(body, type_, reason, message)
        return result, body

    async def _create_run(self, schedule: dict[str, Any], spec: ScheduleSpec,
                          run: RunToCreate) -> bool:
        """Create the run of one due time; False when it exists already (idempotent)."""
        namespace = schedule["metadata"]["namespace"]
        try:
            await self.api.create(PIPELINE_RUNS, namespace, run_body(schedule, spec, run))
            log.info("schedule %s/%s: created run %s for %s", namespace,
                     schedule["metadata"]["name"], run.name, to_rfc3339(run.scheduled))
            return True
        except Conflict:
            return False

    async def _cancel(self, namespace: str, run: str) -> None:
        with contextlib.suppress(Gone):
            await self.api.patch(PIPELINE_RUNS, namespace, run, {"spec": {"cancel": True}})

    async def _event(self, body: dict[str, Any], type_: str, reason: str, message: str
                     ) -> None:
        involved = {**body, "kind": "Schedule", "apiVersion": API_VERSION}
        try:
            await self.api.post_event(involved, type_, reason, message, to_rfc3339(time.time()))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # events are best effort
            log.debug("could not post event %s: %s", reason, exc)


def _rv(body: dict[str, Any]) -> int:
    try:
        return int(body["metadata"]["resourceVersion"])
    except (KeyError, TypeError, ValueError):
        return 0


def _uid(body: dict[str, Any]) -> str:
    return str((body.get("metadata") or {}).get("uid") or "")
