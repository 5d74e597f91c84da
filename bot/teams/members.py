"""People on Teams: who sent an activity, who is in a team, and how to reach them again.

A person is identified by their Azure AD object id (what PMO_ADMINS lists), linked by e-mail to
whoever the organisation already knows (an import, Slack), so one person stays one person.
`Identity.address` keeps what a later proactive message needs: the Teams user id, tenant and
service URL, and, once a 1:1 chat exists, its conversation reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.people import identify
from storage.db import utcnow
from storage.models import Identity, Person

PLATFORM = "teams"


@dataclass(frozen=True)
class Member:
    """What Teams tells about a person (TeamsChannelAccount, or a bare ChannelAccount)."""

    user_id: str  # 29:… — what the connector addresses
    aad_id: str | None = None
    name: str | None = None
    email: str | None = None
    upn: str | None = None

    @property
    def external_id(self) -> str:
        return self.aad_id or self.user_id


def member_from(account: Any, details: Any = None) -> Member:
    """A Member from the activity's account, completed by TeamsInfo.get_member's answer if any."""
    source = details or account
    email = getattr(source, "email", None) or None
    upn = getattr(source, "user_principal_name", None) or None
    if email is None and upn and "@" in upn:
        email = upn
    return Member(
        user_id=str(getattr(source, "id", None) or account.id),
        aad_id=getattr(source, "aad_object_id", None) or getattr(account, "aad_object_id", None),
        name=getattr(source, "name", None) or getattr(account, "name", None),
        email=email.lower() if email else None,
        upn=upn,
    )


def client_timezone(entities: list[Any] | None) -> str | None:
    """The IANA time zone of the clientInfo entity Teams attaches to messages, when it is real."""
    for entity in entities or ():
        data = entity.serialize() if hasattr(entity, "serialize") else dict(entity)
        data.update(getattr(entity, "additional_properties", None) or {})
        if data.get("type") != "clientInfo":
            continue
        zone = data.get("timezone")
        if isinstance(zone, str) and zone:
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                return None
            return zone
    return None


async def find_identity(session: AsyncSession, org_id: int, external_id: str) -> Identity | None:
    return await session.scalar(
        select(Identity).where(
            Identity.org_id == org_id, Identity.platform == PLATFORM, Identity.external_id == external_id
        )
    )


async def remember(
    session: AsyncSession,
    org_id: int,
    member: Member,
    *,
    tenant_id: str | None,
    service_url: str,
    channel_id: str,
    reference: dict[str, Any] | None = None,
    tz: str | None = None,
    locale: str | None = None,
    admins: frozenset[str] = frozenset(),
    refreshed: bool = True,
) -> tuple[Person, Identity]:
    """The person behind this Teams account, created or completed, with how to reach them.

    `refreshed` says the member's details were just asked of Teams (so they are fresh until a day later).
    Nothing is written when nothing changed.
    """
    person = await identify(
        session,
        org_id,
        PLATFORM,
        member.external_id,
        name=member.name,
        email=member.email,
        tz=tz,
        admins=admins,
    )
    identity = await find_identity(session, org_id, member.external_id)
    assert identity is not None  # identify() made it
    address = dict(identity.address or {})
    address.update(
        {
            "user_id": member.user_id,
            "tenant_id": tenant_id,
            "service_url": service_url,
            "channel_id": channel_id,
        }
    )
    if member.upn:
        address["upn"] = member.upn
    if reference is not None:
        address["reference"] = reference
    if address != (identity.address or {}):
        identity.address = address
    if locale and locale != identity.locale:  # the activity's locale: the language Teams speaks to them
        identity.locale = locale[:35]
    if refreshed:
        identity.refreshed_at = utcnow()
    return person, identity
