"""Posting a run's Events: a bounded queue drained by one task, best effort (never blocks a
reconcile; a full queue or a failed post drops the Event, and says so in the debug log)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from kubeline_operator.api import OperatorApi
from kubeline_operator.narration import Event
from kubeline_operator.timeutil import to_rfc3339

log = logging.getLogger("kubeline.operator")
QUEUE_SIZE = 10000


class EventPoster:
    """Queues Events about objects and posts them from :meth:`run`."""

    def __init__(self, api: OperatorApi, size: int = QUEUE_SIZE) -> None:
        self.api = api
        self.queue: asyncio.Queue[tuple[dict[str, Any], Event]] = asyncio.Queue(size)

    def post(self, involved: dict[str, Any], event: Event) -> None:
        try:
            self.queue.put_nowait((involved, event))
        except asyncio.QueueFull:
            log.debug("event queue full, dropping %s", event.reason)

    async def run(self) -> None:
        while True:
            involved, event = await self.queue.get()
            try:
                await self.api.post_event(involved, event.type, event.reason, event.message,
                                          to_rfc3339(time.time()))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # events are best effort
                log.debug("could not post event %s: %s", event.reason, exc)
