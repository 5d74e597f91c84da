"""The clock on a real database, sending through the console channel, with a controllable 'now'.

`tick()` is what APScheduler calls every few seconds; calling it directly with a chosen 'now'
walks the clock through days and time zones without waiting for them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.channels import Router
from bot.clock.scheduler import Clock, ClockConfig, ClockRefused, SqliteLeadership
from bot.local.channel import LocalChannel
from handlers.checkins.lifecycle import open_checkin
from handlers.clock.deliveries import listing
from handlers.clock.ledger import claim_occurrence
from handlers.message_refs import mark_failed
from handlers.ports import DeliveryFailed
from handlers.views import view_from_dict
from storage.db import Database
from storage.models import (
    KIND_PAINPOINT,
    KIND_TASTE,
    Checkin,
    Delivery,
    PainPoint,
    PainPointEvent,
    Person,
    Project,
)
from tests.helpers import World, make_world

APP = Path(__file__).resolve().parents[3] / "app.py"


class Now:
    """A clock the test moves by hand."""

    def __init__(self, at: str) -> None:
        self.at = dt.datetime.fromisoformat(at)

    def __call__(self) -> dt.datetime:
        return self.at

    def set(self, at: str) -> None:
        self.at = dt.datetime.fromisoformat(at)

    def advance(self, **delta: float) -> None:
        self.at += dt.timedelta(**delta)


async def set_columns(world: World, model: type, ident: int, **values: object) -> None:
    async with world.db.transaction() as session:
        await session.execute(update(model).where(model.id == ident).values(**values))


async def weekly(world: World, tz: str | None = "UTC", **schedule: object) -> Project:
    """Apollo asked weekly on Tuesday at 10:00 in the sponsor's zone, no pain-point prompts."""
    values = {"cadence": "weekly", "day": "tue", "time": "10:00", "ask": "off", **schedule}
    await set_columns(world, Project, world.project.id, **values)
    await set_columns(world, Person, world.sponsor.id, tz=tz)
    return world.project


STARTED: list[Clock] = []


def clock(world: World, now: Now, **config: object) -> Clock:
    settings = {"tick": 0.2, "lease": 60.0, "catchup_hours": 6.0, "timezone": "UTC", **config}
    made = Clock(world.services, world.services.messenger, ClockConfig(**settings), now=now)  # type: ignore[arg-type]
    STARTED.append(made)
    return made


async def run(running: Clock, now: Now, at: str | None = None) -> None:
    if at is not None:
        now.set(at)
    await running.tick()
    await running.idle(10)


async def ledger(world: World) -> list[Delivery]:
    """The ledger without the `missed` rows a freshly elected clock records for the week before."""
    return [d for d in await world.rows(Delivery) if d.status != "missed"]


async def titles(world: World, person: Person | None = None) -> list[str]:
    return [m.view["title"] for m in await world.inbox(person or world.sponsor)]


@pytest.fixture
async def world(db: Database) -> AsyncIterator[World]:
    yield await make_world(db)
    while STARTED:  # a clock on PostgreSQL holds its lock on a connection of its own
        await STARTED.pop().stop()


# ---- on time, once ----------------------------------------------------------------------------


async def test_a_due_check_in_goes_out_once_at_the_sponsors_ten_oclock(world: World) -> None:
    await weekly(world, "America/New_York")
    now = Now("2026-03-10 13:59:50")  # 09:59:50 in New York (EDT since 8 March)
    running = clock(world, now)
    await run(running, now)
    assert await titles(world) == []
    await run(running, now, "2026-03-10 14:00:05")
    await run(running, now, "2026-03-10 14:00:20")
    await run(running, now, "2026-03-10 15:30:00")
    assert await titles(world) == ["How does *Apollo* taste?"]
    [delivery] = await ledger(world)
    assert (delivery.status, delivery.slot, delivery.occurrence) == (
        "sent",
        "2026-03-10",
        dt.datetime(2026, 3, 10, 14),
    )
    [checkin] = await world.rows(Checkin)
    assert checkin.message_refs["local"]["platform"] == "local" and checkin.status == "open"
    await run(running, now, "2026-03-17 14:00:01")  # a week later (a reminder came in between)
    assert [c.occurrence for c in await world.rows(Checkin)] == [
        dt.datetime(2026, 3, 10, 14),
        dt.datetime(2026, 3, 17, 14),
    ]


