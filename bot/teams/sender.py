"""Every call the bot makes to Teams goes through here: paced, retried when it may help, classified.

A reply within a turn and a proactive message alike wait for the pacer, then try; a transient
answer (429, 412, 502, 504, no answer) waits and tries again, up to the policy's attempts; a final
answer becomes `Refused` with the connector's status, for the caller to turn into words.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from botbuilder.core import BotAdapter, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    Activity,
    ChannelAccount,
    ConversationParameters,
    ConversationReference,
)
from botbuilder.schema.teams import TeamsChannelAccount

from bot.teams.pacing import Pacer
from bot.teams.retry import Failure, RetryPolicy, classify

log = logging.getLogger(__name__)
T = TypeVar("T")


class Refused(Exception):
    """Teams said no for good (or kept saying 'later' until we gave up)."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.detail)
        self.failure = failure

    @property
    def status(self) -> int | None:
        return self.failure.status


def tenant_of(reference: ConversationReference | Activity) -> str:
    conversation = getattr(reference, "conversation", None)
    tenant = getattr(conversation, "tenant_id", None)
    if not tenant:
        channel_data = getattr(reference, "channel_data", None) or {}
        tenant = ((channel_data.get("tenant") or {}) if isinstance(channel_data, dict) else {}).get("id")
    return tenant or ""


class Sender:
    """Pacing and retries around the adapter, for replies and proactive messages."""

    def __init__(self, adapter: CloudAdapter, app_id: str | None, pacer: Pacer, policy: RetryPolicy) -> None:
        self.adapter = adapter
        self.app_id = app_id or None
        self.pacer = pacer
        self.policy = policy

    async def _attempts(self, tenant: str, conversation: str, call: Callable[[], Awaitable[T]]) -> T:
        retry = 0
        while True:
            await self.pacer.wait(tenant, conversation)
            try:
                return await call()
            except Exception as exc:
                failure = classify(exc)
                if failure is None:
                    raise
                if not failure.transient or retry + 1 >= self.policy.attempts:
                    raise Refused(failure) from exc
                delay = self.policy.delay(retry, failure.retry_after)
                log.info("Teams answered %s; trying again in %.2fs", failure.detail, delay)
                retry += 1
                await asyncio.sleep(delay)

    # ---- within a turn -----------------------------------------------------------------------

    async def reply(self, context: TurnContext, activity: Activity) -> str | None:
        """Send into the conversation of the current turn; the new activity's id."""
        incoming = context.activity
        response = await self._attempts(
            tenant_of(incoming), incoming.conversation.id, lambda: context.send_activity(activity)
        )
        return getattr(response, "id", None)

    async def update_in_turn(self, context: TurnContext, activity: Activity) -> None:
        incoming = context.activity
        await self._attempts(
            tenant_of(incoming), incoming.conversation.id, lambda: context.update_activity(activity)
        )

    async def member(self, context: TurnContext, member_id: str) -> TeamsChannelAccount | None:
        """TeamsInfo.get_member, paced and retried; None when Teams does not know that member here."""
        incoming = context.activity
        try:
            return await self._attempts(
                tenant_of(incoming),
                incoming.conversation.id,
                lambda: TeamsInfo.get_member(context, member_id),
            )
        except Refused as exc:
            if exc.status in (400, 403, 404):
                return None
            raise

    async def members(self, context: TurnContext, conversation_id: str) -> list[TeamsChannelAccount]:
        """Everyone in a team (or chat), page by page."""
        client = context.turn_state[BotAdapter.BOT_CONNECTOR_CLIENT_KEY]
        found: list[TeamsChannelAccount] = []
        token: str | None = None
        for _ in range(200):  # 200 pages of up to 500 people: more than any team
            page = await self._attempts(
                tenant_of(context.activity),
                conversation_id,
                lambda t=token: client.conversations.get_teams_conversation_paged_members(
                    conversation_id, 500, t
                ),
            )
            found += [TeamsChannelAccount().deserialize(m.serialize()) for m in page.members or []]
            token = page.continuation_token
            if not token:
                break
        return found

    # ---- proactive ---------------------------------------------------------------------------

    async def proactive(self, reference: dict[str, Any], work: Callable[[TurnContext], Awaitable[T]]) -> T:
        """Run `work` in a turn continued from a stored conversation reference."""
        ref = ConversationReference().deserialize(reference)
        ref.activity_id = None  # post into the conversation, not as a reply to an old message
        result: list[T] = []

        async def logic(context: TurnContext) -> None:
            result.append(await work(context))

        async def call() -> T:
            result.clear()
            await self.adapter.continue_conversation(ref, logic, self.app_id)
            return result[0]

        return await self._attempts(tenant_of(ref), ref.conversation.id, call)

    async def send(self, reference: dict[str, Any], activity: Activity) -> str:
        """Post a new message into a known conversation; the new activity's id."""

        async def work(context: TurnContext) -> str:
            response = await context.send_activity(activity)
            return str(getattr(response, "id", "") or "")

        return await self.proactive(reference, work)

    async def update(self, reference: dict[str, Any], activity: Activity) -> None:
        async def work(context: TurnContext) -> None:
            await context.update_activity(activity)

        await self.proactive(reference, work)

    async def open_chat(
        self, service_url: str, tenant_id: str | None, user_id: str, channel_id: str = "msteams"
    ) -> dict[str, Any]:
        """Create the 1:1 chat with someone the bot knows from a team; its conversation reference."""
        parameters = ConversationParameters(
            is_group=False,
            bot=ChannelAccount(id=self.app_id and f"28:{self.app_id}"),
            members=[ChannelAccount(id=user_id)],
            tenant_id=tenant_id,
            channel_data={"tenant": {"id": tenant_id}} if tenant_id else None,
        )
        created: list[dict[str, Any]] = []

        async def logic(context: TurnContext) -> None:
            reference = TurnContext.get_conversation_reference(context.activity)
            reference.user = ChannelAccount(id=user_id)
            reference.activity_id = None
            created.append(reference.serialize())

        async def call() -> dict[str, Any]:
            created.clear()
            await self.adapter.create_conversation(
                self.app_id, logic, parameters, channel_id=channel_id, service_url=service_url
            )
            return created[0]

        return await self._attempts(tenant_id or "", f"new:{user_id}", call)
