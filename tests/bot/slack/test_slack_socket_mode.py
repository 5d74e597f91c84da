"""Socket Mode: the bot connects out to Slack (apps.connections.open, then a WebSocket) and serves
the same listeners over it, in the same event loop as the web server."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

import pytest

from storage.models import Checkin, ProcessedEvent
from tests.bot.slack.harness import ADMIN, SPONSOR, STAFF, SlackBot, eventually, rows, running_bot
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import block_action, command_body


@pytest.fixture
async def socket_bot(database_url: str, slack: FakeSlack) -> AsyncIterator[SlackBot]:
    async with running_bot(
        database_url, slack, slack_app_token="xapp-test", slack_signing_secret=None
    ) as bot:
        await slack.socket_connected()
        yield bot


async def command(bot: SlackBot, text: str, user: str) -> dict:
    key = uuid.uuid4().hex
    payload = dict(
        parse_qsl(
            command_body(text, user_id=user, response_url=bot.slack.response_url(key)), keep_blank_values=True
        )
    )
    envelope = await bot.slack.socket_send("slash_commands", payload)
    assert (await bot.slack.wait_for_ack(envelope))["envelope_id"] == envelope
    return await bot.slack.wait_for_response(key)


async def test_socket_mode_connects_with_the_app_token(socket_bot: SlackBot) -> None:
    [opened] = socket_bot.slack.called("apps.connections.open")
    assert opened.token == "xapp-test"
    assert socket_bot.slack.socket_connections == 1


async def test_no_http_events_route_without_a_signing_secret(socket_bot: SlackBot) -> None:
    async with socket_bot.http.post(socket_bot.url + "/slack/events", data="{}") as response:
        assert response.status in (404, 405)


async def test_commands_clicks_and_events_over_the_socket(socket_bot: SlackBot) -> None:
    bot = socket_bot
    assert "is now PMO staff" in (await command(bot, f"staff add <@{STAFF}>", ADMIN))["text"]
    assert "added" in (await command(bot, f"project add Apollo sponsor:<@{SPONSOR}>", STAFF))["text"]
    assert "Sent the taste check-in" in (await command(bot, "checkin Apollo", STAFF))["text"]
    [message] = bot.dm(SPONSOR)
    click = block_action(
        "taste_5",
        {"checkin": 1, "rating": 5},
        user_id=SPONSOR,
        channel_id=message.channel,
        message_ts=message.ts,
    )
    envelope = await bot.slack.socket_send("interactive", click)
    await bot.slack.wait_for_ack(envelope)
    await bot.slack.wait_for("chat.update")
    [checkin] = await rows(bot, Checkin)
    assert checkin.rating == 5
    event = {
        "type": "event_callback",
        "team_id": "T0001",
        "event_id": "EvSOCKET1",
        "event": {"type": "app_home_opened", "user": SPONSOR, "tab": "home"},
    }
    first = await bot.slack.socket_send("events_api", event)
    await bot.slack.wait_for_ack(first)
    await bot.slack.wait_for("views.publish")
    again = await bot.slack.socket_send(
        "events_api", event, retry_attempt=1
    )  # Slack's retry of the same event
    await bot.slack.wait_for_ack(again)

    async def claimed() -> bool:
        return len(await rows(bot, ProcessedEvent)) == 1

    await eventually(claimed)
    assert len(bot.slack.called("views.publish")) == 1
    home = bot.slack.home[SPONSOR]
    assert "Your projects" in json.dumps(home)
