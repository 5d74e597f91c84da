"""The webhook outbox's database half: what is due, claiming it, recording how it went, listing it.

The sender (bot/clock/webhooks.py) asks `due` for the oldest pending event of each key whose next
attempt has come and which nobody holds, claims each with a conditional UPDATE (`claim`: the lease
is the claim, so of two clocks only one posts an event at a time), commits, posts, and records
the answer (`delivered`, `retry_later`, `give_up`). An event is never due while an older event of
its key is pending: that is what delivers one pain point's events in order.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from handlers.i18n import Cat, _, ngettext
from handlers.views import Fact, View
from storage.db import Database
from storage.models import WebhookEvent

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
STATE_WORDS = {PENDING: _("pending"), DELIVERED: _("delivered"), FAILED: _("failed")}  # as staff read them


async def due(session: AsyncSession, now: dt.datetime, limit: int) -> list[WebhookEvent]:
    """The oldest pending event of each key, if its next attempt has come and no lease holds it."""
    older = aliased(WebhookEvent)
    blocked = exists().where(
        older.key == WebhookEvent.key, older.state == PENDING, older.id < WebhookEvent.id
    )
    query = (
        select(WebhookEvent)
        .where(
            WebhookEvent.state == PENDING,
            WebhookEvent.next_attempt_at <= now,
            or_(WebhookEvent.lease_until.is_(None), WebhookEvent.lease_until < now),
            ~blocked,
        )
        .order_by(WebhookEvent.id)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def claim(session: AsyncSession, row_id: int, now: dt.datetime, until: dt.datetime, owner: str) -> bool:
    """Hold the event until `until` for `owner` (one more attempt); False when another holds it."""
    result = await session.execute(
        update(WebhookEvent)
        .where(
            WebhookEvent.id == row_id,
            WebhookEvent.state == PENDING,
            or_(WebhookEvent.lease_until.is_(None), WebhookEvent.lease_until < now),
        )
        .values(lease_until=until, lease_owner=owner, attempts=WebhookEvent.attempts + 1)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


async def delivered(session: AsyncSession, row_id: int, now: dt.datetime, status: int) -> None:
    """The receiver took it (2xx): done, whoever holds the lease now."""
    await session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id == row_id, WebhookEvent.state == PENDING)
        .values(
            state=DELIVERED, delivered_at=now, last_status=status, last_error=None, lease_until=None,
            lease_owner=None,
        )
    )  # fmt: skip


async def retry_later(
    session: AsyncSession, row_id: int, owner: str, at: dt.datetime, status: int | None, error: str
) -> None:
    """Not taken: try again at `at` (unless another sender took the event over meanwhile)."""
    await session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id == row_id, WebhookEvent.state == PENDING, WebhookEvent.lease_owner == owner)
        .values(next_attempt_at=at, last_status=status, last_error=error, lease_until=None, lease_owner=None)
    )


async def give_up(session: AsyncSession, row_id: int, owner: str, status: int | None, error: str) -> None:
    """Refused for longer than the retry window: kept as failed, and the key's next event may go."""
    await session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id == row_id, WebhookEvent.state == PENDING, WebhookEvent.lease_owner == owner)
        .values(state=FAILED, last_status=status, last_error=error, lease_until=None, lease_owner=None)
    )


async def release(session: AsyncSession, owner: str | None = None) -> int:
    """Free the leases of `owner` (a clean stop), or every lease (None: no other sender is alive)."""
    query = update(WebhookEvent).where(WebhookEvent.state == PENDING, WebhookEvent.lease_until.is_not(None))
    if owner is not None:
        query = query.where(WebhookEvent.lease_owner == owner)
    result = await session.execute(query.values(lease_until=None, lease_owner=None))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def webhook_backlog(db: Database) -> int:
    """How many events wait to be delivered (for the metrics' gauge)."""
    async with db.sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(WebhookEvent).where(WebhookEvent.state == PENDING)
        )
    return int(count or 0)


def _when(value: dt.datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S} UTC" if value is not None else "-"


async def listing(
    session: AsyncSession, *, failed_only: bool = False, limit: int = 50, now: dt.datetime | None = None
) -> View:
    """The newest events (all organisations), newest first, with a count per state
    (`python app.py webhooks [--failed]`)."""
    if limit < 1:
        raise ValueError("limit must be 1 or more")
    counts = dict(
        (await session.execute(select(WebhookEvent.state, func.count()).group_by(WebhookEvent.state))).all()  # type: ignore[arg-type]
    )
    query = select(WebhookEvent).order_by(WebhookEvent.id.desc()).limit(limit)
    if failed_only:
        query = query.where(WebhookEvent.state == FAILED)
    lines = [_line(event, now) for event in await session.scalars(query)]
    return View(
        title=_title(failed_only, len(lines)),
        facts=tuple(Fact(STATE_WORDS.get(state, state), str(n)) for state, n in sorted(counts.items())),
        lines=tuple(lines) or (_("Nothing to show."),),
    )


def _line(event: WebhookEvent, now: dt.datetime | None) -> str:
    """One event: its id and type (the receiver's words), its state, what comes next or went wrong."""
    parts = [f"{event.event_id} · {event.type} · ", STATE_WORDS.get(event.state, event.state), " · "]
    parts.append(ngettext("%(n)s attempt(s)", "%(n)s attempt(s)", event.attempts))
    if event.state == DELIVERED:
        parts += [" · ", _("delivered %(when)s", when=_when(event.delivered_at))]
    elif event.state == PENDING:
        held = event.lease_until is not None and (now is None or event.lease_until > now)
        next_ = _("being sent now") if held else _("next attempt %(when)s", when=_when(event.next_attempt_at))
        parts += [" · ", next_]
    if event.last_error and event.state != DELIVERED:
        parts += [" · ", _("last error: %(error)s", error=event.last_error)]
    return Cat(*parts)


def _title(failed_only: bool, shown: int) -> str:
    """One whole title per case, so each language words it its own way."""
    if failed_only:
        if not shown:
            return _("Failed webhook events (none)")
        return ngettext("Failed webhook events (%(n)s newest)", "Failed webhook events (%(n)s newest)", shown)
    if not shown:
        return _("Webhook events (none)")
    return ngettext("Webhook events (%(n)s newest)", "Webhook events (%(n)s newest)", shown)
