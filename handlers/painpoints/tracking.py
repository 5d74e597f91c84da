"""Pain points: reported by sponsors, tracked by staff until fixed with a before/after measure."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import alerts
from handlers.checkins.lifecycle import (
    Refused,
    load_for_answer,
    open_painpoint_prompt,
    question_for,
    refs_updates,
)
from handlers.i18n import Cat, Day, _
from handlers.painpoints.loop import not_found
from handlers.painpoints.views import measure_text, status_word, story_choice
from handlers.ports import Outgoing, Policy, Reply
from handlers.views import View, error, info, number
from handlers.webhooks.events import (
    PAINPOINT_REPORTED,
    PAINPOINT_UPDATED,
    painpoint_key,
    painpoint_payload,
    record_event,
)
from storage.db import utcnow
from storage.models import KIND_PAINPOINT, Checkin, Organisation, PainPoint, Person, Project

PAINFUL = 4  # impact at or above this is announced
DEFAULT_IMPACT = 3  # a plain text reply carries no impact; assume the middle
STORY_BUTTONS = 10  # "Story" buttons under a listing: the newest resolved pain points shown


def _impact(value: Any) -> int | None:
    try:
        impact = int(str(value).strip())
    except ValueError:
        return None
    return impact if 1 <= impact <= 5 else None


async def _record(
    session: AsyncSession, person: Person, checkin: Checkin, text: str, impact: int, policy: Policy
) -> tuple[PainPoint, Project, list[Outgoing]]:
    now = utcnow()
    point = PainPoint(
        org_id=checkin.org_id,
        project_id=checkin.project_id,
        checkin_id=checkin.id,
        reported_by=person.id,
        reported_at=now,
        text=text,
        impact=impact,
        status="open",
        better="lower",
    )
    session.add(point)
    checkin.answered_at = checkin.answered_at or now
    checkin.status = "answered"
    await session.flush()
    project = await session.get(Project, checkin.project_id)
    assert project is not None
    outbox = refs_updates(checkin, question_for(checkin, project.name))
    if impact >= PAINFUL:
        org = await session.get(Organisation, checkin.org_id)
        assert org is not None
        outbox += await alerts.painful(session, org, policy, point, project, person)
    data = painpoint_payload(session, point, "reported", person, checkin=checkin.id)
    await record_event(session, point.org_id, PAINPOINT_REPORTED, data, painpoint_key(point))
    return point, project, outbox


def _clean_text(text: Any) -> str:
    return " ".join(str(text or "").replace("\x00", "").split())  # PostgreSQL text holds no NUL


async def report(
    session: AsyncSession, person: Person, checkin_id: Any, text: Any, impact: Any, policy: Policy
) -> Reply:
    """The pain-point form was sent: record it against the prompt's project."""
    body = _clean_text(text)
    if not body:
        return Reply(error(_("Please say what keeps you up at night; nothing was saved.")))
    if len(body) > 3000:
        return Reply(error(_("That is longer than 3,000 characters; nothing was saved.")))
    level = _impact(impact)
    if level is None:
        return Reply(
            error(_("Impact is a number from 1 (minor) to 5 (keeps me up at night); nothing was saved."))
        )
    try:
        checkin = await load_for_answer(session, person, checkin_id, KIND_PAINPOINT)
    except Refused as exc:
        return Reply(error(exc.args[0]))
    point, project, outbox = await _record(session, person, checkin, body, level, policy)
    return Reply(
        info(
            _(
                "Thank you. Pain point #%(id)s on %(project)s is with the PMO.",
                id=point.id,
                project=project.name,
            )
        ),
        outbox,
    )


async def report_by_reply(session: AsyncSession, person: Person, text: str, policy: Policy) -> Reply | None:
    """A plain DM reply while a pain-point prompt is open; None when no prompt is open."""
    body = _clean_text(text)
    if not body:
        return None
    checkin = await open_painpoint_prompt(session, person, utcnow())
    if checkin is None:
        return None
    if len(body) > 3000:
        return Reply(error(_("That is longer than 3,000 characters; nothing was saved.")))
    point, project, outbox = await _record(session, person, checkin, body, DEFAULT_IMPACT, policy)
    return Reply(
        info(
            _(
                "Thank you. Pain point #%(id)s on %(project)s is with the PMO "
                "(impact %(impact)s of 5; use the form on the prompt to say how much it hurts).",
                id=point.id,
                project=project.name,
                impact=DEFAULT_IMPACT,
            )
        ),
        outbox,
    )


