"""A person's home page (Slack's App Home tab): what matters to them, by role, as neutral views.

Staff see the organisation's value summary, the pain points they own (as `painpoints mine`),
the open pain points and the recent sour tastes;
a sponsor sees their projects, their last answers and a pause/resume button; anyone else the
organisation's summary and the commands they may run. Nothing is changed here: the buttons
are `/pmo` commands (`COMMAND` choices) that go through `run_command` with its role checks.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.commands.run import run_command
from handlers.painpoints import loop
from handlers.people import FOREVER, UNKNOWN_CALLER, caller_person, is_paused, is_staff
from handlers.ports import Caller, Services
from handlers.projects import schedule_text
from handlers.tastes import SOUR, taste_label
from handlers.value.report import compute_value
from handlers.value.view import value_view
from handlers.views import Choice, View, error
from storage.models import KIND_TASTE, Checkin, PainPoint, Person, Project
from storage.queries import sponsored_projects

COMMAND = "command"  # a button that runs the `/pmo` command in its payload's "command"
LIST_LIMIT = 10
SOUR_DAYS = 30


def command_choice(label: str, command: str, style: str | None = None) -> Choice:
    return Choice(action=COMMAND, label=label, payload={"command": command}, style=style)


def _today(services: Services) -> dt.date:
    return services.today or dt.datetime.now(dt.UTC).date()


def _quote(text: str | None, limit: int = 200) -> str:
    if not text:
        return ""
    text = " ".join(text.split())
    return f" — “{text if len(text) <= limit else text[: limit - 1] + '…'}”"


async def home(services: Services, caller: Caller, notice: View | None = None) -> tuple[View, ...]:
    """The sections of the person's home page, first the `notice` (the result of a button) if any."""
    async with services.db.transaction() as session:
        person = await caller_person(session, caller)
        if person is None:
            return (error(UNKNOWN_CALLER),)
        staff = is_staff(person)
        own = [p for p in await sponsored_projects(session, person.id) if not p.archived]
        sections: list[View] = [notice] if notice is not None else []
        if staff:
            mine = await loop.owned(session, person)
            sections += [
                await _summary(session, services, caller.org_id),
                *([mine] if mine is not None else []),
                await _open_painpoints(session, caller.org_id),
                await _sour_tastes(session, caller.org_id, _today(services)),
            ]
        if own:
            sections += [_projects(person, own, _today(services)), await _answers(session, person)]
        if not staff and not own:
            sections.append(await _summary(session, services, caller.org_id))
    if not staff and not own:
        help_view = await run_command(services, caller, "help")
        sections.append(View(title="What you can ask", lines=help_view.lines))
    else:
        sections.append(View(text="Type `/pmo help` for every command you may run."))
    return tuple(sections)


async def _summary(session: AsyncSession, services: Services, org_id: int) -> View:
    report = await compute_value(session, org_id, today=_today(services), currency=services.policy.currency)
    return value_view(report, chart=False)


def _alert_line(head: str, followed_up: bool, text: str | None) -> str:
    """One line of a staff list of alerts (pain points, sour tastes): what, whether someone took it,
    and the words."""
    return head + (" · followed up" if followed_up else "") + _quote(text)


async def _open_painpoints(session: AsyncSession, org_id: int) -> View:
    rows = await session.execute(
        select(PainPoint, Project.name)
        .join(Project, Project.id == PainPoint.project_id)
        .where(PainPoint.org_id == org_id, PainPoint.status == "open")
        .order_by(PainPoint.impact.desc(), PainPoint.reported_at.desc(), PainPoint.id.desc())
        .limit(LIST_LIMIT)
    )
    lines = tuple(
        _alert_line(
            f"#{point.id} · {name} · impact {point.impact} · {point.reported_at:%Y-%m-%d}",
            point.followed_up_by is not None,
            point.text,
        )
        for point, name in rows
    )
    return View(title="Open pain points", lines=lines or ("None open. 🎉",))


async def _sour_tastes(session: AsyncSession, org_id: int, today: dt.date) -> View:
    since = dt.datetime.combine(today - dt.timedelta(days=SOUR_DAYS), dt.time())
    rows = await session.execute(
        select(Checkin, Project.name, Person.name)
        .join(Project, Project.id == Checkin.project_id)
        .join(Person, Person.id == Checkin.sponsor_id)
        .where(
            Checkin.org_id == org_id,
            Checkin.kind == KIND_TASTE,
            Checkin.rating <= SOUR,
            Checkin.answered_at >= since,
        )
        .order_by(Checkin.answered_at.desc(), Checkin.id.desc())
        .limit(LIST_LIMIT)
    )
    lines = tuple(
        _alert_line(
            f"{taste_label(checkin.rating)} · {project} · {sponsor} · {checkin.answered_at:%Y-%m-%d}",
            checkin.followed_up_by is not None,
            checkin.comment,
        )
        for checkin, project, sponsor in rows
    )
    return View(title=f"Sour tastes, last {SOUR_DAYS} days", lines=lines or ("None. 😋",))


def _projects(person: Person, projects: list[Project], today: dt.date) -> View:
    lines = tuple(f"{p.name}: {schedule_text(p)}" for p in projects)
    if is_paused(person, today):
        until = "you resume" if person.paused_until == FOREVER else str(person.paused_until)
        return View(
            title="Your projects",
            text=f"⏸ Your check-ins are paused until {until}.",
            lines=lines,
            choices=(command_choice("Resume check-ins", "resume", "primary"),),
        )
    return View(
        title="Your projects",
        text="Check-ins come on schedule. Away for a while? Pause them.",
        lines=lines,
        choices=(command_choice("Pause check-ins", "pause"),),
    )


async def _answers(session: AsyncSession, person: Person) -> View:
    rows = (
        await session.execute(
            select(Checkin, Project.name)
            .join(Project, Project.id == Checkin.project_id)
            .where(Checkin.sponsor_id == person.id, Checkin.kind == KIND_TASTE, Checkin.rating.is_not(None))
            .order_by(Checkin.answered_at.desc(), Checkin.id.desc())
            .limit(5)
        )
    ).all()
    lines = tuple(
        f"{taste_label(c.rating)} · {name} · {c.answered_at:%Y-%m-%d}{_quote(c.comment)}" for c, name in rows
    )
    return View(title="Your last answers", lines=lines or ("No answers yet.",))
