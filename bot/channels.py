"""Routing messages to the right channel: a person's Slack or Teams DM, else the console."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.alerts import channel_platform
from handlers.i18n import _
from handlers.ports import Channel, DeliveryFailed, Directory, NotReachable, PersonRef
from handlers.views import View
from storage.db import Database
from storage.models import Identity, Person


class Router:
    """The `Messenger` the core talks to. Channels are tried in the order they were plugged in."""

    def __init__(self, db: Database, channels: list[Channel] | None = None) -> None:
        self.db = db
        self.channels: dict[str, Channel] = {}
        for channel in channels or ():
            self.plug(channel)

    def plug(self, channel: Channel) -> None:
        self.channels[channel.platform] = channel

    async def person(self, person_id: int) -> tuple[Person | None, dict[str, Identity]]:
        """The person and their identities, by platform."""
        async with self.db.sessions() as session:
            person = await session.get(Person, person_id)
            identities = {
                i.platform: i
                for i in await session.scalars(select(Identity).where(Identity.person_id == person_id))
            }
        return person, identities

    def channel_for(self, platforms: Any) -> Channel | None:
        """The channel that reaches someone with identities on `platforms`: the first plugged in
        that knows them, the console for anyone; None when none can."""
        known = set(platforms)
        for platform, channel in self.channels.items():
            if platform == "local" or platform in known:
                return channel
        return None

    async def send_direct(self, org_id: int, person_id: int, view: View) -> dict[str, Any]:
        person, identities = await self.person(person_id)
        if person is None:
            raise DeliveryFailed(_("that person is gone"), permanent=True)
        channel = self.channel_for(identities)
        if channel is None:
            raise DeliveryFailed(
                _("%(name)s has no account the bot can reach", name=person.name), permanent=True
            )
        return await channel.send_direct(org_id, person, identities.get(channel.platform), view)

    async def send_to_channel(
        self, org_id: int, platform: str | None, channel: str, view: View
    ) -> dict[str, Any]:
        target = self.channels.get(platform or channel_platform(channel)) or self.channels.get("local")
        if target is None:
            raise DeliveryFailed(_("no channel can post to %(channel)s", channel=channel), permanent=True)
        return await target.send_to_channel(org_id, channel, view)

    async def update(self, org_id: int, ref: dict[str, Any], view: View) -> None:
        channel = self.channels.get(str(ref.get("platform")))
        if channel is not None:
            await channel.update(org_id, ref, view)


class FirstDirectory:
    """Asks each platform's directory in turn; the first that knows the person wins."""

    def __init__(self, directories: list[Directory] | None = None) -> None:
        self.directories: list[Directory] = list(directories or ())

    def plug(self, directory: Directory) -> None:
        self.directories.append(directory)

    async def resolve(self, session: AsyncSession, org_id: int, ref: PersonRef) -> Person | None:
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
