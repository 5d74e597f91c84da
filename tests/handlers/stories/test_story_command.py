"""`story ID` in chat: who may read it, what it shows, and staff's "Story" button (CONTRACT sections 4, 10)."""

from __future__ import annotations

import datetime as dt

import pytest

from handlers.painpoints.views import STORY_ACTION
from storage.db import Database
from tests.helpers import World, make_world


@pytest.fixture
async def world(db: Database) -> World:
    return await make_world(db)


async def resolved(world: World) -> int:
    point = await world.add_painpoint(reported_at=dt.datetime(2026, 3, 1, 9))
    assert (await world.run(world.staff, f'painpoint {point.id} note:"Called the vendor"')).ok
    assert (await world.run(world.staff, f'painpoint {point.id} metric:"Days late" baseline:10')).ok
    reply = await world.run(world.staff, f'painpoint resolve {point.id} after:4 fix:"A second supplier"')
    assert reply.ok
    # staff's reply carries the Story button
    assert [(c.action, c.payload) for c in reply.choices] == [(STORY_ACTION, {"painpoint": point.id})]
    return point.id


async def test_staff_and_the_projects_sponsor_read_the_story(world: World) -> None:
    point_id = await resolved(world)
    for person in (world.staff, world.admin, world.sponsor):
        view = await world.run(person, f"story {point_id}")
        assert view.ok, view.as_text()
        assert f"#{point_id}" in view.title and "Apollo" in view.title
        facts = {f.label: f.value for f in view.facts}
        assert facts["What was done"] == "A second supplier"
        assert facts["Measure"] == "Days late: 10 → 4 (+60.0%, lower is better)"
        assert facts["Sponsor's confirmation"] == "not answered yet"
        assert any("Called the vendor" in line for line in view.lines)
        assert view.chart is not None and view.chart.startswith(b"\x89PNG")


async def test_anyone_else_is_told_and_nothing_changes(world: World) -> None:
    point_id = await resolved(world)
    other = await world.add_person("Olga Other", "UOTHER")
    await world.add_project("Zeus", other)  # a sponsor, but not of Apollo
    before = await world.snapshot()
    member = await world.run(world.member, f"story {point_id}")
    assert not member.ok and "PMO staff and project sponsors only" in member.text
    stranger = await world.run(other, f"story {point_id}")
    assert not stranger.ok and "sponsor of Apollo" in stranger.text
    assert await world.snapshot() == before


async def test_unknown_and_bad_ids(world: World) -> None:
    missing = await world.run(world.staff, "story 999")
    assert not missing.ok and "no pain point #999" in missing.text
    bad = await world.run(world.staff, "story twelve")
    assert not bad.ok and bad.lines == ("Usage: story ID",)


async def test_the_story_button_runs_the_command_with_its_role_check(world: World) -> None:
    point_id = await resolved(world)
    view = await world.act(world.staff, STORY_ACTION, {"painpoint": point_id})
    assert view.ok and f"#{point_id}" in view.title
    assert not (await world.act(world.member, STORY_ACTION, {"painpoint": point_id})).ok
    for forged in ({"painpoint": "1"}, {"painpoint": point_id, "x": 1}, {}, {"painpoint": True}):
        assert "not one I know" in (await world.act(world.staff, STORY_ACTION, forged)).text


async def test_resolved_pain_points_in_a_listing_carry_story_buttons(world: World) -> None:
    point_id = await resolved(world)
    await world.add_painpoint(text="Still open")
    view = await world.run(world.staff, "painpoints all")
    assert [c.payload for c in view.choices] == [{"painpoint": point_id}]
    assert (await world.run(world.staff, "painpoints open")).choices == ()
