"""Who is calling: every use case that acts for someone refuses a caller the bot has not met."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.outbox import perform_as
from handlers.people import UNKNOWN_CALLER, caller_person
from handlers.ports import Reply
from handlers.views import info
from storage.db import Database
from storage.models import Person
from storage.queries import get_or_create_org
from tests.helpers import make_world, snapshot


async def test_caller_person_is_the_caller_only_in_their_own_organisation(db: Database) -> None:
    world = await make_world(db)
    async with db.transaction() as session:
        other = await get_or_create_org(session, "other", "Other")
        other_id = other.id
    caller = world.caller(world.sponsor)
    async with db.sessions() as session:
        found = await caller_person(session, caller)
        assert found is not None and found.id == world.sponsor.id
        assert await caller_person(session, replace(caller, org_id=other_id)) is None
        assert await caller_person(session, replace(caller, person_id=10_000)) is None


async def test_perform_as_refuses_a_stranger_and_changes_nothing(db: Database) -> None:
    world = await make_world(db)
    seen: list[int] = []

    async def work(session: AsyncSession, person: Person) -> Reply:
        seen.append(person.id)
        person.name = "Changed"
        return Reply(info("done"))

    before = await snapshot(db)
    stranger = replace(world.caller(world.member), person_id=10_000)
    view = await perform_as(world.services, stranger, work)
    assert not view.ok and view.text == UNKNOWN_CALLER == "I don't know you yet; say hello to the bot first."
    assert seen == [] and await snapshot(db) == before

    view = await perform_as(world.services, world.caller(world.member), work)
    assert view.ok and seen == [world.member.id]
