"""The effects a plan asks for: step Pods created and deleted, outputs recorded as
ArtifactVersions (from the outputs manifest in the artifact store), runs deleted, lookup
labels added. Each returns the status changes it caused; the plan itself stays pure.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol

from kubeline.resources import layout
from kubeline.resources.manifest import OutputsManifest
from kubeline.resources.models import PipelineRunStatus, StepSpec
from kubeline.resources.names import (
    ANNOTATION_TAGS,
    ARTIFACT_VERSIONS,
    PIPELINE_RUNS,
    merged_tags,
    next_version,
    step_pod_name,
)
from kubeline.resources.reasons import Reason

from kubeline_operator import actions as A
from kubeline_operator import metrics
from kubeline_operator.api import ApiError, Conflict, OperatorApi
from kubeline_operator.artifacts import (
    ManifestError,
    artifact_info,
    artifact_version_body,
    outside_message,
    parse_manifest,
    parse_manual_artifacts,
    run_tags_of,
    step_completed,
    uris_outside,
)
from kubeline_operator.dag import Dag
from kubeline_operator.labels import uid_label
from kubeline_operator.models_ctl import ModelControl
from kubeline_operator.observe import PodObservation, refusal_waits
from kubeline_operator.pod_spec import RunRef, build_step_pod
from kubeline_operator.pod_spec import manifest_uri as pod_manifest_uri
from kubeline_operator.settings import OperatorSettings
from kubeline_operator.snapshots import Snap
from kubeline_operator.stores import AvEntry, Stores

log = logging.getLogger("kubeline.operator")
OUTPUT_READ_RETRIES = 12
#: Backoff of a step Pod refused by a quota or admission check: full jitter, doubling from
#: the first bound up to the cap.
REFUSED_BACKOFF_FIRST, REFUSED_BACKOFF_CAP = 2.0, 15.0


def refused_backoff(tries: int, rng: random.Random) -> float:
    """Seconds before the ``tries``-th refused Pod is tried again (at least half the bound,
    so a quota that frees up is seen soon without hammering the API server)."""
    bound = min(REFUSED_BACKOFF_CAP, REFUSED_BACKOFF_FIRST * 2 ** max(tries - 1, 0))
    return rng.uniform(bound / 2, bound)


class ArtifactReader(Protocol):
    """The part of the artifact store the operator uses: reading outputs manifests."""

    def read_bytes(self, uri: str) -> bytes: ...


class EnvArtifactStore:
    """The artifact store named by the operator's environment (``KUBELINE_S3_*``), opened
    on first read (the S3 client is not loaded by an operator that reads nothing)."""

    def __init__(self) -> None:
        self._store: ArtifactReader | None = None

    def read_bytes(self, uri: str) -> bytes:
        if self._store is None:
            from kubeline.artifact_store import ArtifactStore, S3Settings

            s3 = S3Settings.from_env()
            if s3 is None:
                raise RuntimeError("KUBELINE_S3_BUCKET is not set in the operator")
            self._store = ArtifactStore.from_settings(s3)
        return self._store.read_bytes(uri)


@dataclass
class Outcome:
    """What executing a plan's effects did."""

    produced: list[A.Action] = field(default_factory=list)  # status changes they caused
    run_deleted: bool = False
    deferred: set[str] = field(default_factory=set)  # steps whose outputs could not be read
    retry_after: float | None = None  # read them again after this many seconds
    unconfirmed: set[str] = field(default_factory=set)  # Pods whose commit Event had no manifest


