"""The reconcile loop: a work queue of runs, each reconciled by plan -> execute -> write status.

Level-triggered: a run is reconciled whenever it or one of its step Pods changes, or
when a planner deadline (retry, timeout, grace, TTL) comes due. One pass plans and
executes repeatedly until the plan changes nothing more, then hands the status to the
status writer (batched, guarded by the run's resourceVersion). Pods are created before
the status says so, so a crash in between leaves a Pod that the next pass adopts, never
a missing one; nor does a Pod wait for the write: a step that reads its own run through
the API waits until the status shows its upstream steps finished (the Client does, from
the invocation's ``upstream``). The pieces: ``snapshots`` (which snapshot a run executes),
``effects`` (Pods, outputs, labels), ``status_writer``, ``narration`` (Events told from
the changes).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Any

from kubeline.resources.models import (
    PipelineRunSpec,
    PipelineRunStatus,
    SnapshotSpec,
    TriggerProvenance,
)
from kubeline.resources.names import PIPELINE_RUNS

from kubeline_operator import actions as A
from kubeline_operator import bookkeeping, metrics
from kubeline_operator.api import Gone, OperatorApi
from kubeline_operator.dag import Dag
from kubeline_operator.effects import ArtifactReader, Effects
from kubeline_operator.events import EventPoster
from kubeline_operator.labels import input_labels, missing_run_labels
from kubeline_operator.models_ctl import ModelControl
from kubeline_operator.models_plan import ModelResolution, needs_models
from kubeline_operator.narration import Event, narrate
from kubeline_operator.observe import PodObservation
from kubeline_operator.planner import TERMINAL_RUN, Plan, RunState, admits, plan, ready_steps
from kubeline_operator.pod_spec import RunRef, step_image
from kubeline_operator.provenance import check_trigger
from kubeline_operator.resolution import resolve_step
from kubeline_operator.run_status import apply
from kubeline_operator.settings import OperatorSettings
from kubeline_operator.snapshots import SnapshotCache
from kubeline_operator.status_writer import (
    RunKey,
    StatusWriter,
    resource_version,
    stored_status,
)
from kubeline_operator.stores import Stores
from kubeline_operator.timeutil import parse_time
from kubeline_operator.workqueue import WorkQueue

log = logging.getLogger("kubeline.operator")
SLOT_POLL_SECONDS = 5.0
RETRY_SECONDS = 5.0


def finished_run_needs_work(body: dict[str, Any], pods: list[PodObservation]) -> bool:
    """False for a finished run with no live Pod and no TTL left to apply: nothing to plan."""
    status = body.get("status") or {}
    if status.get("phase") not in TERMINAL_RUN:
        return True
    if (body.get("spec") or {}).get("ttlSecondsAfterFinished") is not None:
        return bool(pods) or bool((body.get("spec") or {}).get("deleteAfterTtl"))
    return any(p.active for p in pods)


class Controller:
    """Reconciles the runs it is told about (``observe_run``, ``wake``) with its workers."""

    def __init__(self, settings: OperatorSettings, api: OperatorApi, stores: Stores,
                 store: ArtifactReader) -> None:
        self.settings = settings
        self.api = api
        self.stores = stores
        self.queue: WorkQueue[RunKey] = WorkQueue()
        self.runs: dict[RunKey, dict[str, Any]] = {}  # the newest body seen of each run
        self.phases: dict[RunKey, str] = {}
        self.phase_counts: dict[str, int] = {}
        self.waiting_for_slots: set[RunKey] = set()
        self._written: dict[RunKey, dict[str, Any]] = {}  # our last status write
        # Input labels of each run's resolved steps (labels.input_labels), kept until the
        # run is forgotten: they go out with the next label patch (a no-op once on it).
        self._inputs: dict[RunKey, dict[str, str]] = {}
        # Step Pods that announced their outputs committed (their Event), by run: pod name
        # -> uid. In memory only (a restarted operator counts the Events it lists anew).
        self.committed: dict[RunKey, dict[str, str]] = {}
        self.snapshots = SnapshotCache(api, stores)
        self.models = ModelControl(api, stores)
        self.effects = Effects(settings, api, stores, store, self.models)
        self.status = StatusWriter(api, settings.status_batch_seconds)
        self.events = EventPoster(api)
        self._tasks: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        for i in range(self.settings.workers):
            self._tasks.append(asyncio.create_task(self._worker(), name=f"kubeline-worker-{i}"))
        self._tasks.append(asyncio.create_task(self.events.run(), name="kubeline-events"))
        self._tasks.append(asyncio.create_task(self._poll_slots(), name="kubeline-slots"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    # ------------------------------------------------------------------ inputs
    def observe_run(self, body: dict[str, Any], deleted: bool = False) -> None:
        meta = body.get("metadata") or {}
        key = (meta.get("namespace", ""), meta.get("name", ""))
        if deleted:
            self._forget(key)
            self._set_phase(key, None)
            self.queue.forget(key)
            return
        if not finished_run_needs_work(body, self.stores.run_pods(*key)):
            # A finished run with no Pod left running and no TTL pending (e.g. one of
            # thousands listed at start-up): count its phase, keep nothing, plan nothing.
            self._forget(key)
            self._set_phase(key, str((body.get("status") or {}).get("phase")))
            return
        known = self.runs.get(key)
        rv = resource_version(body)
        if known is not None and known is self._written.get(key) and rv == resource_version(
                known):
            return  # the echo of our own status write: nothing new to plan
        if known is None or rv >= resource_version(known) or known["metadata"].get(
                "uid") != meta.get("uid"):
            self.runs[key] = body
        self.queue.add(key)

    def _forget(self, key: RunKey) -> None:
        """Drop what this process holds for a run (its body, last write, unwritten status)."""
        self.runs.pop(key, None)
        self._written.pop(key, None)
        self._inputs.pop(key, None)
        self.committed.pop(key, None)
        self.status.forget(key)

    def wake(self, namespace: str, run: str) -> None:
        if (namespace, run) in self.runs:
            self.queue.add((namespace, run))

    def outputs_committed(self, namespace: str, run: str, pod: str, uid: str) -> None:
        """A step Pod's Event says its outputs manifest is written: plan its run now. Only
        a Pod of that run that is still running counts (``with_commits``); the step is
        completed only from its attempt's manifest, verified as on the exit path."""
        key = (namespace, run)
        if key not in self.runs or not any(p.name == pod and p.uid == uid and p.active
                                           for p in self.stores.run_pods(namespace, run)):
            return
        self.committed.setdefault(key, {})[pod] = uid
        self.queue.add(key)

    def with_commits(self, key: RunKey, pods: list[PodObservation]) -> list[PodObservation]:
        """The run's Pods, those that announced their outputs committed (and are still
        running) flagged ``committed`` (their phase stays the Pod's own); entries of Pods
        that ended or left are dropped."""
        marks = self.committed.get(key)
        if not marks:
            return pods
        out = []
        for pod in pods:
            if pod.active and marks.get(pod.name) == pod.uid and pod.uid:
                pod = dataclasses.replace(pod, committed=True)
            out.append(pod)
        live = {p.name for p in pods if p.active}
        for name in [n for n in marks if n not in live]:
            del marks[name]
        if not marks:
            self.committed.pop(key, None)
        return out

    def wake_namespace(self, namespace: str) -> None:
        """Reconcile every known run of ``namespace`` (e.g. a snapshot there became valid)."""
        for key in list(self.runs):
            if key[0] == namespace:
                self.queue.add(key)

    def pod_freed(self) -> None:
        """A step Pod finished somewhere: runs waiting for a global slot may proceed."""
        for key in list(self.waiting_for_slots):
            self.queue.add(key)
        self.waiting_for_slots.clear()

    # ------------------------------------------------------------------ workers
    async def _worker(self) -> None:
        while True:
            key = await self.queue.get()
            started = time.perf_counter()
            try:
                await self.reconcile(key)
            except asyncio.CancelledError:
                raise
            except Exception:
                metrics.RECONCILE_ERRORS.inc()
                log.exception("reconcile of run %s/%s failed; retrying in 5s", *key)
                self.queue.add_after(key, RETRY_SECONDS)
            finally:
                metrics.RECONCILE_SECONDS.observe(time.perf_counter() - started)
                self.queue.done(key)

    async def _poll_slots(self) -> None:
        while True:
            await asyncio.sleep(SLOT_POLL_SECONDS)
            if self.waiting_for_slots:
                self.pod_freed()

    def _set_phase(self, key: RunKey, phase: str | None) -> None:
        """Record a run's phase (None: forget the run) and update the gauge in O(1)."""
        old = self.phases.pop(key, None) if phase is None else self.phases.get(key)
        if old == phase:
            return
        if old is not None:
            self.phase_counts[old] -= 1
            metrics.RUNS_BY_PHASE.labels(old).set(self.phase_counts[old])
        if phase is not None:
            self.phases[key] = phase
            self.phase_counts[phase] = self.phase_counts.get(phase, 0) + 1
            metrics.RUNS_BY_PHASE.labels(phase).set(self.phase_counts[phase])

    # ------------------------------------------------------------------ reconcile
    async def _trigger_provenance(self, namespace: str, meta: dict[str, Any],
                                  spec: PipelineRunSpec, status: PipelineRunStatus
                                  ) -> TriggerProvenance | None:
        """Whether spec.triggeredBy is verified; checked once, before the run starts (its
        run's status names the triggering step's Pod from the time that Pod is created)."""
        if spec.triggered_by is None or status.steps or status.triggered_by is not None:
            return status.triggered_by
        key = (namespace, spec.triggered_by.run)
        triggering = self.runs.get(key)
        pending = self.status.pending(key)
        if triggering is not None and pending is not None:  # newer than the body seen
            triggering = {**triggering, "status": pending.to_k8s()}
        if triggering is None:
            # Not held here: e.g. it finished and was forgotten before this run was seen
            # (with the outputs-committed Event, a run can finish a few tens of ms after
            # the triggering step's last call).
            try:
                triggering = await self.api.get(PIPELINE_RUNS, namespace, key[1])
            except Gone:
                triggering = None
        return check_trigger(spec.triggered_by, meta.get("annotations") or {}, triggering,
                             self.settings.provenance_policy)

    async def reconcile(self, key: RunKey) -> None:
        body = self.runs.get(key)
        if body is None:
            return
        namespace, name = key
        meta = body["metadata"]
        try:
            spec = PipelineRunSpec.model_validate(body.get("spec") or {})
        except ValueError as exc:
            spec = PipelineRunSpec()
            log.warning("run %s/%s has an invalid spec: %s", namespace, name, exc)
        persisted = stored_status(body)
        original = persisted.to_k8s()
        pending = self.status.pending(key)
        status = pending if pending is not None else persisted
        created = parse_time(meta.get("creationTimestamp")) or time.time()
        snap = await self.snapshots.for_run(namespace, spec, status)
        run_ref = RunRef(name=name, uid=meta.get("uid", ""), namespace=namespace,
                         pipeline=snap.pipeline or "", snapshot=snap.name or "",
                         model=status.model)
        trigger = await self._trigger_provenance(namespace, meta, spec, status)
        models: ModelResolution | None = None
        deferred: set[str] = set()
        admission: asyncio.Future[Any] | None = None
        # A new run's bookkeeping (its index on the Pipeline, its lookup labels, the
        # Snapshot's run count) and the pass's Events go out once the pass's Pods are
        # created: sent before them, they were ahead of the first Pod in the API server.
        started: tuple[str, str | None] | None = None
        told: list[Event] = []
        last = Plan()
        limit = (len(snap.spec.steps) if snap.spec else 0) + 8
        for _ in range(limit):
            now = time.time()
            state = RunState(
                name=name, created=created, spec=spec, status=status, now=now,
                snapshot_name=snap.name, snapshot=snap.spec, pipeline=snap.pipeline,
                snapshot_missing=snap.missing, snapshot_invalid=snap.invalid,
                pods=self.with_commits(key, self.stores.run_pods(namespace, name)),
                global_slots=max(self.settings.max_pods_global - self.stores.active_pods(), 0),
                settings=self.settings.planner,
                trigger=trigger,
            )
            if snap.spec is not None:
                state.resolutions = self._resolve(namespace, snap.spec, state)
                if state.resolutions:
                    self._inputs.setdefault(key, {}).update(
                        input_labels(snap.spec, state.resolutions))
                if models is None and needs_models(snap.spec) and admits(state):
                    # The run's model version and model-artifact inputs, as they are now.
                    models = await self.models.resolve_for_run(namespace, name, created,
                                                               snap.spec)
                state.model_resolution = models
            last = plan(state)
            if any(isinstance(a, A.RecordOutputs) and a.step in deferred for a in last.actions):
                last.actions = [a for a in last.actions
                                if not (isinstance(a, A.RecordOutputs) and a.step in deferred)]
            outcome = await self.effects.execute(run_ref, snap, status, last.actions)
            if outcome.run_deleted:
                self._forget(key)
                self._set_phase(key, None)
                return
            deferred |= outcome.deferred
            for pod in outcome.unconfirmed:
                self.committed.get(key, {}).pop(pod, None)
            if outcome.retry_after is not None:
                self.queue.add_after(key, outcome.retry_after)
            changes = [a for a in last.actions if not isinstance(a, A.Effect)] + outcome.produced
            if not changes:
                break
            new = apply(status, changes, now)
            if any(isinstance(a, A.InitRun) for a in changes) and new.pipeline:
                started = (new.pipeline, new.snapshot)
            metrics.count_changes(changes)
            told += narrate(changes)
            if new.model is not None:
                run_ref = dataclasses.replace(run_ref, model=new.model)
                await self.effects.link_to_model(run_ref, snap, changes)
            status = new
        if started is not None:
            admission = asyncio.gather(
                bookkeeping.assign_run_index(self.api, namespace, started[0], name),
                self.effects.label_run(body, missing_run_labels(
                    body, started[0], started[1], self._inputs.get(key))))
            if started[1]:
                bookkeeping.count_snapshot_run(self.api, namespace, started[1])
        for event in told:
            self.events.post(body, event)
        if admission is not None:
            status.index, body = await admission
            if key in self.runs and resource_version(body) > resource_version(self.runs[key]):
                self.runs[key] = body
        if status.steps and status.uid != meta.get("uid"):
            status = status.model_copy(update={"uid": meta.get("uid")})  # find-by-id field
        new_status = status.to_k8s()
        if new_status == original:
            self.status.forget(key)
        else:
            wait = self.status.hold(key, status, final=status.phase in TERMINAL_RUN)
            if wait > 0:
                self.queue.add_after(key, wait)
                self._after_pass(key, status, last)
                return
            # Labels first (a plain patch), so a run is fully labelled before any reader
            # sees its new phase; the status patch then goes with the new resourceVersion.
            body = await self.effects.label_run(body, missing_run_labels(
                body, status.pipeline, status.snapshot, self._inputs.get(key)))
            result = await self.status.write(key, body, original, new_status)
            if result.gone:
                self._forget(key)
                return
            if result.conflict is not None:
                # Someone changed the run (e.g. set spec.cancel): plan again from it.
                self.runs[key] = result.conflict
                self.queue.add(key)
                return
            assert result.written is not None
            if key in self.runs and resource_version(result.written) >= resource_version(
                    self.runs[key]):
                self.runs[key] = result.written
                self._written[key] = result.written
            finished = status.phase in TERMINAL_RUN and original.get("phase") not in TERMINAL_RUN
            if finished and status.pipeline:
                bookkeeping.record_finish(self.api, namespace, status.pipeline, name,
                                          status.phase in ("completed", "cached"))
        self._after_pass(key, status, last)

    def _after_pass(self, key: RunKey, status: PipelineRunStatus, last: Plan) -> None:
        """Phase gauge, slot waiting, the planner's next deadline; forget a finished run."""
        self._set_phase(key, status.phase)
        if last.waiting_for_slots:
            self.waiting_for_slots.add(key)
        if last.requeue_after is not None:
            self.queue.add_after(key, last.requeue_after + 0.05)
        elif status.phase in TERMINAL_RUN and not any(
                isinstance(a, A.DeletePod) for a in last.actions):
            # Nothing more to do for this run: free its memory (a new event brings it back).
            self._forget(key)

    def _resolve(self, namespace: str, snapshot: SnapshotSpec, state: RunState
                 ) -> dict[str, Any]:
        dag = Dag.of(snapshot)
        params = state.status.parameters or {}
        out = {}
        for step_id in ready_steps(state):
            step = dag.by_id[step_id]
            out[step_id] = resolve_step(
                namespace=namespace, snapshot=snapshot, dag=dag, step=step,
                status=state.status, run_config=state.spec.config,
                parameters=params.get(step_id, {}),
                image=step_image(step, snapshot, self.settings.pod),
                artifacts=self.stores, cache=self.stores, now=state.now,
            )
        return out
