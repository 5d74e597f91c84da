"""Whether the bot can still reach a person, and telling the PMO once when it cannot.

A platform that learns a person blocked or removed the bot (Teams answers 403, or sends an
uninstall) marks them unreachable. The first time only, the PMO hears it where alerts go, so
that someone can ask the sponsor to add the bot again; installing it again makes them reachable.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.alerts import route
from handlers.i18n import _
from handlers.ports import Outgoing, Policy
from handlers.views import Fact, View
from storage.models import Organisation, Person, Project


async def mark_unreachable(
    session: AsyncSession, person_id: int, platform: str, why: str, fix: str, policy: Policy
) -> list[Outgoing]:
    """Mark the person unreachable; the staff alert to send, or nothing when they already knew."""
    changed = await session.execute(
        update(Person).where(Person.id == person_id, Person.unreachable.is_(False)).values(unreachable=True)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        return []
    person = await session.get(Person, person_id)
    org = await session.get(Organisation, person.org_id) if person else None
    if person is None or org is None:
        return []
    await session.refresh(person)
    projects = list(
        await session.scalars(
            select(Project.name).where(Project.sponsor_id == person.id, Project.archived.is_(False))
        )
    )
    facts = [Fact(_("Person"), person.name), Fact(_("Where"), platform.title()), Fact(_("Why"), why)]
    if projects:
        facts.append(Fact(_("Sponsor of"), ", ".join(sorted(projects))))
    view = View(
        title=_(
            "⚠️ %(name)s can no longer be reached on %(platform)s", name=person.name, platform=platform.title()
        ),
        text=_("Their check-ins cannot be delivered until they fix it: %(fix)s", fix=fix),
        facts=tuple(facts),
    )
    return [o for o in await route(session, org, policy, view) if o.person_id != person.id]


async def mark_reachable(session: AsyncSession, person: Person) -> bool:
    """They can be reached again (they added the bot back); True when that is news."""
    if not person.unreachable:
        return False
    person.unreachable = False
    return True
