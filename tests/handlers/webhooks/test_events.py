"""Each change of CONTRACT section 11 writes its event in its own transaction; none without webhooks."""

from __future__ import annotations

import pytest

from handlers.webhooks.events import turn_on
from storage.db import Database
from storage.models import Checkin, PainPoint, WebhookEvent
from tests.helpers import World, make_world


@pytest.fixture
async def world(db: Database) -> World:
    world = await make_world(db)
    turn_on(db)
    return world


async def events(world: World) -> list[WebhookEvent]:
    return await world.rows(WebhookEvent)


async def sent(world: World, command: str) -> Checkin:
    assert (await world.run(world.staff, command)).ok
    return (await world.rows(Checkin))[-1]


async def test_a_taste_and_its_comment_are_answer_recorded_events(world: World) -> None:
    checkin = await sent(world, "checkin Apollo")
    assert await events(world) == []  # sending a check-in is no event
    assert (await world.act(world.sponsor, "taste_2", {"checkin": checkin.id, "rating": 2})).ok
    assert (await world.act(world.sponsor, "taste_4", {"checkin": checkin.id, "rating": 4})).ok
    comment = {"comment": "Better now"}
    assert (await world.act(world.sponsor, "taste_comment", {"checkin": checkin.id}, comment)).ok
    first, changed, commented = await events(world)
    assert {e.type for e in (first, changed, commented)} == {"answer.recorded"}
    assert {e.key for e in (first, changed, commented)} == {f"checkin:{checkin.id}"}
    assert (
        first.data["rating"] == 2 and first.data["taste"] == "Off" and first.data["previous_rating"] is None
    )
    assert (changed.data["rating"], changed.data["previous_rating"], changed.data["change"]) == (
        4,
        2,
        "rating",
    )
    assert (commented.data["comment"], commented.data["change"]) == ("Better now", "comment")
    assert first.data["project"]["name"] == "Apollo"
    assert first.data["sponsor"] == {
        "id": world.sponsor.id,
        "name": "Sam Sponsor",
        "email": "usponsor@example.com",
    }
    assert first.data["answered_at"].endswith("Z")
    assert len({e.event_id for e in (first, changed, commented)}) == 3
    assert all(e.state == "pending" and e.attempts == 0 for e in (first, changed, commented))


async def test_a_pain_point_from_report_to_confirmation(world: World) -> None:
    prompt = await sent(world, "ask Apollo")
    form = {"text": "No test data", "impact": "5"}
    assert (await world.act(world.sponsor, "painpoint", {"checkin": prompt.id}, form)).ok
    [point] = await world.rows(PainPoint)
    pid = point.id
    steps = [
        f"painpoint {pid} owner:<@USTAFF> due:2999-01-01",
        f'painpoint {pid} note:"Asked the vendor"',
        f'painpoint {pid} metric:"Days without data" baseline:10',
        f'painpoint resolve {pid} after:2 fix:"A test data service"',
    ]
    for step in steps:
        assert (await world.run(world.staff, step)).ok, step
    assert (await world.act(world.sponsor, "fix_no", {"painpoint": pid, "fixed": False})).ok
    comment = {"comment": "Still empty on Mondays"}
    assert (await world.act(world.sponsor, "fix_comment", {"painpoint": pid}, comment)).ok
    assert (await world.run(world.staff, f'painpoint resolve {pid} fix:"Mondays too"')).ok
    assert (await world.act(world.sponsor, "fix_yes", {"painpoint": pid, "fixed": True})).ok
    got = await events(world)
    assert [(e.type, e.data["change"]["what"]) for e in got] == [
        ("painpoint.reported", "reported"),
        ("painpoint.updated", "owner"),
        ("painpoint.updated", "note"),
        ("painpoint.updated", "measure"),
        ("painpoint.resolved", "resolved"),
        ("painpoint.reopened", "reopened"),
        ("painpoint.updated", "comment"),
        ("painpoint.resolved", "resolved"),
        ("painpoint.confirmed", "confirmed"),
    ]
    assert {e.key for e in got} == {f"painpoint:{pid}"}
    assert [e.id for e in got] == sorted(e.id for e in got)
    reported, owner, note, _, resolved, reopened, commented, _, confirmed = got
    assert reported.data["painpoint"]["text"] == "No test data" and reported.data["painpoint"]["impact"] == 5
    assert reported.data["change"]["by"]["name"] == "Sam Sponsor"
    assert owner.data["painpoint"]["owner"]["name"] == "Stan Staff"
    assert (owner.data["painpoint"]["status"], owner.data["change"]["status_was"]) == ("in_progress", "open")
    assert owner.data["painpoint"]["due"] == "2999-01-01"
    assert note.data["change"]["text"] == "Asked the vendor"
    assert (
        resolved.data["painpoint"]["status"] == "resolved"
        and resolved.data["change"]["fix"] == "A test data service"
    )
    assert (resolved.data["painpoint"]["baseline"], resolved.data["painpoint"]["after"]) == (10, 2)
    assert (
        reopened.data["painpoint"]["status"] == "open"
        and reopened.data["change"]["by"]["name"] == "Sam Sponsor"
    )
    assert commented.data["change"]["text"] == "Still empty on Mondays"
    assert confirmed.data["painpoint"]["confirmed"] is True


async def test_an_outcome_measured(world: World) -> None:
    add = 'outcome add Apollo metric:"Release days" baseline:10 target:2 unit:days'
    assert (await world.run(world.staff, add)).ok
    assert await events(world) == []  # adding an outcome is no event
    assert (await world.run(world.staff, "outcome update 1 current:6")).ok
    [event] = await events(world)
    assert (event.type, event.key) == ("outcome.measured", "outcome:1")
    assert event.data["value"] == 6 and event.data["outcome"]["progress"] == 0.5
    assert event.data["measured_by"]["name"] == "Stan Staff" and event.data["project"]["name"] == "Apollo"


async def test_a_refused_change_records_no_event(world: World) -> None:
    point = await world.add_painpoint()
    before = await world.snapshot()
    assert not (await world.run(world.staff, f"painpoint {point.id} owner:<@UMEMBER>")).ok  # not staff
    assert not (await world.act(world.member, "fix_yes", {"painpoint": point.id, "fixed": True})).ok
    assert await world.snapshot() == before


async def test_without_webhooks_no_event_is_recorded(db: Database) -> None:
    world = await make_world(db)  # turn_on never called
    checkin = await sent(world, "checkin Apollo")
    assert (await world.act(world.sponsor, "taste_5", {"checkin": checkin.id, "rating": 5})).ok
    point = await world.add_painpoint()
    assert (await world.run(world.staff, f'painpoint {point.id} note:"x"')).ok
    assert await events(world) == []
