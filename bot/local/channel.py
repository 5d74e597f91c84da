"""The local console as a channel: 'direct messages' and channel posts kept in the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.commands.parser import PersonRef
from handlers.ports import DeliveryFailed
from handlers.views import View
from storage.db import Database, utcnow
from storage.models import Identity, LocalMessage, Person
from storage.queries import add_person

PLATFORM = "local"


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
                raise DeliveryFailed("the console message to update is gone", permanent=True)
            message.view = view.to_dict()
            message.updated_at = utcnow()

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
