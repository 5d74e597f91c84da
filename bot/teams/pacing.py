"""Pacing sends under Teams' rate limits, so that 429s are the exception and not the rule.

Teams allows a bot about 7 messages a second in one conversation (8 in 2 s) and 30 a second
across a tenant. Each limit is a sliding window; a send reserves the earliest moment that
keeps every window of its conversation and of its tenant under its count, then sleeps until
then. Reservations per key are kept in order, so sends to one tenant leave in the order asked
(the price: a burst of more than six sends to one person also holds back the tenant's next sends
until the burst's last one; check-ins go one per sponsor, so this is rare).
Each window is stretched by `margin` seconds, because a send reaches Teams a little after it was
let go (and not always equally late): what Teams counts is arrivals. The limits hold per process;
a second process sharing the bot relies on 429 handling.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Windows = tuple[tuple[int, float], ...]  # (at most N sends, within S seconds)

PER_CONVERSATION: Windows = ((6, 1.0), (7, 2.0))
PER_TENANT: Windows = ((29, 1.0),)


@dataclass
class Pacer:
    per_conversation: Windows = PER_CONVERSATION
    per_tenant: Windows = PER_TENANT
    margin: float = 0.25
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _logs: dict[tuple[str, str], deque[float]] = field(default_factory=dict, init=False)

    def reserve(self, tenant: str, conversation: str) -> float:
        """The moment the next send to this conversation may leave; recorded as taken."""
        now = self.clock()
        keys = ((("c", conversation), self.per_conversation), (("t", tenant), self.per_tenant))
        at = now
        for key, windows in keys:
            log = self._logs.setdefault(key, deque())
            horizon = max(seconds for _, seconds in windows) + self.margin
            while log and log[0] <= now - horizon:
                log.popleft()
            if log:
                at = max(at, log[-1])
            for count, seconds in windows:
                if len(log) >= count:
                    at = max(at, log[-count] + seconds + self.margin)
        for key, _ in keys:
            self._logs[key].append(at)
        return at

    async def wait(self, tenant: str, conversation: str) -> None:
        """Sleep until this send keeps every limit."""
        delay = self.reserve(tenant or "-", conversation) - self.clock()
        if delay > 0:
            await self.sleep(delay)
