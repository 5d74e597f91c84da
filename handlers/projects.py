"""Projects: each has a sponsor and the schedule on which the sponsor is asked how it tastes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.views import View, error, info
from storage.db import utcnow
from storage.models import Person, Project
from storage.queries import find_project, name_key

DAY_NAMES = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday",
             "sat": "Saturday", "sun": "Sunday"}  # fmt: skip


async def add(
    session: AsyncSession, org_id: int, name: str, sponsor: Person, options: dict[str, Any]
) -> View:
    existing = await find_project(session, org_id, name)
    if existing is not None:
        state = " (archived)" if existing.archived else ""
        return error(f"A project named '{existing.name}'{state} already exists.")
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
    return info(f"Project '{project.name}' added, sponsored by {sponsor.name}.", schedule_text(project))


def schedule_text(project: Project) -> str:
    if project.cadence == "off":
        taste = "No scheduled taste check-ins"
    else:
        taste = f"Taste check-ins {project.cadence} on {DAY_NAMES[project.day]} at {project.time}"
    ask = "no pain-point prompts" if project.ask == "off" else f"pain-point prompts {project.ask}"
    return f"{taste} (sponsor's time zone); {ask}."


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
        return info("No projects yet. Add one with: project add NAME sponsor:PERSON")
    lines = [
        f"{project.name}{' (archived)' if project.archived else ''} · sponsor {sponsor}"
        f"{' · ' + project.segment if project.segment else ''} · "
        + ("off" if project.cadence == "off" else f"{project.cadence} {project.day} {project.time}")
        for project, sponsor in rows
    ]
    return View(title=f"Projects ({len(rows)})", lines=tuple(lines))


async def archive(session: AsyncSession, project: Project) -> View:
    if project.archived:
        return error(f"'{project.name}' is already archived.")
    project.archived = True
    return info(f"'{project.name}' is archived: no more check-ins. Its figures stay in every report.")
