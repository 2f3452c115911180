"""The operator's state, in one object: kopf keeps it in its ``memo`` (``memo.kubeline``),
created by the startup handler and handed to every handler."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubeline_operator import metrics
from kubeline_operator.api import OperatorApi
from kubeline_operator.controller import Controller
from kubeline_operator.effects import ArtifactReader, EnvArtifactStore
from kubeline_operator.peering_gate import PeeringGate, peering_identity
from kubeline_operator.schedules_ctl import ScheduleController
from kubeline_operator.settings import OperatorSettings
from kubeline_operator.stores import Stores

MEMO_KEY = "kubeline"


@dataclass
class OperatorState:
    """Settings, the API client, the in-memory views, the run and schedule controllers."""

    settings: OperatorSettings
    api: OperatorApi
    stores: Stores
    controller: Controller
    schedules: ScheduleController

    @classmethod
    def create(cls, settings: OperatorSettings, store: ArtifactReader | None = None
               ) -> OperatorState:
        api = OperatorApi(settings.api_qps, settings.api_burst,
                          connections=max(settings.workers, 4), event_qps=settings.event_qps,
                          on_retry=metrics.count_api_retry,
                          on_request=metrics.API_REQUESTS.inc)
        stores = Stores()
        controller = Controller(settings, api, stores, store or EnvArtifactStore())
        # Schedule timers follow kopf peering: a replica kopf pauses creates no runs.
        gate = PeeringGate(api, settings.peering, peering_identity(), settings.peering_priority,
                           clusterwide=not settings.namespaces) if settings.peering else None
        schedules = ScheduleController(api, settings.schedule_test_intervals, gate)
        return cls(settings, api, stores, controller, schedules)


def state_of(memo: Any) -> OperatorState | None:
    """The state in kopf's memo (None before start-up made it)."""
    return getattr(memo, MEMO_KEY, None) if memo is not None else None
