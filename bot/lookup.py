"""Finding a check-in message sent before, so that a retried send is not a second message.

A clock can die after the platform accepted a message and before the database recorded it; a
timeout can hide an accepted message too. Before such a claim is sent again, the channel is
asked whether the person's conversation already holds a message whose buttons carry this
check-in's id (every check-in and reminder view does). Where it does, that message is recorded
instead of sending another.

- console: the `local_messages` table;
- Slack: `conversations.open` for the DM's id, then `conversations.history` since the claim
  (the `im:history` scope); button values are the JSON payloads bot/slack/blocks.py encodes;
- Teams: the Bot Framework cannot read a 1:1 conversation back, so a message accepted in the last
  moment before a crash may be sent again there (docs/operations.md, "The residual window").

A channel may also offer its own `find_direct(org_id, person, identity, checkin_id, since)`; it wins.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select

from storage.db import Database
from storage.models import Identity, LocalMessage, Person

MARGIN = dt.timedelta(minutes=5)  # clocks differ; a check-in's id never appears before its claim anyway
HISTORY_PAGE = 200


class CannotLook(Exception):
    """This platform cannot tell whether a message was sent (the caller sends again)."""


def carries_checkin(payload: Any, checkin_id: int) -> bool:
    return isinstance(payload, dict) and payload.get("checkin") == checkin_id


def view_carries(view: dict[str, Any], checkin_id: int) -> bool:
    """Whether a stored neutral view (View.to_dict) has a button or form for this check-in."""
    choices = view.get("choices") or ()
    form = view.get("form") or {}
    return any(carries_checkin(c.get("payload"), checkin_id) for c in choices if isinstance(c, dict)) or (
        isinstance(form, dict) and carries_checkin(form.get("payload"), checkin_id)
    )


def blocks_carry(blocks: Any, checkin_id: int) -> bool:
    """Whether Slack blocks hold a button whose JSON value names this check-in."""
    for block in blocks or ():
        for element in (block or {}).get("elements") or ():
            value = element.get("value") if isinstance(element, dict) else None
            if not isinstance(value, str) or not value.startswith("{"):
                continue
            try:
                if carries_checkin(json.loads(value), checkin_id):
                    return True
            except ValueError:
                continue
    return False


async def find_sent(
    channel: Any,
    db: Database,
    org_id: int,
    person: Person,
    identity: Identity | None,
    checkin_id: int,
    since: dt.datetime,
) -> dict[str, Any] | None:
    """The reference of a message for this check-in sent since `since` (naive UTC), or None.

    Raises CannotLook where the platform cannot say, and DeliveryFailed when asking failed.
    """
    own = getattr(channel, "find_direct", None)
    if own is not None:
        return await own(org_id, person, identity, checkin_id, since)
    platform = getattr(channel, "platform", None)
    if platform == "local":
        return await _find_local(db, org_id, person.id, checkin_id, since)
    if platform == "slack" and identity is not None and hasattr(channel, "workspaces"):
        return await _find_slack(channel, org_id, identity.external_id, checkin_id, since)
    raise CannotLook(f"{platform} cannot read back what the bot sent")


async def _find_local(
    db: Database, org_id: int, person_id: int, checkin_id: int, since: dt.datetime
) -> dict[str, Any] | None:
    async with db.sessions() as session:
        messages = await session.scalars(
            select(LocalMessage)
            .where(
                LocalMessage.org_id == org_id,
                LocalMessage.person_id == person_id,
                LocalMessage.created_at >= since - MARGIN,
            )
            .order_by(LocalMessage.id)
        )
        for message in messages:
            if view_carries(message.view or {}, checkin_id):
                return {"platform": "local", "message": message.id}
    return None


async def _find_slack(
    channel: Any, org_id: int, user_id: str, checkin_id: int, since: dt.datetime
) -> dict[str, Any] | None:
    from bot.slack.errors import delivery  # only when Slack is configured

    oldest = (since - MARGIN).replace(tzinfo=dt.UTC).timestamp()
    client = await channel.workspaces.client_for_org(org_id)
    async with delivery(lambda: channel.workspaces.token_failed(org_id)):
        opened = await client.conversations_open(users=user_id)
        dm = str(opened["channel"]["id"])
        cursor: str | None = None
        while True:
            page = await client.conversations_history(
                channel=dm, oldest=f"{oldest:.6f}", limit=HISTORY_PAGE, inclusive=True, cursor=cursor
            )
            for message in page.get("messages") or ():
                if blocks_carry(message.get("blocks"), checkin_id):
                    return {"platform": "slack", "channel": dm, "ts": str(message["ts"])}
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not page.get("has_more") or not cursor:
                return None
