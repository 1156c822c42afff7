"""The request budget of each API key, counted with `limits` in memory (one process) or in Redis (several
processes as one). The answer says the budget in `RateLimit-Policy` and `RateLimit` headers (IETF
draft-ietf-httpapi-ratelimit-headers), and 429 with `Retry-After` once it is spent."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import limits
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Budget:
    limit: int
    window: int  # seconds
    remaining: int
    reset: int  # seconds until a request is free again
    allowed: bool

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Policy": f'"key";q={self.limit};w={self.window}',
            "RateLimit": f'"key";r={self.remaining};t={self.reset}',
        }


class RequestBudget:
    def __init__(self, rate: str, storage_url: str) -> None:
        self.item = limits.parse(rate)
        url = storage_url if storage_url.startswith("async+") else f"async+{storage_url}"
        # A sliding window counter is two counters per key and window, in memory and in Redis alike; a
        # moving window keeps every request's time, and the memory storage then walks them all, in a
        # thread, on every request (measured: bench/verify.py).
        self.strategy = SlidingWindowCounterRateLimiter(storage_from_string(url))

    async def spend(self, key_id: int, prefix: str) -> Budget | None:
        """Count one request of `key`. None when the counters cannot be reached: then the request goes on
        (the budget protects capacity; the security limits live in the database and always hold)."""
        identifiers = ("api-key", prefix, str(key_id))
        try:
            allowed = await self.strategy.hit(self.item, *identifiers)
            stats = await self.strategy.get_window_stats(self.item, *identifiers)
        except Exception:  # Redis down: log it, and let the request through
            log.warning("rate-limit storage unreachable; request not counted", exc_info=True)
            return None
        return Budget(
            limit=self.item.amount,
            window=self.item.get_expiry(),
            remaining=max(0, stats.remaining),
            reset=max(0, math.ceil(stats.reset_time - time.time())),
            allowed=allowed,
        )
