"""A person's home page (Slack's App Home tab): what matters to them, by role, as neutral views.

Channels without a home surface show it as one message (`as_one`, the `home` command).
Staff see the organisation's value summary, the pain points they own (as `painpoints mine`),
the open pain points and the recent sour tastes;
a sponsor sees their projects, their last answers and a pause/resume button; anyone else the
organisation's summary and the commands they may run. Nothing is changed here: the buttons
are `/pmo` commands (`COMMAND` choices) that go through `run_command` with its role checks.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.commands.help import help_view
from handlers.i18n import Cat, Day, _
from handlers.languages import language_of
from handlers.painpoints import loop
from handlers.people import FOREVER, UNKNOWN_CALLER, caller_person, is_paused, is_staff
from handlers.ports import Caller, Services
from handlers.projects import schedule_text
from handlers.tastes import SOUR, taste_label
from handlers.value.report import compute_value
from handlers.value.view import value_view
from handlers.views import Choice, View, error, localize
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
            return (localize(error(UNKNOWN_CALLER), services.policy.language),)
        language = await language_of(session, person.id, services.policy.language)
        sections = await sections_for(session, services, caller.org_id, person)
    shown = (notice, *sections) if notice is not None else sections
    return tuple(localize(section, language) for section in shown)


async def sections_for(
    session: AsyncSession, services: Services, org_id: int, person: Person
) -> tuple[View, ...]:
    """What matters to this person, by role, section by section (Slack's App Home shows each);
    in lazy texts, translated by the caller for the reader."""
    staff = is_staff(person)
    own = [p for p in await sponsored_projects(session, person.id) if not p.archived]
    sections: list[View] = []
    if staff:
        mine = await loop.owned(session, person)
        sections += [
            await _summary(session, services, org_id),
            *([mine] if mine is not None else []),
            await _open_painpoints(session, org_id),
            await _sour_tastes(session, org_id, _today(services)),
        ]
    if own:
        sections += [_projects(person, own, _today(services)), await _answers(session, person)]
    if not staff and not own:
        sections.append(await _summary(session, services, org_id))
        sections.append(View(title=_("What you can ask"), lines=(await help_view(session, person)).lines))
    else:
        sections.append(View(text=_("Type `/pmo help` for every command you may run.")))
    return tuple(sections)


def as_one(sections: tuple[View, ...]) -> View:
    """The home page as one message, for channels without a home surface (Teams, the console,
    `/pmo home`): each section's title in bold, then its text, figures and lines; every button."""
    lines: list[Any] = []
    for section in sections:
        if section.title:
            lines.append(Cat("*", section.title, "*"))
        if section.text:
            lines.append(section.text)
        lines += [Cat(fact.label, ": ", fact.value) for fact in section.facts]
        lines += section.lines
    choices = tuple(choice for section in sections for choice in section.choices)
    return View(title=_("Your home"), lines=tuple(lines), choices=choices)


async def _summary(session: AsyncSession, services: Services, org_id: int) -> View:
    report = await compute_value(session, org_id, today=_today(services), currency=services.policy.currency)
    return value_view(report, chart=False)


def _alert_line(head: str, followed_up: bool, text: str | None) -> str:
    """One line of a staff list of alerts (pain points, sour tastes): what, whether someone took it,
    and the words."""
    return Cat(head, Cat(" · ", _("followed up")) if followed_up else "", _quote(text))


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
            Cat(
                f"#{point.id} · {name} · ",
                _("impact %(impact)s", impact=point.impact),
                " · ",
                Day(point.reported_at.date()),
            ),
            point.followed_up_by is not None,
            point.text,
        )
        for point, name in rows
    )
    return View(title=_("Open pain points"), lines=lines or (_("None open. 🎉"),))


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
            Cat(taste_label(checkin.rating), f" · {project} · {sponsor} · ", Day(checkin.answered_at.date())),
            checkin.followed_up_by is not None,
            checkin.comment,
        )
        for checkin, project, sponsor in rows
    )
    return View(title=_("Sour tastes, last %(n)s days", n=SOUR_DAYS), lines=lines or (_("None. 😋"),))


def _projects(person: Person, projects: list[Project], today: dt.date) -> View:
    lines = tuple(Cat(f"{p.name}: ", schedule_text(p)) for p in projects)
    if is_paused(person, today):
        assert person.paused_until is not None
        paused = (
            _("⏸ Your check-ins are paused until you resume.")
            if person.paused_until == FOREVER
            else _("⏸ Your check-ins are paused until %(until)s.", until=Day(person.paused_until))
        )
        return View(
            title=_("Your projects"),
            text=paused,
            lines=lines,
            choices=(command_choice(_("Resume check-ins"), "resume", "primary"),),
        )
    return View(
        title=_("Your projects"),
        text=_("Check-ins come on schedule. Away for a while? Pause them."),
        lines=lines,
        choices=(command_choice(_("Pause check-ins"), "pause"),),
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
        Cat(taste_label(c.rating), f" · {name} · ", Day(c.answered_at.date()), _quote(c.comment))
        for c, name in rows
    )
    return View(title=_("Your last answers"), lines=lines or (_("No answers yet."),))
