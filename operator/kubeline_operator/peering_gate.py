"""Whether kopf peering has paused this operator, for work kopf does not drive (Schedule
timers). kopf pauses its own handlers when a live peer has a higher priority, and pauses
every peer when live peers share the highest priority; the schedule timers follow the
same rule, read from the same peering object, so a paused replica creates no runs.

Run names per due time keep schedules exactly-once even when this view is stale; the
gate only keeps a paused replica from doing work at all.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kubeline_operator.api import Gone, OperatorApi

#: How long a read of the peering object is reused.
CACHE_SECONDS = 5.0


def peering_identity() -> str:
    """This replica's peering id: the Pod name and PID (no passwd lookup: the image's
    non-root uid has no passwd entry, and kopf's default id needs one)."""
    return f"{socket.gethostname()}@{os.getpid()}"


def paused_by_peers(status: Mapping[str, Any], identity: str, priority: int,
                    now: float) -> bool:
    """kopf's rule on a peering object's ``status`` ({identity: {priority, lifetime,
    lastseen}}): paused when another live peer has a higher or the same priority."""
    for peer, info in status.items():
        if peer == identity or not isinstance(info, Mapping):
            continue
        try:
            seen = datetime.fromisoformat(str(info.get("lastseen"))).timestamp()
            lifetime = float(info.get("lifetime", 60))
            theirs = int(info.get("priority", 0))
        except (TypeError, ValueError):
            continue
        if seen + lifetime > now and theirs >= priority:
            return True
    return False


class PeeringGate:
    """Reads (and briefly caches) the KopfPeering of a namespace, or the ClusterKopfPeering."""

    def __init__(self, api: OperatorApi, name: str, identity: str, priority: int,
                 clusterwide: bool) -> None:
        self.api, self.name, self.identity, self.priority = api, name, identity, priority
        self.clusterwide = clusterwide
        self._seen: dict[str, tuple[float, dict[str, Any]]] = {}

    async def paused(self, namespace: str) -> bool:
        if not self.name:
            return False
        key = "" if self.clusterwide else namespace
        cached = self._seen.get(key)
        now = time.time()
        if cached is None or now - cached[0] > CACHE_SECONDS:
            path = (f"/apis/kopf.dev/v1/clusterkopfpeerings/{self.name}" if self.clusterwide
                    else f"/apis/kopf.dev/v1/namespaces/{namespace}/kopfpeerings/{self.name}")
            try:
                body = await self.api.request("GET", path)
                status = dict(body.get("status") or {})
            except Gone:
                status = {}  # no peering object: kopf runs standalone, and so do we
            cached = (now, status)
            self._seen[key] = cached
        return paused_by_peers(cached[1], self.identity, self.priority, now)
