"""Pacing the clock's fan-out: a token bucket per workspace or tenant.

Slack and Teams both limit how fast one app may post into one workspace or tenant, and answer
429 with a `Retry-After` beyond it. A Monday 10:00 with thousands of sponsors must not become
a storm of 429s, so every scheduled send first waits for its slot in the bucket of its
(platform, organisation): one slot every 1/rate seconds, never a burst. A 429 holds the bucket
shut for the `Retry-After`, so that every sender of that workspace waits, not only the one that
was told.

The rate is HEADROOM (95 %) of the platform's limit: sends leave on an exact grid but arrive a
few milliseconds early or late, and at 100 % that jitter alone puts 21 messages into some
second of a 20-a-second limit. The limit is PMO_SEND_RATE when set, else Slack 10 and Teams 30
a second. Slack publishes no workspace-wide number for chat.postMessage (about one a second per
conversation, bursts tolerated, and "a workspace-wide limit"); Teams allows 50 requests a second
per app and tenant, and bot/teams paces its own sends under 30. The console has no limit.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable

DEFAULT_LIMITS: dict[str, float] = {"slack": 10.0, "teams": 30.0}
HEADROOM = 0.95
UNLIMITED = math.inf


class TokenBucket:
    """`rate` sends a second, evenly spaced; waiters are served in arrival order.

    Each send is given the next slot of a fixed grid (one every 1/rate seconds) rather than "now
    plus an interval": a waiter that wakes a few milliseconds late does not push every later send
    back, so the long-run rate is the configured one on a busy event loop too. Idle time is not
    saved up: after a pause the grid starts again from now, so there is never a burst.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("a token bucket needs a rate above 0")
        self.rate = rate
        self.interval = 0.0 if math.isinf(rate) else 1.0 / rate
        self.clock = clock
        self.sleep = sleep
        self._next = -math.inf  # the next free slot
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait for this send's slot (and for any 429 hold to pass)."""
        if self.interval == 0.0:
            return
        async with self._lock:
            now = self.clock()
            if self._next > now:
                await self.sleep(self._next - now)
                slot = self._next
            elif now - self._next < self.interval:
                slot = self._next  # woken a little late: keep to the grid
            else:
                slot = now  # idle until now: start the grid again
            self._next = slot + self.interval

    def hold(self, seconds: float) -> None:
        """The platform said 429: nobody sends to this workspace for `seconds`."""
        self._next = max(self._next, self.clock() + max(seconds, 0.0))


class Pacing:
    """The buckets of one process, one per (platform, organisation), made on first use."""

    def __init__(self, limit: float | None = None, limits: dict[str, float] | None = None) -> None:
        self.limit = limit
        self.limits = {**DEFAULT_LIMITS, **(limits or {})}
        self._buckets: dict[tuple[str, int], TokenBucket] = {}

    def rate_for(self, platform: str) -> float:
        """Sends a second: HEADROOM of the platform's limit (unlimited for the console)."""
        if platform == "local":
            return UNLIMITED
        limit = self.limit if self.limit is not None else self.limits.get(platform, UNLIMITED)
        return limit * HEADROOM

    def bucket(self, platform: str, org_id: int) -> TokenBucket:
        key = (platform, org_id)
        found = self._buckets.get(key)
        if found is None:
            found = self._buckets[key] = TokenBucket(self.rate_for(platform))
        return found

    async def acquire(self, platform: str, org_id: int) -> None:
        await self.bucket(platform, org_id).acquire()

    def hold(self, platform: str, org_id: int, seconds: float) -> None:
        self.bucket(platform, org_id).hold(seconds)