class Effects:
    """Carries out effect actions against the API server and the artifact store."""

    def __init__(self, settings: OperatorSettings, api: OperatorApi, stores: Stores,
                 store: ArtifactReader, models: ModelControl) -> None:
        self.settings = settings
        self.api = api
        self.stores = stores
        self.store = store
        self.models = models
        self.output_failures: dict[tuple[str, str, str, int], int] = {}
        # (namespace, run, step, attempt) -> (first refusal time, refusals): Pods a quota
        # or admission check refused, waiting (in memory: a restarted operator waits anew).
        self.refused: dict[tuple[str, str, str, int], tuple[float, int]] = {}
        self._rng = random.Random()

    async def execute(self, run: RunRef, snap: Snap, status: PipelineRunStatus,
                      actions: list[A.Action]) -> Outcome:
        outcome = Outcome()
        jobs: list[Awaitable[list[A.Action]]] = []
        for action in actions:
            if isinstance(action, A.CreatePod):
                jobs.append(self.create_pod(run, snap, action))
            elif isinstance(action, A.DeletePod):
                jobs.append(self._delete_pod(run, action))
            elif isinstance(action, A.RecordOutputs):
                jobs.append(self.record_outputs(run, snap, status, action, outcome))
        for produced in await asyncio.gather(*jobs):
            outcome.produced.extend(produced)
        if any(isinstance(a, A.DeleteRun) for a in actions):
            await self.api.delete(PIPELINE_RUNS, run.namespace, run.name)
            outcome.run_deleted = True
        return outcome

    async def _delete_pod(self, run: RunRef, action: A.DeletePod) -> list[A.Action]:
        await self.api.delete_pod(run.namespace, action.pod)
        return []

    # ------------------------------------------------------------------ pods
    async def create_pod(self, run: RunRef, snap: Snap, action: A.CreatePod) -> list[A.Action]:
        assert snap.spec is not None
        step = Dag.of(snap.spec).by_id[action.step]
        if not self.settings.s3_bucket:
            return [A.MarkStepFailed(action.step, Reason.OPERATOR_MISCONFIGURED,
                                     "the operator has no KUBELINE_S3_BUCKET: set s3.bucket in "
                                     "the chart values", time.time())]
        try:
            bucket = self.settings.bucket_for(run.namespace)
        except ValueError as exc:
            return [A.MarkStepFailed(action.step, Reason.OPERATOR_MISCONFIGURED, str(exc),
                                     time.time())]
        pod = build_step_pod(run, snap.spec, step, action.attempt, action.parameters,
                             action.inputs, bucket, self.settings.pod)
        key = (run.namespace, run.name, step.id, action.attempt)
        try:
            created = await self.api.create_pod(run.namespace, pod)
        except ApiError as exc:
            if refusal_waits(exc.status, exc.message):
                return [self._refused(run, step, action, exc.message, key)]
            if exc.status in (400, 403, 422):
                return [A.MarkStepFailed(action.step, Reason.POD_CREATE_FAILED,
                                         pod_create_refusal(run.namespace, action.pod,
                                                            exc.message), time.time())]
            raise
        self.refused.pop(key, None)
        if created:
            metrics.PODS_CREATED.inc()
        self.stores.remember_pod(run.namespace, run.name, PodObservation(
            name=action.pod, step=step.name, attempt=action.attempt, phase="Pending",
            created=time.time()))
        return []

    def _refused(self, run: RunRef, step: StepSpec, action: A.CreatePod, message: str,
                 key: tuple[str, str, str, int]) -> A.Action:
        """A quota or admission refusal: wait with backoff, or fail past the step timeout."""
        now = time.time()
        first, tries = self.refused.get(key, (now, 0))
        tries += 1
        waited = now - first
        timeout = step.timeout_seconds
        if timeout and waited >= timeout:
            self.refused.pop(key, None)
            return A.MarkStepFailed(
                step.id, Reason.QUOTA_EXCEEDED,
                f"step pod {action.pod} was refused for {int(waited)}s, past the step timeout "
                f"of {timeout}s ({tries} tries): {message}", now)
        self.refused[key] = (first, tries)
        delay = refused_backoff(tries, self._rng)
        if timeout:
            delay = max(min(delay, first + timeout - now), 0.5)
        previous = (step_pod_name(run.name, step.name, action.attempt - 1)
                    if action.attempt > 1 else None)
        limit = f", failing after the step timeout of {timeout}s" if timeout else ""
        return A.WaitForPod(
            step.id, action.attempt, previous, now + delay, Reason.QUOTA_EXCEEDED,
            f"waiting: step pod {action.pod} refused ({message}); trying again in "
            f"{delay:.0f}s, refused {tries}x over {int(waited)}s{limit}", now,
            first=tries == 1)

    # ------------------------------------------------------------------ outputs
    async def record_outputs(self, run: RunRef, snap: Snap, status: PipelineRunStatus,
                             action: A.RecordOutputs, outcome: Outcome) -> list[A.Action]:
        """Read the step's outputs manifest and create an ArtifactVersion per output."""
        assert snap.spec is not None
        step = Dag.of(snap.spec).by_id[action.step]
        existing = self.stores.produced(run.namespace, run.name, step.id)
        if (action.manifest_uri is None and not action.early
                and all(o.name in existing for o in step.outputs)):
            # No manifest named (e.g. a Pod that wrote none) and nothing left to record (a
            # step announced committed is never completed without its manifest).
            return [A.MarkStepCompleted(step.id, {o.name: existing[o.name] for o in step.outputs},
                                        action.time)]
        manifest_uri = action.manifest_uri or pod_manifest_uri(
            self.settings.bucket_for(run.namespace), run, step, action.attempt)
        fail_key = (run.namespace, run.name, step.id, action.attempt)
        prefix = layout.run_prefix(layout.bucket_root(self.settings.bucket_for(run.namespace)),
                                   run.namespace, run.pipeline, run.name)
        if uris_outside(prefix, manifest_uri, []):  # the Pod's termination message names it
            return [A.MarkStepFailed(step.id, Reason.OUTPUTS_OUTSIDE_RUN,
                                     outside_message(step.id, prefix, [manifest_uri]),
                                     time.time())]
        try:
            raw = await asyncio.to_thread(self.store.read_bytes, manifest_uri)
            manifest = OutputsManifest.parse(raw, manifest_uri)
            outputs = parse_manifest(manifest, step, snap.spec.pipeline_name)
        except (FileNotFoundError, ManifestError, ValueError) as exc:
            if action.early:
                # An outputs-committed Event without a valid manifest (yet): not trusted;
                # the Pod's exit settles the step.
                log.warning("step %s of %s/%s announced its outputs committed, but its "
                            "manifest %s is missing or invalid (%s); waiting for its Pod",
                            step.id, run.namespace, run.name, manifest_uri, exc)
                outcome.deferred.add(step.id)
                outcome.unconfirmed.add(action.pod)
                return []
            if isinstance(exc, FileNotFoundError):
                return [A.MarkStepFailed(step.id, Reason.OUTPUTS_MISSING,
                                         f"step pod {action.pod} succeeded but wrote no "
                                         f"outputs manifest at {manifest_uri}", time.time())]
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
            outcome.deferred.add(step.id)
            delay = min(2.0 * tries, 30.0)
            outcome.retry_after = min(outcome.retry_after or delay, delay)
            return []
        self.output_failures.pop(fail_key, None)
        bad = uris_outside(prefix, manifest_uri,
                           [*outputs, *parse_manual_artifacts(manifest, step)])
        if bad:
            return [A.MarkStepFailed(step.id, Reason.OUTPUTS_OUTSIDE_RUN,
                                     outside_message(step.id, prefix, bad), time.time())]
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

    # ------------------------------------------------------------------ models
    async def link_to_model(self, run: RunRef, snap: Snap, changes: list[A.Action]) -> None:
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
                        step.id, Reason.ARTIFACT_VERSION_EXISTS,
                        f"artifact '{out.artifact_name}' already has version '{out.version}'; "
                        "give a new version or leave it unset to auto-increment", time.time())
                # Someone took this number: remember it and try the next one.
                self.stores.remember_av(run.namespace, AvEntry(
                    info=A.ArtifactInfo(body["metadata"]["name"], "", "", "", "",
                                        out.artifact_name, version), created=time.time()))
                continue
            await self.label(ARTIFACT_VERSIONS, run.namespace, created["metadata"]["name"],
                             uid_label(created))
            info = artifact_info(created)
            self.stores.remember_av(run.namespace, AvEntry(
                info=info, created=time.time(), output=out.output, run=run.name, step_id=step.id))
            return info.artifact_version
        return A.MarkStepFailed(step.id, Reason.ARTIFACT_VERSION_CONFLICT,
                                f"could not allocate a version of '{out.artifact_name}'",
                                time.time())

    # ------------------------------------------------------------------ labels
    async def label_run(self, body: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
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

    async def label(self, plural: str, namespace: str, name: str, labels: dict[str, str]
                    ) -> None:
        """Add lookup labels (best effort: a missing label costs the Client a scan, no more)."""
        if not labels:
            return
        try:
            await self.api.patch(plural, namespace, name, {"metadata": {"labels": labels}})
        except Exception as exc:  # never fail a run over a lookup label
            log.warning("could not label %s %s/%s: %s", plural, namespace, name, exc)


def pod_create_refusal(namespace: str, pod: str, message: str) -> str:
    """Why a step Pod was refused, with the fix when RBAC refused it: the operator may create
    Pods only in the chart's stepNamespaces."""
    text = f"cannot create step pod {pod}: {message}"
    if 'cannot create resource "pods"' in message:
        text += (f" (the operator may create Pods only in the chart's stepNamespaces: add "
                 f"{namespace} to stepNamespaces and upgrade the release)")
    return text
