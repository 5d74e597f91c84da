"""What the clock sent and what failed, for PMO staff (`python app.py deliveries [--failed]`)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.clock.ledger import FAILED
from handlers.views import Fact, View
from storage.models import Delivery, Organisation, Person, Project

STATUS_WORDS = {
    "claimed": "being sent",
    "sent": "sent",
    "failed": "FAILED",
    "missed": "missed (no clock ran in time)",
    "paused": "not sent (paused)",
}


async def listing(session: AsyncSession, *, failed_only: bool = False, limit: int = 50) -> View:
    """The newest ledger rows (all organisations), newest first, with a count per status."""
    if limit < 1:
        raise ValueError("limit must be 1 or more")
    counts = dict(
        (await session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))).all()  # type: ignore[arg-type]
    )
    orgs = int(await session.scalar(select(func.count()).select_from(Organisation)) or 0)
    query = (
        select(Delivery, Project.name, Person.name, Organisation.key)
        .outerjoin(Project, Project.id == Delivery.project_id)  # a digest has no project,
        .outerjoin(Person, Person.id == Delivery.sponsor_id)  # and a channel's copy no person
        .join(Organisation, Organisation.id == Delivery.org_id)
        .order_by(Delivery.id.desc())
        .limit(limit)
    )
    if failed_only:
        query = query.where(Delivery.status == FAILED)
    rows = (await session.execute(query)).all()
    lines = []
    for delivery, project, sponsor, org in rows:
        when = delivery.sent_at or delivery.occurrence
        where = f"[{org}] " if orgs > 1 else ""
        to = sponsor or (delivery.recipient or "").replace("channel:", "the channel on ")
        line = (
            f"{when:%Y-%m-%d %H:%M} UTC · {where}{delivery.kind} · {project or 'value digest'} → {to} · "
            f"{STATUS_WORDS.get(delivery.status, delivery.status)}"
        )
        if delivery.attempts > 1:
            line += f" after {delivery.attempts} tries"
        if delivery.error and delivery.status != "sent":
            line += f" · {delivery.error}"
        lines.append(line)
    title = "Failed deliveries" if failed_only else "Deliveries"
    shown = f"{len(rows)} newest" if rows else "none"
    return View(
        title=f"{title} ({shown})",
        facts=tuple(Fact(STATUS_WORDS.get(s, s), str(n)) for s, n in sorted(counts.items())),
        lines=tuple(lines) or ("Nothing to show.",),
    )
