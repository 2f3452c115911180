"""The run controller: a work queue of runs, each reconciled by plan -> execute -> patch status.

Level-triggered: a run is reconciled whenever it or one of its step Pods
changes, or when a planner deadline (retry, timeout, grace, TTL) comes due. One
pass plans and executes repeatedly until the plan changes nothing more, then
writes the status once through the status subresource, guarded by the run's
resourceVersion. Pods are created before the status says so, so a crash in
between leaves a Pod that the next pass adopts, never a missing one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from kubeline.resources.manifest import OutputsManifest
from kubeline.resources.models import (
    PipelineRunSpec,
    PipelineRunStatus,
    SnapshotSpec,
    StepSpec,
)
from kubeline.resources.names import (
    ANNOTATION_TAGS,
    ARTIFACT_VERSIONS,
    PIPELINE_RUNS,
    merged_tags,
    next_version,
)
from kubeline.resources.reasons import Reason

from kubeline_operator import actions as A
from kubeline_operator import bookkeeping, metrics
from kubeline_operator.api import ApiError, Conflict, Gone, OperatorApi
from kubeline_operator.artifacts import (
    ManifestError,
    artifact_info,
    artifact_version_body,
    parse_manifest,
    parse_manual_artifacts,
    run_tags_of,
    step_completed,
)
from kubeline_operator.dag import Dag, validate_snapshot
from kubeline_operator.labels import missing_run_labels, uid_label
from kubeline_operator.models_ctl import ModelControl
from kubeline_operator.models_plan import ModelResolution, needs_models
from kubeline_operator.observe import PodObservation
from kubeline_operator.planner import TERMINAL_RUN, Plan, RunState, admits, plan, ready_steps
from kubeline_operator.pod_spec import RunRef, build_step_pod, step_image
from kubeline_operator.pod_spec import manifest_uri as pod_manifest_uri
from kubeline_operator.resolution import resolve_step
from kubeline_operator.run_status import apply
from kubeline_operator.settings import OperatorSettings
from kubeline_operator.stores import AvEntry, Stores
from kubeline_operator.timeutil import parse_time, to_rfc3339
from kubeline_operator.workqueue import WorkQueue

log = logging.getLogger("kubeline.operator")
OUTPUT_READ_RETRIES = 12
SLOT_POLL_SECONDS = 5.0


@dataclass
class Snap:
    name: str | None
    spec: SnapshotSpec | None
    pipeline: str | None
    missing: str | None = None
    invalid: str | None = None


def _rv(body: dict[str, Any]) -> int:
    try:
        return int(body["metadata"]["resourceVersion"])
    except (KeyError, TypeError, ValueError):
        return 0


def finished_run_needs_work(body: dict[str, Any], pods: list[PodObservation]) -> bool:
    """False for a finished run with no live Pod and no TTL left to apply: nothing to plan."""
    status = body.get("status") or {}
    if status.get("phase") not in TERMINAL_RUN:
        return True
    if (body.get("spec") or {}).get("ttlSecondsAfterFinished") is not None:
        return bool(pods) or bool((body.get("spec") or {}).get("deleteAfterTtl"))
    return any(p.active for p in pods)


def _consume_error(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _stored_status(body: dict[str, Any]) -> PipelineRunStatus:
    """A run's stored status (empty if it does not parse: planned again from scratch)."""
    try:
        return PipelineRunStatus.model_validate(body.get("status") or {})
    except ValueError:
        return PipelineRunStatus()


