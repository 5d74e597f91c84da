"""The `digest …` commands on a real database: settings, who may run them, and `digest now`."""

from __future__ import annotations

import datetime as dt

import pytest

from handlers.digest.view import build_digest
from handlers.views import view_from_dict
from storage.models import Checkin, DigestRecipient, DigestSchedule
from tests.helpers import TODAY, World, make_world


@pytest.fixture
async def world(db):  # type: ignore[no-untyped-def]
    return await make_world(db)


async def answered(world: World, rating: int, at: dt.datetime) -> None:
    async with world.db.transaction() as session:
        session.add(
            Checkin(
                org_id=world.org_id, project_id=world.project.id, sponsor_id=world.sponsor.id, kind="taste",
                status="answered", sent_at=at, answered_at=at, rating=rating, message_refs={},
            )
        )  # fmt: skip


async def test_digest_here_needs_a_channel_and_changes_nothing_without_one(world: World) -> None:
    before = await world.snapshot()
    view = await world.run(world.staff, "digest here weekly")
    assert not view.ok and "in the channel that should receive the digest" in view.text
    assert await world.snapshot() == before


async def test_settings_start_from_the_defaults_and_keep_what_is_not_said(world: World) -> None:
    shown = await world.run(world.staff, "digest")
    assert shown.ok and ("Goes to", "nobody yet") in [(f.label, f.value) for f in shown.facts]
    assert "monthly, the first Monday of each month at 09:00 (UTC)" in shown.as_text()
    here = await world.run(world.staff, "digest here", channel="#leaders")
    assert here.ok and "this channel" in here.text
    [schedule] = await world.rows(DigestSchedule)
    assert (schedule.cadence, schedule.day, schedule.time) == ("monthly", "mon", "09:00")
    await world.run(world.staff, "digest here weekly day:fri time:7:30", channel="#leaders")
    await world.run(world.staff, "digest here time:08:00", channel="#leaders")
    [schedule] = await world.rows(DigestSchedule)
    assert (schedule.cadence, schedule.day, schedule.time) == ("weekly", "fri", "08:00")
    moved = await world.run(world.staff, "digest here", channel="#board")
    assert "no longer goes to the channel chosen before" in moved.as_text()
    assert [(r.key, r.channel) for r in await world.rows(DigestRecipient)] == [("channel:local", "#board")]
    assert (await world.run(world.staff, "digest to umember@example.com")).ok
    again = await world.run(world.staff, "digest to umember@example.com")
    assert again.ok and "already receives" in again.text
    text = (await world.run(world.admin, "digest")).as_text()
    assert "weekly, every Friday at 08:00 (UTC), the last 7 days" in text
    assert "channel #board on the console; Mel Member (direct message)" in text
    assert "Last sent  never" in text or "never" in text
    off = await world.run(world.staff, "digest here off", channel="#board")
    assert "off: nothing is sent on a schedule" in off.as_text()


async def test_digest_remove(world: World) -> None:
    await world.run(world.staff, "digest to umember@example.com")
    removed = await world.run(world.staff, "digest remove umember@example.com")
    assert removed.ok and "no longer receive" in removed.text
    before = await world.snapshot()
    again = await world.run(world.staff, "digest remove umember@example.com")
    assert not again.ok and "does not receive the value digest" in again.text
    assert again.lines == ("Usage: digest remove PERSON",)
    assert await world.snapshot() == before


@pytest.mark.parametrize(
    "text", ["digest", "digest here weekly", "digest to <@USTAFF>", "digest remove <@USTAFF>", "digest now"]
)
async def test_the_digest_commands_are_for_staff_only(world: World, text: str) -> None:
    before = await world.snapshot()
    for person in (world.member, world.sponsor):
        view = await world.run(person, text, channel="#leaders")
        assert not view.ok and "is for PMO staff only" in view.text
    assert await world.snapshot() == before


async def test_digest_now_sends_to_the_channel_and_every_person_at_once(world: World) -> None:
    nobody = await world.run(world.staff, "digest now")
    assert not nobody.ok and "Nobody receives the value digest yet" in nobody.text
    await answered(world, 5, dt.datetime(2026, 3, 9, 10))
    await answered(world, 2, dt.datetime(2026, 3, 1, 10))
    await world.run(world.staff, "digest here weekly", channel="#leaders")
    await world.run(world.staff, "digest to umember@example.com")
    view = await world.run(world.staff, "digest now")
    assert view.ok and view.text == "Sent the value digest to 2 recipients."
    [post] = await world.channel_posts("#leaders")
    [dm] = await world.inbox(world.member)
    digest = view_from_dict(post.view)
    assert view_from_dict(dm.view) == digest
    assert digest.title == "PMO value digest — last 7 days" and digest.chart
    # one line per segment (1 March is the week before); after issue 12's report, its own table
    assert "Space" in digest.as_text() and "1 response · CSAT 100.0% ▲ +100.0 pts" in digest.as_text()
    assert "The full report: /pmo value (staff also see the comments)." in digest.lines


async def test_the_digest_is_the_value_report_of_its_window(world: World) -> None:
    """Same figures as `value days:7`: the one computation, its own rendering."""
    await answered(world, 4, dt.datetime(2026, 3, 9, 10))
    await answered(world, 1, dt.datetime(2026, 3, 2, 10))  # before the 7-day window: the previous one
    await answered(world, 5, dt.datetime(2026, 2, 28, 10))  # in the previous 7 days
    value = await world.run(world.staff, "value days:7")
    async with world.db.sessions() as session:
        built = await build_digest(session, world.org_id, days=7, today=TODAY, chart=False)
    assert built.report["satisfaction"]["responses"] == 1
    assert built.report["window"] == {
        "start": "2026-03-04T00:00:00Z",
        "end": "2026-03-11T00:00:00Z",
        "days": 7,
    }
    assert built.view.facts == value.facts
    assert "1 response · CSAT 100.0% ▲ +50.0 pts" in built.view.as_text()  # Space's line: was 1 of 2
    text = built.view.as_text()
    assert text.startswith("PMO value digest — last 7 days") and "CSAT by month" in text
