"""Slack Web API clients: one per token, all on SLACK_API_URL, all retrying the way Slack asks.

Every client retries a 429 after its `Retry-After`, and connection errors and 500/503 answers
with backoff (slack_sdk's own retry handlers), except where a retry could post twice: a method
that creates a message (`chat.postMessage`, …) that failed with a 5xx or a connection that broke
after the request went out may have been taken by Slack, so it is not repeated here. The caller
decides: the clock looks for the message before it sends again (bot/clock/delivery.py). They share one aiohttp session, opened in
`start()`, so a burst of messages reuses connections instead of opening one per call.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.web.async_client import AsyncWebClient

RATE_LIMIT_RETRIES = 2
CONNECTION_RETRIES = 2
SERVER_ERROR_RETRIES = 2
TIMEOUT_SECONDS = 15
MAX_CLIENTS = 1000  # tokens remembered; a workspace's client is cheap to rebuild


# Methods whose repetition makes a second message (or file share) when the first was taken.
NOT_REPEATABLE = frozenset(
    {
        "chat.postMessage",
        "chat.postEphemeral",
        "chat.scheduleMessage",
        "chat.meMessage",
        "files.completeUploadExternal",
    }
)


def repeatable(request: HttpRequest) -> bool:
    return request.url.rstrip("/").rsplit("/", 1)[-1] not in NOT_REPEATABLE


class _ConnectionErrorRetry(AsyncConnectionErrorRetryHandler):
    """Connection errors; for a posting method only when the connection never opened."""

    async def _can_retry_async(
        self, *, request: HttpRequest, error: Exception | None = None, **kw: Any
    ) -> bool:
        if not repeatable(request):
            return isinstance(error, aiohttp.ClientConnectorError)
        return await super()._can_retry_async(request=request, error=error, **kw)


class _ServerErrorRetry(AsyncServerErrorRetryHandler):
    """500 and 503, except for posting methods (Slack may have posted before it failed)."""

    async def _can_retry_async(self, *, request: HttpRequest, **kw: Any) -> bool:
        return repeatable(request) and await super()._can_retry_async(request=request, **kw)


def retry_handlers() -> list[AsyncRetryHandler]:
    """Fresh handlers (they keep per-request state, so every client gets its own list)."""
    return [
        _ConnectionErrorRetry(max_retry_count=CONNECTION_RETRIES),
        AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        _ServerErrorRetry(max_retry_count=SERVER_ERROR_RETRIES),
    ]


class ClientPool:
    """Hands out `AsyncWebClient`s per token, all on one base URL and one HTTP session."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.session: aiohttp.ClientSession | None = None
        self._clients: dict[str | None, AsyncWebClient] = {}

    def client(self, token: str | None = None) -> AsyncWebClient:
        found = self._clients.get(token)
        if found is None:
            if len(self._clients) >= MAX_CLIENTS:
                self._clients.clear()
            found = AsyncWebClient(
                token=token,
                base_url=self.base_url,
                timeout=TIMEOUT_SECONDS,
                session=self.session,
                retry_handlers=retry_handlers(),
            )
            self._clients[token] = found
        return found

    def adopt(self, client: AsyncWebClient) -> None:
        """Let a client made elsewhere (Bolt's app client) share the session once it is open."""
        client.session = self.session

    async def start(self) -> None:
        if self.session is None:
            self.session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS),
                connector=aiohttp.TCPConnector(limit=100, limit_per_host=100),
            )
            for client in self._clients.values():
                client.session = self.session

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None
            self._clients.clear()