async def test_a_sponsor_without_a_zone_is_asked_in_pmo_timezone(world: World) -> None:
    await weekly(world, None)
    now = Now("2026-01-13 08:59:30")
    running = clock(world, now, timezone="Europe/Berlin")
    await run(running, now)
    assert await titles(world) == []
    await run(running, now, "2026-01-13 09:00:10")  # 10:00 in Berlin (CET)
    assert await titles(world) == ["How does *Apollo* taste?"]


async def test_the_pain_point_prompt_comes_on_the_first_cadence_day_of_the_month(world: World) -> None:
    await weekly(world, "Asia/Kolkata", ask="monthly")
    now = Now("2026-03-03 04:30:10")  # Tuesday 3 March, 10:00 in Kolkata
    running = clock(world, now)
    await run(running, now)
    assert sorted(await titles(world)) == [
        "How does *Apollo* taste?",
        "What keeps you up at night about *Apollo*?",
    ]
    await run(running, now, "2026-03-10 04:30:10")  # the second Tuesday: the taste check-in only
    kinds = [c.kind for c in await world.rows(Checkin)]
    assert sorted(kinds) == [KIND_PAINPOINT, KIND_TASTE, KIND_TASTE]


async def test_a_sponsor_who_moves_zone_the_same_day_is_not_asked_twice(world: World) -> None:
    await weekly(world, "Europe/Berlin")
    now = Now("2026-06-09 08:00:05")  # 10:00 in Berlin
    running = clock(world, now)
    await run(running, now)
    await set_columns(world, Person, world.sponsor.id, tz="America/New_York")
    await run(running, now, "2026-06-09 14:00:05")  # 10:00 in New York, the same Tuesday
    assert len(await titles(world)) == 1
    await run(running, now, "2026-06-16 08:00:05")  # next Tuesday 10:00 Berlin: not any more
    assert len(await titles(world)) == 1
    await run(running, now, "2026-06-16 14:00:05")
    assert len(await titles(world)) == 2


# ---- who gets nothing ------------------------------------------------------------------------------


async def test_a_paused_sponsor_gets_nothing_until_the_pause_ends(world: World) -> None:
    await weekly(world)
    assert (await world.run(world.sponsor, "pause until:2026-03-20")).ok
    now = Now("2026-03-17 10:00:05")
    running = clock(world, now)
    await run(running, now)
    assert await titles(world) == []
    [skipped] = await ledger(world)
    assert skipped.status == "paused" and skipped.checkin_id is None
    await run(running, now, "2026-03-24 10:00:05")
    assert await titles(world) == ["How does *Apollo* taste?"]


async def test_archived_projects_get_nothing(world: World) -> None:
    await weekly(world)
    assert (await world.run(world.staff, "project archive Apollo")).ok
    now = Now("2026-03-17 10:00:05")
    running = clock(world, now)
    await run(running, now)
    assert await titles(world) == [] and await ledger(world) == []


async def test_a_project_added_after_its_time_waits_for_the_next_occurrence(world: World) -> None:
    await weekly(world)
    await set_columns(world, Project, world.project.id, created_at=dt.datetime(2026, 3, 17, 10, 30))
    now = Now("2026-03-17 11:00:00")
    running = clock(world, now)
    await run(running, now)
    assert await titles(world) == [] and await world.rows(Delivery) == []


# ---- catch-up after downtime ------------------------------------------------------------------------


