"""Resolve a ready step's inputs, cache key and cache hit from in-memory lookups (pure).

The lookups are protocols so that the controller can back them with kopf
indices (no API calls) and tests with dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from kubeline.resources.models import (
    PipelineRunStatus,
    RunConfiguration,
    SnapshotSpec,
    StepSpec,
)
from kubeline.resources.reasons import Reason
from kubeline.resources.run_config import effective_enable_cache

from kubeline_operator.actions import ArtifactInfo
from kubeline_operator.cache_key import (
    CacheCandidate,
    InputIdentity,
    choose_hit,
    compute_cache_info,
)
from kubeline_operator.dag import Dag
from kubeline_operator.planner import CacheHit, StepResolution


class ArtifactLookup(Protocol):
    def by_name(self, namespace: str, name: str) -> ArtifactInfo | None: ...

    def by_id(self, namespace: str, uid: str) -> ArtifactInfo | None: ...

    def latest(self, namespace: str, artifact: str, version: str | None) -> ArtifactInfo | None:
        """The given version of an artifact, or its newest version when ``version`` is None."""
        ...


class CacheLookup(Protocol):
    def candidates(self, namespace: str, key: str) -> list[CacheCandidate]: ...


def resolve_step(
    *,
    namespace: str,
    snapshot: SnapshotSpec,
    dag: Dag,
    step: StepSpec,
    status: PipelineRunStatus,
    run_config: RunConfiguration,
    parameters: Mapping[str, Any],
    image: str,
    artifacts: ArtifactLookup,
    cache: CacheLookup,
    now: float,
) -> StepResolution:
    """Inputs, cache key and (if caching is on) the newest usable cache hit of ``step``."""
    steps = {s.name: s for s in status.steps}
    inputs: dict[str, ArtifactInfo] = {}
    idents: dict[str, InputIdentity] = {}
    for inp in step.inputs:
        info: ArtifactInfo | None
        if inp.step:
            up = dag.lookup(inp.step)
            up_status = steps.get(up.id) if up else None
            av = (up_status.outputs.get(inp.output or "") if up_status else None)
            if up is None or av is None:
                return StepResolution(error=(
                    Reason.INPUT_NOT_FOUND,
                    f"input '{inp.name}': step '{inp.step}' recorded no output '{inp.output}'",
                ))
            info = artifacts.by_name(namespace, av)
            if info is None:
                return StepResolution(error=(
                    Reason.INPUT_NOT_FOUND,
                    f"input '{inp.name}': ArtifactVersion '{av}' (output '{inp.output}' of step "
                    f"'{up.id}') does not exist any more",
                ))
        elif inp.model_artifact is not None:
            resolved = next((m for m in status.model_artifacts
                             if m.step == step.id and m.input == inp.name), None)
            info = artifacts.by_name(namespace, resolved.artifact_version) if resolved else None
            if info is None:
                ref_ = inp.model_artifact
                return StepResolution(error=(
                    Reason.INPUT_NOT_FOUND,
                    f"input '{inp.name}': artifact '{ref_.artifact}' of model '{ref_.model}' "
                    + (f"(version '{resolved.version}', ArtifactVersion "
                       f"'{resolved.artifact_version}') does not exist any more" if resolved
                       else "was not resolved when the run started"),
                ))
        else:
            ref = inp.artifact
            assert ref is not None
            info = artifacts.by_id(namespace, ref.id) if ref.id else None
            if info is None:
                info = artifacts.latest(namespace, ref.name, ref.version)
            if info is None:
                which = f"version '{ref.version}'" if ref.version else "any version"
                return StepResolution(error=(
                    Reason.INPUT_NOT_FOUND,
                    f"input '{inp.name}': artifact '{ref.name}' has no {which} "
                    f"in namespace {namespace}",
                ))
        inputs[inp.name] = info
        idents[inp.name] = InputIdentity(
            content_hash=info.content_hash, id=info.id or info.artifact_version,
            unmaterialized=inp.unmaterialized,
        )
    cache_info = compute_cache_info(step, image, parameters, idents)
    enabled = effective_enable_cache(step, snapshot, run_config)
    hit = None
    if enabled:
        best = choose_hit(
            cache.candidates(namespace, cache_info.key), cache_info.key,
            [o.name for o in step.outputs], now, step.cache_expires_after_seconds,
            lambda name: artifacts.by_name(namespace, name) is not None,
        )
        if best is not None:
            hit = CacheHit(run=best.run, step=best.step, outputs=dict(best.outputs))
    return StepResolution(inputs=inputs, cache=cache_info, cache_enabled=enabled, hit=hit)
