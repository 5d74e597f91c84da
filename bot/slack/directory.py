"""Finding Slack people the bot has not met: `sponsor:e-mail` and mentions of unknown ids.

An e-mail is looked up with users.lookupByEmail, a mention `<@U…>` with users.info, both with
the organisation's own token, so a workspace only ever finds its own members. Whoever is
found becomes a person of the organisation (identify), exactly as on first contact. Someone
Slack does not know is None ("I can't find …"); a lookup that fails for another reason, or a
deactivated account, raises NotReachable with the reason in words.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.slack.errors import as_delivery_failed
from bot.slack.people import fetch_user, remember
from bot.slack.workspaces import Workspaces
from handlers.i18n import _
from handlers.ports import DeliveryFailed, NotReachable, PersonRef
from storage.models import Person

log = logging.getLogger(__name__)

SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


class SlackDirectory:
    """The `Directory` port for Slack."""

    def __init__(self, workspaces: Workspaces, admins: frozenset[str] = frozenset()) -> None:
        self.workspaces = workspaces
        self.admins = admins

    async def resolve(self, session: AsyncSession, org_id: int, ref: PersonRef) -> Person | None:
        if ref.user_id and not SLACK_USER_ID.match(ref.user_id):
            return None
        if not ref.user_id and not ref.email:
            return None
        try:
            client = await self.workspaces.client_for_org(org_id)
        except DeliveryFailed:
            return None  # not a Slack organisation, or not installed any more
        try:
            if ref.user_id:
                response = await client.users_info(user=ref.user_id, include_locale=True)
            else:
                response = await client.users_lookupByEmail(email=ref.email)
        except SlackApiError as exc:
            code = exc.response.get("error")
            if code in ("user_not_found", "users_not_found"):
                return None
            log.warning("Slack lookup of %s failed: %s", ref.written, code)
            raise NotReachable(
                _(
                    "Slack could not look up %(person)s: %(reason)s.",
                    person=ref.written,
                    reason=as_delivery_failed(exc).reason,
                )
            ) from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            log.warning("Slack lookup of %s failed: %s", ref.written, exc)
            raise NotReachable(
                _("Slack could not be reached to look up %(person)s; try again.", person=ref.written)
            ) from None
        user: Any = response.get("user")
        if not isinstance(user, dict) or not user.get("id"):
            return None
        if user.get("deleted"):
            raise NotReachable(_("%(person)s has a deactivated Slack account.", person=ref.written))
        if user.get("is_bot"):
            raise NotReachable(_("%(person)s is a bot, not a person.", person=ref.written))
        if "locale" not in user:  # users.lookupByEmail does not say; the language comes from users.info
            user = await fetch_user(client, str(user["id"])) or user
        return await remember(session, org_id, user, str(user["id"]), self.admins)