def status_patch(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A JSON merge patch turning status ``old`` into ``new`` (removed keys become null)."""
    patch: dict[str, Any] = {k: v for k, v in new.items() if old.get(k) != v}
    patch.update({k: None for k in old if k not in new})
    return patch


class Controller:
    def __init__(self, settings: OperatorSettings, api: OperatorApi, stores: Stores) -> None:
        self.settings = settings
        self.api = api
        self.stores = stores
        self.queue: WorkQueue[tuple[str, str]] = WorkQueue()
        self.runs: dict[tuple[str, str], dict[str, Any]] = {}
        self.phases: dict[tuple[str, str], str] = {}
        self.phase_counts: dict[str, int] = {}
        self._written: dict[tuple[str, str], dict[str, Any]] = {}  # our last status write
        # Status not written yet (batched): the status and when it first differed.
        self._pending: dict[tuple[str, str], tuple[PipelineRunStatus, float]] = {}
        self.waiting_for_slots: set[tuple[str, str]] = set()
        self.output_failures: dict[tuple[str, str, str, int], int] = {}
        self.events: asyncio.Queue[tuple[dict[str, Any], str, str, str]] = asyncio.Queue(10000)
        self._snapshots: dict[tuple[str, str, str], tuple[SnapshotSpec | None, str | None]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._store: Any = None
        self.models = ModelControl(api, stores)

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        for i in range(self.settings.workers):
            self._tasks.append(asyncio.create_task(self._worker(), name=f"kubeline-worker-{i}"))
        self._tasks.append(asyncio.create_task(self._post_events(), name="kubeline-events"))
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
        if known is not None and known is self._written.get(key) and _rv(body) == _rv(known):
            return  # the echo of our own status write: nothing new to plan
        if known is None or _rv(body) >= _rv(known) or known["metadata"].get("uid") != meta.get(
                "uid"):
            self.runs[key] = body
        self.queue.add(key)

    def _forget(self, key: tuple[str, str]) -> None:
        """Drop what this process holds for a run (its body, last write, unwritten status)."""
        self.runs.pop(key, None)
        self._written.pop(key, None)
        self._pending.pop(key, None)

    def wake(self, namespace: str, run: str) -> None:
        if (namespace, run) in self.runs:
            self.queue.add((namespace, run))

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
                self.queue.add_after(key, 5.0)
            finally:
                metrics.RECONCILE_SECONDS.observe(time.perf_counter() - started)
                self.queue.done(key)

    async def _poll_slots(self) -> None:
        while True:
            await asyncio.sleep(SLOT_POLL_SECONDS)
            if self.waiting_for_slots:
                self.pod_freed()

    async def _post_events(self) -> None:
        while True:
            involved, type_, reason, message = await self.events.get()
            try:
                await self.api.post_event(involved, type_, reason, message, to_rfc3339(time.time()))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # events are best effort
                log.debug("could not post event %s: %s", reason, exc)

    def _event(self, body: dict[str, Any], type_: str, reason: str, message: str) -> None:
        try:
            self.events.put_nowait((body, type_, reason, message))
        except asyncio.QueueFull:
            log.debug("event queue full, dropping %s", reason)

    def _set_phase(self, key: tuple[str, str], phase: str | None) -> None:
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

    # ------------------------------------------------------------------ snapshots
    def _snapshot(self, namespace: str, spec: PipelineRunSpec, status: PipelineRunStatus,
                  pipeline_status: dict[str, Any] | None) -> Snap:
        name = status.snapshot or spec.snapshot
        pipeline = status.pipeline
        if not name:
            latest = (pipeline_status or {}).get("latestSnapshot")
            if not latest:
                return Snap(None, None, spec.pipeline, missing=(
                    f"pipeline '{spec.pipeline}' has no snapshot to run (no Pipeline object or "
                    "no status.latestSnapshot); set spec.snapshot or create a snapshot first"
                    if spec.pipeline else "the run names neither spec.snapshot nor spec.pipeline"))
            name = latest
        raw = self.stores.snapshot(namespace, name)
        if raw is None:
            return Snap(name, None, pipeline, missing=(
                f"snapshot '{name}' not found in namespace {namespace}; create it or fix "
                "spec.snapshot"))
        cache_key = (namespace, raw["name"], raw.get("uid", ""))
        if cache_key not in self._snapshots:
            try:
                snapshot = SnapshotSpec.model_validate(raw["spec"])
                problems = validate_snapshot(snapshot)
                entry: tuple[SnapshotSpec | None, str | None] = (
                    snapshot, "; ".join(problems) if problems else None)
            except ValueError as exc:
                entry = (None, f"snapshot spec does not parse: {exc}")
            self._snapshots[cache_key] = entry
            if len(self._snapshots) > 2000:
                self._snapshots.pop(next(iter(self._snapshots)))
        parsed, problem = self._snapshots[cache_key]
        if problem or parsed is None:
            return Snap(raw["name"], None, pipeline,
                        invalid=f"snapshot '{raw['name']}' is invalid: {problem}")
        return Snap(raw["name"], parsed, pipeline or parsed.pipeline)

    # ------------------------------------------------------------------ reconcile
    async def reconcile(self, key: tuple[str, str]) -> None:
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
        persisted = _stored_status(body)
        original = persisted.to_k8s()
        pending = self._pending.get(key)
        status = pending[0] if pending is not None else persisted
        created = parse_time(meta.get("creationTimestamp")) or time.time()

        pipeline_status = None
        if not status.steps and not status.snapshot and not spec.snapshot and spec.pipeline:
            try:
                from kubeline.resources.names import PIPELINES, dns_name

                pobj = await self.api.get(PIPELINES, namespace, dns_name(spec.pipeline))
                pipeline_status = pobj.get("status") or {}
            except Gone:
                pipeline_status = None
        snap = self._snapshot(namespace, spec, status, pipeline_status)
        run_ref = RunRef(name=name, uid=meta.get("uid", ""), namespace=namespace,
                         pipeline=snap.pipeline or "", snapshot=snap.name or "",
                         model=status.model)
        models: ModelResolution | None = None
        deferred: set[str] = set()
        admission: asyncio.Future[Any] | None = None
        last = Plan()
        limit = (len(snap.spec.steps) if snap.spec else 0) + 8
        for _ in range(limit):
            now = time.time()
            state = RunState(
                name=name, created=created, spec=spec, status=status, now=now,
                snapshot_name=snap.name, snapshot=snap.spec, pipeline=snap.pipeline,
                snapshot_missing=snap.missing, snapshot_invalid=snap.invalid,
                pods=self.stores.run_pods(namespace, name),
                global_slots=max(self.settings.max_pods_global - self.stores.active_pods(), 0),
                settings=self.settings.planner,
            )
            if snap.spec is not None:
                state.resolutions = self._resolve(namespace, snap.spec, state)
                if models is None and needs_models(snap.spec) and admits(state):
                    # The run's model version and model-artifact inputs, as they are now.
                    models = await self.models.resolve_for_run(namespace, name, created,
                                                               snap.spec)
                state.model_resolution = models
            last = plan(state)
            if any(isinstance(a, A.RecordOutputs) and a.step in deferred for a in last.actions):
                last.actions = [a for a in last.actions
                                if not (isinstance(a, A.RecordOutputs) and a.step in deferred)]
            produced, deleted_run = await self._execute(body, run_ref, snap, status, last,
                                                        deferred)
            if deleted_run:
                self._forget(key)
                self._set_phase(key, None)
                return
            changes = [a for a in last.actions if not isinstance(a, A.Effect)] + produced
            if not changes:
                break
            new = apply(status, changes, now)
            if any(isinstance(a, A.InitRun) for a in changes) and new.pipeline:
                # The Pipeline's run count (the run's index) and the run's lookup labels go
                # out while the first Pods are created, not before them.
                admission = asyncio.gather(
                    bookkeeping.assign_run_index(self.api, namespace, new.pipeline, name),
                    self._label_run(body, missing_run_labels(body, new.pipeline, new.snapshot)))
                admission.add_done_callback(_consume_error)  # if this pass fails before it
                if new.snapshot:
                    bookkeeping.count_snapshot_run(self.api, namespace, new.snapshot)
            self._announce(body, status, changes)
            if new.model is not None:
                run_ref = dataclasses.replace(run_ref, model=new.model)
                await self._link_to_model(run_ref, snap, changes)
            status = new
        if admission is not None:
            status.index, body = await admission
            if key in self.runs and _rv(body) > _rv(self.runs[key]):
                self.runs[key] = body
        if status.steps and status.uid != meta.get("uid"):
            status = status.model_copy(update={"uid": meta.get("uid")})  # find-by-id field
        new_status = status.to_k8s()
        if new_status == original:
            self._pending.pop(key, None)
        else:
            # Batch status writes: a change waits up to status_batch_seconds for the next
            # ones (Pods are never delayed, only the record of them); the end is written
            # at once.
            since = pending[1] if pending is not None else time.monotonic()
            self._pending[key] = (status, since)
            wait = self.settings.status_batch_seconds - (time.monotonic() - since)
            if status.phase not in TERMINAL_RUN and wait > 0:
                self.queue.add_after(key, wait)
                self._after_pass(key, status, last)
                return
            # Labels first (a plain patch), so a run is fully labelled before any reader
            # sees its new phase; the status patch then goes with the new resourceVersion.
            body = await self._label_run(body, missing_run_labels(body, status.pipeline,
                                                                  status.snapshot))
            patched = await self._patch_status(key, body, original, new_status)
            if patched is None:
                return  # conflict: re-read and planned again, the pending status kept
            self._pending.pop(key, None)
            finished = status.phase in TERMINAL_RUN and original.get("phase") not in TERMINAL_RUN
            if finished and status.pipeline:
                bookkeeping.record_finish(self.api, namespace, status.pipeline, name,
                                          status.phase in ("completed", "cached"))
        self._after_pass(key, status, last)

    def _after_pass(self, key: tuple[str, str], status: PipelineRunStatus, last: Plan) -> None:
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

    async def _link_to_model(self, run: RunRef, snap: Snap, changes: list[A.Action]) -> None:
        """Link the outputs of steps that just completed (or were cached) to the run's model
        version: model, deployment or data artifacts as each output declares."""
        if run.model is None or snap.spec is None:
            return
        dag = Dag.of(snap.spec)
        links = []
        for a in changes:
            if not isinstance(a, (A.MarkStepCompleted, A.MarkCached)) or a.step not in dag.by_id:
                continue
            declared = {o.name: o for o in dag.by_id[a.step].outputs}
            for output, av in a.outputs.items():
                info = self.stores.by_name(run.namespace, av)
                out = declared.get(output)
                links.append({"name": info.artifact_name if info else (
                    out.artifact_name if out and out.artifact_name else output),
                    "artifactVersion": av, "type": (out.artifact_type if out else None) or "data",
                    "run": run.name, "step": a.step})
        if links:
            try:
                await self.models.link(run.namespace, run.model.object, links)
            except ApiError as exc:  # never fail a run over a link
                log.warning("could not link outputs of run %s/%s to model version %s: %s",
                            run.namespace, run.name, run.model.object, exc)

    async def _label_run(self, body: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
        """Add lookup labels to a run; returns the body with the new resourceVersion."""
        if not labels:
            return body
        meta = body["metadata"]
        try:
            patched = await self.api.patch(PIPELINE_RUNS, meta["namespace"], meta["name"], {
                "metadata": {"labels": labels, "resourceVersion": meta.get("resourceVersion")}})
        except Exception as exc:  # a conflict re-plans later; never fail a run over a label
            log.warning("could not label run %s/%s: %s", meta.get("namespace"), meta["name"], exc)
            return body
        return {**body, "metadata": {**meta, **patched["metadata"]}}

    async def _label(self, plural: str, namespace: str, name: str, labels: dict[str, str]
                     ) -> None:
        """Add lookup labels (best effort: a missing label costs the Client a scan, no more)."""
        if not labels:
            return
        try:
            await self.api.patch(plural, namespace, name, {"metadata": {"labels": labels}})
        except Exception as exc:  # never fail a run over a lookup label
            log.warning("could not label %s %s/%s: %s", plural, namespace, name, exc)

    async def _patch_status(self, key: tuple[str, str], body: dict[str, Any],
                            old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
        namespace, name = key
        patch = {"metadata": {"resourceVersion": body["metadata"].get("resourceVersion")},
                 "status": status_patch(old, new)}
        try:
            result = await self.api.patch_status(PIPELINE_RUNS, namespace, name, patch)
        except Conflict:
            # Someone changed the run (e.g. set spec.cancel): re-read it and plan again.
            try:
                fresh = await self.api.get(PIPELINE_RUNS, namespace, name)
            except Gone:
                self._forget(key)
                return None
            self.runs[key] = fresh
            if _stored_status(fresh).to_k8s() != old:
                # The status itself was written by someone else: plan again from it (Pods
                # already created are adopted), not from what this process had not written.
                self._pending.pop(key, None)
            self.queue.add(key)
            return None
        except Gone:
            self._forget(key)
            return None
        if key in self.runs and _rv(result) >= _rv(self.runs[key]):
            self.runs[key] = result
            self._written[key] = result
        return result

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

    # ------------------------------------------------------------------ effects
    async def _execute(self, body: dict[str, Any], run: RunRef, snap: Snap,
                       status: PipelineRunStatus, p: Plan, deferred: set[str]
                       ) -> tuple[list[A.Action], bool]:
        produced: list[A.Action] = []
        jobs: list[Awaitable[Any]] = []
        for action in p.actions:
            if isinstance(action, A.CreatePod):
                jobs.append(self._create_pod(run, snap, action))
            elif isinstance(action, A.DeletePod):
                jobs.append(self.api.delete_pod(run.namespace, action.pod))
            elif isinstance(action, A.RecordOutputs):
                jobs.append(self._record_outputs(run, snap, status, action, deferred))
        for result in await asyncio.gather(*jobs):
            if isinstance(result, list):
                produced.extend(result)
        if any(isinstance(a, A.DeleteRun) for a in p.actions):
            await self.api.delete(PIPELINE_RUNS, run.namespace, run.name)
            return produced, True
        return produced, False

    async def _create_pod(self, run: RunRef, snap: Snap, action: A.CreatePod) -> list[A.Action]:
        assert snap.spec is not None
        step = Dag.of(snap.spec).by_id[action.step]
        if not self.settings.s3_bucket:
            return [A.MarkStepFailed(action.step, "OperatorMisconfigured",
                                     "the operator has no KUBELINE_S3_BUCKET: set s3.bucket in "
                                     "the chart values", time.time())]
        pod = build_step_pod(run, snap.spec, step, action.attempt, action.parameters,
                             action.inputs, self.settings.s3_bucket, self.settings.pod)
        try:
            created = await self.api.create_pod(run.namespace, pod)
        except ApiError as exc:
            if exc.status in (400, 403, 422):
                return [A.MarkStepFailed(action.step, "PodCreateFailed",
                                         f"cannot create step pod {action.pod}: {exc.message}",
                                         time.time())]
            raise
        if created:
            metrics.PODS_CREATED.inc()
        self.stores.remember_pod(run.namespace, run.name, PodObservation(
            name=action.pod, step=step.name, attempt=action.attempt, phase="Pending",
            created=time.time()))
        return []

    async def _record_outputs(self, run: RunRef, snap: Snap, status: PipelineRunStatus,
                              action: A.RecordOutputs, deferred: set[str]) -> list[A.Action]:
        assert snap.spec is not None
        step = Dag.of(snap.spec).by_id[action.step]
        existing = self.stores.produced(run.namespace, run.name, step.id)
        if action.manifest_uri is None and all(o.name in existing for o in step.outputs):
            # No manifest named (e.g. a Pod that wrote none) and nothing left to record.
            return [A.MarkStepCompleted(step.id, {o.name: existing[o.name] for o in step.outputs},
                                        action.time)]
        manifest_uri = action.manifest_uri or pod_manifest_uri(
            self.settings.s3_bucket, run, step, action.attempt)
        fail_key = (run.namespace, run.name, step.id, action.attempt)
        try:
            raw = await asyncio.to_thread(self._read, manifest_uri)
            manifest = OutputsManifest.parse(raw, manifest_uri)
            outputs = parse_manifest(manifest, step, snap.spec.pipeline_name)
        except FileNotFoundError:
            return [A.MarkStepFailed(step.id, Reason.OUTPUTS_MISSING,
                                     f"step pod {action.pod} succeeded but wrote no outputs "
                                     f"manifest at {manifest_uri}", time.time())]
        except (ManifestError, ValueError) as exc:
            return [A.MarkStepFailed(step.id, Reason.OUTPUTS_MISSING, str(exc), time.time())]
        except Exception as exc:  # S3 unreachable from the operator: retry, then fail
            tries = self.output_failures.get(fail_key, 0) + 1
            self.output_failures[fail_key] = tries
            if tries >= OUTPUT_READ_RETRIES:
                self.output_failures.pop(fail_key, None)
                return [A.MarkStepFailed(step.id, Reason.OUTPUTS_UNREADABLE,
                                         f"cannot read outputs manifest {manifest_uri}: {exc}",
                                         time.time())]
            log.warning("reading %s failed (%s); retry %d", manifest_uri, exc, tries)
            deferred.add(step.id)
            self.queue.add_after((run.namespace, run.name), min(2.0 * tries, 30.0))
            return []
        self.output_failures.pop(fail_key, None)
        if run.model is not None and manifest.model_metadata:
            # log_metadata(..., infer_model=True) in the step: onto the run's model version.
            try:
                await self.models.add_metadata(run.namespace, run.model.object,
                                               manifest.model_metadata)
            except ApiError as exc:
                if exc.status not in (400, 422):
                    raise
                return [A.MarkStepFailed(
                    step.id, Reason.METADATA_REJECTED,
                    f"model version {run.model.object} refused the metadata the step logged "
                    f"(at most 64 keys in all): {exc.message}", time.time())]
        cache = next((s.cache for s in status.steps if s.name == step.id), None)
        recorded: dict[str, str] = {}
        for out in outputs:
            if out.output in existing:
                recorded[out.output] = existing[out.output]
                continue
            name = await self._create_artifact_version(run, step, out, cache.key if cache else None)
            if isinstance(name, A.MarkStepFailed):
                return [name]
            recorded[out.output] = name
        for manual in parse_manual_artifacts(manifest, step):  # save_artifact() inside the step
            if manual.output in existing:
                continue
            name = await self._create_artifact_version(run, step, manual, None)
            if isinstance(name, A.MarkStepFailed):
                return [name]
        await self._add_run_tags(run, run_tags_of(manifest))
        return [step_completed(step.id, recorded, action.time, manifest, manifest_uri)]

    async def _add_run_tags(self, run: RunRef, tags: list[str]) -> None:
        """Tags a step added to its run (``add_tags`` in a step) go into the run's
        ``kubeline.dev/tags`` annotation; best effort, never fails the step."""
        if not tags:
            return
        try:
            body = await self.api.get(PIPELINE_RUNS, run.namespace, run.name)
            meta = body.get("metadata") or {}
            value = merged_tags((meta.get("annotations") or {}).get(ANNOTATION_TAGS), tags)
            await self.api.patch(PIPELINE_RUNS, run.namespace, run.name, {"metadata": {
                "annotations": {ANNOTATION_TAGS: value},
                "resourceVersion": meta.get("resourceVersion")}})
        except Exception as exc:
            log.warning("could not tag run %s/%s: %s", run.namespace, run.name, exc)

    async def _create_artifact_version(self, run: RunRef, step: StepSpec, out: Any,
                                       cache_key: str | None) -> str | A.MarkStepFailed:
        for _ in range(20):
            version = out.version or next_version(
                e.info.version for e in self.stores.versions(run.namespace, out.artifact_name))
            body = artifact_version_body(out, version, run.namespace, run.pipeline, run.name,
                                         step, cache_key)
            try:
                created = await self.api.create(ARTIFACT_VERSIONS, run.namespace, body)
            except Conflict:
                if out.version:
                    return A.MarkStepFailed(
                        step.id, "ArtifactVersionExists",
                        f"artifact '{out.artifact_name}' already has version '{out.version}'; "
                        "give a new version or leave it unset to auto-increment", time.time())
                # Someone took this number: remember it and try the next one.
                self.stores.remember_av(run.namespace, AvEntry(
                    info=A.ArtifactInfo(body["metadata"]["name"], "", "", "", "",
                                        out.artifact_name, version), created=time.time()))
                continue
            await self._label(ARTIFACT_VERSIONS, run.namespace, created["metadata"]["name"],
                              uid_label(created))
            info = artifact_info(created)
            self.stores.remember_av(run.namespace, AvEntry(
                info=info, created=time.time(), output=out.output, run=run.name, step_id=step.id))
            return info.artifact_version
        return A.MarkStepFailed(step.id, "ArtifactVersionConflict",
                                f"could not allocate a version of '{out.artifact_name}'",
                                time.time())

    def _read(self, uri: str) -> bytes:
        if self._store is None:
            from kubeline.artifact_store import ArtifactStore, S3Settings

            s3 = S3Settings.from_env()
            if s3 is None:
                raise RuntimeError("KUBELINE_S3_BUCKET is not set in the operator")
            self._store = ArtifactStore.from_settings(s3)
        return self._store.read_bytes(uri)

    # ------------------------------------------------------------------ events
    def _announce(self, body: dict[str, Any], old: PipelineRunStatus,
                  changes: list[A.Action]) -> None:
        for a in changes:
            if isinstance(a, A.InitRun):
                self._event(body, "Normal", "RunStarted",
                            f"run started: {len(a.step_ids)} steps from snapshot {a.snapshot}")
            elif isinstance(a, A.MarkStepRunning):
                if a.reason == "CacheMiss":
                    metrics.CACHE_MISSES.inc()
                reason = "PodAdopted" if a.reason == "PodAdopted" else "StepStarted"
                self._event(body, "Normal", reason,
                            f"step {a.step} attempt {a.attempt}: pod {a.pod} ({a.reason})")
            elif isinstance(a, A.MarkCached):
                metrics.CACHE_HITS.inc()
                self._event(body, "Normal", "CacheHit",
                            f"step {a.step} reused outputs of run {a.cached_from.run}, "
                            f"step {a.cached_from.step}")
            elif isinstance(a, A.MarkStepCompleted):
                self._event(body, "Normal", "StepCompleted", f"step {a.step} completed")
            elif isinstance(a, A.ScheduleRetry):
                delay = max(a.next_time - a.time, 0)
                self._event(body, "Warning", "StepRetrying",
                            f"step {a.step} failed ({a.reason}: {a.message}); "
                            f"retrying in {delay:.0f}s")
            elif isinstance(a, A.MarkStepFailed):
                self._event(body, "Warning", "StepFailed",
                            f"step {a.step}: {a.reason}: {a.message}")
            elif isinstance(a, A.MarkStepCancelled):
                self._event(body, "Normal", "StepCancelled", f"step {a.step}: {a.message}")
            elif isinstance(a, A.FinishRun):
                metrics.RUNS_FINISHED.labels(a.phase).inc()
                reason = {"completed": "RunCompleted", "cached": "RunCached",
                          "failed": "RunFailed", "cancelled": "RunCancelled"}[a.phase]
                self._event(body, "Warning" if a.phase == "failed" else "Normal", reason,
                            f"{a.reason}: {a.message}")
