"""The fake Slack Web API of slack_api.py, plus what the clock's tests need on top of it.

- ``conversations.history``: a DM's messages, newest first, from `oldest` (inclusive), paged by
  `limit` and `cursor`; what the clock reads to find a check-in it may have sent already.
- Message timestamps from the wall clock (like Slack's), so `oldest` means what it says.
- `hold_post(n)`: the n-th accepted chat.postMessage is stored, then its answer is held back until
  `release()`; a test kills the clock in exactly that window (sent, not yet recorded).
- `stall_post(n)`: the n-th chat.postMessage waits, before Slack takes it, until `release()`, and
  is then refused (500) without being stored; a test kills its sender in exactly that window
  (claimed, not sent).
- `limit_history(per_window, window, page)`: Slack's 2025 limit for commercially distributed apps
  outside the Marketplace (1 request a minute, at most 15 messages a page) in a window a test can
  shorten; beyond it a 429 with Retry-After (whole seconds, rounded up, as Slack sends it).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from typing import Any

from aiohttp import web

from tests.fakes.slack_api import Call, FakeSlack, Workspace


class FakeSlackWithHistory(FakeSlack):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.posted = 0
        self.held = asyncio.Event()
        self._release = asyncio.Event()
        self._hold_at: int | None = None
        self._stall_at: int | None = None
        self.post_calls = 0
        self._last_ts = 0.0
        self.history_page: int | None = None  # most messages a page (None: as asked, up to 999)
        self.history_per_window: int | None = None
        self.history_window = 60.0
        self.history_limited = 0  # conversations.history calls answered 429
        self._history_calls: dict[str, deque[float]] = {}

    def limit_history(self, per_window: int = 1, window: float = 60.0, page: int = 15) -> None:
        """Enforce Slack's history limit: `per_window` calls per `window` seconds and workspace."""
        self.history_per_window, self.history_window, self.history_page = per_window, window, page

    def hold_post(self, n: int) -> None:
        self._hold_at = n

    def stall_post(self, n: int) -> None:
        self._stall_at = n

    def release(self) -> None:
        self._release.set()

    def _next_ts(self) -> str:
        now = max(time.time(), self._last_ts + 0.000001)
        self._last_ts = now
        return f"{now:.6f}"

    async def _answer(
        self, method: str, call: Call, workspace: Workspace | None, request: web.Request
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if method == "conversations.history" and self.history_per_window is not None:
            calls = self._history_calls.setdefault(workspace.team_id if workspace else "", deque())
            now = time.monotonic()
            while calls and now - calls[0] >= self.history_window:
                calls.popleft()
            if len(calls) >= self.history_per_window:
                self.history_limited += 1
                wait = self.history_window - (now - calls[0])
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(math.ceil(wait))}
            calls.append(now)
        if method == "chat.postMessage":
            self.post_calls += 1
            if self.post_calls == self._stall_at:
                self.held.set()
                await self._release.wait()
                return 500, {"ok": False, "error": "internal_error"}, {}
        status, payload, headers = await super()._answer(method, call, workspace, request)
        if method == "chat.postMessage" and payload.get("ok"):
            self.posted += 1
            if self.posted == self._hold_at:
                self.held.set()
                await self._release.wait()
        return status, payload, headers

    def _m_conversations_history(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        channel = args.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(args.get("oldest") or 0)
        limit = max(1, min(int(args.get("limit") or 100), self.history_page or 999))
        start = int(args.get("cursor") or 0)
        found = sorted(
            (m for m in self.messages.values() if m.channel == channel and float(m.ts) >= oldest),
            key=lambda m: float(m.ts),
            reverse=True,
        )
        page = found[start : start + limit]
        more = start + limit < len(found)
        return {
            "ok": True,
            "messages": [{"type": "message", "ts": m.ts, "text": m.text, "blocks": m.blocks} for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }
