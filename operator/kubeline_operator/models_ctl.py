"""The model control plane's I/O: version numbers, versions for runs, stages, links.

Version numbers come from a compare-and-swap counter on the Model's status
(``status.lastNumber``, written with the resourceVersion it was read at): two runs starting
together can never get the same number, deleting the newest version never hands its
number out again, and a crash between taking a number and creating the version costs a
gap, never a duplicate. Stage requests are applied by :func:`models_plan.plan_stages`
under one lock per model, planned from one consistent read (a LIST) of the model's versions,
never from the watch index (kopf indexes each object in its own worker, so the index can
hold one version's newest copy beside another's older one); every write is guarded by the
resourceVersion read, and a conflict reads and plans again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from typing import Any

from kubeline.resources.models import (
    ModelConfig,
    ResolvedModelArtifact,
    RunModelVersion,
    SnapshotSpec,
)
from kubeline.resources.names import (
    ANNOTATION_NAME,
    ANNOTATION_STAGE_CHANGED_BY,
    LABEL_MODEL,
    LABEL_RUN,
    LABEL_UID,
    MODEL_VERSIONS,
    MODELS,
    format_name_template,
    label_value,
    model_object_name,
    model_version_name,
)
from kubeline.resources.reasons import Reason

from kubeline_operator.api import Conflict, Gone, OperatorApi
from kubeline_operator.models_plan import (
    STAGE_REFS,
    ModelResolution,
    StagePlan,
    VersionEntry,
    describe_links,
    find_link,
    find_version,
    plan_stages,
)
from kubeline_operator.timeutil import parse_time, to_rfc3339

log = logging.getLogger("kubeline.operator")
ATTEMPTS = 10
OVERLAY_TTL_SECONDS = 120.0
MAX_LINKS = 256
MODEL_CACHE_SIZE = 2000


def version_entry(body: Any) -> VersionEntry | None:
    """A ModelVersion object as the planner sees it (None without spec.model)."""
    meta = body.get("metadata") or {}
    spec = body.get("spec") or {}
    status = body.get("status") or {}
    if not spec.get("model"):
        return None
    manager, when = None, None  # the field manager that wrote spec.stage last
    for mf in meta.get("managedFields") or []:
        fields = (mf.get("fieldsV1") or {}).get("f:spec") or {}
        stamp = parse_time(mf.get("time"))
        if "f:stage" in fields and (when is None or (stamp or 0) >= when):
            manager, when = mf.get("manager"), stamp
    labels = meta.get("labels") or {}
    want = {LABEL_MODEL: label_value(spec["model"]), LABEL_UID: meta.get("uid")}
    missing = tuple((k, v) for k, v in want.items() if v and labels.get(k) != v)
    return VersionEntry(
        name=meta.get("name", ""), model=spec["model"], version=str(spec.get("version", "")),
        requested=spec.get("stage") or "none", stage=status.get("stage"),
        number=status.get("number"), created=parse_time(meta.get("creationTimestamp")) or 0.0,
        resource_version=str(meta.get("resourceVersion", "")),
        producer_run=spec.get("producerRun"),
        changed_by=(meta.get("annotations") or {}).get(ANNOTATION_STAGE_CHANGED_BY),
        manager=manager,
        history=tuple(status.get("stageHistory") or ()),
        artifacts=tuple(spec.get("artifacts") or ()),
        deleting=bool(meta.get("deletionTimestamp")), missing_labels=missing,
    )


def _not_found(model: str, ref: str) -> str:
    if ref in STAGE_REFS:
        return (f"model '{model}' has no version in stage '{ref}' (it might be missing if the "
                "pipeline promoting a version to this stage failed); list the versions with "
                f"`kubeline model version list {model}`")
    return (f"model '{model}' has no version '{ref}'; list the versions with "
            f"`kubeline model version list {model}`")


class ModelControl:
    """Versions, numbers, stages and links of the Models in the watched namespaces."""

    def __init__(self, api: OperatorApi, stores: Any) -> None:
        self.api = api
        self.stores = stores  # model_versions_index: (namespace, model) -> VersionEntry
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._created: dict[tuple[str, str], tuple[VersionEntry, float]] = {}
        self._models: dict[tuple[str, str], dict[str, Any]] = {}  # last Model copy seen

    # ------------------------------------------------------------ views
    def lock(self, namespace: str, model: str) -> asyncio.Lock:
        return self._locks.setdefault((namespace, model), asyncio.Lock())

    def versions(self, namespace: str, model: str) -> list[VersionEntry]:
        """The index's versions of ``model`` plus those this process created moments ago."""
        seen: dict[str, VersionEntry] = {}
        index = getattr(self.stores, "model_versions_index", None)
        if index is not None:
            try:
                seen = {v.name: v for v in index.get((namespace, model), ())}
            except (KeyError, TypeError):
                seen = {}
        now = time.monotonic()
        for (ns, name), (entry, at) in list(self._created.items()):
            if now - at > OVERLAY_TTL_SECONDS:
                self._created.pop((ns, name), None)
            elif ns == namespace and entry.model == model:
                known = seen.get(name)
                if known is None or known.number is None:
                    seen[name] = entry
        return list(seen.values())

    def _remember(self, namespace: str, body: dict[str, Any]) -> VersionEntry:
        entry = version_entry(body)
        assert entry is not None
        self._created[(namespace, entry.name)] = (entry, time.monotonic())
        return entry

    # ------------------------------------------------------------ models and numbers
    async def ensure_model(self, namespace: str, model: str,
                           config: ModelConfig | None = None, fresh: bool = False
                           ) -> dict[str, Any]:
        """The Model object (the last copy this process read or wrote unless ``fresh``),
        created (from ``config``) when missing."""
        name = model_object_name(model)
        key = (namespace, name)
        if not fresh and key in self._models:
            return self._models[key]
        try:
            return self._keep(key, await self.api.get(MODELS, namespace, name))
        except Gone:
            pass
        spec: dict[str, Any] = {"name": model}
        if config is not None:
            extra = config.to_k8s()
            extra.pop("name", None)
            extra.pop("version", None)
            spec.update(extra)
        body = {"kind": "Model", "spec": spec,
                "metadata": {"name": name, "annotations": {ANNOTATION_NAME: model}}}
        try:
            return self._keep(key, await self.api.create(MODELS, namespace, body))
        except Conflict:
            return self._keep(key, await self.api.get(MODELS, namespace, name))

    def _keep(self, key: tuple[str, str], obj: dict[str, Any]) -> dict[str, Any]:
        self._models[key] = obj
        if len(self._models) > MODEL_CACHE_SIZE:
            self._models.pop(next(iter(self._models)))
        return obj

    async def _patch_model_status(self, namespace: str, model: str,
                                  compute: Any) -> dict[str, Any] | None:
        """Patch the Model's status with ``compute(status)`` (None: nothing to do), guarded
        by the resourceVersion of the copy it was computed from; a conflict re-reads."""
        fresh = False
        for _ in range(ATTEMPTS):
            obj = await self.ensure_model(namespace, model, fresh=fresh)
            patch = compute(obj.get("status") or {})
            if patch is None:
                return obj
            name = obj["metadata"]["name"]
            body = {"metadata": {"resourceVersion": obj["metadata"]["resourceVersion"]},
                    "status": patch}
            try:
                return self._keep((namespace, name),
                                  await self.api.patch_status(MODELS, namespace, name, body))
            except (Conflict, Gone):
                self._models.pop((namespace, name), None)
                fresh = True
        raise RuntimeError(f"could not update model '{model}' after {ATTEMPTS} conflicts")

    async def allocate_number(self, namespace: str, model: str) -> int:
        """The next version number of ``model``: a compare-and-swap on status.lastNumber."""
        floor = max((v.number or 0 for v in self.versions(namespace, model)), default=0)
        taken: list[int] = []

        def take(status: dict[str, Any]) -> dict[str, Any]:
            taken[:] = [max(int(status.get("lastNumber") or 0), floor) + 1]
            return {"lastNumber": taken[0]}

        await self._patch_model_status(namespace, model, take)
        return taken[0]

    async def create_version(self, namespace: str, model: str, version: str | None, run: str,
                             config: ModelConfig | None) -> VersionEntry:
        """A new version of ``model`` for ``run`` (named ``version``, else its number); an
        existing version of that name (created concurrently) is returned instead."""
        for _ in range(ATTEMPTS):
            number = await self.allocate_number(namespace, model)
            name = version or str(number)
            spec: dict[str, Any] = {"model": model, "version": name, "stage": "none",
                                    "producerRun": run}
            if config is not None and config.description:
                spec["description"] = config.description
            if config is not None and config.tags:
                spec["tags"] = list(config.tags)
            body = {"kind": "ModelVersion", "metadata": {
                "name": model_version_name(model, name),
                "labels": {LABEL_MODEL: label_value(model), LABEL_RUN: label_value(run)},
                "annotations": {ANNOTATION_NAME: model}}, "spec": spec}
            try:
                created = await self.api.create(MODEL_VERSIONS, namespace, body)
            except Conflict:
                if version:
                    existing = await self.api.get(MODEL_VERSIONS, namespace,
                                                  model_version_name(model, name))
                    return self._remember(namespace, existing)
                continue  # a hand-made object took this number's name: take the next one
            status = {"metadata": {"resourceVersion": created["metadata"]["resourceVersion"]},
                      "status": {"number": number, "stage": "none"}}
            try:
                created = await self.api.patch_status(MODEL_VERSIONS, namespace,
                                                      created["metadata"]["name"], status)
            except Conflict:  # the model's reconcile numbered it first: keep its number
                created = await self.api.get(MODEL_VERSIONS, namespace,
                                             created["metadata"]["name"])
            return self._remember(namespace, created)
        raise RuntimeError(f"could not create a version of model '{model}'")

    # ------------------------------------------------------------ runs
    async def resolve_for_run(self, namespace: str, run: str, started: float,
                              snapshot: SnapshotSpec) -> ModelResolution:
        """The run's model version (created when the Model asks for a new or unknown named
        one) and every model-artifact input, as they are now."""
        out = ModelResolution()
        config = snapshot.model
        if config is not None:
            try:
                model = format_name_template(config.name, started)
                ref = (format_name_template(config.version, started)
                       if config.version is not None else None)
            except KeyError as exc:
                out.error = (Reason.INVALID_MODEL, str(exc.args[0]))
                return out
            async with self.lock(namespace, model):
                entry = await self._run_version(namespace, run, model, ref, config)
            if entry is None:
                out.error = (Reason.MODEL_VERSION_NOT_FOUND, _not_found(model, ref or "latest"))
                return out
            out.model = RunModelVersion(
                name=model, version=entry.version, number=entry.number, object=entry.name,
                requested=config.version, created=entry.producer_run == run and (
                    ref is None or ref not in STAGE_REFS))
        for step in snapshot.steps:
            for inp in step.inputs:
                ref_ = inp.model_artifact
                if ref_ is None:
                    continue
                if (out.model is not None and config is not None and ref_.model == config.name
                        and ref_.version == config.version):
                    entry = next((v for v in self.versions(namespace, out.model.name)
                                  if v.name == out.model.object), None)
                else:
                    entry = find_version(self.versions(namespace, ref_.model), ref_.version)
                if entry is None:
                    where = f"input '{inp.name}' of step '{step.id}': "
                    out.error = (Reason.MODEL_VERSION_NOT_FOUND,
                                 where + _not_found(ref_.model, ref_.version or "latest"))
                    return out
                link = find_link(entry, ref_.artifact, ref_.type, ref_.artifact_version,
                                 lambda lk, ns=namespace: self._av_version(ns, lk))
                if link is None:
                    kind = "" if ref_.type == "any" else f"{ref_.type} "
                    out.error = (Reason.MODEL_ARTIFACT_NOT_FOUND, (
                        f"input '{inp.name}' of step '{step.id}': version '{entry.version}' of "
                        f"model '{ref_.model}' (resolved from '{ref_.version or 'latest'}') has "
                        f"no {kind}artifact '{ref_.artifact}'; its artifacts: "
                        f"{describe_links(entry)}"))
                    return out
                out.artifacts.append(ResolvedModelArtifact(
                    step=step.id, input=inp.name, model=ref_.model, requested=ref_.version,
                    version=entry.version, number=entry.number,
                    artifact_version=str(link.get("artifactVersion"))))
        return out

    def _av_version(self, namespace: str, link: Any) -> str | None:
        info = self.stores.by_name(namespace, str(link.get("artifactVersion")))
        return info.version if info is not None else None

    async def _run_version(self, namespace: str, run: str, model: str, ref: str | None,
                           config: ModelConfig) -> VersionEntry | None:
        await self.ensure_model(namespace, model, config)
        versions = self.versions(namespace, model)
        if ref is None:
            mine = next((v for v in versions if v.producer_run == run), None)
            return mine or await self.create_version(namespace, model, None, run, config)
        found = find_version(versions, ref)
        if found is not None or ref in STAGE_REFS or ref.isdigit():
            return found  # stages and numbers are looked up, never created
        return await self.create_version(namespace, model, ref, run, config)

    async def link(self, namespace: str, version_object: str, links: Iterable[dict[str, Any]]
                   ) -> None:
        """Add artifact links to a ModelVersion (read-modify-write guarded by its version)."""
        new = list(links)
        if not new:
            return
        for _ in range(ATTEMPTS):
            try:
                obj = await self.api.get(MODEL_VERSIONS, namespace, version_object)
            except Gone:
                return
            current = list((obj.get("spec") or {}).get("artifacts") or [])
            have = {(a.get("name"), a.get("artifactVersion")) for a in current}
            add = [lk for lk in new if (lk["name"], lk["artifactVersion"]) not in have]
            if not add:
                return
            merged = [*current, *add]
            if len(merged) > MAX_LINKS:
                log.warning("model version %s/%s has more than %d links; the oldest are dropped",
                            namespace, version_object, MAX_LINKS)
                merged = merged[-MAX_LINKS:]
            body = {"metadata": {"resourceVersion": obj["metadata"]["resourceVersion"]},
                    "spec": {"artifacts": merged}}
            try:
                await self.api.patch(MODEL_VERSIONS, namespace, version_object, body)
                return
            except Conflict:
                continue

    async def add_metadata(self, namespace: str, version_object: str,
                           metadata: dict[str, Any]) -> None:
        """Merge ``metadata`` into the ModelVersion's spec.metadata."""
        if metadata:
            try:
                await self.api.patch(MODEL_VERSIONS, namespace, version_object,
                                     {"spec": {"metadata": metadata}})
            except Gone:
                return

    # ------------------------------------------------------------ stages
    async def reconcile(self, namespace: str, model: str) -> None:
        """Number new versions, apply stage requests, keep the Model's pointers."""
        async with self.lock(namespace, model):
            versions = self.versions(namespace, model)
            now = to_rfc3339(time.time())
            touched = False
            for v in versions:
                if v.deleting:
                    continue
                if v.number is None and (namespace, v.name) not in self._created:
                    # Made with kubectl or GitOps: number it (its next event plans stages).
                    number = await self.allocate_number(namespace, model)
                    with contextlib.suppress(Conflict, Gone):
                        self._remember(namespace, await self.api.patch_status(
                            MODEL_VERSIONS, namespace, v.name, {
                                "metadata": {"resourceVersion": v.resource_version},
                                "status": {"number": number}}))
                    touched = True
                elif v.missing_labels:
                    # Lookup labels: the Client finds a model's versions (and one by id)
                    # with a label selector, also those made with kubectl or GitOps.
                    with contextlib.suppress(Gone):
                        await self.api.patch(MODEL_VERSIONS, namespace, v.name, {
                            "metadata": {"labels": dict(v.missing_labels)}})
                    touched = True
            if touched:
                return  # planned again from the events these writes cause
            # The index only tells whether there is anything to do (a request is pending, or
            # the Model's pointers would change); the plan itself is made from the server.
            hint = plan_stages(versions, now)
            if not hint.updates and self._pointers_current(namespace, model,
                                                           hint.model_status):
                return
            for _ in range(ATTEMPTS):
                plan = plan_stages(await self._read_versions(namespace, model),
                                   to_rfc3339(time.time()))
                try:
                    await self._apply_stages(namespace, plan)
                except (Conflict, Gone):
                    continue  # a version changed after the read: read and plan again
                await self._model_status(namespace, model, plan.model_status)
                return
            log.warning("model %s/%s: stage requests not applied after %d conflicts; the next "
                        "change of one of its versions plans again", namespace, model, ATTEMPTS)

    async def _read_versions(self, namespace: str, model: str) -> list[VersionEntry]:
        """The model's versions in one consistent read (those with the lookup label: the
        reconcile labels every version before it plans stages)."""
        listed = await self.api.list_objects(MODEL_VERSIONS, namespace,
                                             f"{LABEL_MODEL}={label_value(model)}")
        entries = (version_entry(obj) for obj in listed.get("items") or [])
        return [e for e in entries if e is not None and e.model == model]

    async def _apply_stages(self, namespace: str, plan: StagePlan) -> None:
        """The plan's writes in order, each guarded by the resourceVersion it was planned
        from (Conflict or Gone: the plan is stale, nothing after that write is done)."""
        for update in plan.updates:
            rv = update.resource_version
            if update.spec_stage is not None:
                patched = await self.api.patch(MODEL_VERSIONS, namespace, update.name, {
                    "metadata": {"resourceVersion": rv}, "spec": {"stage": update.spec_stage}})
                rv = patched["metadata"]["resourceVersion"]
            patched = await self.api.patch_status(MODEL_VERSIONS, namespace, update.name, {
                "metadata": {"resourceVersion": rv}, "status": update.status})
            if update.clear_changed_by:
                patched = await self.api.patch(MODEL_VERSIONS, namespace, update.name, {
                    "metadata": {"resourceVersion": patched["metadata"]["resourceVersion"],
                                 "annotations": {ANNOTATION_STAGE_CHANGED_BY: None}}})
            self._remember(namespace, patched)

    def _pointers_current(self, namespace: str, model: str, status: dict[str, Any]) -> bool:
        """Whether the last copy of the Model this process saw has these pointers."""
        known = self._models.get((namespace, model_object_name(model)))
        current = (known or {}).get("status") or {}
        return known is not None and all(current.get(k) == v for k, v in status.items())

    async def _model_status(self, namespace: str, model: str, status: dict[str, Any]) -> None:
        await self._patch_model_status(namespace, model, lambda current: None if all(
            current.get(k) == v for k, v in status.items()) else status)
