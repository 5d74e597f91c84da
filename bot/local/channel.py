"""The local console as a channel: 'direct messages' and channel posts kept in the database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import _
from handlers.ports import LOOKUP_MARGIN, DeliveryFailed, PersonRef
from handlers.views import View
from storage.db import Database, utcnow
from storage.models import Identity, LocalMessage, Person
from storage.queries import add_person

PLATFORM = "local"


def carries_checkin(payload: Any, checkin_id: int) -> bool:
    return isinstance(payload, dict) and payload.get("checkin") == checkin_id


def view_carries(view: dict[str, Any], checkin_id: int) -> bool:
    """Whether a stored neutral view (View.to_dict) has a button or form for this check-in."""
    choices = view.get("choices") or ()
    form = view.get("form") or {}
    return any(carries_checkin(c.get("payload"), checkin_id) for c in choices if isinstance(c, dict)) or (
        isinstance(form, dict) and carries_checkin(form.get("payload"), checkin_id)
    )


class LocalChannel:
    """Posts land in `local_messages`, where the console shows them; updates rewrite them."""

    platform = PLATFORM

    def __init__(self, db: Database) -> None:
        self.db = db

    async def send_direct(
        self, org_id: int, person: Person, identity: Identity | None, view: View
    ) -> dict[str, Any]:
        return await self._post(org_id, person.id, None, view)

    async def send_to_channel(self, org_id: int, channel: str, view: View) -> dict[str, Any]:
        return await self._post(org_id, None, channel, view)

    async def update(self, org_id: int, ref: dict[str, Any], view: View) -> None:
        async with self.db.transaction() as session:
            message = await session.get(LocalMessage, ref.get("message"))
            if message is None or message.org_id != org_id:
                raise DeliveryFailed(_("the console message to update is gone"), permanent=True)
            message.view = view.to_dict()
            message.updated_at = utcnow()

    async def find_sent(
        self, org_id: int, person: Person, identity: Identity | None, checkin_id: int, since: dt.datetime
    ) -> dict[str, Any] | None:
        """The person's console messages since the claim, read from `local_messages`."""
        async with self.db.sessions() as session:
            messages = await session.scalars(
                select(LocalMessage)
                .where(
                    LocalMessage.org_id == org_id,
                    LocalMessage.person_id == person.id,
                    LocalMessage.created_at >= since - LOOKUP_MARGIN,
                )
                .order_by(LocalMessage.id)
            )
            for message in messages:
                if view_carries(message.view or {}, checkin_id):
                    return {"platform": PLATFORM, "message": message.id}
        return None

    async def _post(
        self, org_id: int, person_id: int | None, channel: str | None, view: View
    ) -> dict[str, Any]:
        now = utcnow()
        async with self.db.transaction() as session:
            message = LocalMessage(
                org_id=org_id,
                person_id=person_id,
                channel=channel,
                view=view.to_dict(),
                created_at=now,
                updated_at=now,
            )
            session.add(message)
            await session.flush()
            return {"platform": PLATFORM, "message": message.id}


class LocalDirectory:
    """On the console everyone is reachable: an e-mail nobody has yet becomes a new person."""

    async def resolve(self, session: AsyncSession, org_id: int, ref: PersonRef) -> Person | None:
        if not ref.email:
            return None  # a mention of an id the bot has never seen
        return await add_person(
            session, org_id, ref.email.split("@")[0].replace(".", " ").title(), email=ref.email
        )
