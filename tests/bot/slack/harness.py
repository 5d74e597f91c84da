"""The bot running for real against the fake Slack: its web server on 127.0.0.1:0, signed requests.

`running_bot(database_url, slack, ...)` starts the runtime exactly as `app.py serve` does
(settings → runtime → build_app → platform.start()), with SLACK_API_URL pointing at the fake.
`SlackBot` posts what Slack would post (slash commands, clicks, modal submissions, events),
signed with the signing secret, and waits for what the bot sends back through the fake.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot.config import Settings
from bot.runtime import Runtime, start
from bot.slack.platform import SlackPlatform
from bot.web import build_app
from tests.fakes.slack_api import DEFAULT_TEAM, FakeSlack, dm_channel
from tests.fakes.slack_signing import (
    block_action,
    command_body,
    event_body,
    interaction_body,
    signed_headers,
    view_submission,
)
from tests.helpers import snapshot as tables_snapshot

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
ADMIN, STAFF, SPONSOR, MEMBER, OTHER = "UADMIN01", "USTAFF01", "USPONSOR1", "UMEMBER01", "UOTHER001"
ALERTS = "C0ALERTS01"


def add_people(slack: FakeSlack, team: str = DEFAULT_TEAM, suffix: str = "") -> None:
    """The workspace's people as users.info knows them."""
    for user_id, name in (
        (ADMIN, "Ada Admin"),
        (STAFF, "Stan Staff"),
        (SPONSOR, "Sam Sponsor"),
        (MEMBER, "Mia Member"),
        (OTHER, "Otto Other"),
    ):
        first = name.split()[0].lower()
        slack.add_user(
            user_id + suffix, name=name, email=f"{first}{suffix.lower()}@{team.lower()}.example", team_id=team
        )


