"""Who may run which command, and the help that lists a person's own commands.

Apart from `run.py` so that other use cases (the home page) can show the help without importing
the command runner, which itself shows the home page (`home`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.commands.parser import SPECS, Spec
from handlers.i18n import Cat, _
from handlers.people import is_admin, is_sponsor, is_staff
from handlers.views import View
from storage.models import Person


async def may_run(session: AsyncSession, person: Person, spec: Spec) -> bool:
    if spec.role == "anyone":
        return True
    if spec.role == "staff":
        return is_staff(person)
    if spec.role == "admin":
        return is_admin(person)
    if spec.role == "staff|sponsor" and is_staff(person):
        return True
    return await is_sponsor(session, person)


async def help_view(session: AsyncSession, person: Person) -> View:
    """Every command this person may run, with its usage line and what it does."""
    lines = [
        Cat(f"/pmo {spec.usage}\n    ", spec.summary)
        for spec in SPECS
        if await may_run(session, person, spec)
    ]
    return View(title=_("What you can ask the PMO bot"), lines=tuple(lines))
