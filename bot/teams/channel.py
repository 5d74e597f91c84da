"""Teams as a channel of the bot: direct messages, channel posts and updates, sent proactively.

A person is reached through the conversation reference kept in their Teams identity; someone
known only from a team gets a 1:1 chat created first. Teams answering 403 means the person
blocked or removed the bot: they are marked unreachable (the PMO hears it once) and the
delivery fails for good. Pacing and retries are the sender's.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from botbuilder.schema import Activity, ActivityTypes, Attachment

from bot.platform import PlatformContext
from bot.teams import cards
from bot.teams.conversations import any_conversation, base_id, find_conversation
from bot.teams.sender import Refused, Sender
from handlers.i18n import Cat, _
from handlers.outbox import deliver
from handlers.ports import CannotLook, DeliveryFailed
from handlers.reachability import mark_unreachable
from handlers.views import View
from storage.models import Identity, Person

log = logging.getLogger(__name__)

PLATFORM = "teams"
HOW_TO_INSTALL = _(
    "in Teams, open Apps, find the PMO value bot (or 'Built for your org') and select Add; "
    "adding it to a team they are in works too"
)


def card_activity(view: View, activity_id: str | None = None) -> Activity:
    """A message carrying the view's Adaptive Card (and a summary for notifications)."""
    return Activity(
        type=ActivityTypes.message,
        id=activity_id,
        summary=(view.title or view.text or "PMO")[:200].replace("*", ""),
        attachments=[Attachment(content_type=cards.CARD_TYPE, content=cards.fitted_card(view))],
    )


def address_tenant(reference: dict[str, Any]) -> str | None:
    """The tenant a stored reference belongs to (the SDK serializes it as `tenantID`)."""
    conversation = reference.get("conversation") or {}
    return conversation.get("tenantID") or conversation.get("tenantId")


def reference_of(ref: dict[str, Any]) -> dict[str, Any]:
    """The conversation reference a message ref (as send_direct returned it) stands for."""
    return {
        "conversation": {"id": ref["conversation"], "tenantID": ref.get("tenant")},
        "serviceUrl": ref["service_url"],
        "channelId": ref.get("channel_id", "msteams"),
    }