@dataclass
class SlackBot:
    """Talks to the running bot as Slack would, and reads what it sent back through the fake."""

    slack: FakeSlack
    runtime: Runtime
    platform: SlackPlatform
    url: str
    http: aiohttp.ClientSession
    secret: str = SECRET
    team: str = DEFAULT_TEAM
    responses: list[str] = field(default_factory=list)

    async def post(
        self, body: str, headers: dict[str, str] | None = None, path: str = "/slack/events"
    ) -> aiohttp.ClientResponse:
        headers = signed_headers(self.secret, body) if headers is None else headers
        async with self.http.post(self.url + path, data=body.encode(), headers=headers) as response:
            await response.read()
            return response

    async def command(
        self, text: str, user: str, *, channel: str = "C0GENERAL", team: str | None = None, wait: bool = True
    ) -> dict[str, Any] | str:
        """`/pmo text` from `user`; the (first) reply posted to the response_url, or its key if not waiting."""
        key = uuid.uuid4().hex
        body = command_body(
            text,
            user_id=user,
            team_id=team or self.team,
            channel_id=channel,
            response_url=self.slack.response_url(key),
        )
        response = await self.post(body)
        assert response.status == 200, response.status
        if not wait:
            return key
        return await self.slack.wait_for_response(key, timeout=10)

    async def click(
        self,
        action_id: str,
        value: Any,
        user: str,
        *,
        channel: str | None = None,
        ts: str | None = None,
        team: str | None = None,
        container: str = "message",
        message: dict[str, Any] | None = None,
    ) -> str:
        """A button click; returns the response_url key its ephemeral answers go to."""
        key = uuid.uuid4().hex
        payload = block_action(
            action_id,
            value,
            user_id=user,
            team_id=team or self.team,
            channel_id=channel,
            message_ts=ts,
            response_url=self.slack.response_url(key),
            trigger_id=f"trigger-{key}",
            container_type=container,
        )
        if message is not None:
            payload["message"] = message
        response = await self.post(interaction_body(payload))
        assert response.status == 200, response.status
        return key

    async def submit(
        self, callback_id: str, metadata: str, values: dict[str, Any], user: str, *, team: str | None = None
    ) -> tuple[int, Any]:
        """A modal submission; the acknowledgement's status and JSON body (None when empty)."""
        payload = view_submission(callback_id, metadata, values, user_id=user, team_id=team or self.team)
        body = interaction_body(payload)
        async with self.http.post(
            self.url + "/slack/events", data=body.encode(), headers=signed_headers(self.secret, body)
        ) as response:
            text = await response.text()
            return response.status, (json.loads(text) if text.strip().startswith("{") else None)

    async def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        team: str | None = None,
        retry: int | None = None,
    ) -> int:
        body = event_body(event, team_id=team or self.team, event_id=event_id or f"Ev{uuid.uuid4().hex[:10]}")
        headers = signed_headers(self.secret, body)
        if retry is not None:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        response = await self.post(body, headers)
        return response.status

    def dm(self, user: str) -> list[Any]:
        return self.slack.dm(user)

    @staticmethod
    def buttons(blocks: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
        return [e for b in blocks or [] if b.get("type") == "actions" for e in b["elements"]]

    @staticmethod
    def text_of(blocks: list[dict[str, Any]] | None) -> str:
        """Every text in the blocks, to assert on what a person would read."""
        parts: list[str] = []
        for block in blocks or []:
            if isinstance(block.get("text"), dict):
                parts.append(block["text"]["text"])
            for f in block.get("fields") or []:
                parts.append(f["text"])
            for e in block.get("elements") or []:
                if isinstance(e.get("text"), dict):
                    parts.append(e["text"]["text"])
                elif isinstance(e.get("text"), str):
                    parts.append(e["text"])
        return "\n".join(parts)


def settings_for(database_url: str, slack: FakeSlack, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "slack_bot_token": "xoxb-test",
        "slack_signing_secret": SECRET,
        "slack_api_url": slack.url,
        "pmo_admins": frozenset({ADMIN}),
        "pmo_alert_channel": ALERTS,
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def running_bot(database_url: str, slack: FakeSlack, **overrides: Any) -> AsyncIterator[SlackBot]:
    settings = settings_for(database_url, slack, **overrides)
    runtime = await start(settings, migrate=False)
    [platform] = runtime.platforms
    assert isinstance(platform, SlackPlatform)
    platform.channel.chart_retry_delay = 0.05
    runner = web.AppRunner(build_app(runtime), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    await platform.start()
    try:
        async with aiohttp.ClientSession() as http:
            yield SlackBot(slack, runtime, platform, f"http://127.0.0.1:{port}", http)
    finally:
        await runner.cleanup()  # the durable work finishes with the server (bot/web.py)
        await platform.stop()
        await runtime.aclose()


def now() -> int:
    return int(time.time())


__all__ = ["dm_channel"]


async def prepare(bot: SlackBot, project: str = "Apollo", sponsor: str = SPONSOR) -> None:
    """An admin makes Stan staff; Stan adds the project with Sam as its sponsor (all through /pmo)."""
    reply = await bot.command(f"staff add <@{STAFF}>", ADMIN)
    assert "is now PMO staff" in reply["text"], reply["text"]
    reply = await bot.command(f"project add {project} sponsor:<@{sponsor}>", STAFF)
    assert "added" in reply["text"], reply["text"]


async def send_checkin(bot: SlackBot, project: str = "Apollo", kind: str = "checkin") -> Any:
    """Stan sends the check-in (or with kind="ask" the pain-point prompt) now; the DM the sponsor got."""
    before = len(bot.dm(SPONSOR))
    reply = await bot.command(f"{kind} {project}", STAFF)
    assert "Sent the" in reply["text"], reply["text"]
    messages = bot.dm(SPONSOR)
    assert len(messages) == before + 1
    return messages[-1]


async def snapshot(bot: SlackBot) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: equal snapshots mean nothing changed."""
    return await tables_snapshot(bot.runtime.db)


async def rows(bot: SlackBot, model: Any, *where: Any) -> list[Any]:
    from sqlalchemy import select

    async with bot.runtime.db.sessions() as session:
        return list(await session.scalars(select(model).where(*where).order_by(model.id)))


async def eventually(check: Any, timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Wait (boundedly) for work the bot does after acknowledging that leaves no Slack call to await."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{check.__name__} did not become true within {timeout}s")
        await asyncio.sleep(0.01)
