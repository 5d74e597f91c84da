"""Operational counts for GET /metrics, read from the database at scrape time.

Every query here is an indexed count bounded by what is recent or unfinished (a day's check-ins,
the claims in flight, the inbox, the webhook backlog), never a scan of a table's whole history,
so a scrape every 15 s stays cheap at a million check-ins. They read across every organisation:
one deployment is watched as one, and the organisations are few (a workspace, a tenant).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import KIND_PAINPOINT, KIND_TASTE, Checkin, Delivery, InboxJob, Organisation, WebhookEvent

CHECKIN_KINDS = (KIND_TASTE, KIND_PAINPOINT)


@dataclass
class Gauges:
    """What the database says now; `webhooks` is None while the webhook outbox table does not exist."""

    checkins: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, state) -> count
    deliveries_pending: int = 0
    deliveries_expired: int = 0  # claims whose lease ran out without a recorded send
    oldest_claim_seconds: float = 0.0
    inbox: dict[str, int] = field(default_factory=dict)  # state -> jobs
    oldest_inbox_seconds: float = 0.0
    webhooks: dict[str, int] = field(default_factory=dict)  # state -> events (pending, failed)
    oldest_webhook_due_seconds: float = 0.0


def _age(now: dt.datetime, then: dt.datetime | None) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0


async def checkin_counts(session: AsyncSession, since: dt.datetime) -> dict[tuple[str, str], int]:
    """Check-ins since `since` by kind: `sent` (claimed for sending and not failed), `answered`
    (answered since then, whenever sent) and `failed` (could not be delivered)."""
    orgs = select(Organisation.id).scalar_subquery()
    scope = (Checkin.org_id.in_(orgs), Checkin.kind.in_(CHECKIN_KINDS))
    counts = {(kind, state): 0 for kind in CHECKIN_KINDS for state in ("sent", "answered", "failed")}
    made = select(Checkin.kind, func.count()).where(*scope, Checkin.sent_at >= since).group_by(Checkin.kind)
    answered = (
        select(Checkin.kind, func.count()).where(*scope, Checkin.answered_at >= since).group_by(Checkin.kind)
    )
    failed = (
        select(Checkin.kind, func.count())
        .where(*scope, Checkin.status == "failed", Checkin.sent_at >= since)
        .group_by(Checkin.kind)
    )
    for kind, n in await session.execute(answered):
        counts[(kind, "answered")] = n
    for kind, n in await session.execute(failed):
        counts[(kind, "failed")] = n
    for kind, n in await session.execute(made):
        counts[(kind, "sent")] = n - counts[(kind, "failed")]
    return counts


async def read_gauges(session: AsyncSession, now: dt.datetime, window: dt.timedelta) -> Gauges:
    """Every count at once, in one session (one connection for the whole scrape)."""
    gauges = Gauges(checkins=await checkin_counts(session, now - window))
    claimed = Delivery.status == "claimed"
    row = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(Delivery.lease_until < now),
                func.min(Delivery.claimed_at),
            ).where(claimed)
        )
    ).one()
    gauges.deliveries_pending, gauges.deliveries_expired = row[0], row[1]
    gauges.oldest_claim_seconds = _age(now, row[2])
    gauges.inbox = {"new": 0, "applied": 0, "sent": 0, "failed": 0}
    for state, n in await session.execute(select(InboxJob.state, func.count()).group_by(InboxJob.state)):
        gauges.inbox[state] = n
    oldest = (
        await session.execute(select(func.min(InboxJob.received_at)).where(InboxJob.state != "failed"))
    ).scalar()
    gauges.oldest_inbox_seconds = _age(now, oldest)
    gauges.webhooks = {"pending": 0, "failed": 0}
    counted = (
        select(WebhookEvent.state, func.count(), func.min(WebhookEvent.next_attempt_at))
        .where(WebhookEvent.state.in_(("pending", "failed")))
        .group_by(WebhookEvent.state)
    )
    for state, n, due in await session.execute(counted):
        gauges.webhooks[state] = n
        if state == "pending":
            gauges.oldest_webhook_due_seconds = _age(now, due)
    return gauges