async def test_after_downtime_recent_ones_go_out_late_and_older_ones_are_recorded_missed(
    world: World,
) -> None:
    await weekly(world)  # Apollo: Tuesday 10:00 UTC
    early = await world.add_project(
        "Zephyr", world.sponsor, cadence="weekly", day="tue", time="04:00", ask="off"
    )
    now = Now("2026-03-17 13:00:00")  # the clock was down since Sunday
    running = clock(world, now)
    await run(running, now)
    assert await titles(world) == ["How does *Apollo* taste?"]  # 3 h late: sent
    rows = {(d.project_id, d.slot): d.status for d in await world.rows(Delivery)}
    assert rows[(early.id, "2026-03-17")] == "missed"  # 9 h late: not sent
    assert rows[(world.project.id, "2026-03-10")] == "missed"  # last week's, recorded once
    assert rows[(world.project.id, "2026-03-17")] == "sent"
    missed = [d for d in await world.rows(Delivery) if d.status == "missed"]
    assert all(d.checkin_id is None for d in missed)
    await run(running, now, "2026-03-17 13:01:00")
    assert len(await world.rows(Delivery)) == len(rows)


# ---- reminders and closing ----------------------------------------------------------------------


async def test_one_reminder_after_two_days_and_an_answer_updates_both_messages(world: World) -> None:
    await weekly(world)
    now = Now("2026-03-10 10:00:05")
    running = clock(world, now)
    await run(running, now)
    await run(running, now, "2026-03-12 09:59:00")
    assert len(await titles(world)) == 1
    await run(running, now, "2026-03-12 10:00:10")
    await run(running, now, "2026-03-12 12:00:00")
    inbox = await world.inbox(world.sponsor)
    assert [view_from_dict(m.view).text for m in inbox] == [
        "One click is enough.",
        "A gentle reminder: one click tells the PMO how it's going.",
    ]
    reminders = [d for d in await world.rows(Delivery) if d.kind == "reminder"]
    assert [(d.status, d.slot) for d in reminders] == [("sent", f"reminder:{reminders[0].checkin_id}")]
    [checkin] = await world.rows(Checkin)
    assert set(checkin.message_refs) == {"local", "local:reminder"}
    assert (await world.act(world.sponsor, "taste_4", {"checkin": checkin.id, "rating": 4})).ok
    texts = [view_from_dict(m.view).text for m in await world.inbox(world.sponsor)]
    assert all(text.startswith("Your answer: 🙂 Tasty") for text in texts)


async def test_unanswered_check_ins_close_after_seven_days_and_say_so(world: World) -> None:
    await weekly(world, ask="off")
    now = Now("2026-03-10 10:00:05")
    running = clock(world, now)
    await run(running, now)
    await run(running, now, "2026-03-17 10:00:30")  # seven days: closed, and the next one is sent
    checkins = await world.rows(Checkin)
    assert [c.status for c in checkins] == ["closed", "open"]
    first = view_from_dict((await world.inbox(world.sponsor))[0].view)
    assert "closed" in first.text and first.choices == ()


async def test_a_paused_sponsor_gets_no_reminder(world: World) -> None:
    await weekly(world)
    now = Now("2026-03-10 10:00:05")
    running = clock(world, now)
    await run(running, now)
    await set_columns(world, Person, world.sponsor.id, paused_until=dt.date(2026, 3, 20))
    await run(running, now, "2026-03-12 10:00:10")
    assert len(await titles(world)) == 1
    assert [d.status for d in await world.rows(Delivery) if d.kind == "reminder"] == ["paused"]


# ---- crashes between claim and record ------------------------------------------------------------


async def claim_without_sending(world: World, at: str, lease_until: str) -> int:
    async with world.db.transaction() as session:
        claim = await claim_occurrence(
            session,
            world.project.id,
            KIND_TASTE,
            dt.datetime.fromisoformat(at),
            dt.date.fromisoformat(at[:10]),
            now=dt.datetime.fromisoformat(at),
            lease_until=dt.datetime.fromisoformat(lease_until),
            late_before=dt.datetime.fromisoformat(at) - dt.timedelta(hours=6),
        )
    assert claim.outcome == "send" and claim.checkin_id is not None
    return claim.checkin_id


