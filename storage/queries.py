"""Small, reusable lookups shared by every use case (one query per idea)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import utcnow
from storage.models import Identity, Organisation, Person, Project

DEFAULT_ORG_KEY = "default"


async def insert_new(session: AsyncSession, model: Any, values: dict[str, Any]) -> int | None:
    """Insert a row unless one of its unique keys is taken: its id, or None.

    One statement (INSERT … ON CONFLICT DO NOTHING RETURNING id), never a savepoint: SQLite's
    Python driver starts its transaction only at the first write, so a SAVEPOINT taken before
    it is the outermost one, and releasing it commits. A "claim, then create the check-in"
    transaction then committed its claim alone, and a crash in between left a claim without
    its check-in (found by tests/e2e/test_clock_crash.py under load).
    """
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(model).values(**values).on_conflict_do_nothing().returning(model.id)
    return await session.scalar(statement)


def name_key(name: str) -> str:
    """Project names are unique per organisation regardless of case and spacing."""
    return " ".join(name.split()).casefold()


async def get_or_create_org(
    session: AsyncSession, key: str = DEFAULT_ORG_KEY, name: str = "PMO"
) -> Organisation:
    org = await session.scalar(select(Organisation).where(Organisation.key == key))
    if org is None:
        org = Organisation(key=key, name=name, alert_channels={}, created_at=utcnow())
        session.add(org)
        await session.flush()
    return org


async def find_project(session: AsyncSession, org_id: int, name: str) -> Project | None:
    return await session.scalar(
        select(Project).where(Project.org_id == org_id, Project.name_key == name_key(name))
    )


async def find_person_by_email(session: AsyncSession, org_id: int, email: str) -> Person | None:
    return await session.scalar(
        select(Person)
        .where(Person.org_id == org_id, func.lower(Person.email) == email.strip().lower())
        .order_by(Person.id)
        .limit(1)
    )


async def find_person_by_identity(
    session: AsyncSession, org_id: int, platform: str, external_id: str
) -> Person | None:
    return await session.scalar(
        select(Person)
        .join(Identity, Identity.person_id == Person.id)
        .where(
            Identity.org_id == org_id,
            Identity.platform == platform,
            Identity.external_id == external_id,
        )
    )


async def find_person_by_external_id(session: AsyncSession, org_id: int, external_id: str) -> Person | None:
    """A platform user id on whichever platform it belongs to (ids do not collide in practice)."""
    return await session.scalar(
        select(Person)
        .join(Identity, Identity.person_id == Person.id)
        .where(Identity.org_id == org_id, Identity.external_id == external_id)
        .order_by(Person.id)
        .limit(1)
    )


async def add_person(
    session: AsyncSession,
    org_id: int,
    name: str,
    *,
    email: str | None = None,
    role: str = "member",
    tz: str | None = None,
) -> Person:
    person = Person(
        org_id=org_id,
        name=name,
        email=email.strip().lower() if email else None,
        role=role,
        tz=tz,
        unreachable=False,
        created_at=utcnow(),
    )
    session.add(person)
    await session.flush()
    return person


async def add_identity(
    session: AsyncSession, person: Person, platform: str, external_id: str, address: dict | None = None
) -> Identity:
    identity = Identity(
        org_id=person.org_id,
        person_id=person.id,
        platform=platform,
        external_id=external_id,
        address=address,
        refreshed_at=utcnow(),
    )
    session.add(identity)
    await session.flush()
    return identity


async def identities_of(session: AsyncSession, person_id: int) -> list[Identity]:
    return list(await session.scalars(select(Identity).where(Identity.person_id == person_id)))


async def sponsored_projects(session: AsyncSession, person_id: int) -> list[Project]:
    return list(
        await session.scalars(select(Project).where(Project.sponsor_id == person_id).order_by(Project.name))
    )
