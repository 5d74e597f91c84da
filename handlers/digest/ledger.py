"""The digest's half of the delivery ledger: what the clock watches, and claiming one send.

The digest goes through the same ledger as check-ins (`deliveries`, handlers/clock/ledger.py):
one row per (organisation, local date of the occurrence, recipient), inserted before anything is
sent (the claim, with a lease), closed `sent`, `failed` or `missed` by `handlers.clock.ledger.finish`.
A claim whose lease runs out is taken over by the clock's `recover` like any other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.clock.ledger import CLAIMED, MISSED
from storage.models import KIND_DIGEST, Delivery, DigestRecipient, DigestSchedule, Identity, Organisation
from storage.queries import insert_new


@dataclass(frozen=True)
class Recipient:
    """Where one copy goes: a platform's channel, or a person (with the platforms they are on)."""

    key: str
    person_id: int | None
    platform: str | None
    channel: str | None
    added_at: dt.datetime
    platforms: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Watched:
    """One organisation's digest schedule and its recipients."""

    org_id: int
    cadence: str
    day: str
    time: str
    recipients: tuple[Recipient, ...]


@dataclass(frozen=True)
class DigestClaim:
    """What claiming one recipient's copy came to; only `send` leaves something to send."""

    outcome: str  # "send" | "taken" | "missed" | "gone"
    delivery_id: int | None = None
    recipient: Recipient | None = None
    cadence: str = "monthly"

    @property
    def to_send(self) -> bool:
        return self.outcome == "send"


def _recipient(row: DigestRecipient, platforms: frozenset[str] = frozenset()) -> Recipient:
    return Recipient(row.key, row.person_id, row.platform, row.channel, row.added_at, platforms)


async def watched(session: AsyncSession) -> list[Watched]:
    """Every digest that may fall due: scheduled, with recipients, in an organisation not suspended."""
    schedules = list(
        await session.scalars(
            select(DigestSchedule)
            .join(Organisation, Organisation.id == DigestSchedule.org_id)
            .where(DigestSchedule.cadence != "off", Organisation.suspended_at.is_(None))
            .order_by(DigestSchedule.org_id)
        )
    )
    if not schedules:
        return []
    org_ids = [s.org_id for s in schedules]
    rows = list(
        await session.scalars(
            select(DigestRecipient).where(DigestRecipient.org_id.in_(org_ids)).order_by(DigestRecipient.id)
        )
    )
    platforms: dict[int, set[str]] = {}
    people = [r.person_id for r in rows if r.person_id is not None]
    if people:
        for person_id, platform in await session.execute(
            select(Identity.person_id, Identity.platform).where(Identity.person_id.in_(people))
        ):
            platforms.setdefault(person_id, set()).add(platform)
    by_org: dict[int, list[Recipient]] = {}
    for row in rows:
        found = frozenset(platforms.get(row.person_id, ())) if row.person_id is not None else frozenset()
        by_org.setdefault(row.org_id, []).append(_recipient(row, found))
    return [
        Watched(s.org_id, s.cadence, s.day, s.time, tuple(by_org[s.org_id]))
        for s in schedules
        if s.org_id in by_org
    ]


async def settled(session: AsyncSession, since: dt.datetime) -> set[tuple[int, str, str]]:
    """(organisation, slot, recipient) of every digest copy the ledger holds since `since`."""
    rows = await session.execute(
        select(Delivery.org_id, Delivery.slot, Delivery.recipient).where(
            Delivery.kind == KIND_DIGEST, Delivery.occurrence > since
        )
    )
    return {(org_id, slot, recipient) for org_id, slot, recipient in rows}


async def recipient_of(session: AsyncSession, org_id: int, key: str) -> tuple[Recipient, str] | None:
    """A recipient as it is now, and the organisation's cadence; None when it no longer receives it."""
    row = await session.scalar(
        select(DigestRecipient).where(DigestRecipient.org_id == org_id, DigestRecipient.key == key)
    )
    schedule = await session.scalar(select(DigestSchedule).where(DigestSchedule.org_id == org_id))
    if row is None or schedule is None:
        return None
    return _recipient(row), schedule.cadence


async def claim_digest(
    session: AsyncSession,
    org_id: int,
    key: str,
    occurrence: dt.datetime,
    slot: dt.date,
    *,
    now: dt.datetime,
    lease_until: dt.datetime,
    late_before: dt.datetime,
) -> DigestClaim:
    """Claim one recipient's copy of one occurrence, or record why nothing is sent.

    Checked in the claiming transaction, so a change since the clock read the schedules counts:
    a digest turned off, a recipient removed or a suspended organisation gets nothing; one due
    before `late_before` (a downtime longer than PMO_CATCHUP_HOURS) is recorded `missed`."""
    org = await session.get(Organisation, org_id)
    found = await recipient_of(session, org_id, key)
    if org is None or org.suspended_at is not None or found is None:
        return DigestClaim("gone")
    recipient, cadence = found
    if cadence == "off" or occurrence <= recipient.added_at:
        return DigestClaim("gone")
    missed = occurrence < late_before
    row_id = await insert_new(
        session,
        Delivery,
        {
            "org_id": org_id,
            "kind": KIND_DIGEST,
            "project_id": None,
            "sponsor_id": recipient.person_id,
            "recipient": key,
            "occurrence": occurrence,
            "slot": slot.isoformat(),
            "status": MISSED if missed else CLAIMED,
            "claimed_at": now,
            "lease_until": None if missed else lease_until,
            "attempts": 0,
            "error": "too late to send" if missed else None,
        },
    )
    if row_id is None:
        return DigestClaim("taken")
    if missed:
        return DigestClaim(MISSED, row_id)
    return DigestClaim("send", row_id, recipient, cadence)
