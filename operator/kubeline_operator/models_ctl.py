"""Model bookkeeping: version numbers, one production version per model, Model status."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubeline.resources.names import MODEL_VERSIONS, MODELS

from kubeline_operator.api import Conflict, Gone, OperatorApi
from kubeline_operator.bookkeeping import update_status
from kubeline_operator.timeutil import to_rfc3339

# Last stage seen per ModelVersion: a version that *becomes* production wins over older ones.
_seen_stage: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class VersionEntry:
    name: str
    version: str
    stage: str
    created: float
    status: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelPlan:
    numbers: dict[str, int]
    demote: list[str]
    production: str | None
    latest: str | None


def plan_model(versions: list[VersionEntry], seen: dict[str, str]) -> ModelPlan:
    """Pure: numbering by creation, the production winner and who is demoted to archived."""
    ordered = sorted(versions, key=lambda v: (v.created, v.name))
    numbers = {v.name: i + 1 for i, v in enumerate(ordered)}
    prod = [v for v in ordered if v.stage == "production"]
    fresh = [v for v in prod if seen.get(v.name) not in (None, "production")]
    winner = (fresh or prod)[-1] if prod else None
    demote = [v.name for v in prod if winner is not None and v.name != winner.name]
    return ModelPlan(numbers, demote, winner.version if winner else None,
                     ordered[-1].version if ordered else None)


def _constant(patch: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda _status: patch


async def reconcile_model(api: OperatorApi, namespace: str, model: str,
                          versions: list[VersionEntry], model_object: str | None) -> None:
    seen = {v.name: _seen_stage.get((namespace, v.name), "") for v in versions}
    seen = {k: v for k, v in seen.items() if v}
    result = plan_model(versions, seen)
    now = to_rfc3339(time.time())
    for name in result.demote:
        with contextlib.suppress(Gone, Conflict):
            await api.patch(MODEL_VERSIONS, namespace, name, {"spec": {"stage": "archived"}})
    for v in versions:
        stage = "archived" if v.name in result.demote else v.stage
        patch: dict[str, Any] = {}
        if v.status.get("number") != result.numbers[v.name]:
            patch["number"] = result.numbers[v.name]
        if _seen_stage.get((namespace, v.name)) not in (None, stage) or not v.status.get(
                "stageChangedTime"):
            patch["stageChangedTime"] = now
        _seen_stage[(namespace, v.name)] = stage
        if patch:
            await update_status(api, MODEL_VERSIONS, namespace, v.name, _constant(patch))
    if model_object:
        status = {"latestVersion": result.latest, "productionVersion": result.production,
                  "versionCount": len(versions)}
        await update_status(
            api, MODELS, namespace, model_object,
            lambda st: None if all(st.get(k) == v for k, v in status.items()) else status)