class TeamsChannel:
    platform = PLATFORM

    def __init__(self, context: PlatformContext, sender: Sender) -> None:
        self.db = context.db
        self.services = context.services
        self.sender = sender

    async def send_direct(
        self, org_id: int, person: Person, identity: Identity | None, view: View
    ) -> dict[str, Any]:
        return await self.deliver_direct(org_id, person, identity, card_activity(view))

    async def deliver_direct(
        self, org_id: int, person: Person, identity: Identity | None, activity: Activity
    ) -> dict[str, Any]:
        """Post any activity into the person's 1:1 chat with the bot, opening it if needed."""
        address = (identity.address if identity else None) or {}
        if not address.get("reference") and not (address.get("service_url") and address.get("user_id")):
            raise DeliveryFailed(
                _("%(name)s has not installed the PMO bot in Teams yet", name=person.name), permanent=True
            )
        reference = address.get("reference")
        try:
            if not reference:
                reference = await self.sender.open_chat(
                    address["service_url"],
                    address.get("tenant_id"),
                    address["user_id"],
                    address.get("channel_id") or "msteams",
                )
                await self._keep_reference(identity, reference)
            activity_id = await self.sender.send(reference, activity)
        except Refused as exc:
            if exc.status == 403:
                await self._unreachable(
                    org_id, person, _("Teams refused the message: they blocked or removed the bot")
                )
                raise DeliveryFailed(
                    _("%(name)s has blocked or removed the PMO bot in Teams", name=person.name),
                    permanent=True,
                ) from None
            detail = exc.failure.detail
            raise self._failed(
                exc,
                _("Teams did not take a message to %(name)s (%(detail)s)", name=person.name, detail=detail),
            ) from None
        conversation = reference["conversation"]
        return {
            "platform": PLATFORM,
            "conversation": conversation["id"],
            "activity_id": activity_id,
            "service_url": reference["serviceUrl"],
            "tenant": conversation.get("tenantID") or address.get("tenant_id"),
            "channel_id": reference.get("channelId") or "msteams",
        }

    async def send_to_channel(self, org_id: int, channel: str, view: View) -> dict[str, Any]:
        reference = await self._channel_reference(org_id, channel)
        try:
            activity_id = await self.sender.send(reference, card_activity(view))
        except Refused as exc:
            if exc.status in (403, 404):
                raise DeliveryFailed(
                    _(
                        "the bot can no longer post to Teams conversation %(channel)s (removed from the team?)",
                        channel=channel,
                    ),
                    permanent=True,
                ) from None
            detail = exc.failure.detail
            raise self._failed(
                exc,
                _("Teams did not take a post to %(channel)s (%(detail)s)", channel=channel, detail=detail),
            ) from None
        return {
            "platform": PLATFORM,
            "conversation": reference["conversation"]["id"],
            "activity_id": activity_id,
            "service_url": reference["serviceUrl"],
            "tenant": reference["conversation"].get("tenantID") or address_tenant(reference),
            "channel_id": reference.get("channelId") or "msteams",
        }

    async def update(self, org_id: int, ref: dict[str, Any], view: View) -> None:
        if not all(ref.get(k) for k in ("conversation", "activity_id", "service_url")):
            raise DeliveryFailed(_("that Teams message reference is incomplete"), permanent=True)
        try:
            await self.sender.update(
                reference_of(ref), card_activity(view, activity_id=str(ref["activity_id"]))
            )
        except Refused as exc:
            if exc.status in (403, 404):
                raise DeliveryFailed(
                    _("the Teams message to update is gone or out of reach"), permanent=True
                ) from None
            raise self._failed(
                exc,
                _("Teams did not take an update of a Teams message (%(detail)s)", detail=exc.failure.detail),
            ) from None

    async def find_sent(
        self, org_id: int, person: Person, identity: Identity | None, checkin_id: int, since: dt.datetime
    ) -> dict[str, Any] | None:
        """The Bot Framework cannot read a 1:1 conversation back, so a message accepted in the last
        moment before a crash may be sent again here (docs/operations.md, "The residual window")."""
        raise CannotLook("Teams cannot read back what the bot sent")

    # ---- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _failed(exc: Refused, reason: str) -> DeliveryFailed:
        """`reason` (a whole sentence naming Teams' detail), permanent or not as Teams' answer says."""
        failure = exc.failure
        return DeliveryFailed(
            reason,
            permanent=not failure.transient,
            retry_after=failure.retry_after,
        )

    async def _keep_reference(self, identity: Identity | None, reference: dict[str, Any]) -> None:
        if identity is None:
            return
        async with self.db.transaction() as session:
            row = await session.get(Identity, identity.id)
            if row is not None:
                row.address = {**(row.address or {}), "reference": reference}

    async def _unreachable(self, org_id: int, person: Person, why: str) -> None:
        services = self.services
        async with self.db.transaction() as session:
            outbox = await mark_unreachable(
                session, person.id, PLATFORM, why, Cat(HOW_TO_INSTALL, "."), services.policy
            )
        for problem in await deliver(services, org_id, outbox):
            log.warning("could not tell the PMO that %s is unreachable: %s", person.name, problem)

    async def _channel_reference(self, org_id: int, channel: str) -> dict[str, Any]:
        async with self.db.sessions() as session:
            row = await find_conversation(session, org_id, channel)
            fallback = None if row else await any_conversation(session, org_id)
        if row is not None and row.address.get("reference"):
            return {**row.address["reference"], "activityId": None}
        if fallback is None or not fallback.address.get("reference"):
            raise DeliveryFailed(
                _(
                    "the bot has not been in Teams conversation %(channel)s yet: add it to that team and "
                    "run 'alerts here' in the channel",
                    channel=channel,
                ),
                permanent=True,
            )
        known = fallback.address["reference"]
        return {
            "conversation": {
                "id": base_id(channel),
                "isGroup": True,
                "conversationType": "channel",
                "tenantID": address_tenant(known),
            },
            "serviceUrl": known["serviceUrl"],
            "channelId": known.get("channelId") or "msteams",
            "bot": known.get("bot"),
        }
