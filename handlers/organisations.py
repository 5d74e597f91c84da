"""Organisations a platform app was removed from: suspended until installed again.

A Slack workspace that uninstalls the app (or revokes its tokens) is suspended: nothing is
scheduled or sent for it, and its data stays. Installing again reinstates it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import utcnow
from storage.models import Organisation
from storage.queries import get_or_create_org


async def suspend(session: AsyncSession, org_id: int) -> bool:
    """Mark the organisation suspended; False when it already was."""
    org = await session.get(Organisation, org_id)
    if org is None or org.suspended_at is not None:
        return False
    org.suspended_at = utcnow()
    return True


async def reinstate(session: AsyncSession, key: str, name: str | None = None) -> Organisation:
    """The organisation with this key, created if new, no longer suspended."""
    org = await get_or_create_org(session, key, name or "PMO")
    org.suspended_at = None
    if name and org.name in ("PMO", key):
        org.name = name
    return org


async def is_suspended(session: AsyncSession, org_id: int) -> bool:
    return (
        await session.scalar(select(Organisation.suspended_at).where(Organisation.id == org_id))
    ) is not None
