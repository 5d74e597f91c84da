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
        return Reply(error("Please say what keeps you up at night; nothing was saved."))
    if len(body) > 3000:
        return Reply(error("That is longer than 3,000 characters; nothing was saved."))
    level = _impact(impact)
    if level is None:
        return Reply(
            error("Impact is a number from 1 (minor) to 5 (keeps me up at night); nothing was saved.")
        )
    try:
        checkin = await load_for_answer(session, person, checkin_id, KIND_PAINPOINT)
    except Refused as exc:
        return Reply(error(str(exc)))
    point, project, outbox = await _record(session, person, checkin, body, level, policy)
    return Reply(info(f"Thank you. Pain point #{point.id} on {project.name} is with the PMO."), outbox)


async def report_by_reply(session: AsyncSession, person: Person, text: str, policy: Policy) -> Reply | None:
    """A plain DM reply while a pain-point prompt is open; None when no prompt is open."""
    body = _clean_text(text)
    if not body:
        return None
    checkin = await open_painpoint_prompt(session, person, utcnow())
    if checkin is None:
        return None
    if len(body) > 3000:
        return Reply(error("That is longer than 3,000 characters; nothing was saved."))
    point, project, outbox = await _record(session, person, checkin, body, DEFAULT_IMPACT, policy)
    return Reply(
        info(
            f"Thank you. Pain point #{point.id} on {project.name} is with the PMO "
            f"(impact {DEFAULT_IMPACT} of 5; use the form on the prompt to say how much it hurts)."
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
        return error(f"There is no pain point #{point_id}. Type 'painpoints all' to see them.")
    point.metric = metric
    point.baseline = baseline
    if better:
        point.better = better
    data = painpoint_payload(
        session, point, "measure", by, metric=metric, baseline=baseline, better=point.better
    )
    await record_event(session, org_id, PAINPOINT_UPDATED, data, painpoint_key(point))
    return info(
        f"Pain point #{point.id} will be measured by {metric}: baseline {number(baseline)}, {point.better} is better."
    )


async def resolve(
    session: AsyncSession, org_id: int, point_id: int, after: float | None, fix: str | None = None
) -> View:
    point = await get_point(session, org_id, point_id)
    if point is None:
        return error(f"There is no pain point #{point_id}. Type 'painpoints all' to see them.")
    if point.status == "resolved" and after is None and fix is None:
        return error(f"Pain point #{point.id} is already resolved.")
    if after is not None and point.baseline is None:
        return error(
            f"Pain point #{point.id} has no measure yet; attach one first.",
            'painpoint ID metric:"NAME" baseline:N [better:lower|higher]',
        )
    if point.status != "resolved":
        point.status = "resolved"
        point.resolved_at = utcnow()
    if after is not None:
        point.after = after
    text = f"Pain point #{point.id} is resolved."
    if fix is not None:
        text += f" Fix: {fix}."
    if point.after is not None and point.baseline not in (None, 0):
        assert point.baseline is not None
        change = (point.baseline - point.after) if point.better == "lower" else (point.after - point.baseline)
        text += f" {point.metric}: {number(point.baseline)} → {number(point.after)} ({100 * change / abs(point.baseline):+.1f}%)."
    return info(text)


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
    scope = f" on {project.name}" if project else ""
    if not rows:
        return info(f"No {'' if status == 'all' else status + ' '}pain points{scope}.")
    lines = []
    for point, project_name in rows:
        measure = f" · {point.metric}: {number(point.baseline)}" if point.metric else ""
        if point.after is not None:
            measure += f" → {number(point.after)}"
        lines.append(
            f"#{point.id} [{point.status}] {project_name} · impact {point.impact} · "
            f"{point.reported_at:%Y-%m-%d}{measure}\n    {point.text}"
        )
    return View(title=f"Pain points ({status}){scope}", lines=tuple(lines))