async def test_a_claim_never_sent_is_sent_once_when_its_lease_runs_out(world: World) -> None:
    await weekly(world)
    now = Now("2026-03-10 09:59:00")
    running = clock(world, now)
    await run(running, now)  # the clock leads
    await claim_without_sending(world, "2026-03-10 10:00:00", "2026-03-10 10:01:00")  # ...another died
    await run(running, now, "2026-03-10 10:00:30")
    assert await titles(world) == []  # the lease still holds
    await run(running, now, "2026-03-10 10:01:30")
    await run(running, now, "2026-03-10 10:03:00")
    assert await titles(world) == ["How does *Apollo* taste?"]
    [delivery] = await ledger(world)
    assert delivery.status == "sent" and delivery.attempts >= 2


async def test_a_claim_whose_message_went_out_is_recorded_not_sent_again(world: World) -> None:
    await weekly(world)
    checkin_id = await claim_without_sending(world, "2026-03-10 10:00:00", "2026-03-10 10:01:00")
    sponsor = await world.get(Person, world.sponsor.id)
    from handlers.checkins.views import taste_question

    # The platform took the message, then the clock died before recording it.
    ref = await LocalChannel(world.db).send_direct(
        world.org_id, sponsor, None, taste_question(checkin_id, "Apollo")
    )
    now = Now("2026-03-10 10:02:00")
    running = clock(world, now)
    await run(running, now)
    assert len(await titles(world)) == 1
    [checkin] = await world.rows(Checkin)
    assert checkin.message_refs["local"] == ref
    [delivery] = await ledger(world)
    assert delivery.status == "sent"


async def test_a_claim_found_too_late_is_missed_and_its_check_in_failed(world: World) -> None:
    await weekly(world)
    await claim_without_sending(world, "2026-03-10 10:00:00", "2026-03-10 10:01:00")
    now = Now("2026-03-10 18:30:00")
    running = clock(world, now)
    await run(running, now)
    assert await titles(world) == []
    [delivery] = [d for d in await world.rows(Delivery) if d.checkin_id is not None]
    [checkin] = await world.rows(Checkin)
    assert (delivery.status, checkin.status) == ("missed", "failed")


# ---- the running clock, and who leads ---------------------------------------------------------


async def test_a_new_project_reaches_a_running_clock_within_a_tick(world: World) -> None:
    real = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    due = (real + dt.timedelta(minutes=2)).replace(second=0, microsecond=0)
    now = Now((due + dt.timedelta(seconds=5)).isoformat())
    running = clock(world, now, tick=0.1)
    await running.start()
    try:
        day = due.strftime("%a").lower()
        view = await world.run(world.staff, f"project add Hermes sponsor:usponsor@example.com day:{day} "
                               f"time:{due:%H:%M} cadence:weekly ask:off")  # fmt: skip
        assert view.ok, view.text
        await running.wait_ticks(running.ticks + 2, within=10)
        await running.idle(10)
        assert "How does *Hermes* taste?" in await titles(world)
        assert (await world.run(world.sponsor, "pause until:2030-01-01")).ok
        view = await world.run(world.staff, f"project add Iris sponsor:usponsor@example.com day:{day} "
                               f"time:{due:%H:%M} cadence:weekly ask:off")  # fmt: skip
        assert view.ok
        await running.wait_ticks(running.ticks + 3, within=10)
        await running.idle(10)
        assert "How does *Iris* taste?" not in await titles(world)
    finally:
        await running.stop()


@pytest.mark.sqlite_only
async def test_a_second_clock_on_sqlite_refuses_to_start(world: World) -> None:
    first = SqliteLeadership(world.db)
    assert await first.acquire()
    try:
        second = clock(world, Now("2026-03-10 10:00:00"))
        with pytest.raises(
            ClockRefused, match=r"another clock .* is already running against this SQLite database"
        ):
            await second.start()
    finally:
        await first.release()
    third = clock(world, Now("2026-03-10 10:00:00"))
    await third.start()
    await third.stop()