async def get_point(session: AsyncSession, org_id: int, point_id: int) -> PainPoint | None:
    point = await session.get(PainPoint, point_id)
    return point if point is not None and point.org_id == org_id else None


async def attach_measure(
    session: AsyncSession,
    org_id: int,
    point_id: int,
    metric: str,
    baseline: float,
    better: str | None,
    by: Person | None = None,
) -> View:
    point = await get_point(session, org_id, point_id)
    if point is None:
        return error(not_found(point_id))
    point.metric = metric
    point.baseline = baseline
    if better:
        point.better = better
    data = painpoint_payload(
        session, point, "measure", by, metric=metric, baseline=baseline, better=point.better
    )
    await record_event(session, org_id, PAINPOINT_UPDATED, data, painpoint_key(point))
    return info(
        _(
            "Pain point #%(id)s will be measured by %(metric)s: baseline %(baseline)s, lower is better.",
            id=point.id,
            metric=metric,
            baseline=number(baseline),
        )
        if point.better == "lower"
        else _(
            "Pain point #%(id)s will be measured by %(metric)s: baseline %(baseline)s, higher is better.",
            id=point.id,
            metric=metric,
            baseline=number(baseline),
        )
    )


async def resolve(
    session: AsyncSession, org_id: int, point_id: int, after: float | None, fix: str | None = None
) -> View:
    point = await get_point(session, org_id, point_id)
    if point is None:
        return error(not_found(point_id))
    if point.status == "resolved" and after is None and fix is None:
        return error(_("Pain point #%(id)s is already resolved.", id=point.id))
    if after is not None and point.baseline is None:
        return error(
            _("Pain point #%(id)s has no measure yet; attach one first.", id=point.id),
            'painpoint ID metric:"NAME" baseline:N [better:lower|higher]',
        )
    if point.status != "resolved":
        point.status = "resolved"
        point.resolved_at = utcnow()
    if after is not None:
        point.after = after
    parts: list[str] = [_("Pain point #%(id)s is resolved.", id=point.id)]
    if fix is not None:
        parts.append(_("Fix: %(fix)s.", fix=fix))
    measure = measure_text(point) if point.baseline != 0 else None
    if measure is not None:
        parts.append(Cat(measure, "."))
    return info(Cat(*parts, sep=" "))


async def listing(session: AsyncSession, org_id: int, status: str, project: Project | None) -> View:
    query = (
        select(PainPoint, Project.name)
        .join(Project, Project.id == PainPoint.project_id)
        .where(PainPoint.org_id == org_id)
    )
    if status != "all":
        query = query.where(PainPoint.status == status)
    if project is not None:
        query = query.where(PainPoint.project_id == project.id)
    rows = (await session.execute(query.order_by(PainPoint.id.desc()).limit(50))).all()
    if not rows:
        return info(_none_listed(status, project))
    lines = []
    for point, project_name in rows:
        measure: str = Cat(" · ", point.metric, ": ", number(point.baseline)) if point.metric else ""
        if point.after is not None:
            measure = Cat(measure, " → ", number(point.after))
        lines.append(
            Cat(
                f"#{point.id} [",
                status_word(point.status),
                f"] {project_name} · ",
                _("impact %(impact)s", impact=point.impact),
                " · ",
                Day(point.reported_at.date()),
                measure,
                f"\n    {point.text}",
            )
        )
    word = _("all") if status == "all" else status_word(status)
    title = (
        _("Pain points (%(status)s) on %(project)s", status=word, project=project.name)
        if project
        else _("Pain points (%(status)s)", status=word)
    )
    resolved = [story_choice(point.id) for point, _name in rows if point.status == "resolved"]
    return View(title=title, lines=tuple(lines), choices=tuple(resolved[:STORY_BUTTONS]))


def _none_listed(status: str, project: Project | None) -> str:
    if project is None:
        return {
            "open": _("No open pain points."),
            "resolved": _("No resolved pain points."),
            "in_progress": _("No pain points in progress."),
        }.get(status, _("No pain points."))
    name = project.name
    return {
        "open": _("No open pain points on %(project)s.", project=name),
        "resolved": _("No resolved pain points on %(project)s.", project=name),
        "in_progress": _("No pain points in progress on %(project)s.", project=name),
    }.get(status, _("No pain points on %(project)s.", project=name))
