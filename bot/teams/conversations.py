"""Teams teams, channels and group chats the bot is in, kept so it can post there later.

Alerts go to the channel chosen with `alerts here`; posting there proactively needs the
conversation reference (service URL, tenant) that came with the activities from that channel.
Teams also lets the bot look people up by e-mail in a team it belongs to, which is how
`sponsor:e-mail` finds someone who never talked to the bot.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import utcnow
from storage.models import Conversation
from storage.queries import insert_new

PLATFORM = "teams"


def base_id(conversation_id: str) -> str:
    """A channel's id without the thread suffix: `19:…@thread.tacv2;messageid=123` → `19:…@thread.tacv2`."""
    return conversation_id.split(";", 1)[0]


async def remember_conversation(
    session: AsyncSession,
    org_id: int,
    external_id: str,
    kind: str,
    address: dict[str, Any],
    name: str | None = None,
) -> tuple[Conversation, bool]:
    """Create or refresh the row for a conversation; True when it is new."""
    found = await find_conversation(session, org_id, external_id)
    if found is None:
        values = {
            "org_id": org_id,
            "platform": PLATFORM,
            "external_id": external_id,
            "kind": kind,
            "name": name,
            "address": address,
            "updated_at": utcnow(),
        }
        created = await insert_new(session, Conversation, values) is not None
        found = await find_conversation(session, org_id, external_id)  # else another request stored it
        assert found is not None
        if created:
            return found, True
    merged = {**(found.address or {}), **address}
    if (found.kind, found.address, found.name) != (kind, merged, name or found.name):
        found.kind, found.address, found.updated_at = kind, merged, utcnow()
        found.name = name or found.name
    return found, False


async def find_conversation(session: AsyncSession, org_id: int, external_id: str) -> Conversation | None:
    return await session.scalar(
        select(Conversation).where(
            Conversation.org_id == org_id,
            Conversation.platform == PLATFORM,
            Conversation.external_id == base_id(external_id),
        )
    )


async def teams_of(session: AsyncSession, org_id: int) -> list[Conversation]:
    """The teams the bot is in, most recently seen first."""
    return list(
        await session.scalars(
            select(Conversation)
            .where(
                Conversation.org_id == org_id, Conversation.platform == PLATFORM, Conversation.kind == "team"
            )
            .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
        )
    )


async def any_conversation(session: AsyncSession, org_id: int) -> Conversation | None:
    """The most recently seen conversation, for its service URL and tenant."""
    return await session.scalar(
        select(Conversation)
        .where(Conversation.org_id == org_id, Conversation.platform == PLATFORM)
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
        .limit(1)
    )


async def forget_team(session: AsyncSession, org_id: int, team_id: str) -> int:
    """The bot left a team: forget it and its channels. How many rows went."""
    rows = list(
        await session.scalars(
            select(Conversation).where(Conversation.org_id == org_id, Conversation.platform == PLATFORM)
        )
    )
    gone = [r for r in rows if r.external_id == team_id or (r.address or {}).get("team_id") == team_id]
    for row in gone:
        await session.delete(row)
    return len(gone)