async def test_two_clocks_on_postgresql_one_leads_the_other_takes_over(
    world: World, database_url: str
) -> None:
    if world.db.is_sqlite:
        pytest.skip("leadership between clocks is PostgreSQL's")
    await weekly(world)
    other_db = Database(database_url)
    try:
        services = type(world.services)(
            db=other_db,
            messenger=Router(other_db, [LocalChannel(other_db)]),
            directory=world.services.directory,
        )
        now = Now("2026-03-10 10:00:05")
        first = clock(world, now)
        second = Clock(services, services.messenger, ClockConfig(tick=0.2), now=now)  # type: ignore[arg-type]
        await run(first, now)
        await run(second, now)
        assert (first.leading, second.leading) == (True, False)
        assert len(await titles(world)) == 1
        await first.leadership.release()  # as when its process dies: the connection and the lock go
        first.leading = False
        await run(second, now, "2026-03-17 10:00:05")
        assert second.leading
        assert len(await titles(world)) == 2
        await second.stop()
    finally:
        await other_db.dispose()


# ---- what staff can see ------------------------------------------------------------------------


async def test_staff_list_what_was_sent_and_what_failed(
    world: World, database_url: str, tmp_path: Path
) -> None:
    await weekly(world)
    mercury = await world.add_project(
        "Mercury", world.sponsor, cadence="weekly", day="tue", time="10:00", ask="off"
    )
    now = Now("2026-03-10 10:00:05")
    running = clock(world, now, lookback=dt.timedelta(hours=1))
    await run(running, now)
    async with world.db.transaction() as session:
        checkin = await session.scalar(select(Checkin).where(Checkin.project_id == mercury.id))
        assert checkin is not None
        await mark_failed(session, checkin.id, "Slack does not know that user (any more) (user_not_found)")
    async with world.db.sessions() as session:
        everything = await listing(session)
        failed = await listing(session, failed_only=True)
    assert [f"{f.label}: {f.value}" for f in everything.facts] == ["FAILED: 1", "sent: 1"]
    assert len(everything.lines) == 2 and "Apollo → Sam Sponsor · sent" in everything.as_text()
    [line] = failed.lines
    assert "Mercury → Sam Sponsor · FAILED" in line and "user_not_found" in line
    env = {**os.environ, "DATABASE_URL": database_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(APP), "deliveries", "--failed", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert "Failed deliveries (1 newest)" in out.decode() and "user_not_found" in out.decode()
    assert "Apollo" not in out.decode()


@pytest.mark.sqlite_only
async def test_on_sqlite_a_restarted_clock_takes_over_orphaned_claims_at_once(world: World) -> None:
    await weekly(world)
    await claim_without_sending(world, "2026-03-10 10:00:00", "2026-03-10 10:01:00")  # the clock died
    now = Now("2026-03-10 10:00:20")
    running = clock(world, now)  # the lock file proves the old clock is gone
    await run(running, now)
    await run(running, now)
    assert await titles(world) == ["How does *Apollo* taste?"]


async def test_a_claim_and_its_check_in_commit_together_or_not_at_all(world: World) -> None:
    """Nothing of a claim is visible to another connection before its transaction commits, and a
    taken key leaves the transaction usable (no savepoint: SQLite's driver commits on releasing
    the outermost one, which left claims without check-ins after a crash)."""
    occurrence = dt.datetime(2026, 3, 2, 9, 0)
    async with world.db.transaction() as session:
        checkin = await open_checkin(session, world.project, KIND_TASTE, occurrence=occurrence)
        assert checkin is not None
        async with world.db.engine.connect() as other:
            seen = await other.scalar(select(func.count()).select_from(Delivery))
        assert seen == 0
        assert await open_checkin(session, world.project, KIND_TASTE, occurrence=occurrence) is None
    async with world.db.sessions() as session:
        [claim] = (await session.scalars(select(Delivery))).all()
        assert claim.checkin_id == checkin.id and claim.status == "claimed"


# ---- pain points past their due date ------------------------------------------------------------


async def test_an_owner_is_reminded_once_of_a_pain_point_past_its_due_date(world: World) -> None:
    await weekly(world, cadence="off")
    owned = dict(owner_id=world.staff.id, status="in_progress", due=dt.date(2026, 3, 12))
    point = await world.add_painpoint(**owned)
    await world.add_painpoint(**{**owned, "status": "resolved"})  # resolved: no reminder
    await world.add_painpoint(due=dt.date(2026, 3, 1))  # nobody owns it: nobody to remind
    now = Now("2026-03-12 23:59:00")
    running = clock(world, now)
    await run(running, now)  # due today is not past due
    assert await world.inbox(world.staff) == []
    await run(running, now, "2026-03-13 00:00:10")
    await run(running, now, "2026-03-13 00:00:25")
    await run(running, now, "2026-03-20 09:00:00")
    assert await titles(world, world.staff) == [f"⏰ Pain point #{point.id} on *Apollo* was due 2026-03-12"]
    events = await world.rows(PainPointEvent)
    assert [(e.painpoint_id, e.kind) for e in events] == [(point.id, "due_reminded")]
    assert (await world.get(PainPoint, point.id)).due_reminded_at is not None


class FlakyDirect:
    """The world's messenger, whose direct messages fail the first `failures` times."""

    def __init__(self, inner: Any, failures: int) -> None:
        self.inner, self.failures = inner, failures

    async def send_direct(self, org_id: int, person_id: int, view: Any) -> dict[str, Any]:
        if self.failures > 0:
            self.failures -= 1
            raise DeliveryFailed("Slack is away for a moment")
        return await self.inner.send_direct(org_id, person_id, view)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.parametrize("failures, delivered", [(2, True), (9, False)])
async def test_a_reminder_that_could_not_be_sent_is_tried_again_with_pauses(
    world: World, failures: int, delivered: bool
) -> None:
    await weekly(world, cadence="off")
    point = await world.add_painpoint(owner_id=world.staff.id, status="in_progress", due=dt.date(2026, 3, 12))
    world.services = dataclasses.replace(
        world.services, messenger=FlakyDirect(world.services.messenger, failures)
    )
    now = Now("2026-03-13 00:00:10")
    running = clock(world, now)
    await run(running, now)  # first try fails
    await run(running, now, "2026-03-13 00:01:00")  # within the 2-minute pause: not tried
    tries = [e.kind for e in await world.rows(PainPointEvent)]
    assert tries == ["due_reminded", "reminder_failed"]
    for at in ("2026-03-13 00:02:20", "2026-03-13 00:07:00", "2026-03-13 00:16:00", "2026-03-13 01:00:00"):
        await run(running, now, at)
    await run(running, now, "2026-03-14 09:00:00")
    kinds = [e.kind for e in await world.rows(PainPointEvent)]
    if delivered:  # the third try got through, and only one reminder reached the owner
        assert kinds == ["due_reminded", "reminder_failed"] * 2 + ["due_reminded"]
        assert await titles(world, world.staff) == [
            f"⏰ Pain point #{point.id} on *Apollo* was due 2026-03-12"
        ]
    else:  # five tries, then no more
        assert kinds == ["due_reminded", "reminder_failed"] * 5
        assert await world.inbox(world.staff) == []


async def test_a_clock_that_does_not_lead_reminds_nobody(world: World, database_url: str) -> None:
    if world.db.is_sqlite:
        pytest.skip("leadership between clocks is PostgreSQL's")
    await world.add_painpoint(owner_id=world.staff.id, status="in_progress", due=dt.date(2026, 3, 1))
    now = Now("2026-03-13 00:00:10")
    other_db = Database(database_url)
    try:
        services = type(world.services)(
            db=other_db,
            messenger=Router(other_db, [LocalChannel(other_db)]),
            directory=world.services.directory,
        )
        first = clock(world, now)
        second = Clock(services, services.messenger, ClockConfig(tick=0.2), now=now)  # type: ignore[arg-type]
        await run(first, now)
        await run(second, now)
        assert (first.leading, second.leading) == (True, False)
        assert len(await titles(world, world.staff)) == 1
        await second.stop()
    finally:
        await other_db.dispose()
