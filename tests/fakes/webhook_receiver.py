"""A webhook receiver for tests: a real aiohttp server on 127.0.0.1:0 that keeps every POST.

It verifies each request's signature the way docs/webhooks.md tells a receiver to (HMAC-SHA256 of
`TIMESTAMP.BODY` with the shared secret, compared in constant time), so a test sees whether what
the bot sent would have been accepted. What it answers is scripted::

    async with WebhookReceiver(SECRET) as receiver:
        receiver.answer(503, times=2)        # the next two requests get 503
        receiver.hang(times=1)               # the next one never answers (until the test ends)
        ... await receiver.wait_for(3) ...   # three requests answered 2xx, bounded wait
        ... await receiver.wait_for_events(3)  # three different events answered 2xx
        receiver.accepted                    # the 2xx ones, in arrival order

Everything not scripted is answered 200.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass
class Received:
    """One request as it arrived, with what it was answered."""

    event_id: str
    timestamp: str
    signature: str
    body: bytes
    arrived: float
    valid: bool
    status: int | None = None
    finished: float | None = None

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class WebhookReceiver:
    def __init__(self, secret: str, *, path: str = "/hooks/pmo") -> None:
        self.secret = secret
        self.path = path
        self.received: list[Received] = []
        self._script: deque[tuple[str, float]] = deque()  # ("status", code) or ("hang", seconds)
        self._changed = asyncio.Condition()
        self._hanging = asyncio.Event()
        self.in_flight = 0
        self.max_in_flight = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post(self.path, self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}{self.path}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._hanging.set()
        assert self._runner is not None
        await self._runner.cleanup()

    # ---- the script ---------------------------------------------------------------------------

    def answer(self, status: int, *, times: int = 1) -> None:
        self._script.extend([("status", float(status))] * times)

    def hang(self, seconds: float = 3600.0, *, times: int = 1) -> None:
        """Take the request and answer nothing for `seconds` (or until the receiver stops)."""
        self._script.extend([("hang", seconds)] * times)

    # ---- what happened ------------------------------------------------------------------------

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.received if r.status is not None and 200 <= r.status < 300]

    def accepted_ids(self) -> list[str]:
        return [r.event_id for r in self.accepted]

    async def wait_for(self, accepted: int, within: float = 30.0) -> list[Received]:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: len(self.accepted) >= accepted)
        return self.accepted

    async def wait_for_events(self, count: int, within: float = 30.0) -> list[Received]:
        """Wait until `count` different events were answered 2xx (a repeat counts once)."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: len(set(self.accepted_ids())) >= count)
        return self.accepted

    async def wait_for_requests(self, count: int, within: float = 30.0) -> list[Received]:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: len(self.received) >= count)
        return self.received

    # ---- the handler --------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        timestamp = request.headers.get("X-PMO-Timestamp", "")
        signature = request.headers.get("X-PMO-Signature", "")
        valid = hmac.compare_digest(signature, expected_signature(self.secret, timestamp, body))
        entry = Received(
            request.headers.get("X-PMO-Event-Id", ""), timestamp, signature, body, time.monotonic(), valid
        )
        async with self._changed:
            self.received.append(entry)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._changed.notify_all()
        try:
            what, value = self._script.popleft() if self._script else ("status", 200.0)
            if what == "hang":
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._hanging.wait(), value)
                status = 200
            else:
                status = int(value)
            if not valid:
                status = 401
            transport = request.transport
            if transport is None or transport.is_closing():
                return web.Response(status=status)  # the sender gave up waiting: it never hears this
            entry.status = status
            return web.Response(status=status, text="ok" if status < 300 else "no")
        finally:
            entry.finished = time.monotonic()
            async with self._changed:
                self.in_flight -= 1
                self._changed.notify_all()
