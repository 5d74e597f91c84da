"""A webhook sender killed with SIGKILL mid-POST loses nothing: the next clock sends every event.

The sender is the real `python app.py clock` in its own process (local mode, webhooks on). The
receiver takes one request and never answers it, so that the kill lands in the worst moment: the
event is leased and on the wire, and the database does not know how it went.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from handlers.webhooks.events import turn_on
from storage.db import Database
from storage.models import WebhookEvent
from tests.clockkit import ClockProcess
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.helpers import make_world

SECRET = "whsec-crash-test"
ARGS = ("--tick", "0.5", "--lease", "3")
EVENTS = select(WebhookEvent).order_by(WebhookEvent.id)


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver(SECRET) as fake:
        yield fake


async def all_delivered(db: Database, within: float = 30.0) -> list[WebhookEvent]:
    """Wait until the outbox says every event is delivered (asked every 0.1 s)."""
    async with asyncio.timeout(within):
        while True:
            async with db.sessions() as session:
                events = list(await session.scalars(EVENTS))
            if all(e.state == "delivered" for e in events):
                return events
            await asyncio.sleep(0.1)


def webhook_env(database_url: str, url: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "MICROSOFT_", "PMO_", "DATABASE_URL", "LOCAL_CONSOLE"))
    }
    env.update(
        DATABASE_URL=database_url,
        PMO_WEBHOOK_URL=url,
        PMO_WEBHOOK_SECRET=SECRET,
        PMO_WEBHOOK_TIMEOUT="1",
        PYTHONUNBUFFERED="1",
    )
    return env


async def test_a_sender_killed_mid_post_loses_no_event(
    database_url: str, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    db = Database(database_url)
    try:
        world = await make_world(db)
        turn_on(db)
        points = [await world.add_painpoint(text=f"Point {n}") for n in range(3)]
        for point in points:
            for n in range(5):
                assert (await world.run(world.staff, f'painpoint {point.id} note:"{point.text} {n}"')).ok
        async with db.sessions() as session:
            recorded = list(await session.scalars(EVENTS))
        assert len(recorded) == 15
        receiver.answer(200, times=3)
        receiver.hang(times=1)  # the fourth request is taken and never answered
        env = webhook_env(database_url, receiver.url)
        first = await ClockProcess(env, tmp_path, *ARGS).start()
        await receiver.wait_for_requests(4, within=60)
        first.kill()
        assert await first.stop() != 0
        held = receiver.received[3].event_id
        async with db.sessions() as session:
            states = {e.event_id: (e.state, e.lease_until) for e in await session.scalars(EVENTS)}
        assert states[held][0] == "pending" and states[held][1] is not None  # leased by the dead sender
        assert "\n".join(first.lines).count("Traceback") == 0

        second = await ClockProcess(env, tmp_path, *ARGS).start()
        try:
            await receiver.wait_for_events(15, within=60)
            done = await all_delivered(db)
        finally:
            assert await second.stop() == 0
        assert len(done) == 15
        accepted = receiver.accepted_ids()
        assert sorted(set(accepted)) == sorted(e.event_id for e in recorded)  # nothing lost
        assert held in accepted and all(r.valid for r in receiver.received)
        texts = [r.json["data"]["change"]["text"] for r in receiver.accepted]
        for point in points:  # each pain point's events arrived in the order they happened
            steps = [int(t.rsplit(" ", 1)[1]) for t in texts if t.startswith(point.text + " ")]
            # at least once: a POST answered just before the kill may come again, never after a later one
            assert steps == sorted(steps) and sorted(set(steps)) == list(range(5)), steps
        if db.is_sqlite:
            assert second.saw("sent again now")  # the dead sender's lease was freed at once
    finally:
        await db.dispose()
