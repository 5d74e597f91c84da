"""What the clock sent and what failed, for PMO staff (`python app.py deliveries [--failed]`).

The listing is built from lazy texts (handlers.i18n), so the command prints it in PMO_LANGUAGE;
times stay `YYYY-MM-DD HH:MM UTC`, and the ledger's kinds (`taste`, `reminder`, `digest`) are its
own words, as the database keeps them.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.clock.ledger import FAILED
from handlers.i18n import Cat, _, ngettext
from handlers.views import Fact, View
from storage.models import Delivery, Organisation, Person, Project

STATUS_WORDS = {
    "claimed": _("being sent"),
    "sent": _("sent"),
    "failed": _("FAILED"),
    "missed": _("missed (no clock ran in time)"),
    "paused": _("not sent (paused)"),
}
CHANNEL = "channel:"  # a digest's recipient that is a platform's channel (handlers.digest.settings)


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
    lines = [
        _line(delivery, project, sponsor, org if orgs > 1 else None)
        for delivery, project, sponsor, org in rows
    ]
    return View(
        title=_title(failed_only, len(rows)),
        facts=tuple(Fact(STATUS_WORDS.get(s, s), str(n)) for s, n in sorted(counts.items())),
        lines=tuple(lines) or (_("Nothing to show."),),
    )


def _line(delivery: Delivery, project: str | None, sponsor: str | None, org: str | None) -> str:
    """One send: when, to whom, how it went (and why not)."""
    when = delivery.sent_at or delivery.occurrence
    where = f"[{org}] " if org else ""
    status = STATUS_WORDS.get(delivery.status, delivery.status)
    if delivery.attempts > 1:
        status = ngettext(
            "%(status)s after %(n)s try", "%(status)s after %(n)s tries", delivery.attempts, status=status
        )
    parts = [f"{when:%Y-%m-%d %H:%M} UTC · {where}{delivery.kind} · ", project or _("value digest")]
    parts += [" → ", sponsor or _recipient(delivery.recipient), " · ", status]
    if delivery.error and delivery.status != "sent":
        parts.append(f" · {delivery.error}")
    return Cat(*parts)


def _recipient(key: str | None) -> str:
    """A digest's recipient without a person: `channel:slack` is the channel on slack."""
    if key and key.startswith(CHANNEL):
        return _("the channel on %(platform)s", platform=key.removeprefix(CHANNEL))
    return key or ""


def _title(failed_only: bool, shown: int) -> str:
    """One whole title per case, so each language words it its own way."""
    if failed_only:
        if not shown:
            return _("Failed deliveries (none)")
        return ngettext("Failed deliveries (%(n)s newest)", "Failed deliveries (%(n)s newest)", shown)
    if not shown:
        return _("Deliveries (none)")
    return ngettext("Deliveries (%(n)s newest)", "Deliveries (%(n)s newest)", shown)
