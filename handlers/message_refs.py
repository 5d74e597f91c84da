"""Where the messages the bot sent landed, kept with what they are about, so later changes update them.

After a send, the outbox (handlers/outbox.py) and the clock (bot/clock/delivery.py) record the
platform's reference of each message here: a check-in's question and its alerts, a pain point's
alert and its "You said, we did". A send that failed for good marks the check-in failed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import alerts
from handlers.painpoints.views import FIX_REFS_KEY
from storage.db import utcnow
from storage.models import KIND_PAINPOINT, KIND_TASTE, Checkin, Delivery, PainPoint

QUESTION_KINDS = (KIND_TASTE, KIND_PAINPOINT)  # ledger rows of the question itself (not its reminder)


async def record_refs(
    session: AsyncSession, checkin_id: int, ref: dict[str, Any], *, alert: bool = False
) -> None:
    """Remember where the check-in message lives, so answers can update it in place.

    The check-in's `alert` is kept under "alerts", one per destination, and the check-in's ledger
    row is left alone."""
    if alert:
        about = await session.get(Checkin, checkin_id)
        if about is not None:
            refs = dict(about.message_refs or {})
            kept = dict(alerts.alert_refs(refs) or {})
            kept[alerts.ref_key(ref)] = ref
            refs[alerts.REFS_KEY] = kept
            about.message_refs = refs
        return
    checkin = await session.get(Checkin, checkin_id)
    if checkin is None:
        return
    refs = dict(checkin.message_refs or {})
    refs[str(ref.get("platform", "local"))] = ref
    checkin.message_refs = refs
    await session.execute(
        update(Delivery)
        .where(Delivery.checkin_id == checkin_id, Delivery.kind.in_(QUESTION_KINDS))  # not its reminder's row
        .values(status="sent", sent_at=utcnow(), attempts=Delivery.attempts + 1)
    )


async def record_painpoint_ref(
    session: AsyncSession, point_id: int, ref: dict[str, Any], *, alert: bool = False
) -> None:
    """Remember where a pain point's message lives: its alert under "alerts", its "You said, we
    did" under "fix", one per destination, so that later changes update them in place."""
    point = await session.get(PainPoint, point_id)
    if point is None:
        return
    refs = dict(point.message_refs or {})
    key = alerts.REFS_KEY if alert else FIX_REFS_KEY
    kept = dict(refs.get(key) or {})
    kept[alerts.ref_key(ref)] = ref
    refs[key] = kept
    point.message_refs = refs


async def mark_failed(session: AsyncSession, checkin_id: int, reason: str) -> None:
    checkin = await session.get(Checkin, checkin_id)
    if checkin is not None and checkin.answered_at is None:
        checkin.status = "failed"
        checkin.closed_at = utcnow()
    await session.execute(
        update(Delivery)
        .where(Delivery.checkin_id == checkin_id, Delivery.kind.in_(QUESTION_KINDS))
        .values(status="failed", error=str(reason)[:500], attempts=Delivery.attempts + 1)  # English
    )
