"""Issue 12 part 4: a story and the track record against hand-computed figures (METRICS.md `stories`)."""

from __future__ import annotations

import datetime as dt

import pytest

from handlers.stories.compute import story, track_record
from handlers.value.report import compute_value
from storage.db import Database
from storage.models import KIND_TASTE, Checkin, PainPoint, PainPointEvent, Project
from tests.helpers import World, make_world

TODAY = dt.date(2026, 7, 1)
REPORTED = dt.datetime(2026, 3, 1, 9)
RESOLVED = dt.datetime(2026, 3, 11, 21)  # 10.5 days later


@pytest.fixture
async def world(db: Database) -> World:
    return await make_world(db, today=TODAY)


async def answer(world: World, project: Project, at: dt.datetime, rating: int) -> None:
    async with world.db.transaction() as session:
        session.add(
            Checkin(
                org_id=world.org_id,
                project_id=project.id,
                sponsor_id=project.sponsor_id,
                kind=KIND_TASTE,
                status="answered",
                sent_at=at - dt.timedelta(hours=1),
                answered_at=at,
                rating=rating,
                message_refs={},
            )
        )


async def event(
    world: World, point: PainPoint, kind: str, at: dt.datetime, by: int | None, text: str | None = None
) -> None:
    async with world.db.transaction() as session:
        session.add(
            PainPointEvent(
                org_id=world.org_id, painpoint_id=point.id, person_id=by, kind=kind, text=text, at=at
            )
        )


async def compute(world: World, point_id: int) -> dict:
    async with world.db.sessions() as session:
        return await story(session, world.org_id, point_id, today=TODAY)


async def fixed_story(world: World) -> PainPoint:
    """Apollo's pain point, resolved and confirmed, with answers on both sides of every edge."""
    point = await world.add_painpoint(
        reported_at=REPORTED,
        impact=4,
        status="resolved",
        resolved_at=RESOLVED,
        metric="Days late",
        baseline=10.0,
        after=4.0,
        fix="A second supplier",
        owner_id=world.staff.id,
        due=dt.date(2026, 3, 20),
        confirmed=True,
        confirmed_at=dt.datetime(2026, 3, 12, 8),
    )
    before_start = REPORTED - dt.timedelta(days=90)  # 2025-12-01 09:00
    for at, rating in (
        (before_start - dt.timedelta(microseconds=1), 5),  # just outside: not counted
        (before_start, 5),  # the first moment of the window: counted
        (dt.datetime(2026, 1, 15), 2),
        (REPORTED - dt.timedelta(microseconds=1), 4),
        (REPORTED, 1),  # the report's own moment belongs to neither window
        (RESOLVED, 4),  # the fix's moment opens the window after
        (dt.datetime(2026, 4, 1), 5),
        (dt.datetime(2026, 5, 1), 2),
        (RESOLVED + dt.timedelta(days=90) - dt.timedelta(microseconds=1), 1),
        (RESOLVED + dt.timedelta(days=90), 5),  # 90 days after the fix: not counted
    ):
        await answer(world, world.project, at, rating)
    other = await world.add_project("Zeus", world.member)
    await answer(world, other, dt.datetime(2026, 2, 1), 1)  # another project's answers never count
    await event(world, point, "owner", dt.datetime(2026, 3, 2), world.admin.id, "Stan Staff")
    await event(world, point, "note", dt.datetime(2026, 3, 3, 10), world.staff.id, "Called the vendor")
    await event(world, point, "note", dt.datetime(2026, 3, 5, 16), world.staff.id, "Signed a second supplier")
    await event(world, point, "resolved", RESOLVED, world.staff.id, "A second supplier")
    await event(world, point, "not_yet", dt.datetime(2026, 3, 11, 22), world.sponsor.id)
    await event(
        world, point, "comment", dt.datetime(2026, 3, 11, 23), world.sponsor.id, "Still late on Fridays"
    )
    await event(world, point, "fixed", dt.datetime(2026, 3, 12, 8), world.sponsor.id)
    return point


async def test_a_fixed_story_holds_every_field_hand_computed(world: World) -> None:
    point = await fixed_story(world)
    got = await compute(world, point.id)
    trend = got.pop("trend")
    assert got == {
        "painpoint": point.id,
        "project": "Apollo",
        "segment": "Space",
        "status": "resolved",
        "said": {
            "text": "The vendor is late",
            "impact": 4,
            "reported_at": "2026-03-01T09:00:00Z",
            "by": "Sam Sponsor",
        },
        "owner": "Stan Staff",
        "due": "2026-03-20",
        "notes": [
            {"at": "2026-03-03T10:00:00Z", "text": "Called the vendor", "by": "Stan Staff"},
            {"at": "2026-03-05T16:00:00Z", "text": "Signed a second supplier", "by": "Stan Staff"},
        ],
        "fix": "A second supplier",
        "measure": {
            "metric": "Days late",
            "baseline": 10.0,
            "after": 4.0,
            "better": "lower",
            "improvement_pct": 60.0,
        },
        "resolved_at": "2026-03-11T21:00:00Z",
        "days_to_resolve": 10.5,
        # the words written with ❌ Not yet belong to that answer, not to the later ✅ Fixed
        "confirmation": {"confirmed": True, "at": "2026-03-12T08:00:00Z", "words": None},
        "csat_before": 66.7,  # 5, 2, 4: two of three satisfied
        "responses_before": 3,
        "csat_after": 50.0,  # 4, 5, 2, 1
        "responses_after": 4,
    }
    # the project's six months ending when the CSAT since the fix ends (2026-06-09)
    assert [m["month"] for m in trend] == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    assert [m["responses"] for m in trend] == [1, 0, 3, 1, 1, 2]


