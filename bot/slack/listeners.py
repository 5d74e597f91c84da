"""Bolt listeners: Slack requests turned into the core's use cases, and their answers rendered back.

Every listener acknowledges first (Slack's three seconds) and then does the work, answering
through the response_url, `chat.update` or `views.publish`. The work is queued (bot/slack/work.py)
and yields to acknowledgements under way, so a burst never delays them, and reports run off the event loop
(bot/slack/lane.py). Two things cannot wait in a queue: opening a modal (its trigger_id lives three
seconds) and a modal submission, whose errors must be in the acknowledgement; that use case gets up
to two seconds to say whether the input was fine, and answers in a DM if it takes longer. Button
values and modal inputs are decoded defensively (bot/slack/blocks.py) and validated by the
core like any other input. Events are processed once per event_id (`handlers.events`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import blocks
from bot.slack.blocks import OPEN_FORM, SHARE, TASTE_ACTION, BadValue
from bot.slack.channel import SlackChannel
from bot.slack.lane import SlowLane, is_slow
from bot.slack.people import SlackPeople
from bot.slack.replies import Replies, Responder, is_response_url
from bot.slack.work import WorkQueue
from bot.slack.workspaces import Workspaces
from handlers import home
from handlers.commands import run_command
from handlers.events import EventLedger
from handlers.followups import ACTION as FOLLOW_UP
from handlers.forms import form_for
from handlers.interactions import act, direct_message
from handlers.outbox import OOPS
from handlers.parser import ParseError, parse
from handlers.ports import Caller, Services
from handlers.views import Choice, View, error

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

PLATFORM = "slack"
SUBMIT_BUDGET = 2.0  # seconds a modal submission may take before Slack's 3 s are at risk
COMMAND_CHARS = 500
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
FORMS = re.compile(r"^(taste_comment|painpoint)$")


def share_choice(text: str) -> Choice:
    return Choice(action=SHARE, label="Share in channel", payload={"command": text})


def is_value_command(text: str) -> bool:
    try:
        return parse(text).name == "value"
    except ParseError:
        return False


def _command_text(payload: dict[str, Any]) -> str:
    text = payload.get("command")
    if not isinstance(text, str) or not text.strip() or len(text) > COMMAND_CHARS:
        raise BadValue("That button carries no command I can read; nothing was changed.")
    return text


class SlackListeners:
    """The app's listeners, bound to the runtime's services and Slack's helpers."""

    def __init__(
        self,
        runtime: Runtime,
        workspaces: Workspaces,
        people: SlackPeople,
        channel: SlackChannel,
        ledger: EventLedger,
        *,
        work: WorkQueue | None = None,
        command: str = "/pmo",
    ) -> None:
        self.runtime = runtime
        self.workspaces = workspaces
        self.people = people
        self.channel = channel
        self.ledger = ledger
        self.command = command
        self.replies = Replies(channel, workspaces.pool)
        self.work = work or WorkQueue()
        self._lane: SlowLane | None = None

    @property
    def services(self) -> Services:
        return self.runtime.services

    @property
    def lane(self) -> SlowLane:
        if self._lane is None:
            self._lane = SlowLane(self.services)
        return self._lane

    async def stop(self) -> None:
        await self.work.stop()
        if self._lane is not None:
            await self._lane.stop()

    def register(self, app: AsyncApp) -> None:
        app.middleware(self.once)
        app.command(self.command)(self.on_command)
        app.action(TASTE_ACTION)(self.on_taste)
        app.action(re.compile(rf"^(painpoint_open|{OPEN_FORM}[a-z_]+)$"))(self.on_open_form)
        app.action(re.compile(rf"^{FOLLOW_UP}(#\d+)?$"))(self.on_follow_up)
        app.action(re.compile(rf"^{home.COMMAND}(#\d+)?$"))(self.on_command_button)
        app.action(re.compile(rf"^{SHARE}(#\d+)?$"))(self.on_share)
        app.view(FORMS)(self.on_submit)
        app.event("app_home_opened")(self.on_home_opened)
        app.event("message")(self.on_message)
        app.event("app_uninstalled")(self.on_uninstalled)
        app.event("tokens_revoked")(self.on_tokens_revoked)

    # ---- helpers ------------------------------------------------------------------------------

    async def caller(
        self, team_id: str | None, user_id: Any, client: AsyncWebClient, channel: str | None = None
    ) -> Caller:
        if not isinstance(user_id, str) or not USER_ID.match(user_id):
            raise BadValue("I cannot tell who sent that; nothing was changed.")
        org_id = await self.workspaces.org_for_team(team_id)
        person_id = await self.people.person_id(org_id, user_id, client)
        return Caller(org_id=org_id, person_id=person_id, platform=PLATFORM, channel=channel)

    async def run(self, caller: Caller, text: str) -> View:
        """A `/pmo` command: reports in the slow lane (off the event loop), the rest here."""
        if is_slow(text):
            return await self.lane.run_command(caller, text)
        return await run_command(self.services, caller, text)

    def later(
        self, job: Callable[[], Awaitable[None]], tell: Callable[[View], Awaitable[Any]] | None
    ) -> None:
        """Queue the work behind an acknowledgement; the person hears of any failure in words."""

        async def guarded() -> None:
            async with self.guard(tell):
                await job()

        self.work.submit(guarded)

    @asynccontextmanager
    async def guard(self, tell: Callable[[View], Awaitable[Any]] | None) -> AsyncIterator[None]:
        """Whatever fails, the person is told in words (a refusal or 'something went wrong')."""
        try:
            yield
        except BadValue as exc:
            if tell is not None:
                await tell(error(str(exc)))
        except Exception:
            log.exception("Slack listener failed")
            if tell is not None:
                try:
                    await tell(error(OOPS))
                except Exception:
                    log.exception("could not tell the person that it failed")

    def ephemeral(self, body: dict[str, Any]) -> Callable[[View], Awaitable[Any]] | None:
        """Tell the person who acted, privately, through the request's response_url (if it has one).

        The poster is made when there is something to tell: most clicks never need it."""
        url = body.get("response_url")
        if not is_response_url(url):
            return None

        async def tell(view: View) -> Any:
            return await Responder(self.replies.pool, url)(
                text=blocks.fallback_text(view),
                blocks=blocks.message(view),
                response_type="ephemeral",
                replace_original=False,
            )

        return tell

    # ---- middleware ---------------------------------------------------------------------------

    async def once(self, body: dict[str, Any], next: Callable[[], Awaitable[Any]]) -> Any:
        """An event already processed (Slack's retry, or a repeated event_id) is acknowledged only."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if isinstance(event_id, str) and event_id and not await self.ledger.first_time(PLATFORM, event_id):
            log.info("Slack event %s was processed before; acknowledged only", event_id)
            return BoltResponse(status=200, body="")
        return await next()

    # ---- /pmo ---------------------------------------------------------------------------------

    async def on_command(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        await ack()
        text = blocks.unescape(str(body.get("text") or ""))
        respond = self.replies.responder(body.get("response_url"))

        async def job() -> None:
            caller = await self.caller(context.team_id, body.get("user_id"), client, body.get("channel_id"))
            view = await self.run(caller, text)
            extra = (
                (share_choice(text),) if view.ok and view.chart is not None and is_value_command(text) else ()
            )
            if respond is not None:
                await self.replies.send(respond, client, caller, body["user_id"], view, extra=extra)

        self.later(job, self.ephemeral(body))

    # ---- buttons ------------------------------------------------------------------------------

    async def on_taste(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> None:
        await ack()
        tell = self.ephemeral(body)
        # The job keeps only what it needs, not the request: a burst queues thousands of clicks.
        team_id, user_id = context.team_id, body.get("user", {}).get("id")
        action_id, value = action["action_id"], action.get("value")

        async def job() -> None:
            payload = blocks.decode_value(value)
            if payload.get("rating") != int(action_id[-1]):
                raise BadValue("That button is not one I know; nothing was changed.")
            caller = await self.caller(team_id, user_id, client)
            view = await act(self.services, caller, action_id, payload)
            if not view.ok and tell is not None:
                await tell(view)

        self.later(job, tell)

    async def on_open_form(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> None:
        """Opens the modal at once: its trigger_id expires three seconds after the click."""
        await ack()
        tell = self.ephemeral(body)
        async with self.guard(tell):
            action_id = action["action_id"]
            form_action = "painpoint" if action_id == "painpoint_open" else action_id[len(OPEN_FORM) :]
            payload = blocks.decode_value(action.get("value"))
            caller = await self.caller(context.team_id, body.get("user", {}).get("id"), client)
            view = await form_for(self.services, caller, form_action, payload)
            if not view.ok or view.form is None:
                if tell is not None:
                    await tell(view)
                return
            modal = blocks.modal(view.form, metadata={"payload": view.form.payload})
            await client.views_open(trigger_id=body["trigger_id"], view=modal)

    async def on_follow_up(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> None:
        await ack()
        tell = self.ephemeral(body)

        async def job() -> None:
            payload = blocks.decode_value(action.get("value"))
            caller = await self.caller(context.team_id, body.get("user", {}).get("id"), client)
            view = await act(self.services, caller, FOLLOW_UP, payload)
            container = body.get("container") or {}
            message = body.get("message") or {}
            if not view.ok or not view.public or not container.get("channel_id") or not message:
                if tell is not None:
                    await tell(view)
                return
            kept = [b for b in message.get("blocks") or [] if b.get("type") != "actions"]
            note = {"type": "context", "elements": [{"type": "mrkdwn", "text": blocks.escape(view.text)}]}
            await client.chat_update(
                channel=container["channel_id"],
                ts=container.get("message_ts") or message.get("ts"),
                text=message.get("text") or view.text,
                blocks=[*kept, note],
            )

        self.later(job, tell)

    async def on_command_button(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> None:
        """A `/pmo` command on a button (the home tab's pause/resume): run it, show the result."""
        await ack()
        on_home = (body.get("container") or {}).get("type") == "view"
        user_id = body.get("user", {}).get("id")
        tell = None if on_home else self.ephemeral(body)

        async def job() -> None:
            text = _command_text(blocks.decode_value(action.get("value")))
            caller = await self.caller(context.team_id, user_id, client)
            view = await self.run(caller, text)
            if on_home:
                await self.publish_home(client, caller, user_id, notice=view)
            elif tell is not None:
                await tell(view)

        self.later(job, tell)

    async def on_share(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> None:
        """'Share in channel' under a value report: the same report, posted for everyone."""
        await ack()
        tell = self.ephemeral(body)
        respond = self.replies.responder(body.get("response_url"))

        async def job() -> None:
            text = _command_text(blocks.decode_value(action.get("value")))
            if not is_value_command(text):
                raise BadValue("Only a value report can be shared this way; nothing was posted.")
            user_id = body.get("user", {}).get("id")
            caller = await self.caller(
                context.team_id, user_id, client, (body.get("channel") or {}).get("id")
            )
            view = await self.run(caller, text)
            if not view.ok:
                if tell is not None:
                    await tell(view)
                return
            if respond is not None:
                await self.replies.send(respond, client, caller, user_id, view, in_channel=True)

        self.later(job, tell)

    # ---- modals -------------------------------------------------------------------------------

    async def on_submit(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> None:
        started = asyncio.get_running_loop().time()
        user_id = body.get("user", {}).get("id")
        field = _first_block(view)
        try:
            metadata = blocks.decode_metadata(view.get("private_metadata"))
            values = blocks.submitted_values(view.get("state"))
            caller = await self.caller(context.team_id, user_id, client)
        except BadValue as exc:
            await ack(response_action="errors", errors={field: str(exc)})
            return
        except Exception:
            log.exception("Slack modal submission failed")
            await ack(response_action="errors", errors={field: OOPS})
            return
        task = asyncio.ensure_future(
            act(self.services, caller, view["callback_id"], metadata["payload"], values)
        )
        budget = max(SUBMIT_BUDGET - (asyncio.get_running_loop().time() - started), 0.1)
        done, _ = await asyncio.wait({task}, timeout=budget)
        if task in done:
            result = task.result()
            if result.ok:
                await ack()
            else:
                await ack(response_action="errors", errors={_error_block(view, result): _cut(result.text)})
            return
        await ack()  # closes the modal; the answer comes as a DM
        result = await task
        if not result.ok:
            try:
                await self.channel.post_with(client, caller.org_id, user_id, result)
            except Exception:
                log.exception("could not tell %s that the form failed", user_id)

    # ---- events -------------------------------------------------------------------------------

    async def publish_home(
        self, client: AsyncWebClient, caller: Caller, user_id: str, notice: View | None = None
    ) -> None:
        sections = await home.home(self.services, caller, notice)
        await client.views_publish(user_id=user_id, view=blocks.home(sections))

    async def on_home_opened(
        self, event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        if event.get("tab", "home") != "home":
            return

        async def job() -> None:
            user_id = event.get("user")
            caller = await self.caller(context.team_id, user_id, client)
            await self.publish_home(client, caller, str(user_id))

        self.later(job, None)

    async def on_message(
        self, event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        """A DM to the bot: a command, or the answer to an open pain-point prompt."""
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        channel = event.get("channel")
        text = event.get("text")
        if not isinstance(channel, str) or not isinstance(text, str) or not text.strip():
            return
        org: list[int] = []

        async def tell(view: View) -> None:
            if org:
                await self.channel.post_with(client, org[0], channel, view)

        async def job() -> None:
            caller = await self.caller(context.team_id, event.get("user"), client, channel)
            org.append(caller.org_id)
            view = await direct_message(self.services, caller, blocks.unescape(text[:4000]))
            await self.channel.post_with(client, caller.org_id, channel, view)

        self.later(job, tell)

    async def on_uninstalled(self, context: AsyncBoltContext) -> None:
        org_id = await self.workspaces.uninstall(context.team_id, context.enterprise_id)
        self.people.forget(org_id)

    async def on_tokens_revoked(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        if (event.get("tokens") or {}).get("bot"):
            await self.on_uninstalled(context)


def _cut(text: str, limit: int = 150) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_block(view: dict[str, Any]) -> str:
    values = (view.get("state") or {}).get("values")
    if isinstance(values, dict) and values:
        return str(next(iter(values)))
    return "text"


def _error_block(view: dict[str, Any], result: View) -> str:
    """The input the error belongs to: the impact select when the error is about impact."""
    values = (view.get("state") or {}).get("values") or {}
    if "impact" in values and "impact" in result.text.lower():
        return "impact"
    return _first_block(view)
