"""Two requests meeting the same new person at the same moment (issue 9 item 12), on SQLite and
PostgreSQL: both find the one person and identity, neither fails with a unique-key error.

The directory waits at a barrier before it records the person, the way two `project add`
commands each wait for Slack's users.info before either has written anything.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.slack.people import SlackPeople, remember
from handlers.commands.run import run_command
from handlers.ports import PersonRef
from storage.db import Database
from storage.models import Identity, Person, Project
from tests.helpers import World, make_world

NEW = "U0NEWSPONSOR"
USER = {"id": NEW, "tz": "Europe/Berlin", "profile": {"real_name": "Nia New", "email": "nia@example.com"}}


class MeetingDirectory:
    """Slack's directory without Slack: every lookup of NEW waits until `parties` lookups meet."""

    def __init__(self, parties: int = 2) -> None:
        self.barrier = asyncio.Barrier(parties)

    async def resolve(self, session: AsyncSession, org_id: int, ref: PersonRef) -> Person | None:
        if ref.user_id != NEW:
            return None
        await asyncio.wait_for(self.barrier.wait(), 5)
        return await remember(session, org_id, USER, NEW, frozenset())


async def test_two_project_adds_naming_one_new_sponsor_both_succeed(db: Database) -> None:
    world: World = await make_world(db)
    world.services.directory = MeetingDirectory()
    first, second = await asyncio.gather(
        run_command(world.services, world.caller(world.staff), f"project add Zeus sponsor:<@{NEW}>"),
        run_command(world.services, world.caller(world.staff), f"project add Hera sponsor:<@{NEW}>"),
    )
    assert first.ok, first.as_text()
    assert second.ok, second.as_text()
    [identity] = await world.rows(Identity, Identity.external_id == NEW)
    people = await world.rows(Person, Person.name == "Nia New")
    assert [p.id for p in people] == [identity.person_id]  # one person, no orphan left behind
    projects = {p.name: p.sponsor_id for p in await world.rows(Project)}
    assert projects["Zeus"] == projects["Hera"] == identity.person_id


class SlowUsersInfo:
    """An AsyncWebClient stand-in whose users.info answers once both callers have asked."""

    def __init__(self, barrier: asyncio.Barrier) -> None:
        self.barrier = barrier

    async def users_info(self, user: str, include_locale: bool = False) -> dict[str, Any]:
        await asyncio.wait_for(self.barrier.wait(), 5)
        return {"ok": True, "user": USER}


async def test_two_processes_meeting_one_new_slack_user_find_one_person(db: Database) -> None:
    world = await make_world(db)
    barrier = asyncio.Barrier(2)
    ids = await asyncio.gather(
        SlackPeople(db).person_id(world.org_id, NEW, SlowUsersInfo(barrier)),  # type: ignore[arg-type]
        SlackPeople(db).person_id(world.org_id, NEW, SlowUsersInfo(barrier)),  # type: ignore[arg-type]
    )
    [identity] = await world.rows(Identity, Identity.external_id == NEW)
    assert ids == [identity.person_id, identity.person_id]
    assert len(await world.rows(Person, Person.name == "Nia New")) == 1
