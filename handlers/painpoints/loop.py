"""Closing the loop on a pain point: an owner, notes, a fix the sponsor hears of and confirms.

Every change is a `PainPointEvent` (who, what, when). Resolving tells the reporter "You said, we
did" (handlers/painpoints/views.py); their ✅ Fixed confirms it, their ❌ Not yet reopens it and
tells the owner and the alert channel. Only the reporter may answer; a forged button of someone
else's pain point is refused and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import alerts
from handlers.i18n import Cat, Day, _
from handlers.ids import as_id
from handlers.painpoints import views
from handlers.painpoints.views import status_word
from handlers.people import is_staff
from handlers.ports import Outgoing, Policy, Reply
from handlers.text import said
from handlers.views import View, error, info
from handlers.webhooks.events import (
    PAINPOINT_CONFIRMED,
    PAINPOINT_REOPENED,
    PAINPOINT_RESOLVED,
    PAINPOINT_UPDATED,
    painpoint_key,
    painpoint_payload,
    record_event,
)
from storage.db import utcnow
from storage.models import Organisation, PainPoint, PainPointEvent, Person, Project


def not_found(point_id: int) -> str:
    return _("There is no pain point #%(id)s. Type 'painpoints all' to see them.", id=point_id)


def record(
    session: AsyncSession,
    point: PainPoint,
    person_id: int | None,
    kind: str,
    text: str | None = None,
    at: dt.datetime | None = None,
) -> PainPointEvent:
    """Keep one change of the pain point in its history (`at` the clock's time, else now)."""
    event = PainPointEvent(
        org_id=point.org_id,
        painpoint_id=point.id,
        person_id=person_id,
        kind=kind,
        text=text,
        at=at or utcnow(),
    )
    session.add(event)
    return event


async def _point(session: AsyncSession, org_id: int, point_id: Any) -> PainPoint | None:
    point_id = as_id(point_id)
    if point_id is None:
        return None
    point = await session.get(PainPoint, point_id)
    return point if point is not None and point.org_id == org_id else None


async def _project_and_reporter(session: AsyncSession, point: PainPoint) -> tuple[Project, Person]:
    project = await session.get(Project, point.project_id)
    reporter = await session.get(Person, point.reported_by)
    assert project is not None and reporter is not None
    return project, reporter


def _refs(point: PainPoint, key: str) -> dict[str, Any]:
    found = (point.message_refs or {}).get(key)
    return found if isinstance(found, dict) else {}


# ---- staff: owner, note, resolve ----------------------------------------------------------------


async def assign(
    session: AsyncSession, actor: Person, point_id: int, owner: Person, due: dt.date | None
) -> Reply:
    """Give the pain point an owner from staff (status in_progress); the owner is told by DM."""
    point = await _point(session, actor.org_id, point_id)
    if point is None:
        return Reply(error(not_found(point_id)))
    if not is_staff(owner):
        return Reply(
            error(
                _(
                    "%(name)s is not PMO staff; an owner must be. An admin can run 'staff add' first.",
                    name=owner.name,
                )
            )
        )
    if point.status == "resolved":
        return Reply(
            error(_("Pain point #%(id)s is resolved; it needs no owner. Nothing was changed.", id=point.id))
        )
    was = point.status
    point.owner_id = owner.id
    point.due = due
    point.due_reminded_at = None
    point.status = "in_progress"
    when = f", due {due.isoformat()}" if due else ""
    record(session, point, actor.id, "owner", owner.name + when)
    data = painpoint_payload(session, point, "owner", actor, status_was=was)
    await record_event(session, point.org_id, PAINPOINT_UPDATED, data, painpoint_key(point))
    project, reporter = await _project_and_reporter(session, point)
    params = {"id": point.id, "project": project.name, "owner": owner.name}
    if owner.id != actor.id:
        told = (
            _(
                "Pain point #%(id)s on %(project)s is now %(owner)s's, due %(due)s; they were told by direct message.",
                due=Day(due),
                **params,
            )
            if due
            else _(
                "Pain point #%(id)s on %(project)s is now %(owner)s's; they were told by direct message.",
                **params,
            )
        )
    else:
        told = (
            _(
                "Pain point #%(id)s on %(project)s is now yours, due %(due)s; it is in 'painpoints mine'.",
                due=Day(due),
                **params,
            )
            if due
            else _("Pain point #%(id)s on %(project)s is now yours; it is in 'painpoints mine'.", **params)
        )
    return Reply(
        info(told),
        [Outgoing(view=views.owner_brief(point, project, reporter), person_id=owner.id)]
        if owner.id != actor.id
        else [],
    )


async def add_note(session: AsyncSession, actor: Person, point_id: int, text: str) -> Reply:
    """A step taken, kept with its date in the pain point's history (and its story)."""
    point = await _point(session, actor.org_id, point_id)
    if point is None:
        return Reply(error(not_found(point_id)))
    event = record(session, point, actor.id, "note", text)
    data = painpoint_payload(session, point, "note", actor, text=text)
    await record_event(session, point.org_id, PAINPOINT_UPDATED, data, painpoint_key(point))
    return Reply(
        info(
            _(
                "Noted on pain point #%(id)s (%(date)s): %(text)s",
                id=point.id,
                date=Day(event.at.date()),
                text=text,
            )
        )
    )


async def after_resolve(
    session: AsyncSession, actor: Person, point: PainPoint, fix: str | None, newly: bool, policy: Policy
) -> tuple[list[Outgoing], list[str]]:
    """What resolving sends: "You said, we did" to the reporter when the pain point was just resolved.

    Returns the messages and lines for the staff reply. A reporter who cannot be reached is not
    sent to; staff are told so once per pain point."""
    if fix is not None:
        point.fix = fix
    record(session, point, actor.id, "resolved" if newly else "measure", fix)
    if not newly:
        data = painpoint_payload(session, point, "measure", actor, fix=fix, after=point.after)
        await record_event(session, point.org_id, PAINPOINT_UPDATED, data, painpoint_key(point))
        return [], []
    point.confirmed = None
    point.confirmed_at = None
    data = painpoint_payload(session, point, "resolved", actor, fix=fix, after=point.after)
    await record_event(session, point.org_id, PAINPOINT_RESOLVED, data, painpoint_key(point))
    project, reporter = await _project_and_reporter(session, point)
    if reporter.unreachable:
        noted = await session.scalar(
            select(
                exists().where(PainPointEvent.painpoint_id == point.id, PainPointEvent.kind == "unreachable")
            )
        )
        if noted:
            return [], []
        record(session, point, None, "unreachable", reporter.name)
        return [], [
            _("⚠️ %(name)s cannot be reached, so they were not told; tell them yourself.", name=reporter.name)
        ]
    view = views.you_said(point, project)
    return [Outgoing(view=view, person_id=reporter.id, painpoint_id=point.id)], [
        _("%(name)s was told what was done and asked whether it is fixed.", name=reporter.name)
    ]


# ---- the reporter: ✅ Fixed / ❌ Not yet ---------------------------------------------------------


async def _answerable(session: AsyncSession, person: Person, point_id: Any) -> PainPoint | str:
    point = await _point(session, person.org_id, point_id)
    if point is None:
        return _("That pain point does not exist (any more); nothing was changed.")
    if point.reported_by != person.id:
        return _(
            "Only the sponsor who reported this pain point can say whether it is fixed; nothing was changed."
        )
    if point.resolved_at is None:
        return _("This pain point has not been resolved yet; nothing was changed.")
    return point


def _updates(point: PainPoint, view: View) -> list[Outgoing]:
    return alerts.updates(_refs(point, views.FIX_REFS_KEY), view)


async def answer_fix(session: AsyncSession, person: Person, payload: dict[str, Any], policy: Policy) -> Reply:
    """The reporter's answer to "Is it fixed?"; the last answer counts."""
    fixed = payload.get("fixed")
    if set(payload) != {"painpoint", "fixed"} or not isinstance(fixed, bool):
        return Reply(error(_("That button is not one I know; nothing was changed.")))
    found = await _answerable(session, person, payload["painpoint"])
    if isinstance(found, str):
        return Reply(error(found))
    point = found
    was_resolved = point.status == "resolved"
    point.confirmed = fixed
    point.confirmed_at = utcnow()
    record(session, point, person.id, "fixed" if fixed else "not_yet")
    outbox: list[Outgoing] = []
    project, reporter = await _project_and_reporter(session, point)
    if fixed and not was_resolved:
        point.status = "resolved"  # an earlier ❌ Not yet is taken back; resolved_at is kept
    if not fixed and was_resolved:
        point.status = "open"
        record(session, point, person.id, "reopened")
        outbox += await _tell_reopened(session, point, project, reporter, None, policy)
    kind = PAINPOINT_CONFIRMED if fixed else PAINPOINT_REOPENED if was_resolved else PAINPOINT_UPDATED
    what = "confirmed" if fixed else "reopened" if was_resolved else "not_yet"
    data = painpoint_payload(session, point, what, person, status_was="resolved" if was_resolved else "open")
    await record_event(session, point.org_id, kind, data, painpoint_key(point))
    view = views.you_said(point, project)
    return Reply(view, [*_updates(point, view), *outbox])


async def _tell_reopened(
    session: AsyncSession,
    point: PainPoint,
    project: Project,
    reporter: Person,
    comment: str | None,
    policy: Policy,
) -> list[Outgoing]:
    """The owner by DM, and the alert channel (or staff), hear that the fix did not fix it."""
    notice = views.reopened_notice(point, project, reporter, comment)
    org = await session.get(Organisation, point.org_id)
    assert org is not None
    outbox = [o for o in await alerts.route(session, org, policy, notice) if o.person_id != point.owner_id]
    if point.owner_id is not None:
        outbox.append(Outgoing(view=notice, person_id=point.owner_id))
    return outbox


async def comment_fix(session: AsyncSession, person: Person, payload: dict[str, Any], comment: Any) -> Reply:
    """What is still wrong, after ❌ Not yet: kept in the history; the owner hears it."""
    text = said(comment)
    if not text:
        return Reply(error(_("Please say what is still wrong; nothing was saved.")))
    if len(text) > 3000:
        return Reply(error(_("That is longer than 3,000 characters; nothing was saved.")))
    if set(payload) != {"painpoint"}:
        return Reply(error(_("That form is not one I know; nothing was changed.")))
    found = await _answerable(session, person, payload["painpoint"])
    if isinstance(found, str):
        return Reply(error(found))
    point = found
    record(session, point, person.id, "comment", text)
    data = painpoint_payload(session, point, "comment", person, text=text)
    await record_event(session, point.org_id, PAINPOINT_UPDATED, data, painpoint_key(point))
    project, reporter = await _project_and_reporter(session, point)
    outbox = []
    if point.owner_id is not None:
        notice = views.reopened_notice(point, project, reporter, text)
        outbox.append(Outgoing(view=notice, person_id=point.owner_id))
    return Reply(info(_("Thank you; the PMO has it.")), outbox)


async def fix_form(session: AsyncSession, person: Person, payload: dict[str, Any]) -> Reply:
    """The view whose form asks what is still wrong (a Slack modal opens it from its button)."""
    found = await _answerable(session, person, payload.get("painpoint"))
    if isinstance(found, str):
        return Reply(error(found))
    project, _reporter = await _project_and_reporter(session, found)
    view = views.you_said(found, project)
    if view.form is None:
        return Reply(error(_("Answer ❌ Not yet first, then say what is still wrong.")))
    return Reply(view)


# ---- the owner's list and reminders -------------------------------------------------------------


async def mine(session: AsyncSession, person: Person) -> View:
    """`painpoints mine`: what this person owns, or that they own nothing."""
    return await owned(session, person) or info(_("You own no open pain points."))


async def owned(session: AsyncSession, person: Person) -> View | None:
    """The open and in-progress pain points this person owns, oldest due date first; None if none."""
    rows = (
        await session.execute(
            select(PainPoint, Project.name)
            .join(Project, Project.id == PainPoint.project_id)
            .where(PainPoint.owner_id == person.id, PainPoint.status.in_(("open", "in_progress")))
            .order_by(PainPoint.due.is_(None), PainPoint.due, PainPoint.id)
            .limit(50)
        )
    ).all()
    if not rows:
        return None
    lines = []
    for point, project_name in rows:
        due = Cat(" · ", _("due %(date)s", date=Day(point.due))) if point.due else ""
        lines.append(
            Cat(
                f"#{point.id} [",
                status_word(point.status),
                f"] {project_name} · ",
                _("impact %(impact)s", impact=point.impact),
                due,
                f"\n    {point.text}",
            )
        )
    return View(title=_("Your pain points"), lines=tuple(lines))


async def due_reminders(
    session: AsyncSession, now: dt.datetime, limit: int = 500
) -> dict[int, list[Outgoing]]:
    """Owners of pain points past their due date, each reminded once, per organisation.

    The reminded-at column is the claim: set by a conditional UPDATE in the caller's transaction,
    so of two clocks that both see a pain point (a leader losing its lock mid-tick) one reminds.
    The caller commits before sending; a send that then fails is given back (`reminder_failed`)
    and tried again after a pause that doubles each time, `DUE_REMINDER_TRIES` times at most."""
    points = (
        await session.scalars(
            select(PainPoint)
            .where(
                PainPoint.status.in_(("open", "in_progress")),
                PainPoint.owner_id.is_not(None),
                PainPoint.due < now.date(),
                PainPoint.due_reminded_at.is_(None),
            )
            .order_by(PainPoint.id)
            .limit(limit)
        )
    ).all()
    outbox: list[tuple[int, int, Outgoing]] = []
    for point in points:
        if not await _may_retry(session, point.id, now):
            continue
        claimed = await session.execute(
            update(PainPoint)
            .where(PainPoint.id == point.id, PainPoint.due_reminded_at.is_(None))
            .values(due_reminded_at=now)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        record(session, point, None, "due_reminded", at=now)
        project = await session.get(Project, point.project_id)
        assert project is not None and point.owner_id is not None
        reminder = Outgoing(view=views.due_reminder(point, project), person_id=point.owner_id)
        outbox.append((point.org_id, point.id, reminder))
    return outbox


DUE_REMINDER_TRIES = 5
DUE_REMINDER_PAUSE = dt.timedelta(minutes=2)  # before the second try; doubled before each next one
_FAILED = "reminder_failed"  # a kind fits in 16 characters


async def _failures(session: AsyncSession, point_id: int) -> list[dt.datetime]:
    return list(
        await session.scalars(
            select(PainPointEvent.at)
            .where(PainPointEvent.painpoint_id == point_id, PainPointEvent.kind == _FAILED)
            .order_by(PainPointEvent.at)
        )
    )


async def _may_retry(session: AsyncSession, point_id: int, now: dt.datetime) -> bool:
    """No failed try yet, or the last one long enough ago (and tries left)."""
    failures = await _failures(session, point_id)
    if not failures:
        return True
    pause = DUE_REMINDER_PAUSE * 2 ** (len(failures) - 1)
    return len(failures) < DUE_REMINDER_TRIES and now - failures[-1] >= pause


async def reminder_failed(session: AsyncSession, point_id: int, reason: str, now: dt.datetime) -> bool:
    """The owner's reminder could not be sent: kept in the history, and given back for another try
    while tries are left. True when it will be tried again."""
    point = await session.get(PainPoint, point_id)
    if point is None:
        return False
    record(session, point, None, _FAILED, reason[:500], at=now)
    if len(await _failures(session, point_id)) >= DUE_REMINDER_TRIES:
        return False
    point.due_reminded_at = None
    return True


async def taken_alert(session: AsyncSession, point: PainPoint) -> list[Outgoing]:
    """The pain point's alert rewritten in place to show who took it."""
    refs = _refs(point, alerts.REFS_KEY)
    if not refs or point.followed_up_by is None:
        return []
    project, reporter = await _project_and_reporter(session, point)
    taker = await session.get(Person, point.followed_up_by)
    view = alerts.painful_alert(point, project, reporter, taker=taker, taken_at=point.followed_up_at)
    return alerts.updates(refs, view)
