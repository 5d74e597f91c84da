"""CSV exports in Teams: the FileConsentCard flow, so the file lands in the requester's OneDrive.

The bot may not write to someone's OneDrive unasked. It sends a consent card naming the file;
when the person accepts, Teams sends an upload URL (a `fileConsent/invoke`), the bot runs the
export again as that person (so the role is checked at that moment and the data is fresh), PUTs
the CSV there, and posts the file into the chat with a FileInfoCard.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import aiohttp
from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.schema import Activity, ActivityTypes, Attachment

from bot.platform import PlatformContext
from bot.teams import cards
from bot.teams.channel import card_activity
from bot.teams.sender import Sender
from handlers.ports import Caller
from handlers.views import Attachment as FileView
from handlers.views import View, error, info

log = logging.getLogger(__name__)

UPLOAD_TIMEOUT = aiohttp.ClientTimeout(total=120)


def consent_activity(file: FileView, kind: str) -> Activity:
    """The card asking to save `file` to the person's OneDrive."""
    content = cards.file_consent(
        file.content,
        f"The PMO's {kind} as CSV (UTF-8), {len(file.content):,} bytes.",
        {"kind": kind, "filename": file.filename},
    )
    return Activity(
        type=ActivityTypes.message,
        summary=f"Export: {file.filename}",
        attachments=[Attachment(content_type=cards.FILE_CONSENT_TYPE, name=file.filename, content=content)],
    )


class Exporter:
    def __init__(self, context: PlatformContext, sender: Sender) -> None:
        self.lane = context.lane
        self.sender = sender

    async def answer(self, context: TurnContext, caller: Caller) -> InvokeResponse:
        """A `fileConsent/invoke`: accepted (upload now) or declined (say so)."""
        value = context.activity.value if isinstance(context.activity.value, dict) else {}
        action = value.get("action")
        ask = value.get("context") if isinstance(value.get("context"), dict) else {}
        kind = str(ask.get("kind") or "")
        consent_card = context.activity.reply_to_id
        if action == "decline":
            await self._replace(
                context, consent_card, info(f"Not saved: you declined {ask.get('filename', 'the file')}.")
            )
            return InvokeResponse(status=200)
        upload = value.get("uploadInfo") if isinstance(value.get("uploadInfo"), dict) else {}
        url = str(upload.get("uploadUrl") or "")
        if action != "accept" or not kind or urlsplit(url).scheme not in ("https", "http"):
            return InvokeResponse(status=400, body={"error": "not a file consent answer the bot understands"})
        view = await self.lane.command(caller, f"export {kind}")
        if not view.ok or view.attachment is None:
            await self.sender.reply(context, card_activity(view))
            return InvokeResponse(status=200)
        problem = await self._upload(url, view.attachment.content)
        if problem:
            await self.sender.reply(
                context,
                card_activity(
                    error(
                        f"The upload to OneDrive failed ({problem}); nothing was saved. Try 'export {kind}' again."
                    )
                ),
            )
            return InvokeResponse(status=200)
        name = str(upload.get("name") or view.attachment.filename)
        await self.sender.reply(
            context,
            Activity(
                type=ActivityTypes.message,
                attachments=[
                    Attachment(
                        content_type=cards.FILE_INFO_TYPE,
                        name=name,
                        content_url=upload.get("contentUrl"),
                        content=cards.file_info(
                            str(upload.get("uniqueId") or ""), str(upload.get("fileType") or "csv")
                        ),
                    )
                ],
            ),
        )
        await self._replace(context, consent_card, info(f"✅ {name} is in your OneDrive ({view.text})"))
        return InvokeResponse(status=200)

    async def _upload(self, url: str, content: bytes) -> str | None:
        """PUT the whole file in one range; what went wrong, or None."""
        headers = {
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Range": f"bytes 0-{max(len(content) - 1, 0)}/{len(content)}",
        }
        try:
            async with (
                aiohttp.ClientSession(timeout=UPLOAD_TIMEOUT) as session,
                session.put(url, data=content, headers=headers) as response,
            ):
                if response.status in (200, 201):
                    return None
                return f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("OneDrive upload failed: %s", type(exc).__name__)
            return "OneDrive did not answer"

    async def _replace(self, context: TurnContext, activity_id: str | None, view: View) -> None:
        if activity_id:
            await self.sender.update_in_turn(context, card_activity(view, activity_id=activity_id))
        else:
            await self.sender.reply(context, card_activity(view))


def export_kind(text: str) -> str | None:
    """`export responses` → 'responses' (what the consent card's context carries)."""
    from handlers.commands.parser import ParseError, parse

    try:
        command = parse(text)
    except ParseError:
        return None
    return str(command.positional) if command.name == "export" else None
