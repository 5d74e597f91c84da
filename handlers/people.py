"""People and roles: who someone is on each platform, and what they may do."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import _
from handlers.ports import Caller, Directory, PersonRef
from storage.db import utcnow
from storage.models import Identity, Person, Project
from storage.queries import (
    add_person,
    find_person_by_email,
    find_person_by_external_id,
    find_person_by_identity,
    insert_new,
)

FOREVER = dt.date(9999, 12, 31)
UNKNOWN_CALLER = _("I don't know you yet; say hello to the bot first.")


async def caller_person(session: AsyncSession, caller: Caller) -> Person | None:
    """The person behind `caller`; None when the bot has not met them in the caller's organisation."""
    person = await session.get(Person, caller.person_id)
    return person if person is not None and person.org_id == caller.org_id else None


def is_staff(person: Person) -> bool:
    return person.role in ("staff", "admin")


def is_admin(person: Person) -> bool:
    return person.role == "admin"


async def is_sponsor(session: AsyncSession, person: Person, project: Project | None = None) -> bool:
    """The sponsor of this project, or of any project when none is given."""
    if project is not None:
        return project.sponsor_id == person.id
    found = await session.scalar(select(Project.id).where(Project.sponsor_id == person.id).limit(1))
    return found is not None


async def identify(
    session: AsyncSession,
    org_id: int,
    platform: str,
    external_id: str,
    *,
    name: str | None = None,
    email: str | None = None,
    tz: str | None = None,
    admins: frozenset[str] = frozenset(),
) -> Person:
    """The person behind a platform account, created on first contact.

    A person already known by e-mail (from an import or another platform) gains this identity,
    so someone on both Slack and Teams is one person. PMO_ADMINS are admins from the start.

    Two requests may meet the same new account at the same moment (two `project add` naming
    one new sponsor): the identity is inserted with ON CONFLICT DO NOTHING, and the one that
    finds it taken drops the person it had just made and takes the other's.
    """
    person = await find_person_by_identity(session, org_id, platform, external_id)
    if person is None:
        person = await find_person_by_email(session, org_id, email) if email else None
        created = person is None
        if person is None:
            person = await add_person(session, org_id, name or external_id, email=email, tz=tz)
        identity_id = await insert_new(
            session,
            Identity,
            {
                "org_id": org_id,
                "person_id": person.id,
                "platform": platform,
                "external_id": external_id,
                "refreshed_at": utcnow(),
            },
        )
        if identity_id is None:  # created by another request since we looked: theirs wins
            if created:
                await session.delete(person)
                await session.flush()
            person = await find_person_by_identity(session, org_id, platform, external_id)
            assert person is not None, "an identity that was there a moment ago is gone"
    else:
        if name and person.name == external_id:
            person.name = name
        if email and not person.email:
            person.email = email.lower()
        if tz:
            person.tz = tz
    if external_id in admins and person.role != "admin":
        person.role = "admin"
    return person


async def bootstrap_admins(session: AsyncSession, org_id: int, admins: frozenset[str]) -> None:
    """Make every already-known PMO_ADMINS account an admin (new ones become admin in `identify`)."""
    if not admins:
        return
    people = await session.scalars(
        select(Person)
        .join(Identity, Identity.person_id == Person.id)
        .where(Identity.org_id == org_id, Identity.external_id.in_(admins))
    )
    for person in people:
        person.role = "admin"


async def resolve_person(
    session: AsyncSession, org_id: int, ref: PersonRef, directory: Directory
) -> Person | None:
    """A person from a mention or an e-mail: known here first, else asked of the platform."""
    if ref.user_id:
        person = await find_person_by_external_id(session, org_id, ref.user_id)
    else:
        person = await find_person_by_email(session, org_id, ref.email or "")
    return person or await directory.resolve(session, org_id, ref)


def display(person: Person) -> str:
    return (
        person.name if not person.email or person.name == person.email else f"{person.name} <{person.email}>"
    )


def is_paused(person: Person, today: dt.date) -> bool:
    """Paused sponsors get nothing before `paused_until`; check-ins resume on that date."""
    return person.paused_until is not None and today < person.paused_until