async def test_the_words_of_the_latest_answer_and_a_reopened_story(world: World) -> None:
    point = await world.add_painpoint(
        reported_at=REPORTED, status="open", resolved_at=RESOLVED, confirmed=False, confirmed_at=RESOLVED
    )
    await answer(world, world.project, RESOLVED + dt.timedelta(days=1), 5)
    await event(world, point, "not_yet", RESOLVED, world.sponsor.id)
    await event(world, point, "comment", RESOLVED, world.member.id, "Not the reporter's words")
    await event(world, point, "comment", RESOLVED, world.sponsor.id, "Still late on Fridays")
    got = await compute(world, point.id)
    assert got["confirmation"] == {
        "confirmed": False,
        "at": "2026-03-11T21:00:00Z",
        "words": "Still late on Fridays",
    }
    # reopened: it keeps its resolution date and days, but it is not resolved, so no CSAT after
    assert (got["status"], got["days_to_resolve"]) == ("open", 10.5)
    assert (got["csat_after"], got["responses_after"]) == (None, 0)
    assert got["measure"] is None and got["owner"] is None and got["notes"] == [] and got["fix"] is None


async def test_no_answers_before_the_report_and_not_yet_resolved(world: World) -> None:
    """METRICS.md's edge cases: csat_before null without answers; csat_after null until resolved."""
    point = await world.add_painpoint(reported_at=REPORTED, metric="Days late", baseline=10.0)
    await answer(world, world.project, REPORTED + dt.timedelta(days=1), 5)  # after the report only
    got = await compute(world, point.id)
    assert (got["csat_before"], got["responses_before"]) == (None, 0)
    assert (got["csat_after"], got["resolved_at"], got["days_to_resolve"]) == (None, None, None)
    assert got["measure"] == {
        "metric": "Days late",
        "baseline": 10.0,
        "after": None,
        "better": "lower",
        "improvement_pct": None,
    }
    assert got["confirmation"] == {"confirmed": None, "at": None, "words": None}
    assert [m["month"] for m in got["trend"]][-1] == "2026-07"  # not resolved: ending today


async def test_unknown_and_other_organisations_pain_points_have_no_story(world: World) -> None:
    point = await world.add_painpoint()
    assert await compute(world, point.id + 1) is None
    async with world.db.sessions() as session:
        assert await story(session, world.org_id + 1, point.id, today=TODAY) is None


async def test_the_track_record_orders_measured_first_and_totals_agree_with_the_value_report(
    world: World,
) -> None:
    best = await fixed_story(world)  # +60 %, confirmed
    higher = await world.add_painpoint(
        text="Too few orders",
        reported_at=dt.datetime(2026, 5, 1),
        status="resolved",
        resolved_at=dt.datetime(2026, 5, 4),
        metric="Orders",
        baseline=-20.0,
        after=-10.0,
        better="higher",
    )  # +50 % (higher is better, |baseline|)
    same = await world.add_painpoint(
        text="Slow",
        reported_at=dt.datetime(2026, 4, 1),
        status="resolved",
        resolved_at=dt.datetime(2026, 6, 1),
        metric="Hours",
        baseline=4.0,
        after=2.0,
    )  # +50 %, resolved later than `higher`: first of the two
    plain = await world.add_painpoint(
        text="No measure",
        reported_at=dt.datetime(2026, 6, 1),
        status="resolved",
        resolved_at=dt.datetime(2026, 6, 2),
        confirmed=True,
    )
    zero = await world.add_painpoint(
        text="Zero baseline",
        reported_at=dt.datetime(2026, 6, 1),
        status="resolved",
        resolved_at=dt.datetime(2026, 6, 20),
        metric="Errors",
        baseline=0.0,
        after=1.0,
    )  # not a measured fix (baseline 0); resolved after `plain`: before it
    await world.add_painpoint(
        text="Old",
        reported_at=dt.datetime(2025, 1, 1),
        status="resolved",
        resolved_at=dt.datetime(2025, 7, 1, 23, 59),
    )  # before the window
    await world.add_painpoint(text="Open", reported_at=dt.datetime(2026, 6, 1))
    async with world.db.sessions() as session:
        record = await track_record(session, world.org_id, days=365, today=TODAY)
        value = await compute_value(session, world.org_id, days=365, today=TODAY)
    assert record["window"] == {"start": "2025-07-02T00:00:00Z", "end": "2026-07-02T00:00:00Z", "days": 365}
    assert [s["painpoint"] for s in record["stories"]] == [best.id, same.id, higher.id, zero.id, plain.id]
    # 10.5, 3, 61, 1, 19 days: the median is 10.5
    assert record["totals"] == {
        "fixes": 5,
        "measured": 3,
        "mean_improvement_pct": 53.3,
        "confirmed": 2,
        "median_days_to_resolve": 10.5,
    }
    figures = value["pain_points"]
    assert (figures["resolved"], figures["measured_fixes"], figures["mean_improvement_pct"]) == (5, 3, 53.3)
    assert (figures["confirmed_fixes"], figures["median_days_to_resolve"]) == (2, 10.5)
    # each story of the record is the story itself, as `story ID` computes it
    alone = await compute(world, best.id)
    assert {k: v for k, v in alone.items() if k != "trend"} == record["stories"][0]
    assert len(record["trend"]) == 6 and record["trend"][-1]["month"] == "2026-07"


async def test_an_empty_track_record(world: World) -> None:
    async with world.db.sessions() as session:
        record = await track_record(session, world.org_id, days=30, today=TODAY)
    assert record["stories"] == []
    assert record["totals"] == {
        "fixes": 0,
        "measured": 0,
        "mean_improvement_pct": None,
        "confirmed": 0,
        "median_days_to_resolve": None,
    }
