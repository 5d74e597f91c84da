"""The value digest on the clock, with a controllable 'now', on SQLite and PostgreSQL.

The digest goes to a console channel and to a person; the clock's `tick()` is called by hand at
chosen moments, so weeks and months pass in a second. Each occurrence reaches each recipient
once: on time, after a downtime within PMO_CATCHUP_HOURS, never after a longer one, and not
twice when two clocks both believe they lead (the ledger's unique key decides).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import update

from bot.clock.scheduler import Clock, ClockConfig, PostgresLeadership
from handlers.charts import Chart, chart_of
from handlers.digest.ledger import claim_digest
from handlers.views import view_from_dict
from storage.db import Database
from storage.models import KIND_DIGEST, Delivery, DigestRecipient
from tests.handlers.test_charts import Drawing, drawn
from tests.helpers import World, make_world

CHANNEL = "#leaders"
STARTED: list[Clock] = []

__all__ = ["drawn"]  # the fixture that watches charts drawn


class Now:
    def __init__(self, at: str) -> None:
        self.at = dt.datetime.fromisoformat(at)

    def __call__(self) -> dt.datetime:
        return self.at

    def set(self, at: str | dt.datetime) -> None:
        self.at = dt.datetime.fromisoformat(at) if isinstance(at, str) else at


class AlwaysLeads:
    """A leadership that never says no: two clocks with it both plan and send (a split brain)."""

    sole = False

    async def acquire(self) -> bool:
        return True

    async def holds(self) -> bool:
        return True

    async def release(self) -> None:
        return None


def clock(world: World, now: Now, **config: object) -> Clock:
    leadership = config.pop("leadership", None)
    settings = {"tick": 0.2, "lease": 60.0, "catchup_hours": 6.0, "timezone": "Europe/Berlin", **config}
    made = Clock(
        world.services,
        world.services.messenger,  # type: ignore[arg-type]
        ClockConfig(**settings),  # type: ignore[arg-type]
        now=now,
        leadership=leadership,  # type: ignore[arg-type]
    )
    STARTED.append(made)
    return made


async def run(running: Clock, now: Now, at: str | dt.datetime) -> None:
    now.set(at)
    await running.tick()
    await running.idle(30)


@pytest.fixture
async def world(db: Database) -> AsyncIterator[World]:
    yield await make_world(db)
    while STARTED:
        await STARTED.pop().stop()


async def subscribe(world: World, words: str) -> None:
    """`digest here WORDS` in #leaders and `digest to` Mel, set up as of 1 January 2026."""
    assert (await world.run(world.staff, f"digest here {words}", channel=CHANNEL)).ok
    assert (await world.run(world.staff, "digest to umember@example.com")).ok
    async with world.db.transaction() as session:  # the commands stamp today's real time
        await session.execute(update(DigestRecipient).values(added_at=dt.datetime(2026, 1, 1)))


async def received(world: World) -> tuple[list[str], list[str]]:
    """Titles of the digests in #leaders and in Mel's direct messages."""
    posts = [view_from_dict(m.view).title for m in await world.channel_posts(CHANNEL)]
    dms = [view_from_dict(m.view).title for m in await world.inbox(world.member)]
    return posts, [t for t in dms if "digest" in t]


async def sent(world: World) -> list[tuple[str | None, str | None, str]]:
    rows = await world.rows(Delivery, Delivery.kind == KIND_DIGEST, Delivery.status != "missed")
    return sorted((row.slot, row.recipient, row.status) for row in rows)  # type: ignore[type-var]


WEEKLY = "PMO value digest — last 7 days"
MONTHLY = "PMO value digest — last 30 days"


async def test_a_weekly_digest_goes_out_every_monday_at_nine_in_pmo_timezone_once(world: World) -> None:
    await subscribe(world, "weekly day:mon time:09:00")
    now = Now("2026-03-09 07:59:30")  # 08:59:30 in Berlin (CET)
    running = clock(world, now)
    await run(running, now, now.at)
    assert await received(world) == ([], [])
    for at in ("2026-03-09 08:00:05", "2026-03-09 08:00:20", "2026-03-09 12:00:00", "2026-03-10 08:00:00"):
        await run(running, now, at)
    assert await received(world) == ([WEEKLY], [WEEKLY])
    await run(running, now, "2026-03-16 08:00:01")
    await run(running, now, "2026-03-16 08:30:00")
    assert await received(world) == ([WEEKLY] * 2, [WEEKLY] * 2)
    member = f"person:{world.member.id}"
    assert await sent(world) == [
        ("2026-03-09", "channel:local", "sent"),
        ("2026-03-09", member, "sent"),
        ("2026-03-16", "channel:local", "sent"),
        ("2026-03-16", member, "sent"),
    ]
    [post, *_] = await world.channel_posts(CHANNEL)
    view = view_from_dict(post.view)
    assert view.chart and view.chart.startswith(b"\x89PNG") and "CSAT by month" in view.chart_alt
    assert "Space" in view.as_text() and "CSAT" in view.as_text()  # one line per segment


