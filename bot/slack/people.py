"""Slack users as people: created on first contact, their name, e-mail, time zone and locale from users.info.

What users.info said is kept on the identity (`refreshed_at`) and asked again after a day, so a
busy person costs one users.info a day, not one per click; within the process the person's id
is remembered too, so most requests need no database read to know who is asking.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.people import identify
from storage.db import Database, utcnow
from storage.models import Identity, Person

log = logging.getLogger(__name__)

PLATFORM = "slack"
REFRESH = dt.timedelta(days=1)
CACHE_SIZE = 50_000


def profile(user: dict[str, Any]) -> dict[str, str | None]:
    """name, email and tz from a users.info / users.lookupByEmail user object."""
    info = user.get("profile") or {}
    name = info.get("real_name") or user.get("real_name") or info.get("display_name") or user.get("name")
    return {"name": name or None, "email": info.get("email") or None, "tz": user.get("tz") or None}


async def fetch_user(client: AsyncWebClient, user_id: str) -> dict[str, Any] | None:
    """users.info, or None when Slack cannot say (the person is still known by their id)."""
    try:
        response = await client.users_info(user=user_id, include_locale=True)
    except (TimeoutError, SlackApiError, aiohttp.ClientError, OSError) as exc:
        log.warning("users.info %s failed: %s", user_id, exc)
        return None
    user = response.get("user")
    return user if isinstance(user, dict) else None


async def remember(
    session: AsyncSession, org_id: int, user: dict[str, Any] | None, user_id: str, admins: frozenset[str]
) -> Person:
    """identify() with what Slack said, and note when it was said (None: ask again next time)."""
    person = await identify(
        session, org_id, PLATFORM, user_id, admins=admins, **(profile(user) if user else {})
    )
    identity = await session.scalar(
        select(Identity).where(
            Identity.org_id == org_id, Identity.platform == PLATFORM, Identity.external_id == user_id
        )
    )
    if identity is not None:
        identity.refreshed_at = utcnow() if user is not None else None
        locale = user.get("locale") if user else None
        if isinstance(locale, str) and locale and locale != identity.locale:  # the language it speaks to them
            identity.locale = locale[:35]
    return person


class SlackPeople:
    """Who is asking: a Slack user id in a workspace → the person's id in its organisation."""

    def __init__(self, db: Database, admins: frozenset[str] = frozenset()) -> None:
        self.db = db
        self.admins = admins
        self._known: dict[tuple[int, str], tuple[int, float]] = {}
        self._locks: dict[tuple[int, str], asyncio.Lock] = {}

    def forget(self, org_id: int | None = None) -> None:
        self._known = {k: v for k, v in self._known.items() if org_id is not None and k[0] != org_id}

    async def person_id(self, org_id: int, user_id: str, client: AsyncWebClient) -> int:
        key = (org_id, user_id)
        known = self._known.get(key)
        if known is not None and time.monotonic() - known[1] < REFRESH.total_seconds():
            return known[0]
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            known = self._known.get(key)
            if known is not None and time.monotonic() - known[1] < REFRESH.total_seconds():
                return known[0]
            person_id = await self._resolve(org_id, user_id, client)
        self._locks.pop(key, None)
        if len(self._known) >= CACHE_SIZE:
            self._known.clear()
        self._known[key] = (person_id, time.monotonic())
        return person_id

    async def _resolve(self, org_id: int, user_id: str, client: AsyncWebClient) -> int:
        async with self.db.transaction() as session:
            row = (
                await session.execute(
                    select(Identity.person_id, Identity.refreshed_at).where(
                        Identity.org_id == org_id,
                        Identity.platform == PLATFORM,
                        Identity.external_id == user_id,
                    )
                )
            ).first()
        if row is not None and row.refreshed_at is not None and utcnow() - row.refreshed_at < REFRESH:
            return int(row.person_id)
        user = await fetch_user(client, user_id)
        # another process may meet this person at the same moment: identify() takes its identity
        async with self.db.transaction() as session:
            person = await remember(session, org_id, user, user_id, self.admins)
            return person.id
