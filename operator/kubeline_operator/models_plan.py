"""The model control plane's pure rules: stages, stage history, version lookup, templates.

The operator applies the stage each ModelVersion asks for (``spec.stage``) to the stage in
effect (``status.stage``), one model at a time, from one consistent read of the model's
versions, so racing promotions are serialized: requests pending together are taken in the
order the API server accepted them (each version's resourceVersion, compared as a number)
and each promotion to an exclusive stage (staging, production) archives the version that
held it, so the last one accepted wins. Holders are archived before the new version is
promoted, so a model never has two versions in production, even when the operator stops
half-way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubeline.resources.models import (
    MAX_STAGE_HISTORY,
    ResolvedModelArtifact,
    RunModelVersion,
    SnapshotSpec,
)
from kubeline.resources.reasons import Reason

EXCLUSIVE_STAGES = ("staging", "production")
STAGES = ("none", "staging", "production", "archived")
#: Version references that select by stage (``latest`` is virtual: the highest number).
STAGE_REFS = (*STAGES, "latest")


@dataclass(frozen=True)
class VersionEntry:
    """What the operator knows of one ModelVersion (from its index)."""

    name: str  # object name
    model: str
    version: str
    requested: str = "none"  # spec.stage
    stage: str | None = None  # status.stage (None: never applied)
    number: int | None = None
    created: float = 0.0
    resource_version: str = ""
    producer_run: str | None = None
    changed_by: str | None = None  # kubeline.dev/stage-changed-by (checked at admission)
    manager: str | None = None  # field manager of spec.stage (client-reported)
    history: tuple[Mapping[str, Any], ...] = ()
    artifacts: tuple[Mapping[str, Any], ...] = ()
    deleting: bool = False
    missing_labels: tuple[tuple[str, str], ...] = ()  # lookup labels it lacks (model, uid)

    @property
    def effective(self) -> str:
        return self.stage or "none"

    @property
    def revision(self) -> int:
        """The resourceVersion as a number: the API server's order of accepted writes
        (comparable between objects of one resource, Kubernetes' KEP-5504); 0 if unknown."""
        return int(self.resource_version) if self.resource_version.isdigit() else 0


@dataclass
class VersionUpdate:
    """Writes for one ModelVersion: spec.stage (when displaced), then its status."""

    name: str
    resource_version: str
    spec_stage: str | None = None
    status: dict[str, Any] = field(default_factory=dict)
    clear_changed_by: bool = False


@dataclass
class StagePlan:
    updates: list[VersionUpdate]
    model_status: dict[str, Any]


def _entry(stage: str, previous: str | None, now: str, reason: str, user: str | None = None,
           manager: str | None = None, message: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"stage": stage, "time": now, "reason": reason}
    for key, value in (("previous", previous), ("user", user), ("manager", manager),
                       ("message", message)):
        if value:
            out[key] = value
    return out


def plan_stages(versions: Sequence[VersionEntry], now: str) -> StagePlan:
    """Apply every pending stage request of one model in the order the API server accepted
    them (resourceVersion), so the last one accepted wins. ``versions`` must be one
    consistent read: planned from a mix of older and newer copies, a request applied a
    moment ago looks pending again or a version archived a moment ago still holds its
    stage, and the plan can undo a promotion."""
    live = [v for v in versions if not v.deleting]
    state = {v.name: v.effective for v in live}
    spec = {v.name: v.requested for v in live}
    history: dict[str, list[dict[str, Any]]] = {v.name: [] for v in live}
    displaced: set[str] = set()
    consumed: set[str] = set()
    by_name = {v.name: v for v in live}
    pending = sorted((v for v in live if v.requested != v.effective),
                     key=lambda v: (v.revision, v.number or 0, v.name))
    for v in pending:
        if spec[v.name] != v.requested:
            continue  # displaced earlier in this pass: its request is overtaken
        target = v.requested
        if target in EXCLUSIVE_STAGES:
            for holder in live:
                if holder.name != v.name and state[holder.name] == target:
                    history[holder.name].append(_entry(
                        "archived", target, now, Reason.ARCHIVED_BY_PROMOTION, v.changed_by,
                        message=f"version {v.version} was promoted to {target}"))
                    state[holder.name] = spec[holder.name] = "archived"
                    displaced.add(holder.name)
        history[v.name].append(_entry(target, state[v.name], now, "Requested", v.changed_by,
                                      v.manager))
        state[v.name] = target
        consumed.add(v.name)
    # A second holder of an exclusive stage can only come from a hand-edited status:
    # keep the one that entered it last.
    for stage in EXCLUSIVE_STAGES:
        holders = [by_name[n] for n, s in state.items() if s == stage]
        if len(holders) > 1:
            keep = max(holders, key=lambda h: (_entered(h, stage, history[h.name]),
                                               h.number or 0))
            for h in holders:
                if h.name != keep.name:
                    history[h.name].append(_entry(
                        "archived", stage, now, Reason.ARCHIVED_BY_PROMOTION,
                        message=f"version {keep.version} holds {stage}"))
                    state[h.name] = spec[h.name] = "archived"
                    displaced.add(h.name)
    updates = []
    for v in live:
        new_entries = history[v.name]
        if not new_entries and v.stage is not None:
            continue
        status: dict[str, Any] = {"stage": state[v.name]}
        if new_entries:
            status["stageChangedTime"] = now
            status["stageHistory"] = [*map(dict, v.history), *new_entries][-MAX_STAGE_HISTORY:]
        updates.append(VersionUpdate(
            v.name, v.resource_version,
            spec_stage=spec[v.name] if v.name in displaced and spec[v.name] != v.requested
            else None,
            status=status, clear_changed_by=v.name in consumed and bool(v.changed_by)))
    # Displaced holders first: a model is never seen with two versions in one stage.
    updates.sort(key=lambda u: u.spec_stage is None)
    return StagePlan(updates, model_status(live, state))


def _entered(v: VersionEntry, stage: str, new: list[dict[str, Any]]) -> str:
    times = [h.get("time", "") for h in [*v.history, *new] if h.get("stage") == stage]
    return max(times, default="")


def model_status(versions: Iterable[VersionEntry], state: Mapping[str, str] | None = None
                 ) -> dict[str, Any]:
    """The Model's pointers: latest version (highest number), production, staging, count."""
    live = [v for v in versions if not v.deleting]
    state = state or {v.name: v.effective for v in live}
    latest = max(live, key=lambda v: (v.number or 0, v.created), default=None)

    def holder(stage: str) -> str | None:
        return next((v.version for v in live if state.get(v.name) == stage), None)

    return {"latestVersion": latest.version if latest else None,
            "productionVersion": holder("production"), "stagingVersion": holder("staging"),
            "versionCount": len(live)}


# ----------------------------------------------------------------- lookups


@dataclass
class ModelResolution:
    """What a run's model configuration resolved to when it started (or why it cannot)."""

    model: RunModelVersion | None = None
    artifacts: list[ResolvedModelArtifact] = field(default_factory=list)
    error: tuple[str, str] | None = None



def needs_models(snapshot: SnapshotSpec) -> bool:
    return snapshot.model is not None or any(
        i.model_artifact is not None for s in snapshot.steps for i in s.inputs)




def find_version(versions: Sequence[VersionEntry], ref: str | None) -> VersionEntry | None:
    """The version ``ref`` names: a stage (in effect), ``latest``/None, a number or a name."""
    live = [v for v in versions if not v.deleting]
    if ref is None or ref == "latest":
        return max(live, key=lambda v: (v.number or 0, v.created), default=None)
    if ref in STAGES:
        return max((v for v in live if v.effective == ref),
                   key=lambda v: (v.number or 0, v.created), default=None)
    named = next((v for v in live if v.version == ref), None)
    if named is not None or not ref.isdigit():
        return named
    return next((v for v in live if v.number == int(ref)), None)


def find_link(version: VersionEntry, artifact: str, kind: str = "any",
              artifact_version: str | None = None,
              version_of: Any = None) -> Mapping[str, Any] | None:
    """The newest link named ``artifact`` of type ``kind`` (``any`` matches every type);
    ``version_of(link)`` gives the linked ArtifactVersion's version when one is asked for."""
    for link in reversed(version.artifacts):
        if link.get("name") != artifact:
            continue
        if kind != "any" and link.get("type", "data") != kind:
            continue
        if artifact_version is not None and (version_of is None
                                             or version_of(link) != artifact_version):
            continue
        return link
    return None


def describe_links(version: VersionEntry) -> str:
    links = [f"{a.get('name')} ({a.get('type', 'data')})" for a in version.artifacts]
    return ", ".join(dict.fromkeys(links)) or "none"
