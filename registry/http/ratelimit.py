"""The request budget of each API key: a sliding window counter, in memory (one process) or in Redis
through `limits` (several processes as one). The answer says the budget in `RateLimit-Policy` and
`RateLimit` headers (IETF draft-ietf-httpapi-ratelimit-headers), and 429 with `Retry-After` once it is
spent."""

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
        # A sliding window counter is two counters per key and window. In memory it is `LocalWindows`:
        # the memory storage of `limits` walks the expiry of every key it knows on every request, which
        # cost 5-7 % of a check with 2,000 keys (bench/verify.py); Redis needs no walk.
        memory = _is_memory(storage_url)
        self.local = LocalWindows(self.item.amount, self.item.get_expiry()) if memory else None
        url = storage_url if storage_url.startswith("async+") else f"async+{storage_url}"
        self.strategy = None if self.local else SlidingWindowCounterRateLimiter(storage_from_string(url))

    async def spend(self, key_id: int, prefix: str) -> Budget | None:
        """Count one request of `key`. None when the counters cannot be reached: then the request goes on
        (the budget protects capacity; the security limits live in the database and always hold)."""
        if self.local is not None:
            return self.local.spend(key_id, time.time())
        assert self.strategy is not None
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


def _is_memory(url: str) -> bool:
    return url.removeprefix("async+").split("://", 1)[0] == "memory"


class LocalWindows:
    """The sliding window counter of `limits`, for one process, with its arithmetic: per key the requests
    of the current fixed window and of the one before; the count is the current one plus the previous
    one weighted by how much of it the sliding window still covers. One entry per API key."""

    def __init__(self, limit: int, window: int) -> None:
        self.limit, self.window = limit, window
        self.counts: dict[int, tuple[int, int, int]] = {}  # key: (window number, previous, current)

    def spend(self, key: int, now: float) -> Budget:
        number, elapsed = divmod(now, self.window)
        previous, current = self._counts(key, int(number))
        left = self.window - elapsed  # of the current window; and the previous one's weight
        allowed = previous * left / self.window + current + 1 <= self.limit
        if allowed:
            current += 1
            self.counts[key] = (int(number), previous, current)
        weighted = previous * left / self.window + current
        # When a request frees up: the previous window's next request leaving the sliding window, or the
        # current window's end, whichever is first (as `limits` says it).
        drips = left % (self.window / previous) if previous else math.inf
        free_in = min(drips, left if current else math.inf)
        return Budget(
            limit=self.limit,
            window=self.window,
            remaining=max(0, math.floor(self.limit - weighted)),  # how many more fit now
            reset=0 if math.isinf(free_in) else math.ceil(free_in),
            allowed=allowed,
        )

    def _counts(self, key: int, number: int) -> tuple[int, int]:
        held, previous, current = self.counts.get(key, (number, 0, 0))
        if held == number:
            return previous, current
        return (current if held == number - 1 else 0), 0
