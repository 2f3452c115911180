"""A client-side token bucket for API requests (kopf has none of its own)."""

from __future__ import annotations

import asyncio
import time


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; ``acquire`` waits for one."""

    def __init__(self, rate: float, burst: int) -> None:
        if rate <= 0:
            raise ValueError(f"KUBELINE_API_QPS must be positive, got {rate}")
        self.rate = rate
        self.burst = max(burst, 1)
        self.tokens = float(self.burst)
        self.updated = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def try_take(self, now: float | None = None) -> float:
        """Take a token if one is there: returns 0, else the seconds to wait for one."""
        now = time.monotonic() if now is None else now
        self._refill(now)
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                wait = self.try_take()
                if wait <= 0:
                    return
                await asyncio.sleep(wait)
