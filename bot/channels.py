"""Routing messages to the right channel: a person's Slack or Teams DM, else the console."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import select

from handlers.alerts import channel_platform
from handlers.commands.parser import PersonRef
from handlers.ports import DeliveryFailed, NotReachable
from handlers.views import View
from storage.db import Database
from storage.models import Identity, Person


class Channel(Protocol):
    """One platform's way of posting, as each `bot/<platform>/channel.py` implements it."""

    platform: str

    async def send_direct(
        self, org_id: int, person: Person, identity: Identity | None, view: View
    ) -> dict[str, Any]: ...

    async def send_to_channel(self, org_id: int, channel: str, view: View) -> dict[str, Any]: ...

    async def update(self, org_id: int, ref: dict[str, Any], view: View) -> None: ...


class Router:
    """The `Messenger` the core talks to. Platforms are tried in the order given."""

    def __init__(self, db: Database, channels: list[Channel]) -> None:
        self.db = db
        self.channels = {channel.platform: channel for channel in channels}

    async def send_direct(self, org_id: int, person_id: int, view: View) -> dict[str, Any]:
        async with self.db.sessions() as session:
            person = await session.get(Person, person_id)
            identities = {
                i.platform: i
                for i in await session.scalars(select(Identity).where(Identity.person_id == person_id))
            }
        if person is None:
            raise DeliveryFailed("that person is gone", permanent=True)
        for platform, channel in self.channels.items():
            if platform == "local" or platform in identities:
                return await channel.send_direct(org_id, person, identities.get(platform), view)
        raise DeliveryFailed(f"{person.name} has no account the bot can reach", permanent=True)

    async def send_to_channel(
        self, org_id: int, platform: str | None, channel: str, view: View
    ) -> dict[str, Any]:
        target = self.channels.get(platform or channel_platform(channel)) or self.channels.get("local")
        if target is None:
            raise DeliveryFailed(f"no channel can post to {channel}", permanent=True)
        return await target.send_to_channel(org_id, channel, view)

    async def update(self, org_id: int, ref: dict[str, Any], view: View) -> None:
        channel = self.channels.get(str(ref.get("platform")))
        if channel is not None:
            await channel.update(org_id, ref, view)


class FirstDirectory:
    """Asks each platform's directory in turn; the first that knows the person wins."""

    def __init__(self, directories: list[Any]) -> None:
        self.directories = directories

    async def resolve(self, session: Any, org_id: int, ref: PersonRef) -> Person | None:
        explained: NotReachable | None = None
        for directory in self.directories:
            try:
                person = await directory.resolve(session, org_id, ref)
            except NotReachable as exc:  # another platform may still know them
                explained = explained or exc
                continue
            if person is not None:
                return person
        if explained is not None:
            raise explained
        return None
