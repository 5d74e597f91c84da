"""A small organisation to run `/pmo` commands and button clicks against, on a real database.

`make_world(db)` gives an organisation with an admin, a staff member, a sponsor with the project
"Apollo" and a plain member, each reachable through a local (console) identity, and the core's
services wired the way the console wires them (LocalChannel into `local_messages`). `snapshot()`
reads every table so a test can prove that a refusal or a mistake changed nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.sql import ColumnElement

from bot.channels import Router
from bot.local.channel import LocalChannel, LocalDirectory
from handlers.commands.run import run_command
from handlers.interactions import act, direct_message
from handlers.ports import Caller, Policy, Services
from handlers.views import View, view_from_dict
from storage.db import Database
from storage.models import Base, LocalMessage, Organisation, PainPoint, Person, Project
from storage.queries import add_identity, add_person, get_or_create_org, name_key

TODAY = dt.date(2026, 3, 10)
PLATFORM = "local"
ADMIN_ID, STAFF_ID, SPONSOR_ID, MEMBER_ID = "UADMIN", "USTAFF", "USPONSOR", "UMEMBER"


@dataclass
class World:
    """The organisation, its people and the services every use case is run with."""

    db: Database
    services: Services
    org_id: int
    admin: Person
    staff: Person
    sponsor: Person
    member: Person
    project: Project

    def caller(self, person: Person, channel: str | None = None) -> Caller:
        return Caller(org_id=person.org_id, person_id=person.id, platform=PLATFORM, channel=channel)

    async def run(self, person: Person, text: str, channel: str | None = None) -> View:
        """`/pmo text`, as `person` would type it."""
        return await run_command(self.services, self.caller(person, channel), text)

    async def act(
        self, person: Person, action: str, payload: Any, values: dict[str, Any] | None = None
    ) -> View:
        """A button click or a form submission by `person`."""
        return await act(self.services, self.caller(person), action, payload, values)

    async def dm(self, person: Person, text: str) -> View:
        """A plain direct message from `person` to the bot."""
        return await direct_message(self.services, self.caller(person), text)

    async def add_person(
        self, name: str, external_id: str, *, role: str = "member", org_id: int | None = None
    ) -> Person:
        async with self.db.transaction() as session:
            person = await add_person(
                session, org_id or self.org_id, name, email=f"{external_id.lower()}@example.com", role=role
            )
            await add_identity(session, person, PLATFORM, external_id)
        return person

    async def add_project(self, name: str, sponsor: Person, **columns: Any) -> Project:
        async with self.db.transaction() as session:
            project = Project(
                org_id=sponsor.org_id,
                name=name,
                name_key=name_key(name),
                sponsor_id=sponsor.id,
                archived=False,
                created_at=dt.datetime(2026, 1, 1),
                **columns,
            )
            session.add(project)
        return project

    async def add_painpoint(self, project: Project | None = None, **columns: Any) -> PainPoint:
        project = project or self.project
        values: dict[str, Any] = {
            "text": "The vendor is late",
            "impact": 3,
            "status": "open",
            "better": "lower",
            "reported_at": dt.datetime(2026, 3, 1, 9),
            **columns,
        }
        async with self.db.transaction() as session:
            point = PainPoint(
                org_id=project.org_id, project_id=project.id, reported_by=project.sponsor_id, **values
            )
            session.add(point)
        return point

    async def get(self, model: type[Any], ident: Any) -> Any:
        async with self.db.sessions() as session:
            return await session.get(model, ident)

    async def rows(self, model: type[Any], *where: ColumnElement[bool]) -> list[Any]:
        async with self.db.sessions() as session:
            return list(await session.scalars(select(model).where(*where).order_by(model.id)))

    async def org(self) -> Organisation:
        return await self.get(Organisation, self.org_id)

    async def inbox(self, person: Person) -> list[LocalMessage]:
        """What the console shows `person`: the bot's direct messages, oldest first."""
        return await self.rows(LocalMessage, LocalMessage.person_id == person.id)

    async def channel_posts(self, channel: str) -> list[LocalMessage]:
        return await self.rows(LocalMessage, LocalMessage.channel == channel)

    async def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        return await snapshot(self.db)


async def snapshot(db: Database, *, skip: tuple[str, ...] = ()) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order: equal snapshots mean nothing changed.

    The inbox holds work in flight, not data: a job's row comes and goes with its request."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    async with db.sessions() as session:
        for table in Base.metadata.sorted_tables:
            if table.name == "inbox" or table.name in skip:
                continue
            result = await session.execute(select(table).order_by(*table.primary_key.columns))
            tables[table.name] = [tuple(row) for row in result]
    return tables


def message_view(message: LocalMessage) -> View:
    return view_from_dict(message.view)


async def make_world(db: Database, *, alert_channel: str | None = None, today: dt.date = TODAY) -> World:
    """A migrated `db` filled with the people every command test needs."""
    async with db.transaction() as session:
        org = await get_or_create_org(session)
        people = {}
        for name, external_id, role in (
            ("Ada Admin", ADMIN_ID, "admin"),
            ("Stan Staff", STAFF_ID, "staff"),
            ("Sam Sponsor", SPONSOR_ID, "member"),
            ("Mel Member", MEMBER_ID, "member"),
        ):
            person = await add_person(
                session, org.id, name, email=f"{external_id.lower()}@example.com", role=role
            )
            await add_identity(session, person, PLATFORM, external_id)
            people[external_id] = person
        project = Project(
            org_id=org.id,
            name="Apollo",
            name_key=name_key("Apollo"),
            sponsor_id=people[SPONSOR_ID].id,
            segment="Space",
            archived=False,
            created_at=dt.datetime(2026, 1, 1),
        )
        session.add(project)
        await session.flush()
        org_id = org.id
    services = Services(
        db=db,
        messenger=Router(db, [LocalChannel(db)]),
        directory=LocalDirectory(),
        policy=Policy(admins=frozenset({ADMIN_ID}), alert_channel=alert_channel),
        today=today,
    )
    return World(
        db=db,
        services=services,
        org_id=org_id,
        admin=people[ADMIN_ID],
        staff=people[STAFF_ID],
        sponsor=people[SPONSOR_ID],
        member=people[MEMBER_ID],
        project=project,
    )
