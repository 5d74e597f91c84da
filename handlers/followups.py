"""'I'll follow up' on an alert: who of the PMO took a sour taste or a painful pain point, and when.

The alert's button carries `{"checkin": id}` (a sour taste) or `{"painpoint": id}`; the first
member of staff to click takes it, and everyone who clicks later is told who has it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import _
from handlers.ids import as_id
from handlers.people import is_staff
from handlers.ports import Reply
from handlers.views import Choice, View, error
from storage.db import utcnow
from storage.models import KIND_TASTE, Checkin, PainPoint, Person

ACTION = "follow_up"
LABEL = _("I'll follow up")


def follow_up_choice(*, checkin_id: int | None = None, painpoint_id: int | None = None) -> Choice:
    """The button an alert carries."""
    payload = {"checkin": checkin_id} if checkin_id is not None else {"painpoint": painpoint_id}
    return Choice(action=ACTION, label=LABEL, payload=payload, style="primary")


def _when(at: dt.datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


async def take(session: AsyncSession, person: Person, payload: Any) -> Reply:
    """Record that `person` follows the alert up; a second taker is told who has it already."""
    if not is_staff(person):
        return Reply(error(_("Following up an alert is for PMO staff; nothing was changed.")))
    if not isinstance(payload, dict) or set(payload) not in ({"checkin"}, {"painpoint"}):
        return Reply(error(_("That button does not point at an alert; nothing was changed.")))
    target: Checkin | PainPoint | None
    if "checkin" in payload:
        ident = as_id(payload["checkin"])
        target = await session.get(Checkin, ident) if ident else None
        what = _("this sour taste")
    else:
        ident = as_id(payload["painpoint"])
        target = await session.get(PainPoint, ident) if ident else None
        what = _("pain point #%(id)s", id=ident)
    if target is None or target.org_id != person.org_id:
        return Reply(error(_("That alert does not exist (any more); nothing was changed.")))
    if target.followed_up_by is not None:
        taker = await session.get(Person, target.followed_up_by)
        at = target.followed_up_at or utcnow()
        if taker is not None and taker.id == person.id:
            return Reply(
                View(text=_("👤 You took %(what)s on %(when)s; nothing changed.", what=what, when=_when(at)))
            )
        name = taker.name if taker else _("Someone")
        return Reply(
            View(
                text=_(
                    "👤 %(name)s took %(what)s on %(when)s; nothing changed.",
                    name=name,
                    what=what,
                    when=_when(at),
                )
            )
        )
    now = utcnow()
    target.followed_up_by = person.id
    target.followed_up_at = now
    # public: the alert's channel should see who took it (a second taker is told privately)
    return Reply(
        View(
            text=_(
                "👤 %(name)s is following up %(what)s (taken %(when)s).",
                name=person.name,
                what=what,
                when=_when(now),
            ),
            public=True,
        )
    )


async def record_did(session: AsyncSession, person: Person, checkin_id: int, did: str) -> Reply:
    """`followup ID did:"…"`: what the PMO changed after a sour taste; it takes the check-in if
    nobody had (saying what was done is following it up)."""
    checkin = await session.get(Checkin, checkin_id)
    if checkin is None or checkin.org_id != person.org_id or checkin.kind != KIND_TASTE:
        return Reply(
            error(_("There is no taste check-in #%(id)s; the alert's button names it.", id=checkin_id))
        )
    now = utcnow()
    if checkin.followed_up_by is None:
        checkin.followed_up_by = person.id
        checkin.followed_up_at = now
    checkin.follow_up_did = did
    checkin.follow_up_did_at = now
    return Reply(
        View(text=_("Recorded what was done after check-in #%(id)s: %(did)s", id=checkin.id, did=did))
    )
