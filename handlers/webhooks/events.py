"""Webhook events (CONTRACT section 11): recorded in the transaction of the change they describe.

`record_event` is the one hook every use case calls where a change happens: it adds a row to the
durable outbox (`webhook_events`) in the caller's session, so the event exists exactly when the
change does (a rollback takes both back) and nothing is sent while the transaction is open. The
clock posts the rows later (bot/clock/webhooks.py); chat never waits for a receiver.

Events are recorded only where webhooks are configured: the runtime calls `turn_on(db)` when
`PMO_WEBHOOK_URL` is set, which marks every session of that database. Elsewhere `record_event`
returns at once (a payload that needs queries is passed as a function, so it is never built).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.tastes import TASTES
from storage.db import Database, utcnow
from storage.models import Checkin, Outcome, PainPoint, Person, Project, WebhookEvent

ANSWER_RECORDED = "answer.recorded"
PAINPOINT_REPORTED = "painpoint.reported"
PAINPOINT_UPDATED = "painpoint.updated"
PAINPOINT_RESOLVED = "painpoint.resolved"
PAINPOINT_CONFIRMED = "painpoint.confirmed"
PAINPOINT_REOPENED = "painpoint.reopened"
OUTCOME_MEASURED = "outcome.measured"
TYPES = (
    ANSWER_RECORDED,
    PAINPOINT_REPORTED,
    PAINPOINT_UPDATED,
    PAINPOINT_RESOLVED,
    PAINPOINT_CONFIRMED,
    PAINPOINT_REOPENED,
    OUTCOME_MEASURED,
)

_ON = "pmo.webhooks"  # the session.info flag turn_on sets

Data = Mapping[str, Any] | Callable[[], Awaitable[Mapping[str, Any]]]


def turn_on(db: Database) -> None:
    """Record events in every session of `db` from now on (PMO_WEBHOOK_URL is set)."""
    db.sessions.configure(info={_ON: True})


def is_on(session: AsyncSession) -> bool:
    return bool(session.info.get(_ON))


async def record_event(session: AsyncSession, org_id: int, type: str, data: Data, key: str) -> str | None:
    """Add one event to the outbox in the caller's transaction; its id, or None when webhooks are off.

    `data` is the event's `data` object, or an async function that builds it (only called when
    webhooks are on, so a deployment without them pays nothing). `key` orders delivery: events of
    one key are delivered one after the other, in the order they were recorded (`painpoint_key`…).
    """
    if not is_on(session):
        return None
    if type not in TYPES:
        raise ValueError(f"unknown webhook event type {type!r}")
    payload = dict(data if isinstance(data, Mapping) else await data())
    # The change itself first: on PostgreSQL its UPDATE takes the row's lock, so of two transactions
    # changing one pain point the second gets the later event id, and ids order each key's events.
    await session.flush()
    now = utcnow()
    event_id = str(uuid.uuid4())
    session.add(
        WebhookEvent(
            org_id=org_id,
            event_id=event_id,
            type=type,
            at=now,
            data=payload,
            key=key,
            state="pending",
            attempts=0,
            next_attempt_at=now,
        )
    )
    return event_id


# ---- the keys that order delivery ----------------------------------------------------------------


def painpoint_key(point: PainPoint) -> str:
    return f"painpoint:{point.id}"


def checkin_key(checkin: Checkin) -> str:
    return f"checkin:{checkin.id}"


def outcome_key(outcome: Outcome) -> str:
    return f"outcome:{outcome.id}"


# ---- payloads: what a receiver needs to open or update an issue without asking back ---------------


def iso(value: dt.datetime | dt.date | None) -> str | None:
    """Times as ISO 8601 UTC with a Z (stored times are naive UTC); dates as YYYY-MM-DD."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat() + "Z"
    return value.isoformat()


def person_data(person: Person | None) -> dict[str, Any] | None:
    if person is None:
        return None
    return {"id": person.id, "name": person.name, "email": person.email}


def project_data(project: Project) -> dict[str, Any]:
    return {"id": project.id, "name": project.name, "segment": project.segment}


def answer_data(
    checkin: Checkin, project: Project, sponsor: Person, *, change: str, previous: int | None
) -> dict[str, Any]:
    """`answer.recorded`: a taste given, changed (`change` "rating") or commented on ("comment")."""
    rating = checkin.rating
    return {
        "checkin": {"id": checkin.id, "kind": checkin.kind, "sent_at": iso(checkin.sent_at)},
        "project": project_data(project),
        "sponsor": person_data(sponsor),
        "rating": rating,
        "taste": TASTES[rating][1] if rating in TASTES else None,
        "previous_rating": previous,
        "comment": checkin.comment,
        "change": change,
        "answered_at": iso(checkin.answered_at),
    }


def painpoint_payload(
    session: AsyncSession, point: PainPoint, what: str, by: Person | None = None, **change: Any
) -> Callable[[], Awaitable[dict[str, Any]]]:
    """The `data` of a `painpoint.*` event for `record_event`, built only if it is recorded:
    `change` says what happened (`what`: reported, owner, note, measure, comment, resolved,
    confirmed, not_yet, reopened) and who did it (`by`)."""

    async def build() -> dict[str, Any]:
        return await painpoint_data(session, point, {"what": what, "by": person_data(by), **change})

    return build


async def painpoint_data(
    session: AsyncSession, point: PainPoint, change: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Every `painpoint.*` event: the pain point as it is now, its project, and what changed."""
    project = await session.get(Project, point.project_id)
    reporter = await session.get(Person, point.reported_by)
    owner = await session.get(Person, point.owner_id) if point.owner_id is not None else None
    assert project is not None
    return {
        "painpoint": {
            "id": point.id,
            "text": point.text,
            "impact": point.impact,
            "status": point.status,
            "reported_at": iso(point.reported_at),
            "reported_by": person_data(reporter),
            "owner": person_data(owner),
            "due": iso(point.due),
            "metric": point.metric,
            "baseline": point.baseline,
            "after": point.after,
            "better": point.better,
            "fix": point.fix,
            "resolved_at": iso(point.resolved_at),
            "confirmed": point.confirmed,
            "confirmed_at": iso(point.confirmed_at),
        },
        "project": project_data(project),
        "change": dict(change or {}),
    }


async def outcome_data(
    session: AsyncSession, outcome: Outcome, by: Person | None, progress: float
) -> dict[str, Any]:
    """`outcome.measured`: the new reading, the outcome it moves and how far along it is
    (`progress` as METRICS.md defines it: 1 is the target reached)."""
    project = await session.get(Project, outcome.project_id)
    assert project is not None
    return {
        "outcome": {
            "id": outcome.id,
            "metric": outcome.metric,
            "unit": outcome.unit,
            "baseline": outcome.baseline,
            "target": outcome.target,
            "current": outcome.current,
            "progress": progress,
            "benefit": outcome.benefit,
            "due": iso(outcome.due),
        },
        "project": project_data(project),
        "value": outcome.current,
        "measured_by": person_data(by),
        "measured_at": iso(utcnow()),
    }
