"""Projects: each has a sponsor and the schedule on which the sponsor is asked how it tastes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import Cat, _
from handlers.views import View, error, info
from storage.db import utcnow
from storage.models import Person, Project
from storage.queries import find_project, name_key

DAY_NAMES = {"mon": _("Monday"), "tue": _("Tuesday"), "wed": _("Wednesday"), "thu": _("Thursday"),
             "fri": _("Friday"), "sat": _("Saturday"), "sun": _("Sunday")}  # fmt: skip
CADENCE_WORDS = {"weekly": _("weekly"), "biweekly": _("biweekly"), "monthly": _("monthly"),
                 "quarterly": _("quarterly")}  # fmt: skip


async def add(
    session: AsyncSession, org_id: int, name: str, sponsor: Person, options: dict[str, Any]
) -> View:
    existing = await find_project(session, org_id, name)
    if existing is not None:
        return error(
            _("A project named '%(name)s' (archived) already exists.", name=existing.name)
            if existing.archived
            else _("A project named '%(name)s' already exists.", name=existing.name)
        )
    project = Project(
        org_id=org_id,
        name=name,
        name_key=name_key(name),
        segment=options.get("segment"),
        sponsor_id=sponsor.id,
        cadence=options.get("cadence", "biweekly"),
        day=options.get("day", "tue"),
        time=options.get("time", "10:00"),
        ask=options.get("ask", "monthly"),
        archived=False,
        created_at=utcnow(),
    )
    session.add(project)
    await session.flush()
    return info(
        _("Project '%(name)s' added, sponsored by %(sponsor)s.", name=project.name, sponsor=sponsor.name),
        schedule_text(project),
    )


def schedule_text(project: Project) -> str:
    if project.cadence == "off":
        taste = _("No scheduled taste check-ins")
    else:
        taste = _(
            "Taste check-ins %(cadence)s on %(day)s at %(time)s",
            cadence=CADENCE_WORDS.get(project.cadence, project.cadence),
            day=DAY_NAMES[project.day],
            time=project.time,
        )
    ask = (
        _("no pain-point prompts")
        if project.ask == "off"
        else _("pain-point prompts %(ask)s", ask=CADENCE_WORDS.get(project.ask, project.ask))
    )
    return _("%(taste)s (sponsor's time zone); %(ask)s.", taste=taste, ask=ask)


async def listing(session: AsyncSession, org_id: int) -> View:
    rows = (
        await session.execute(
            select(Project, Person.name)
            .join(Person, Person.id == Project.sponsor_id)
            .where(Project.org_id == org_id)
            .order_by(Project.archived, Project.name_key)
        )
    ).all()
    if not rows:
        return info(_("No projects yet. Add one with: project add NAME sponsor:PERSON"))
    lines = [
        Cat(
            project.name,
            Cat(" ", _("(archived)")) if project.archived else "",
            " · ",
            _("sponsor %(name)s", name=sponsor),
            f" · {project.segment}" if project.segment else "",
            " · ",
            "off" if project.cadence == "off" else f"{project.cadence} {project.day} {project.time}",
        )
        for project, sponsor in rows
    ]
    return View(title=_("Projects (%(n)s)", n=len(rows)), lines=tuple(lines))


async def archive(session: AsyncSession, project: Project) -> View:
    if project.archived:
        return error(_("'%(name)s' is already archived.", name=project.name))
    project.archived = True
    return info(
        _("'%(name)s' is archived: no more check-ins. Its figures stay in every report.", name=project.name)
    )
