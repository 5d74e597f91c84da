"""Issue 11: a pain point's owner, notes, "You said, we did", ✅ Fixed / ❌ Not yet, and the loop figures."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from handlers.commands.home import home
from handlers.value.report import compute_value
from storage.db import Database, utcnow
from storage.models import KIND_TASTE, Checkin, PainPoint, PainPointEvent
from tests.helpers import World, make_world, message_view


@pytest.fixture
async def world(db: Database) -> World:
    return await make_world(db)


async def value(world: World) -> dict:
    async with world.db.sessions() as session:
        return await compute_value(session, world.org_id, today=utcnow().date())


async def test_owner_note_resolve_not_yet_and_fixed(world: World) -> None:
    point = await world.add_painpoint(impact=5, reported_at=utcnow() - dt.timedelta(days=3))
    assert not (await world.run(world.staff, f"painpoint {point.id} owner:<@UMEMBER>")).ok  # owners are staff
    view = await world.run(world.admin, f"painpoint {point.id} owner:<@USTAFF> due:2999-01-01")
    assert view.ok and "Stan Staff" in view.text
    [brief] = [message_view(m) for m in await world.inbox(world.staff)]
    assert f"#{point.id}" in brief.title and "painpoint resolve" in " ".join(brief.lines)
    assert (await world.get(PainPoint, point.id)).status == "in_progress"
    assert (await value(world))["pain_points"]["in_progress"] == 1
    assert (await world.run(world.staff, f'painpoint {point.id} note:"Called the vendor"')).ok
    assert (await world.run(world.staff, "painpoints mine")).lines[0].startswith(f"#{point.id} [in_progress]")

    await world.run(world.staff, f'painpoint {point.id} metric:"Days late" baseline:10')
    assert (await world.run(world.staff, f'painpoint resolve {point.id} after:4 fix:"A second supplier"')).ok
    said = message_view((await world.inbox(world.sponsor))[-1])
    facts = {f.label: f.value for f in said.facts}
    assert "The vendor is late" in facts["You said"] and facts["We did"] == "A second supplier"
    assert facts["Measured"] == "Days late: 10 → 4 (+60.0%)"
    assert [c.action for c in said.choices] == ["fix_yes", "fix_no"]

    # a forged button of another sponsor's pain point is refused and changes nothing
    before = await world.snapshot()
    assert not (await world.act(world.member, "fix_yes", {"painpoint": point.id, "fixed": True})).ok
    assert await world.snapshot() == before

    not_yet = await world.act(world.sponsor, "fix_no", {"painpoint": point.id, "fixed": False})
    assert not_yet.ok and not_yet.form is not None and not_yet.form.action == "fix_comment"
    reopened = await world.get(PainPoint, point.id)
    assert (reopened.status, reopened.confirmed) == ("open", False)
    assert "not fixed yet" in message_view((await world.inbox(world.staff))[-1]).title  # the owner is told
    assert (
        await world.act(world.sponsor, "fix_comment", {"painpoint": point.id}, {"comment": "Still late"})
    ).ok
    figures = (await value(world))["pain_points"]
    assert (figures["reopened"], figures["confirmed_fixes"], figures["open"]) == (1, 0, 1)

    assert (await world.run(world.staff, f'painpoint resolve {point.id} after:2 fix:"Penalties"')).ok
    assert (await world.act(world.sponsor, "fix_yes", {"painpoint": point.id, "fixed": True})).ok
    done = await world.get(PainPoint, point.id)
    assert (done.status, done.confirmed) == ("resolved", True)
    figures = (await value(world))["pain_points"]
    assert (figures["reopened"], figures["confirmed_fixes"], figures["resolved"]) == (1, 1, 1)
    kinds = [e.kind for e in await world.rows(PainPointEvent)]
    assert kinds == ["owner", "note", "resolved", "not_yet", "reopened", "comment", "resolved", "fixed"]


async def test_an_unreachable_reporter_is_noted_for_staff_once(world: World) -> None:
    point = await world.add_painpoint()
    async with world.db.transaction() as session:
        sponsor = await session.get(type(world.sponsor), world.sponsor.id)
        sponsor.unreachable = True
    first = await world.run(world.staff, f"painpoint resolve {point.id}")
    assert any("cannot be reached" in line for line in first.lines)
    assert await world.inbox(world.sponsor) == []
    await world.act(world.sponsor, "fix_no", {"painpoint": point.id, "fixed": False})  # reopened
    second = await world.run(world.staff, f'painpoint resolve {point.id} fix:"again"')
    assert not any("cannot be reached" in line for line in second.lines)


async def test_checkin_while_open_says_so_unless_again(world: World) -> None:
    assert (await world.run(world.staff, "checkin Apollo")).ok
    view = await world.run(world.staff, "checkin Apollo")
    assert not view.ok and "still open" in view.text
    assert len(await world.rows(Checkin)) == 1
    await asyncio.sleep(1.1)  # the ledger refuses a second send within the same second (a double click)
    assert (await world.run(world.staff, "checkin Apollo again")).ok
    assert len(await world.rows(Checkin)) == 2


async def test_followup_did_records_what_was_done(world: World) -> None:
    await world.run(world.staff, "checkin Apollo")
    [checkin] = await world.rows(Checkin)
    assert (await world.run(world.staff, f'followup {checkin.id} did:"Weekly demo"')).ok
    kept = await world.get(Checkin, checkin.id)
    assert (kept.follow_up_did, kept.followed_up_by) == ("Weekly demo", world.staff.id)


async def test_followup_did_shows_on_the_alert_in_place(world: World) -> None:
    assert (await world.run(world.staff, "alerts here", channel="#pmo-alerts")).ok
    await world.run(world.staff, "checkin Apollo")
    [checkin] = await world.rows(Checkin)
    assert (await world.act(world.sponsor, "taste_1", {"checkin": checkin.id, "rating": 1})).ok
    assert (await world.run(world.staff, f'followup {checkin.id} did:"Weekly demo"')).ok
    [alert] = [message_view(m) for m in await world.channel_posts("#pmo-alerts")]  # one message, updated
    taken = (await world.get(Checkin, checkin.id)).followed_up_at
    assert alert.lines == (
        f"👤 Stan Staff is following up this sour taste (taken {taken:%Y-%m-%d %H:%M} UTC).",
        "✅ What was done: Weekly demo",
    )
    assert alert.choices == ()


async def _taste(world: World, sent: dt.datetime, rating: int | None, **columns: object) -> Checkin:
    async with world.db.transaction() as session:
        checkin = Checkin(
            org_id=world.org_id,
            project_id=world.project.id,
            sponsor_id=world.sponsor.id,
            kind=KIND_TASTE,
            status="answered" if rating else "open",
            sent_at=sent,
            answered_at=sent + dt.timedelta(hours=1) if rating else None,
            rating=rating,
            message_refs={},
            **columns,
        )
        session.add(checkin)
    return checkin


async def test_loop_figures_against_hand_computed_expectations(world: World) -> None:
    """Sour at t1 (taken 4 h later), unanswered t2, sour t3 (taken before a later answer change:
    0 h), good t4; t0 was sour, changed to good (no longer sour)."""
    base = utcnow().replace(microsecond=0) - dt.timedelta(days=20)
    hour = dt.timedelta(hours=1)
    await _taste(world, base, 5)  # was sour, changed to a good one: not sour
    await _taste(
        world,
        base + dt.timedelta(days=1),
        1,
        followed_up_by=world.staff.id,
        followed_up_at=base + dt.timedelta(days=1) + 5 * hour,
    )
    await _taste(world, base + dt.timedelta(days=2), None)  # unanswered: skipped
    await _taste(  # two sour in a row; taken before the (later) answer change: -x hours count as 0
        world,
        base + dt.timedelta(days=3),
        2,
        followed_up_by=world.staff.id,
        followed_up_at=base + dt.timedelta(days=3),
    )
    await _taste(world, base + dt.timedelta(days=4), 4)
    await _taste(world, base + dt.timedelta(days=5), 1)  # sour, no next answer yet
    loop = (await value(world))["loop"]
    # sour: days 1, 3, 5. Next answers: day 1 → day 3 (2, not recovered); day 3 → day 4 (4: recovered);
    # day 5 → none. Hours: 4 and 0 → median 2.0.
    assert loop == {
        "sour": 3,
        "followed_up": 2,
        "median_hours_to_follow_up": 2.0,
        "recovered": 1,
        "recovery_pct": 50.0,
    }


async def test_the_home_page_lists_what_a_member_of_staff_owns(world: World) -> None:
    point = await world.add_painpoint(impact=4)
    assert (await world.run(world.admin, f"painpoint {point.id} owner:<@USTAFF> due:2026-04-01")).ok
    titles = [section.title for section in await home(world.services, world.caller(world.staff))]
    assert titles.index("Your pain points") == titles.index("Open pain points") - 1
    [mine] = [
        s for s in await home(world.services, world.caller(world.staff)) if s.title == "Your pain points"
    ]
    assert mine.lines == (await world.run(world.staff, "painpoints mine")).lines
    assert mine.lines[0].startswith(f"#{point.id} [in_progress] Apollo · impact 4 · due 2026-04-01")
    for person in (world.admin, world.sponsor):  # owns nothing: no such section
        sections = await home(world.services, world.caller(person))
        assert "Your pain points" not in [section.title for section in sections]


async def test_the_home_command_shows_the_home_page_as_one_message(world: World) -> None:
    """Teams and the console have no home tab: `home` shows the same sections as one message."""
    point = await world.add_painpoint(impact=4)
    assert (await world.run(world.admin, f"painpoint {point.id} owner:<@USTAFF>")).ok
    staff = await world.run(world.staff, "home")
    sections = await home(world.services, world.caller(world.staff))
    assert staff.ok and staff.title == "Your home"
    for section in sections:
        assert (f"*{section.title}*" in staff.lines) == bool(section.title)
        assert all(line in staff.lines for line in section.lines)
    mine = staff.lines.index("*Your pain points*")
    assert staff.lines[mine + 1].startswith(f"#{point.id} [in_progress] Apollo · impact 4")

    sponsor = await world.run(world.sponsor, "home")
    assert "*Your projects*" in sponsor.lines and [c.label for c in sponsor.choices] == ["Pause check-ins"]
    assert "*Your pain points*" not in sponsor.lines
    member = await world.run(world.member, "home")
    assert "*What you can ask*" in member.lines and any(line.startswith("/pmo home") for line in member.lines)
    assert "/pmo home" in "\n".join((await world.run(world.member, "help")).lines)
