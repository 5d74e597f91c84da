"""Answering the person who acted, through the request's response_url (what Bolt's respond() does).

Replies are ephemeral unless the view is meant for the channel (`View.public`, or "Share in
channel"). A chart is uploaded first and shown as an image block; a file (an export) is posted
to the person's DM with the bot, and the reply says where it went. The posts share the
platform's HTTP session and retry like every other Slack call (Bolt's own respond() opens a
new session per answer, which a burst of answers pays for dearly).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, TypeGuard

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.slack import blocks
from bot.slack.channel import SlackChannel
from bot.slack.clients import ClientPool, retry_handlers
from bot.slack.files import upload_chart, with_chart_fallback
from handlers.i18n import Cat, _
from handlers.ports import Caller, DeliveryFailed
from handlers.views import Choice, View, info, localize

log = logging.getLogger(__name__)


def is_response_url(url: Any) -> TypeGuard[str]:
    return isinstance(url, str) and url.startswith(("https://", "http://"))


class Responder:
    """Posts to one response_url: `await respond(text=…, blocks=…, response_type=…, replace_original=…)`."""

    def __init__(self, pool: ClientPool, url: str) -> None:
        self.client = AsyncWebhookClient(url, session=pool.session, retry_handlers=retry_handlers())

    async def __call__(self, **message: Any) -> WebhookResponse:
        return await self.client.send(**message)


class Replies:
    def __init__(self, channel: SlackChannel, pool: ClientPool) -> None:
        self.channel = channel
        self.pool = pool

    def responder(self, url: Any) -> Responder | None:
        return Responder(self.pool, url) if is_response_url(url) else None

    async def send(
        self,
        respond: Responder,
        client: AsyncWebClient,
        caller: Caller,
        user_id: str,
        view: View,
        *,
        extra: Sequence[Choice] = (),
        in_channel: bool | None = None,
        replace_original: bool = False,
    ) -> None:
        """The view as an answer to the request; an attachment goes to the person's DM first."""
        if view.attachment is not None:
            view = await self._deliver_file(client, caller, user_id, view)
        public = view.public if in_channel is None else in_channel
        chart = await upload_chart(client, view.chart) if view.chart else None

        async def send(file_id: str | None) -> Any:
            response = await respond(
                text=blocks.fallback_text(view),
                blocks=blocks.message(view, chart_file_id=file_id, extra=extra),
                response_type="in_channel" if public else "ephemeral",
                replace_original=replace_original,
            )
            if response.status_code != 200:
                error = (
                    "invalid_blocks"
                    if "invalid_blocks" in (response.body or "")
                    else str(response.status_code)
                )
                raise SlackApiError(f"respond() failed: {response.body}", {"ok": False, "error": error})
            return response

        await with_chart_fallback(send, chart, delay=self.channel.chart_retry_delay)

    async def _deliver_file(self, client: AsyncWebClient, caller: Caller, user_id: str, view: View) -> View:
        assert view.attachment is not None
        try:
            await self.channel.post_with(client, caller.org_id, user_id, view)
        except DeliveryFailed as exc:
            failed = View(
                text=Cat(
                    view.text, _("But I could not send the file: %(reason)s.", reason=exc.reason), sep=" "
                ),
                ok=False,
            )
            return localize(failed, view.language)
        sent = info(
            view.text,
            _("📎 %(file)s is in your direct messages with the PMO bot.", file=view.attachment.filename),
        )
        return localize(sent, view.language)
