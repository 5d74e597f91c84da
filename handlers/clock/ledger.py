"""The clock's use cases: the schedules to watch, claiming an occurrence, and the ledger's upkeep.

The clock (bot/clock/scheduler.py) does the time arithmetic and the sending; these functions are the
database half, each run inside one transaction of the caller. The delivery ledger (`deliveries`)
is what makes every scheduled message go out once: a row is claimed before anything is sent,
with a lease; a claim whose send is never recorded is taken over when its lease has expired.

Ledger statuses: `claimed` (being sent), `sent`, `failed` (for good, the check-in failed too),
`missed` (fell due longer ago than PMO_CATCHUP_HOURS while no clock ran: not sent), `paused`
(the sponsor had paused check-ins: not sent).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.checkins.lifecycle import CLOSE_AFTER, REMIND_AFTER, claim_checkin, ledger_row
from handlers.people import is_paused
from storage.models import KIND_TASTE, Checkin, Delivery, Identity, Organisation, Person, Project
from storage.queries import insert_new

KIND_REMINDER = "reminder"
CLAIMED, SENT, FAILED, MISSED, PAUSED = "claimed", "sent", "failed", "missed", "paused"
REMINDER_SLOT = "reminder:"


@dataclass(frozen=True)
class ScheduleRow:
    """What the clock needs to know about one active project and its sponsor."""

    project_id: int
    org_id: int
    sponsor_id: int
    cadence: str
    day: str
    time: str
    ask: str
    created_at: dt.datetime
    tz: str | None
    paused_until: dt.date | None
    platforms: frozenset[str]


@dataclass
class Claim:
    """What claiming an occurrence came to. Only `send` leaves something to send."""

    outcome: str  # "send" | "taken" | "paused" | "missed" | "gone"
    delivery_id: int | None = None
    checkin_id: int | None = None
    project_name: str = ""
    sponsor_id: int | None = None

    @property
    def to_send(self) -> bool:
        return self.outcome == "send"


async def schedules(session: AsyncSession) -> list[ScheduleRow]:
    """Every project that may be due: not archived, in an organisation that is not suspended."""
    rows = (
        await session.execute(
            select(
                Project.id,
                Project.org_id,
                Project.sponsor_id,
                Project.cadence,
                Project.day,
                Project.time,
                Project.ask,
                Project.created_at,
                Person.tz,
                Person.paused_until,
            )
            .join(Person, Person.id == Project.sponsor_id)
            .join(Organisation, Organisation.id == Project.org_id)
            .where(
                Project.archived.is_(False),
                Organisation.suspended_at.is_(None),
                or_(Project.cadence != "off", Project.ask != "off"),
            )
            .order_by(Project.id)
        )
    ).all()
    platforms: dict[int, set[str]] = {}
    identities = await session.execute(
        select(Identity.person_id, Identity.platform)
        .join(Project, Project.sponsor_id == Identity.person_id)
        .where(Project.archived.is_(False))
        .distinct()
    )
    for person_id, platform in identities:
        platforms.setdefault(person_id, set()).add(platform)
    return [
        ScheduleRow(*row, platforms=frozenset(platforms.get(row.sponsor_id, ())))
        for row in rows  # type: ignore[misc]
    ]


async def settled_slots(session: AsyncSession, since: dt.datetime) -> set[tuple[str, int, str]]:
    """(kind, project, slot) of every scheduled send the ledger holds since `since`."""
    rows = await session.execute(
        select(Delivery.kind, Delivery.project_id, Delivery.slot).where(
            Delivery.occurrence > since, Delivery.slot.is_not(None)
        )
    )
    return {(kind, project_id, slot) for kind, project_id, slot in rows}


async def _record(session: AsyncSession, **values: Any) -> int | None:
    """Insert a ledger row; its id, or None when its key is taken already."""
    return await insert_new(session, Delivery, values)


async def claim_occurrence(
    session: AsyncSession,
    project_id: int,
    kind: str,
    occurrence: dt.datetime,
    slot: dt.date,
    *,
    now: dt.datetime,
    lease_until: dt.datetime,
    late_before: dt.datetime,
) -> Claim:
    """Claim one scheduled occurrence: open its check-in, or record why nothing is sent.

    Checked here, in the transaction that claims, so that a change made since the clock last read
    the schedules still counts: an archived project or a suspended organisation gets nothing, one
    due before `late_before` is recorded `missed`, and a paused sponsor's occurrence `paused`.
    """
    project = await session.get(Project, project_id)
    if project is None or project.archived or occurrence < project.created_at:
        return Claim("gone")
    org = await session.get(Organisation, project.org_id)
    if org is None or org.suspended_at is not None:
        return Claim("gone")
    sponsor = await session.get(Person, project.sponsor_id)
    assert sponsor is not None
    skipped = MISSED if occurrence < late_before else PAUSED if is_paused(sponsor, slot) else None
    if skipped is not None:
        row = ledger_row(project, kind, occurrence, skipped, now=now, slot=slot.isoformat())
        row_id = await _record(session, **row)
        return Claim(skipped if row_id is not None else "taken", row_id)
    claimed = await claim_checkin(
        session, project, kind, occurrence=occurrence, now=now, slot=slot.isoformat(), lease_until=lease_until
    )
    if claimed is None:
        return Claim("taken")
    delivery_id, checkin = claimed
    return Claim("send", delivery_id, checkin.id, project.name, project.sponsor_id)


async def reminders_due(session: AsyncSession, now: dt.datetime, limit: int = 1000) -> list[tuple[int, int]]:
    """(organisation, check-in) of unanswered taste check-ins two days old with no reminder in the ledger."""
    handled = exists().where(Delivery.kind == KIND_REMINDER, Delivery.checkin_id == Checkin.id)
    rows = await session.execute(
        select(Checkin.org_id, Checkin.id)
        .join(Project, Project.id == Checkin.project_id)
        .where(
            Checkin.kind == KIND_TASTE,
            Checkin.status == "open",
            Checkin.reminded_at.is_(None),
            Checkin.sent_at <= now - REMIND_AFTER,
            Checkin.sent_at > now - CLOSE_AFTER,
            Project.archived.is_(False),
            ~handled,
        )
        .order_by(Checkin.id)
        .limit(limit)
    )
    return [(org_id, checkin_id) for org_id, checkin_id in rows]


async def claim_reminder(
    session: AsyncSession, checkin_id: int, *, now: dt.datetime, lease_until: dt.datetime
) -> Claim:
    """Claim the one reminder of a check-in (ledger kind `reminder`); paused sponsors get none."""
    checkin = await session.get(Checkin, checkin_id)
    if checkin is None or checkin.status != "open" or checkin.reminded_at is not None:
        return Claim("gone")
    project = await session.get(Project, checkin.project_id)
    org = await session.get(Organisation, checkin.org_id)
    sponsor = await session.get(Person, checkin.sponsor_id)
    if project is None or project.archived or org is None or org.suspended_at is not None or sponsor is None:
        return Claim("gone")
    paused = is_paused(sponsor, now.date())
    row_id = await _record(
        session,
        org_id=checkin.org_id,
        kind=KIND_REMINDER,
        project_id=checkin.project_id,
        sponsor_id=checkin.sponsor_id,
        occurrence=checkin.sent_at + REMIND_AFTER,
        status=PAUSED if paused else CLAIMED,
        claimed_at=now,
        lease_until=None if paused else lease_until,
        attempts=0,
        checkin_id=checkin.id,
        slot=f"{REMINDER_SLOT}{checkin.id}",
    )
    if row_id is None:
        return Claim("taken")
    if paused:
        return Claim(PAUSED, row_id)
    checkin.reminded_at = now
    return Claim("send", row_id, checkin.id, project.name, checkin.sponsor_id)


async def expired_claims(
    session: AsyncSession, now: dt.datetime, lease: dt.timedelta, limit: int = 500
) -> list[Delivery]:
    """Claims without a recorded send whose lease has run out (or, leaseless, that are `lease` old)."""
    return list(
        await session.scalars(
            select(Delivery)
            .where(
                Delivery.status == CLAIMED,
                Delivery.sent_at.is_(None),
                or_(
                    Delivery.lease_until < now,
                    and_(Delivery.lease_until.is_(None), Delivery.claimed_at < now - lease),
                ),
            )
            .order_by(Delivery.id)
            .limit(limit)
        )
    )


async def release_orphans(session: AsyncSession, now: dt.datetime) -> int:
    """End every lease now (only when no other clock can be alive: SQLite's one clock at its start)."""
    result = await session.execute(
        update(Delivery)
        .where(Delivery.status == CLAIMED, Delivery.sent_at.is_(None), Delivery.lease_until >= now)
        .values(lease_until=now - dt.timedelta(seconds=1))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def extend_lease(
    session: AsyncSession,
    delivery_id: int,
    held: dt.datetime | None,
    until: dt.datetime,
    *,
    take_over: bool = False,
) -> bool:
    """Move a claim's lease from `held` to `until` if nobody else did since: True when it is ours.

    Compare-and-set on the lease, so of two clocks that both see an expired claim only one wins;
    a take-over also counts an attempt.
    """
    lease_now = Delivery.lease_until.is_(None) if held is None else Delivery.lease_until == held
    values: dict[str, Any] = {"lease_until": until}
    if take_over:
        values["attempts"] = Delivery.attempts + 1
    result = await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == CLAIMED, Delivery.sent_at.is_(None), lease_now)
        .values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def finish(
    session: AsyncSession, delivery_id: int, status: str, *, now: dt.datetime, error: str | None = None
) -> None:
    """Close a ledger row that `record_refs`/`mark_failed` do not cover (reminders, missed claims)."""
    values: dict[str, Any] = {"status": status, "lease_until": None}
    if status == SENT:
        values["sent_at"] = now
    if error is not None:
        values["error"] = str(error)[:500]  # a lazy reason (handlers.i18n) is stored in its English
    await session.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values))


async def record_reminder(
    session: AsyncSession, delivery_id: int, checkin_id: int, ref: dict[str, Any], *, now: dt.datetime
) -> None:
    """The reminder went out: keep its message beside the check-in's, so an answer updates both."""
    checkin = await session.get(Checkin, checkin_id)
    if checkin is not None:
        refs = dict(checkin.message_refs or {})
        refs[f"{ref.get('platform', 'local')}:reminder"] = ref
        checkin.message_refs = refs
    await finish(session, delivery_id, SENT, now=now)


async def stale_checkins(session: AsyncSession, now: dt.datetime) -> list[tuple[int, int, str]]:
    """(org, check-in, project name) of open check-ins `close_stale` is about to close."""
    rows = await session.execute(
        select(Checkin.org_id, Checkin.id, Project.name)
        .join(Project, Project.id == Checkin.project_id)
        .where(Checkin.status == "open", Checkin.answered_at.is_(None), Checkin.sent_at <= now - CLOSE_AFTER)
    )
    return [(org_id, checkin_id, name) for org_id, checkin_id, name in rows]
