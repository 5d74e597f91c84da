"""The people and projects a CSV file names, looked up once per import and created when missing.

A file of a million rows names a few hundred projects and people; resolving each distinct name
once, before the rows are written, keeps the write pass to plain dictionary look-ups.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.csv import formats as cf
from handlers.people import is_staff
from handlers.platform_ids import platform_of
from storage.db import utcnow
from storage.models import Person, Project
from storage.queries import (
    add_identity,
    add_person,
    find_person_by_email,
    find_person_by_external_id,
    name_key,
)

CHUNK = 500  # values per IN (...) list, well under every driver's parameter limit


@dataclass
class Refs:
    """What the first pass learns a file names: projects (with the first person named with each) and people."""

    projects: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    people: set[str] = field(default_factory=set)
    staff: dict[str, int] = field(default_factory=dict)  # people who must already be PMO staff, by token
    _written: set[str] = field(default_factory=set, repr=False)  # project names as written, seen already

    def note(self, project: str | None, person: str | None) -> None:
        if person is not None:
            self.people.add(person)
        if project is not None and project not in self._written:
            self._written.add(project)
            self.projects.setdefault(name_key(project), (project, person))


async def resolve_people(
    session: AsyncSession, org_id: int, tokens: Iterable[str]
) -> tuple[dict[str, int], int]:
    """Person ids for e-mails / platform user ids, creating the missing ones; also how many were created."""
    ids: dict[str, int] = {}
    created = 0
    for token in sorted(set(tokens)):
        found = await find_person(session, org_id, token)
        if found is None:
            if cf.is_email(token):
                found = await add_person(session, org_id, token.split("@", 1)[0], email=token)
            else:
                found = await add_person(session, org_id, token)
                await add_identity(session, found, platform_of(token), token)
            created += 1
        ids[token] = found.id
    return ids, created


async def find_person(session: AsyncSession, org_id: int, token: str) -> Person | None:
    """The person a file's e-mail or platform user id names, if the bot knows them."""
    if cf.is_email(token):
        return await find_person_by_email(session, org_id, token)
    return await find_person_by_external_id(session, org_id, token)


async def existing_staff(session: AsyncSession, org_id: int, tokens: Iterable[str]) -> dict[str, int]:
    """Person ids of the tokens that name PMO staff (never created: an owner must be staff already)."""
    found: dict[str, int] = {}
    for token in sorted(set(tokens)):
        person = await find_person(session, org_id, token)
        if person is not None and is_staff(person):
            found[token] = person.id
    return found


async def existing_projects(session: AsyncSession, org_id: int, keys: Iterable[str]) -> dict[str, int]:
    """Project ids by name key, for the keys that exist."""
    found: dict[str, int] = {}
    wanted = sorted(set(keys))
    for start in range(0, len(wanted), CHUNK):
        rows = await session.execute(
            select(Project.name_key, Project.id).where(
                Project.org_id == org_id, Project.name_key.in_(wanted[start : start + CHUNK])
            )
        )
        found.update({key: pid for key, pid in rows})
    return found


async def resolve_projects(
    session: AsyncSession,
    org_id: int,
    wanted: Mapping[str, tuple[str, str | None]],
    people: Mapping[str, int],
) -> tuple[dict[str, int], set[int]]:
    """Project ids by name key, creating missing projects with the first person named with them as sponsor.

    `wanted` maps a name key to (the name as first written, that row's person). A new project
    gets the defaults of `project add`: no segment, biweekly on Tuesday at 10:00, asked monthly.
    Returns the ids and the set of ids created now.
    """
    ids = await existing_projects(session, org_id, wanted)
    fresh: list[Project] = []
    now = utcnow()
    for key, (name, sponsor) in wanted.items():
        if key in ids:
            continue
        if sponsor is None:
            raise ValueError(f"project {name!r} does not exist and no sponsor was named for it")
        project = Project(
            org_id=org_id,
            name=name,
            name_key=key,
            segment=None,
            sponsor_id=people[sponsor],
            cadence="biweekly",
            day="tue",
            time="10:00",
            ask="monthly",
            archived=False,
            created_at=now,
        )
        session.add(project)
        fresh.append(project)
    if fresh:
        await session.flush()
    for project in fresh:
        ids[project.name_key] = project.id
    return ids, {project.id for project in fresh}
