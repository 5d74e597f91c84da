"""Posting to Slack for the core: DMs to people, alerts to channels, answered messages updated.

A DM is posted to the user id itself (Slack delivers it to the bot's DM with that user and
answers with the DM channel id), so there is never a conversations.open per send. The reference
kept for later updates is {"platform": "slack", "channel": "D…", "ts": "…"}. The token is the
organisation's (`Workspaces.token_for_org`), so the scheduler needs nothing Slack-specific.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import blocks
from bot.slack.errors import delivery
from bot.slack.files import CHART_RETRY_DELAY, upload_attachment, upload_chart, with_chart_fallback
from bot.slack.history import SlackHistory
from bot.slack.workspaces import Workspaces
from handlers.i18n import _
from handlers.ports import CannotLook, DeliveryFailed
from handlers.views import View
from storage.models import Identity, Person

PLATFORM = "slack"


class SlackChannel:
    """The `Channel` of handlers/ports.py for Slack."""

    platform = PLATFORM

    def __init__(self, workspaces: Workspaces, *, chart_retry_delay: float = CHART_RETRY_DELAY) -> None:
        self.workspaces = workspaces
        self.chart_retry_delay = chart_retry_delay
        self.history = SlackHistory(workspaces)

    async def send_direct(
        self, org_id: int, person: Person, identity: Identity | None, view: View
    ) -> dict[str, Any]:
        if identity is None or identity.platform != PLATFORM:
            raise DeliveryFailed(
                _("%(name)s has no Slack account the bot knows", name=person.name), permanent=True
            )
        return await self.post(org_id, identity.external_id, view)

    async def send_to_channel(self, org_id: int, channel: str, view: View) -> dict[str, Any]:
        return await self.post(org_id, channel, view)

    async def update(self, org_id: int, ref: dict[str, Any], view: View) -> None:
        channel, ts = ref.get("channel"), ref.get("ts")
        if not isinstance(channel, str) or not isinstance(ts, str):
            raise DeliveryFailed(_("that Slack message reference has no channel and ts"), permanent=True)
        client = await self.workspaces.client_for_org(org_id)
        async with delivery(lambda: self.workspaces.token_failed(org_id)):
            chart = await upload_chart(client, view.chart) if view.chart else None

            async def send(file_id: str | None) -> Any:
                return await client.chat_update(
                    channel=channel,
                    ts=ts,
                    text=blocks.fallback_text(view),
                    blocks=blocks.message(view, chart_file_id=file_id),
                )

            await with_chart_fallback(send, chart, delay=self.chart_retry_delay)

    async def find_sent(
        self, org_id: int, person: Person, identity: Identity | None, checkin_id: int, since: dt.datetime
    ) -> dict[str, Any] | None:
        """Read the DM's history back (bot/slack/history.py)."""
        if identity is None:
            raise CannotLook("they have no Slack account the bot knows")
        return await self.history.find(org_id, identity.external_id, checkin_id, since)

    async def post(
        self, org_id: int, channel: str, view: View, *, thread_ts: str | None = None
    ) -> dict[str, Any]:
        """Post a view to a user id or a channel id; its chart and attachment follow it."""
        client = await self.workspaces.client_for_org(org_id)
        return await self.post_with(client, org_id, channel, view, thread_ts=thread_ts)

    async def post_with(
        self, client: AsyncWebClient, org_id: int, channel: str, view: View, *, thread_ts: str | None = None
    ) -> dict[str, Any]:
        async with delivery(lambda: self.workspaces.token_failed(org_id)):
            chart = await upload_chart(client, view.chart) if view.chart else None

            async def send(file_id: str | None) -> Any:
                return await client.chat_postMessage(
                    channel=channel,
                    text=blocks.fallback_text(view),
                    blocks=blocks.message(view, chart_file_id=file_id),
                    thread_ts=thread_ts,
                )

            response = await with_chart_fallback(send, chart, delay=self.chart_retry_delay)
            posted_in = str(response["channel"])
            if view.attachment is not None:
                await upload_attachment(client, posted_in, view.attachment)
        return {"platform": PLATFORM, "channel": posted_in, "ts": str(response["ts"])}
