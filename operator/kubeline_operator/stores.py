"""In-memory views the controller plans from: kopf indices plus this process's recent writes.

kopf fills its indices from watch events before any other handler runs, so a
restarted operator sees every existing step Pod and ArtifactVersion before it
plans. Objects this process has just created are not in the indices until
their watch event arrives; the overlays below bridge that gap (and expire, so
an object deleted before it was ever seen is not remembered forever).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubeline_operator.actions import ArtifactInfo
from kubeline_operator.cache_key import CacheCandidate
from kubeline_operator.observe import PodObservation

OVERLAY_TTL_SECONDS = 120.0


@dataclass(frozen=True)
class AvEntry:
    info: ArtifactInfo
    created: float
    output: str | None = None
    run: str | None = None
    step_id: str | None = None


def _values(index: Any, key: Any) -> list[Any]:
    if index is None:
        return []
    try:
        return list(index[key]) if key in index else []
    except KeyError:
        return []


@dataclass
class Stores:
    """Lookups over the kopf indices (set once the handlers see them) and the overlays."""

    pods_index: Any = None
    artifacts_index: Any = None
    # Completed steps by cache key, kept by the operator itself (not a kopf index: kopf
    # blocks every handler until each indexed object is processed, with a cost that grows
    # faster than linearly: 2,000 runs took 40 s to start, 10,000 did not in 10 minutes).
    cache_keys: dict[tuple[str, str], dict[str, list[CacheCandidate]]] = field(
        default_factory=dict)  # (namespace, key) -> run -> candidates
    run_keys: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    snapshots_index: Any = None
    model_versions_index: Any = None  # (namespace, model) -> models_plan.VersionEntry
    created_pods: dict[tuple[str, str], dict[str, tuple[PodObservation, float]]] = field(
        default_factory=dict)
    created_avs: dict[tuple[str, str], tuple[AvEntry, float]] = field(default_factory=dict)

    def bind(self, indices: Mapping[str, Any]) -> None:
        self.pods_index = indices.get("kubeline_step_pods", self.pods_index)
        self.artifacts_index = indices.get("kubeline_artifacts", self.artifacts_index)
        self.snapshots_index = indices.get("kubeline_snapshots", self.snapshots_index)
        self.model_versions_index = indices.get("kubeline_model_versions",
                                                self.model_versions_index)

    # ------------------------------------------------------------------ pods
    def remember_pod(self, namespace: str, run: str, pod: PodObservation) -> None:
        self.created_pods.setdefault((namespace, run), {})[pod.name] = (pod, time.monotonic())

    def run_pods(self, namespace: str, run: str) -> list[PodObservation]:
        seen = {p.name: p for p in _values(self.pods_index, (namespace, run))}
        overlay = self.created_pods.get((namespace, run), {})
        now = time.monotonic()
        for name, (pod, at) in list(overlay.items()):
            if name in seen or now - at > OVERLAY_TTL_SECONDS:
                del overlay[name]
            else:
                seen[name] = pod
        if not overlay:
            self.created_pods.pop((namespace, run), None)
        return list(seen.values())

    def active_pods(self) -> int:
        """Step Pods holding a slot in every namespace watched."""
        indexed = len(_values(self.pods_index, "active"))
        return indexed + sum(len(v) for v in self.created_pods.values())

    # ------------------------------------------------------------------ artifacts
    def remember_av(self, namespace: str, entry: AvEntry) -> None:
        self.created_avs[(namespace, entry.info.artifact_version)] = (entry, time.monotonic())

    def _overlay_avs(self, namespace: str) -> Iterable[AvEntry]:
        now = time.monotonic()
        for (ns, name), (entry, at) in list(self.created_avs.items()):
            if now - at > OVERLAY_TTL_SECONDS:
                del self.created_avs[(ns, name)]
            elif ns == namespace:
                yield entry

    def by_name(self, namespace: str, name: str) -> ArtifactInfo | None:
        found = _values(self.artifacts_index, ("name", namespace, name))
        if found:
            return found[0].info
        hit = self.created_avs.get((namespace, name))
        return hit[0].info if hit else None

    def by_id(self, namespace: str, uid: str) -> ArtifactInfo | None:
        found = _values(self.artifacts_index, ("uid", namespace, uid))
        return found[0].info if found else None

    def versions(self, namespace: str, artifact: str) -> list[AvEntry]:
        entries = {e.info.artifact_version: e
                   for e in _values(self.artifacts_index, ("artifact", namespace, artifact))}
        for e in self._overlay_avs(namespace):
            if e.info.artifact_name == artifact:
                entries.setdefault(e.info.artifact_version, e)
        return list(entries.values())

    def latest(self, namespace: str, artifact: str, version: str | None) -> ArtifactInfo | None:
        entries = self.versions(namespace, artifact)
        if version is not None:
            return next((e.info for e in entries if e.info.version == version), None)
        if not entries:
            return None
        return max(entries, key=lambda e: (e.created, _numeric(e.info.version))).info

    def produced(self, namespace: str, run: str, step_id: str) -> dict[str, str]:
        """Output name -> ArtifactVersion name already created for a run's step."""
        out: dict[str, str] = {}
        for e in _values(self.artifacts_index, ("producer", namespace, run, step_id)):
            if e.output:
                out[e.output] = e.info.artifact_version
        for e in self._overlay_avs(namespace):
            if e.run == run and e.step_id == step_id and e.output:
                out.setdefault(e.output, e.info.artifact_version)
        return out

    # ------------------------------------------------------------------ cache
    def candidates(self, namespace: str, key: str) -> list[CacheCandidate]:
        return [c for found in self.cache_keys.get((namespace, key), {}).values() for c in found]

    def index_run(self, namespace: str, run: str, candidates: Iterable[CacheCandidate]) -> None:
        """Replace what a run contributes to the cache index (empty: forget the run)."""
        for key in self.run_keys.pop((namespace, run), ()):
            per_run = self.cache_keys.get((namespace, key))
            if per_run is not None:
                per_run.pop(run, None)
                if not per_run:
                    del self.cache_keys[(namespace, key)]
        keys: list[str] = []
        for c in candidates:
            self.cache_keys.setdefault((namespace, c.key), {}).setdefault(run, []).append(c)
            keys.append(c.key)
        if keys:
            self.run_keys[(namespace, run)] = tuple(dict.fromkeys(keys))

    # ------------------------------------------------------------------ snapshots
    def snapshot(self, namespace: str, name: str) -> dict[str, Any] | None:
        found = _values(self.snapshots_index, (namespace, name))
        if found:
            return found[0]
        by_display = _values(self.snapshots_index, ("display", namespace, name))
        if by_display:
            real = _values(self.snapshots_index, (namespace, by_display[0]))
            return real[0] if real else None
        return None


def _numeric(version: str) -> int:
    return int(version) if version.isdigit() else -1
