"""Webhook delivery: the clock POSTs the outbox's events, signed, in order per pain point, retried.

The events are rows of `webhook_events`, written in the transaction of each change
(handlers/webhooks/events.py). `WebhookSender` runs beside the clock and sends only while its
clock leads. It keeps up to `concurrency` events in flight, each of a different key (a pain point,
a check-in, an outcome), and for each one:

1. claims it: a lease in the database, committed before the POST, so that no other clock posts
   the same event while this one waits for an answer (a lease outlives the request's timeout);
2. POSTs `{"id", "type", "at", "data"}` with `X-PMO-Event-Id`, `X-PMO-Timestamp` (Unix seconds,
   of this attempt) and `X-PMO-Signature: sha256=HEX`, the HMAC-SHA256 of `TIMESTAMP + "." + BODY`
   under `PMO_WEBHOOK_SECRET` (CONTRACT section 11);
3. records the answer: 2xx is delivered; anything else (5xx, 4xx, a redirect, no answer within
   `PMO_WEBHOOK_TIMEOUT`, a refused connection) is tried again after an exponential back-off with
   jitter (10 s, 20 s, 40 s … at most an hour), until `give_up` (72 hours) after the event, when it
   is kept as `failed` and the key's next event may go.

A sender killed mid-POST leaves its lease: on SQLite (one clock, `sole`) the next sender frees it
at once; on PostgreSQL the lease runs out first. Either way the event is posted again: delivery is
at least once, and receivers de-duplicate by `X-PMO-Event-Id`. Chat never waits for any of this:
the use case only wrote a row.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

from handlers.webhooks import queue
from handlers.webhooks.events import iso
from storage.db import Database
from storage.models import WebhookEvent

log = logging.getLogger("pmo.webhooks")


def system_now() -> dt.datetime:
    """Naive UTC now, with microseconds (back-off times are finer than a second)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class WebhookPolicy:
    """How events are sent. Times are seconds."""

    timeout: float = 10.0  # the receiver's time to answer (PMO_WEBHOOK_TIMEOUT)
    first_retry: float = 10.0
    max_retry: float = 3600.0
    give_up: dt.timedelta = field(default=dt.timedelta(hours=72))  # at least the contract's 24 hours
    poll: float = 1.0  # how often an idle sender looks for new events
    concurrency: int = 8  # events in flight at once, each of a different key

    @property
    def lease(self) -> dt.timedelta:
        """Long enough that a request still waiting for its answer is never taken over."""
        return dt.timedelta(seconds=2 * self.timeout + 10)

    def backoff(self, attempts: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds before the next attempt after `attempts` failed ones: doubling, capped, and
        jittered to between half and all of it, so that a receiver coming back is not hit by every
        event at the same moment."""
        ceiling = min(self.max_retry, self.first_retry * 2 ** max(0, attempts - 1))
        return ceiling * (0.5 + 0.5 * rand())


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-PMO-Signature header: `sha256=` and the HMAC-SHA256 of `TIMESTAMP.BODY`."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def body_of(event: WebhookEvent) -> bytes:
    """The JSON an event is POSTed as: `{"id", "type", "at", "data"}`."""
    payload = {"id": event.event_id, "type": event.type, "at": iso(event.at), "data": event.data}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Answer:
    """What one POST came to: `status` (None when there was no HTTP answer) and, unless 2xx, why."""

    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class WebhookSender:
    """Posts the outbox's events while `leading()` says this process's clock leads."""

    def __init__(
        self,
        db: Database,
        url: str,
        secret: str,
        policy: WebhookPolicy | None = None,
        *,
        leading: Callable[[], bool] = lambda: True,
        sole: bool = False,
        now: Callable[[], dt.datetime] = system_now,
    ) -> None:
        self.db = db
        self.url = url
        self.secret = secret
        self.policy = policy or WebhookPolicy()
        self.leading = leading
        self.sole = sole  # no other sender can be alive (SQLite's clock lock): leases left are orphans
        self.now = now
        self.owner = str(uuid.uuid4())  # whose leases are whose
        self.http: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._in_flight: dict[asyncio.Task[None], int] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self.counts: dict[str, int] = {}

    # ---- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        self.http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.policy.timeout),
            headers={"User-Agent": "pmo-value-bot-webhooks"},
        )
        if self.sole:
            async with self.db.transaction() as session:
                freed = await queue.release(session)
            if freed:
                log.info("%d webhook events held by a sender that died are sent again now", freed)
        self._task = asyncio.create_task(self._run(), name="webhooks")
        log.info("webhooks: events are POSTed to the configured PMO_WEBHOOK_URL, signed")

    async def stop(self) -> None:
        """Stop sending; what is in flight is abandoned and its leases freed for the next sender."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        tasks = list(self._in_flight)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            async with self.db.transaction() as session:
                await queue.release(session, self.owner)
        except Exception:
            log.warning(
                "could not free this sender's webhook leases; they run out by themselves", exc_info=True
            )
        if self.http is not None:
            await self.http.close()
            self.http = None

    def wake(self) -> None:
        """Look for due events now rather than at the next poll."""
        self._wake.set()

    # ---- the loop -----------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:
            try:
                started = await self.fill() if self.leading() else 0
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("webhooks: looking for due events failed; trying again", exc_info=True)
                started = 0
            if started:
                continue  # more may be due right away
            self._wake.clear()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the cancellation
            # that stop() sends when the wake-up comes at the same moment, and the loop never ends.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.policy.poll):
                    await self._wake.wait()

    async def fill(self) -> int:
        """Claim due events up to the concurrency and start posting each; how many were started."""
        room = self.policy.concurrency - len(self._in_flight)
        if room <= 0:
            return 0
        now = self.now()
        until = now + self.policy.lease
        claimed: list[WebhookEvent] = []
        async with self.db.transaction() as session:
            for event in await queue.due(session, now, room):
                if event.id in self._in_flight.values():
                    continue
                if await queue.claim(session, event.id, now, until, self.owner):
                    claimed.append(event)
        for event in claimed:  # after the commit: the lease is in place before the POST
            task = asyncio.create_task(self._deliver(event), name=f"webhook-{event.id}")
            self._in_flight[task] = event.id
            task.add_done_callback(self._finished)
        return len(claimed)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("webhooks: a delivery failed unexpectedly", exc_info=task.exception())
        self._wake.set()  # room for one more, and the key's next event may be due

    async def idle(self, within: float = 30.0) -> None:
        """Wait until nothing is in flight (tests)."""
        async with asyncio.timeout(within):
            while self._in_flight:
                await asyncio.gather(*self._in_flight, return_exceptions=True)

    # ---- one event ----------------------------------------------------------------------------

    async def _deliver(self, event: WebhookEvent) -> None:
        answer = await self.post(event)
        now = self.now()
        attempts = event.attempts + 1  # the claim counted this attempt in the database
        async with self.db.transaction() as session:
            if answer.ok:
                assert answer.status is not None
                await queue.delivered(session, event.id, now, answer.status)
            elif now - event.at >= self.policy.give_up:
                await queue.give_up(session, event.id, self.owner, answer.status, answer.error or "")
            else:
                later = now + dt.timedelta(seconds=self.policy.backoff(attempts))
                await queue.retry_later(
                    session, event.id, self.owner, later, answer.status, answer.error or ""
                )
        outcome = "delivered" if answer.ok else "refused"
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        if answer.ok:
            log.debug("webhook %s (%s) delivered", event.event_id, event.type)
        elif now - event.at >= self.policy.give_up:
            log.error(
                "webhook %s (%s) given up after %d attempts: %s",
                event.event_id,
                event.type,
                attempts,
                answer.error,
            )
        else:
            log.warning(
                "webhook %s (%s) not delivered (attempt %d): %s",
                event.event_id,
                event.type,
                attempts,
                answer.error,
            )

    async def post(self, event: WebhookEvent) -> Answer:
        """POST one event, signed now; what came of it (never raises for the receiver's sake)."""
        assert self.http is not None, "start() the sender first"
        body = body_of(event)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "X-PMO-Event-Id": event.event_id,
            "X-PMO-Timestamp": str(timestamp),
            "X-PMO-Signature": sign(self.secret, timestamp, body),
        }
        try:
            async with self.http.post(
                self.url, data=body, headers=headers, allow_redirects=False
            ) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return Answer(response.status)
                reason = f"HTTP {response.status} {response.reason or ''}".strip()
                if 300 <= response.status < 400:
                    reason += " (a redirect: set PMO_WEBHOOK_URL to the address it points at)"
                return Answer(response.status, reason)
        except TimeoutError:
            return Answer(None, f"no answer within {self.policy.timeout:g} s")
        except aiohttp.ClientConnectorError as exc:
            return Answer(None, f"cannot connect: {_reason(exc.os_error)}")
        except aiohttp.ClientError as exc:
            return Answer(None, f"the connection failed ({type(exc).__name__})")


def _reason(error: OSError) -> str:
    """Why a connection failed, in words that never quote the address (the URL may be secret)."""
    if isinstance(error, socket.gaierror):
        return "the host name is not found"
    if error.errno is not None:
        return os.strerror(error.errno).lower()
    return type(error).__name__
