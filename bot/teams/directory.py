"""Finding a Teams user by e-mail, for `project add … sponsor:e-mail` and `staff add e-mail`.

People who talked to the bot are already known (with their e-mail from TeamsInfo.get_member).
For anyone else the bot asks each team it is in: the connector's get-member call takes a user
principal name as well as an id. Someone in none of those teams cannot be reached; the answer
says how to fix that.
"""

from __future__ import annotations

from typing import Any

from botbuilder.core import BotAdapter, TurnContext
from botbuilder.schema.teams import TeamsChannelAccount
from sqlalchemy.ext.asyncio import AsyncSession

from bot.platform import PlatformContext
from bot.teams.channel import HOW_TO_INSTALL
from bot.teams.conversations import teams_of
from bot.teams.members import member_from, remember
from bot.teams.sender import Refused, Sender
from handlers.i18n import _
from handlers.ports import NotReachable, PersonRef
from storage.models import Person

MAX_TEAMS = 20  # teams asked per lookup, most recently active first


class TeamsDirectory:
    def __init__(self, context: PlatformContext, sender: Sender) -> None:
        self.admins = context.settings.pmo_admins
        self.sender = sender

    async def resolve(self, session: AsyncSession, org_id: int, ref: PersonRef) -> Person | None:
        if not ref.email:
            return None
        for team in (await teams_of(session, org_id))[:MAX_TEAMS]:
            address = team.address or {}
            if not address.get("reference"):
                continue
            account = await self._member(address["reference"], team.external_id, ref.email)
            if account is None:
                continue
            person, _created = await remember(
                session,
                org_id,
                member_from(account),
                tenant_id=address.get("tenant_id"),
                service_url=address["reference"]["serviceUrl"],
                channel_id=address["reference"].get("channelId") or "msteams",
                admins=self.admins,
            )
            return person
        raise NotReachable(
            _(
                "I can't reach %(person)s on Teams: they have not installed the PMO bot yet, and they are "
                "not in a team the bot is in. To fix it, ask them to add the bot (%(how)s), "
                "then run this command again.",
                person=ref.written,
                how=HOW_TO_INSTALL,
            )
        )

    async def _member(
        self, reference: dict[str, Any], team_id: str, email: str
    ) -> TeamsChannelAccount | None:
        async def lookup(context: TurnContext) -> TeamsChannelAccount:
            client = context.turn_state[BotAdapter.BOT_CONNECTOR_CLIENT_KEY]
            member = await client.conversations.get_conversation_member(team_id, email)
            return TeamsChannelAccount().deserialize({**member.serialize(), **member.additional_properties})

        try:
            return await self.sender.proactive(reference, lookup)
        except Refused as exc:
            if exc.status in (400, 403, 404):
                return None
            raise
