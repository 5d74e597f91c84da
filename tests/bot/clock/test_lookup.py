"""bot/slack/history.py's Slack history reads within Slack's 2025 limits (issue 9 item 11), without HTTP.

A fake client answers conversations.open and conversations.history from a list of messages;
it can answer 429 (as DeliveryFailed with retry_after, the way bot.slack.errors reports it).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import pytest

from bot.slack.channel import SlackChannel
from bot.slack.history import SlackHistory
from handlers.ports import DeliveryFailed

SINCE = dt.datetime(2026, 3, 10, 9, 0)


def message(ts: float, checkin: int | None) -> dict[str, Any]:
    blocks = []
    if checkin is not None:
        value = json.dumps({"checkin": checkin, "rating": 5})
        blocks = [{"type": "actions", "elements": [{"type": "button", "value": value}]}]
    return {"type": "message", "ts": f"{ts:.6f}", "blocks": blocks}


class Client:
    def __init__(self, messages: list[dict[str, Any]], *, limited: int = 0, delay: float = 0.0) -> None:
        self.messages = sorted(messages, key=lambda m: float(m["ts"]), reverse=True)
        self.limited = limited  # the first n history calls are answered 429
        self.delay = delay
        self.history: list[dict[str, Any]] = []
        self.opened = 0

    async def conversations_open(self, users: str) -> dict[str, Any]:
        self.opened += 1
        return {"ok": True, "channel": {"id": "D" + users[1:]}}

    async def conversations_history(self, **args: Any) -> dict[str, Any]:
        self.history.append(args)
        await asyncio.sleep(self.delay)
        if self.limited:
            self.limited -= 1
            raise DeliveryFailed("Slack is rate limiting the bot", retry_after=0.05)
        found = [m for m in self.messages if float(m["ts"]) >= float(args["oldest"])]
        start = int(args.get("cursor") or 0)
        page = found[start : start + int(args["limit"])]
        more = start + len(page) < len(found)
        return {
            "ok": True,
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + len(page)) if more else ""},
        }


class Workspaces:
    def __init__(self, client: Client) -> None:
        self.client = client

    async def client_for_org(self, org_id: int) -> Client:
        return self.client

    def token_failed(self, org_id: int) -> None:
        raise AssertionError("no token fails here")


def stamp(minutes: float) -> float:
    return (SINCE + dt.timedelta(minutes=minutes)).replace(tzinfo=dt.UTC).timestamp()


async def test_pages_of_fifteen_from_the_claim_and_every_page_until_found() -> None:
    noise = [message(stamp(1 + n / 100), None) for n in range(40)]
    client = Client([message(stamp(0.5), 7), *noise, message(stamp(-60), 8)])
    ref = await SlackHistory(Workspaces(client)).find(1, "U1", 7, SINCE)
    assert ref == {"platform": "slack", "channel": "D1", "ts": f"{stamp(0.5):.6f}"}
    assert [call["limit"] for call in client.history] == [15, 15, 15]
    assert {call["oldest"] for call in client.history} == {f"{stamp(-5):.6f}"}  # claim time less MARGIN
    assert await SlackHistory(Workspaces(client)).find(1, "U1", 8, SINCE) is None  # before the window


async def test_looks_in_one_dm_share_one_read() -> None:
    client = Client([message(stamp(n), n) for n in range(1, 6)], delay=0.05)
    history = SlackHistory(Workspaces(client))
    refs = await asyncio.gather(*(history.find(1, "U1", n, SINCE) for n in (1, 3, 5, 9)))
    assert [r["ts"] if r else None for r in refs] == [f"{stamp(n):.6f}" for n in (1, 3, 5)] + [None]
    assert len(client.history) == 1 and client.opened == 1  # one read, the DM's id remembered
    assert await history.find(1, "U1", 2, SINCE) is not None  # a later look reads again
    assert len(client.history) == 2 and client.opened == 1


async def test_a_look_asked_while_a_read_runs_waits_for_a_fresh_one() -> None:
    client = Client([], delay=0.1)
    history = SlackHistory(Workspaces(client))
    first = asyncio.create_task(history.find(1, "U1", 1, SINCE))
    await asyncio.sleep(0.05)  # the first read is under way: it may not have seen a message sent now
    client.messages = [message(stamp(2), 2)]
    second = await history.find(1, "U1", 2, SINCE)
    assert await first is None and second is not None
    assert len(client.history) == 2


async def test_a_429_is_waited_out_and_the_read_goes_on() -> None:
    client = Client([message(stamp(1), 4)], limited=2)
    ref = await SlackHistory(Workspaces(client)).find(1, "U1", 4, SINCE)
    assert ref is not None and len(client.history) == 3


async def test_a_limit_longer_than_the_patience_is_not_known_yet_not_a_rate_limit() -> None:
    client = Client([message(stamp(1), 4)], limited=100)
    with pytest.raises(DeliveryFailed) as failed:
        await SlackHistory(Workspaces(client), patience=0.2).find(1, "U1", 4, SINCE)
    assert not failed.value.permanent
    assert failed.value.retry_after is None  # the clock looks again; the workspace's sends go on
    assert "not known yet" in failed.value.reason


async def test_find_sent_keeps_one_reader_per_channel() -> None:
    client = Client([message(stamp(1), 4)], delay=0.05)
    channel = SlackChannel(Workspaces(client))  # type: ignore[arg-type]
    person: Any = type("P", (), {"id": 1})()
    identity: Any = type("I", (), {"external_id": "U1"})()
    found = await asyncio.gather(
        channel.find_sent(1, person, identity, 4, SINCE),
        channel.find_sent(1, person, identity, 5, SINCE),
    )
    assert found[0] is not None and found[1] is None
    assert len(client.history) == 1
