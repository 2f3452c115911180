"""The snapshot a run executes: named by the run, or its Pipeline's latest; found in the
Snapshot index, parsed and validated once per (namespace, name, uid)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubeline.resources.models import PipelineRunSpec, PipelineRunStatus, SnapshotSpec
from kubeline.resources.names import PIPELINES, dns_name

from kubeline_operator.api import Gone, OperatorApi
from kubeline_operator.dag import validate_snapshot
from kubeline_operator.stores import Stores

CACHE_SIZE = 2000


@dataclass
class Snap:
    """A run's snapshot: its spec, or why there is none (``missing`` / ``invalid``)."""

    name: str | None
    spec: SnapshotSpec | None
    pipeline: str | None
    missing: str | None = None
    invalid: str | None = None


class SnapshotCache:
    """Parsed, validated snapshots (bounded: the oldest entry goes first)."""

    def __init__(self, api: OperatorApi, stores: Stores, size: int = CACHE_SIZE) -> None:
        self.api = api
        self.stores = stores
        self.size = size
        self._parsed: dict[tuple[str, str, str], tuple[SnapshotSpec | None, str | None]] = {}

    async def for_run(self, namespace: str, spec: PipelineRunSpec, status: PipelineRunStatus
                      ) -> Snap:
        """The run's snapshot; reads the Pipeline only for a new run naming no snapshot."""
        pipeline_status = None
        if not status.steps and not status.snapshot and not spec.snapshot and spec.pipeline:
            try:
                pobj = await self.api.get(PIPELINES, namespace, dns_name(spec.pipeline))
                pipeline_status = pobj.get("status") or {}
            except Gone:
                pipeline_status = None
        return self.lookup(namespace, spec, status, pipeline_status)

    def lookup(self, namespace: str, spec: PipelineRunSpec, status: PipelineRunStatus,
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
        parsed, problem = self._parse(namespace, raw)
        if problem or parsed is None:
            return Snap(raw["name"], None, pipeline,
                        invalid=f"snapshot '{raw['name']}' is invalid: {problem}")
        return Snap(raw["name"], parsed, pipeline or parsed.pipeline)

    def _parse(self, namespace: str, raw: dict[str, Any]
               ) -> tuple[SnapshotSpec | None, str | None]:
        key = (namespace, raw["name"], raw.get("uid", ""))
        entry = self._parsed.get(key)
        if entry is None:
            try:
                snapshot = SnapshotSpec.model_validate(raw["spec"])
                problems = validate_snapshot(snapshot)
                entry = (snapshot, "; ".join(problems) if problems else None)
            except ValueError as exc:
                entry = (None, f"snapshot spec does not parse: {exc}")
            self._parsed[key] = entry
            if len(self._parsed) > self.size:
                self._parsed.pop(next(iter(self._parsed)))
        return entry