async def test_a_german_recipient_gets_the_digest_chart_in_german_drawn_off_the_loop(
    world: World, drawn: list[Drawing]
) -> None:
    assert (await world.run(world.member, "language de")).ok
    await subscribe(world, "weekly day:mon time:09:00")
    now = Now("2026-03-09 08:00:05")
    running = clock(world, now)
    await run(running, now, now.at)
    [post] = [view_from_dict(m.view) for m in await world.channel_posts(CHANNEL)]
    [dm] = [view_from_dict(m.view) for m in await world.inbox(world.member) if m.view["chart"]]
    assert isinstance(post.chart, Chart) and isinstance(dm.chart, Chart)
    assert (post.chart.language, dm.chart.language) == ("en", "de")  # the channel: PMO_LANGUAGE
    assert dm.chart == chart_of(post.chart.series, "de") != post.chart
    assert dm.chart_alt.startswith("CSAT nach Monat")
    assert [d.language for d in drawn] == ["en", "de"]  # once each
    assert "Geschmacks-Check-ins nach Monat" in drawn[1].words
    assert all(d.thread != threading.current_thread().name for d in drawn)  # never on the clock's loop


async def test_a_monthly_digest_goes_out_on_the_first_monday_of_each_month_once(world: World) -> None:
    await subscribe(world, "")  # the defaults: monthly, mon, 09:00
    now = Now("2026-03-01 00:00:00")
    running = clock(world, now)
    day = dt.datetime(2026, 3, 1, 8, 0, 5)  # 09:00:05 in Berlin until the clocks change on 29 March
    while day < dt.datetime(2026, 5, 10):
        await run(running, now, day)
        await run(running, now, day + dt.timedelta(hours=1))  # 09:00:05 CEST from 29 March on
        day += dt.timedelta(days=1)
    assert await received(world) == ([MONTHLY] * 3, [MONTHLY] * 3)
    assert sorted({slot for slot, _, _ in await sent(world)}) == ["2026-03-02", "2026-04-06", "2026-05-04"]
    occurrences = sorted({row.occurrence for row in await world.rows(Delivery, Delivery.kind == KIND_DIGEST)})
    assert occurrences == [dt.datetime(2026, 3, 2, 8), dt.datetime(2026, 4, 6, 7), dt.datetime(2026, 5, 4, 7)]


async def test_after_a_downtime_within_the_catch_up_it_is_sent_late_once_beyond_it_missed(
    world: World,
) -> None:
    await subscribe(world, "weekly day:mon time:09:00")
    now = Now("2026-03-09 13:00:00")  # four hours after the 08:00 UTC occurrence: no clock ran
    late = clock(world, now)
    await run(late, now, now.at)
    await run(late, now, "2026-03-09 13:01:00")
    assert await received(world) == ([WEEKLY], [WEEKLY])
    await late.stop()
    now.set("2026-03-16 20:00:00")  # twelve hours after the next one: too late
    again = clock(world, now)
    await run(again, now, now.at)
    assert await received(world) == ([WEEKLY], [WEEKLY])
    rows = await world.rows(Delivery, Delivery.kind == KIND_DIGEST, Delivery.slot == "2026-03-16")
    assert [(row.status, row.error) for row in rows] == [("missed", "too late to send")] * 2


async def test_two_clocks_that_both_lead_still_send_each_copy_once(world: World) -> None:
    await subscribe(world, "weekly day:mon time:09:00")
    now = Now("2026-03-09 08:00:05")
    first = clock(world, now, leadership=AlwaysLeads())
    second = clock(world, now, leadership=AlwaysLeads())
    for _ in range(3):
        await first.tick()
        await second.tick()
    await first.idle(30)
    await second.idle(30)
    assert await received(world) == ([WEEKLY], [WEEKLY])
    assert [status for _, _, status in await sent(world)] == ["sent", "sent"]


async def test_a_claim_left_by_a_dead_clock_is_taken_over_and_sent_once(world: World) -> None:
    """A clock that claimed and died before sending: the next clock takes the claim over."""
    await subscribe(world, "weekly day:mon time:09:00")
    now = Now("2026-03-09 08:00:05")
    async with world.db.transaction() as session:  # the dead clock's claim, as it left it
        claim = await claim_digest(
            session, world.org_id, "channel:local", dt.datetime(2026, 3, 9, 8), dt.date(2026, 3, 9),
            now=now.at, lease_until=now.at + dt.timedelta(seconds=30), late_before=now.at - dt.timedelta(hours=6),
        )  # fmt: skip
    assert claim.to_send
    survivor = clock(world, now, lease=30.0, leadership=AlwaysLeads())
    await run(survivor, now, "2026-03-09 08:00:10")  # the lease still runs: only Mel's copy goes
    assert await received(world) == ([], [WEEKLY])
    await run(survivor, now, "2026-03-09 08:00:40")  # the lease ran out: taken over
    assert await received(world) == ([WEEKLY], [WEEKLY])
    [row] = await world.rows(Delivery, Delivery.recipient == "channel:local", Delivery.slot == "2026-03-09")
    assert (row.status, row.attempts) == ("sent", 1)


async def test_two_clocks_on_postgresql_one_leads_and_the_other_takes_over(world: World) -> None:
    if world.db.is_sqlite:
        pytest.skip("several clocks need PostgreSQL")
    await subscribe(world, "weekly day:mon time:09:00")
    now = Now("2026-03-09 07:59:00")
    first = clock(world, now, leadership=PostgresLeadership(world.db))
    second = clock(world, now, leadership=PostgresLeadership(world.db))
    await run(first, now, now.at)
    await run(second, now, now.at)
    assert first.leading and not second.leading
    await first.stop()  # the leader goes away before the occurrence
    await run(second, now, "2026-03-09 08:00:05")
    await run(first, now, "2026-03-09 08:00:20")  # stopped: does nothing
    assert second.leading
    assert await received(world) == ([WEEKLY], [WEEKLY])
