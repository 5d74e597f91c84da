"""Files on Slack: the value chart as an image block, and CSV exports delivered to a DM.

Both go through `files_upload_v2` (files.getUploadURLExternal, the upload, then
files.completeUploadExternal). A chart is uploaded without a channel and shown by its file id
in an image block; Slack may need a moment before such a file can be shown, so a message that
Slack refuses with `invalid_blocks` is tried again once, then sent without the image (its
alt text, the trend in words, still shows).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.views import Attachment

log = logging.getLogger(__name__)

CHART_FILENAME = "pmo-value-trend.png"
CHART_RETRY_DELAY = 1.0  # seconds before showing a just-uploaded chart again


async def upload_chart(client: AsyncWebClient, png: bytes, title: str = "PMO value trend") -> str | None:
    """The file id of the uploaded chart, or None (the chart is a nicety; the figures are in text)."""
    try:
        response = await client.files_upload_v2(content=png, filename=CHART_FILENAME, title=title)
    except (TimeoutError, SlackApiError, aiohttp.ClientError, OSError) as exc:
        log.warning("chart upload failed: %s", exc)
        return None
    file = response.get("file") or (response.get("files") or [{}])[0]
    return file.get("id") if isinstance(file, dict) else None


async def upload_attachment(
    client: AsyncWebClient, channel_id: str, attachment: Attachment, comment: str | None = None
) -> str | None:
    """Share a file into a conversation (a DM channel id, not a user id); its file id."""
    response = await client.files_upload_v2(
        channel=channel_id,
        content=attachment.content,
        filename=attachment.filename,
        title=attachment.filename,
        initial_comment=comment,
    )
    file = response.get("file") or (response.get("files") or [{}])[0]
    return file.get("id") if isinstance(file, dict) else None


async def with_chart_fallback(
    send: Callable[[str | None], Awaitable[Any]], chart_file_id: str | None, *, delay: float | None = None
) -> Any:
    """`send(file_id)`; if Slack cannot show the fresh chart yet, once more later, then without it."""
    if chart_file_id is None:
        return await send(None)
    try:
        return await send(chart_file_id)
    except SlackApiError as exc:
        if exc.response.get("error") != "invalid_blocks":
            raise
    await asyncio.sleep(CHART_RETRY_DELAY if delay is None else delay)
    try:
        return await send(chart_file_id)
    except SlackApiError as exc:
        if exc.response.get("error") != "invalid_blocks":
            raise
        log.warning("Slack would not show chart %s; sending the message without it", chart_file_id)
    return await send(None)
