"""Finding a check-in message the bot sent before in a Slack DM (the contract's `find_sent`).

`conversations.open` for the DM's id, then `conversations.history` since the claim (the
`im:history` scope); button values are the JSON payloads bot/slack/blocks.py encodes. Since 2025
Slack lets a commercially distributed app outside the Marketplace read history once a minute, 15
messages a page, so the reads are few (`SlackHistory`): 15 a page, only the window since the claim,
one read at a time per workspace, several claims in one DM answered by one read, and a 429 waited
out (Retry-After) without giving up: a look that cannot finish within `HISTORY_PATIENCE` fails as
"not known yet", and the clock looks again before it sends.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.slack.errors import delivery
from bot.slack.workspaces import Workspaces
from handlers.i18n import _
from handlers.ports import LOOKUP_MARGIN, DeliveryFailed

HISTORY_PAGE = 15  # Slack's most for a commercially distributed non-Marketplace app (2025)
HISTORY_PATIENCE = 90.0  # seconds one look may wait out history rate limits before "not known yet"
DM_CACHE = 10_000  # (workspace, user) → DM id; a user's DM with the bot keeps its id


def checkins_in(blocks: Any) -> Iterator[int]:
    """The check-in ids that Slack blocks' button values name."""
    for block in blocks or ():
        elements = block.get("elements") if isinstance(block, dict) else None
        for element in elements or ():
            value = element.get("value") if isinstance(element, dict) else None
            if not isinstance(value, str) or not value.startswith("{"):
                continue
            try:
                payload = json.loads(value)
            except ValueError:
                continue
            checkin = payload.get("checkin") if isinstance(payload, dict) else None
            if isinstance(checkin, int) and not isinstance(checkin, bool):
                yield checkin


@dataclass
class _Read:
    """One pass over a DM's history, for every check-in asked about before it started."""

    oldest: float
    wanted: set[int] = field(default_factory=set)
    task: asyncio.Task[dict[int, dict[str, Any]]] | None = None


class SlackHistory:
    """The history reads of one Slack channel (`SlackChannel`, one per process), within Slack's limits.

    A look joins the read of its DM that has not started yet (or starts one), so claims in one
    conversation share it; a read that started before a look was asked is never trusted for it.
    Reads of one workspace take turns, and after a 429 the next waits for its Retry-After.
    """

    def __init__(self, workspaces: Workspaces, *, patience: float = HISTORY_PATIENCE) -> None:
        self.workspaces = workspaces
        self.patience = patience
        self._dms: dict[tuple[int, str], str] = {}
        self._reads: dict[tuple[int, str], _Read] = {}
        self._turns: dict[int, asyncio.Lock] = {}
        self._not_before: dict[int, float] = {}  # monotonic time Slack asked to wait until

    async def find(
        self, org_id: int, user_id: str, checkin_id: int, since: dt.datetime
    ) -> dict[str, Any] | None:
        oldest = (since - LOOKUP_MARGIN).replace(tzinfo=dt.UTC).timestamp()
        workspaces = self.workspaces
        client = await workspaces.client_for_org(org_id)
        dm = self._dms.get((org_id, user_id))
        if dm is None:
            async with delivery(lambda: workspaces.token_failed(org_id)):
                opened = await client.conversations_open(users=user_id)
            dm = str(opened["channel"]["id"])
            if len(self._dms) >= DM_CACHE:
                self._dms.clear()
            self._dms[(org_id, user_id)] = dm
        key = (org_id, dm)
        read = self._reads.get(key)
        if read is None:
            read = self._reads[key] = _Read(oldest)
            read.task = asyncio.create_task(self._run(key, read, client))
            read.task.add_done_callback(lambda task: task.cancelled() or task.exception())
        read.oldest = min(read.oldest, oldest)
        read.wanted.add(checkin_id)
        assert read.task is not None
        found = await asyncio.shield(read.task)
        return found.get(checkin_id)

    async def _run(self, key: tuple[int, str], read: _Read, client: Any) -> dict[int, dict[str, Any]]:
        org_id, dm = key
        async with self._turns.setdefault(org_id, asyncio.Lock()):
            if self._reads.get(key) is read:
                del self._reads[key]  # looks asked from now on need a read that starts after them
            found: dict[int, dict[str, Any]] = {}
            cursor: str | None = None
            deadline = time.monotonic() + self.patience
            while True:
                page = await self._page(client, org_id, dm, read.oldest, cursor, deadline)
                for message in page.get("messages") or ():
                    for checkin_id in checkins_in(message.get("blocks")):
                        found.setdefault(
                            checkin_id, {"platform": "slack", "channel": dm, "ts": str(message["ts"])}
                        )
                if read.wanted <= found.keys():
                    return found
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if not page.get("has_more") or not cursor:
                    return found

    async def _page(
        self, client: Any, org_id: int, dm: str, oldest: float, cursor: str | None, deadline: float
    ) -> dict[str, Any]:
        """One page, waiting out 429s until `deadline`; then DeliveryFailed without retry_after
        (a history limit says nothing about posting, so the workspace's sends are not held)."""
        workspaces = self.workspaces
        while True:
            wait = self._not_before.get(org_id, 0.0) - time.monotonic()
            if wait > 0:
                if time.monotonic() + wait > deadline:
                    raise DeliveryFailed(
                        _(
                            "Slack is rate limiting reads of the DM history; whether the message went out "
                            "is not known yet, so it is looked for again before any send"
                        )
                    )
                await asyncio.sleep(wait)
            try:
                async with delivery(lambda: workspaces.token_failed(org_id)):
                    page = await client.conversations_history(
                        channel=dm, oldest=f"{oldest:.6f}", limit=HISTORY_PAGE, inclusive=True, cursor=cursor
                    )
                    return dict(page.data) if hasattr(page, "data") else dict(page)
            except DeliveryFailed as exc:
                if exc.retry_after is None:
                    raise
                self._not_before[org_id] = time.monotonic() + max(exc.retry_after, 0.0)
