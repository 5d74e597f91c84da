"""Bolt listeners: Slack requests turned into the core's use cases, and their answers rendered back.

Every listener records its work in the durable inbox (bot/work.py, handlers/inbox.py) and only
then acknowledges (Slack's three seconds); a request the database cannot take is refused in words,
not acknowledged. The work runs afterwards from the inbox, answering through the response_url,
`chat.update` or `views.publish`; it yields to acknowledgements under way, so a burst never delays
them, and reports run off the event loop (bot/lane.py). A job keeps only what Slack sent that
it needs (ids, values, the response_url), in JSON, so that any process can resume it after a crash.

Two things cannot wait in a queue: opening a modal (its trigger_id lives three seconds) and a modal
submission, whose errors must be in the acknowledgement; that job runs at once and gets up to two
seconds to say whether the input was fine, and answers in a DM if it takes longer. Button values and
modal inputs are decoded defensively (bot/slack/blocks.py) and validated by the core like any other
input. Events are processed once per event_id (`handlers.events`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.platform import PlatformContext
from bot.slack import blocks
from bot.slack.blocks import OPEN_FORM, SHARE, TASTE_ACTION, BadValue
from bot.slack.channel import SlackChannel
from bot.slack.people import SlackPeople
from bot.slack.replies import Replies, Responder, is_response_url
from bot.slack.workspaces import Workspaces
from bot.work import Unrecorded
from handlers.alerts import recorded_messages
from handlers.commands import home
from handlers.commands.parser import ParseError, parse
from handlers.followups import ACTION as FOLLOW_UP
from handlers.forms import form_for
from handlers.i18n import say
from handlers.ids import as_id
from handlers.inbox import NOT_RECORDED, Job, Retry
from handlers.interactions import act
from handlers.outbox import OOPS
from handlers.painpoints.views import STORY_ACTION
from handlers.ports import Caller, Services
from handlers.views import Choice, View, error

log = logging.getLogger(__name__)

PLATFORM = "slack"
SUBMIT_BUDGET = 2.0  # seconds a modal submission may take before Slack's 3 s are at risk
COMMAND_CHARS = 500
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
FORMS = re.compile(r"^(taste_comment|painpoint|fix_comment)$")
FIX_ANSWER = re.compile(r"^fix_(yes|no)$")  # "You said, we did": ✅ Fixed / ❌ Not yet


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
    """The app's listeners, bound to the platform's context and Slack's helpers."""

    def __init__(
        self,
        context: PlatformContext,
        workspaces: Workspaces,
        people: SlackPeople,
        channel: SlackChannel,
        *,
        command: str = "/pmo",
    ) -> None:
        self.context = context
        self.services: Services = context.services
        self.work = context.work
        self.workspaces, self.people, self.channel = workspaces, people, channel
        self.command = command
        self.replies = Replies(channel, workspaces.pool)
        self._submitted: dict[str, asyncio.Future[View]] = {}
        self._background: set[asyncio.Task[None]] = set()  # forms being opened, words being said
        for kind, handler in (
            ("command", self.do_command),
            ("taste", self.do_taste),
            ("fix", self.do_fix),
            ("follow_up", self.do_follow_up),
            ("command_button", self.do_command_button),
            ("share", self.do_share),
            ("story", self.do_story),
            ("submit", self.do_submit),
            ("home", self.do_home),
            ("message", self.do_message),
        ):
            self.work.register(f"slack.{kind}", handler)

    def register(self, app: AsyncApp) -> None:
        app.middleware(self.once)
        app.command(self.command)(self.on_command)
        app.action(TASTE_ACTION)(self.on_taste)
        app.action(FIX_ANSWER)(self.on_fix)
        app.action(re.compile(rf"^(painpoint_open|{OPEN_FORM}[a-z_]+)$"))(self.on_open_form)
        app.action(re.compile(rf"^{FOLLOW_UP}(#\d+)?$"))(self.on_follow_up)
        app.action(re.compile(rf"^{home.COMMAND}(#\d+)?$"))(self.on_command_button)
        app.action(re.compile(rf"^{SHARE}(#\d+)?$"))(self.on_share)
        app.action(re.compile(rf"^{STORY_ACTION}(#\d+)?$"))(self.on_story)
        app.view(FORMS)(self.on_submit)
        app.event("app_home_opened")(self.on_home_opened)
        app.event("message")(self.on_message)
        app.event("app_uninstalled")(self.on_uninstalled)
        app.event("tokens_revoked")(self.on_tokens_revoked)

    # ---- helpers ------------------------------------------------------------------------------

    async def caller(self, team_id: str | None, user_id: Any, channel: str | None = None) -> Caller:
        if not isinstance(user_id, str) or not USER_ID.match(user_id):
            raise BadValue("I cannot tell who sent that; nothing was changed.")
        org_id = await self.workspaces.org_for_team(team_id)
        client = await self.workspaces.client_for_org(org_id)
        person_id = await self.people.person_id(org_id, user_id, client)
        return Caller(org_id=org_id, person_id=person_id, platform=PLATFORM, channel=channel)

    async def run(self, caller: Caller, text: str) -> View:
        """A `/pmo` command: reports in the slow lane (off the event loop), the rest here."""
        return await self.context.lane.command(caller, text)

    async def accept(self, ack: AsyncAck, kind: str, job: dict[str, Any], *, command: bool = False) -> Any:
        """Record the job durably, then acknowledge. When the database cannot take it, the request is
        not acknowledged as a success: a command answers why, anything else gets 503 (and a word
        through its response_url), and nothing is done."""
        try:
            await self.work.accept(PLATFORM, f"slack.{kind}", job)
        except Unrecorded as exc:
            log.warning("a Slack %s was refused: the inbox could not record it (%s)", kind, exc)
            refusal = say(NOT_RECORDED, self.services.policy.language)  # the person's own needs the database
            if command:
                await ack(text=refusal)
                return None
            tell = self.ephemeral(job)
            if tell is not None:
                self._in_background(self._tell_quietly(tell, error(refusal)))
            return BoltResponse(status=503, body=refusal)
        await ack()
        return None

    @asynccontextmanager
    async def guard(self, tell: Callable[[View], Awaitable[Any]] | None) -> AsyncIterator[None]:
        """Whatever fails, the person is told in words (a refusal or 'something went wrong').

        A passing database failure (`Retry`) is not a failure of the job: it runs again later."""
        try:
            yield
        except BadValue as exc:
            if tell is not None:
                await tell(error(str(exc)))
        except Retry:
            raise
        except Exception:
            log.exception("Slack listener failed")
            if tell is not None:
                await self._tell_quietly(tell, error(say(OOPS, self.services.policy.language)))

    @staticmethod
    async def _tell_quietly(tell: Callable[[View], Awaitable[Any]], view: View) -> None:
        try:
            await tell(view)
        except Exception:
            log.exception("could not tell the person that it failed")

    def _in_background(self, step: Awaitable[None]) -> None:
        task = asyncio.ensure_future(step)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

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
        if (
            isinstance(event_id, str)
            and event_id
            and not await self.context.events.first_time(PLATFORM, event_id)
        ):
            log.info("Slack event %s was processed before; acknowledged only", event_id)
            return BoltResponse(status=200, body="")
        return await next()

    # ---- /pmo ---------------------------------------------------------------------------------

    async def on_command(self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> Any:
        job = {
            "team_id": context.team_id,
            "user_id": body.get("user_id"),
            "channel_id": body.get("channel_id"),
            "text": blocks.unescape(str(body.get("text") or "")),
            "response_url": body.get("response_url"),
        }
        return await self.accept(ack, "command", job, command=True)

    async def do_command(self, job: Job) -> None:
        body = job.body
        async with self.guard(self.ephemeral(body)):
            text = body["text"]
            caller = await self.caller(body["team_id"], body["user_id"], body.get("channel_id"))
            view = job.done or await self.run(caller, text)
            extra = (
                (share_choice(text),) if view.ok and view.chart is not None and is_value_command(text) else ()
            )
            respond = self.replies.responder(body.get("response_url"))
            if respond is not None:
                client = await self.workspaces.client_for_org(caller.org_id)
                await self.replies.send(respond, client, caller, body["user_id"], view, extra=extra)

    # ---- buttons ------------------------------------------------------------------------------

    def _click(
        self, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
    ) -> dict[str, Any]:
        """What a click's job needs: who, which button, and where to answer; not the whole request."""
        return {
            "team_id": context.team_id,
            "user_id": (body.get("user") or {}).get("id"),
            "action_id": action.get("action_id"),
            "value": action.get("value"),
            "response_url": body.get("response_url"),
        }

    async def on_taste(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
    ) -> Any:
        return await self.accept(ack, "taste", self._click(body, action, context))

    async def do_taste(self, job: Job) -> None:
        await self._answer_click(job, lambda payload, action_id: payload.get("rating") == int(action_id[-1]))

    async def on_fix(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
    ) -> Any:
        return await self.accept(ack, "fix", self._click(body, action, context))

    async def do_fix(self, job: Job) -> None:
        """The sponsor's answer to "Is it fixed?"; the message is updated in place by the use case."""
        await self._answer_click(
            job, lambda payload, action_id: payload.get("fixed") is (action_id == "fix_yes")
        )

    async def _answer_click(self, job: Job, matches: Callable[[dict[str, Any], str], bool]) -> None:
        """A sponsor's button: its value must match the button it came on (a forged pair is refused)."""
        body = job.body
        tell = self.ephemeral(body)
        async with self.guard(tell):
            payload = blocks.decode_value(body["value"])
            action_id = str(body["action_id"])
            if not matches(payload, action_id):
                raise BadValue("That button is not one I know; nothing was changed.")
            caller = await self.caller(body["team_id"], body["user_id"])
            view = job.done or await act(self.services, caller, action_id, payload)
            if not view.ok and tell is not None:
                await tell(view)

    async def on_open_form(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> None:
        """Opens the modal right after the acknowledgement: its trigger_id expires three seconds after
        the click. Nothing is recorded: opening a form changes nothing."""
        await ack()
        tell = self.ephemeral(body)

        async def open_form() -> None:
            async with self.guard(tell):
                action_id = action["action_id"]
                form_action = "painpoint" if action_id == "painpoint_open" else action_id[len(OPEN_FORM) :]
                payload = blocks.decode_value(action.get("value"))
                caller = await self.caller(context.team_id, (body.get("user") or {}).get("id"))
                view = await form_for(self.services, caller, form_action, payload)
                if not view.ok or view.form is None:
                    if tell is not None:
                        await tell(view)
                    return
                modal = blocks.modal(
                    view.form, metadata={"payload": view.form.payload}, language=view.language
                )
                await client.views_open(trigger_id=body["trigger_id"], view=modal)

        self._in_background(open_form())

    async def on_follow_up(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
    ) -> Any:
        job = self._click(body, action, context)
        container = body.get("container") or {}
        message = body.get("message") or {}
        if container.get("channel_id") and isinstance(message, dict) and message:
            job["message"] = {
                "channel": container["channel_id"],
                "ts": container.get("message_ts") or message.get("ts"),
                "text": message.get("text"),
                "blocks": message.get("blocks") or [],
            }
        return await self.accept(ack, "follow_up", job)

    async def do_follow_up(self, job: Job) -> None:
        body = job.body
        tell = self.ephemeral(body)
        async with self.guard(tell):
            payload = blocks.decode_value(body["value"])
            caller = await self.caller(body["team_id"], body["user_id"])
            message = body.get("message")
            # asked before the click is taken: a reference recorded meanwhile means two rewrites, not none
            rewritten = bool(message) and await self._alert_is_recorded(payload, message)
            view = job.done or await act(self.services, caller, FOLLOW_UP, payload)
            if not view.ok or not view.public or not message:
                if tell is not None:
                    await tell(view)
                return
            if rewritten:
                return  # the use case rewrote it from the alert as it stands (the click's blocks may be stale)
            kept = [b for b in message["blocks"] if isinstance(b, dict) and b.get("type") != "actions"]
            note = {"type": "context", "elements": [{"type": "mrkdwn", "text": blocks.escape(view.text)}]}
            client = await self.workspaces.client_for_org(caller.org_id)
            await client.chat_update(
                channel=message["channel"],
                ts=message["ts"],
                text=message.get("text") or view.text,
                blocks=[*kept, note],
            )

    async def _alert_is_recorded(self, payload: dict[str, Any], message: dict[str, Any]) -> bool:
        """Whether the clicked alert is one the use case rewrites itself (its reference was recorded)."""
        async with self.context.db.sessions() as session:
            refs = await recorded_messages(session, payload)
        clicked = (PLATFORM, message.get("channel"), message.get("ts"))
        return any((ref.get("platform"), ref.get("channel"), ref.get("ts")) == clicked for ref in refs)

    async def on_command_button(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
    ) -> Any:
        """A `/pmo` command on a button (the home tab's pause/resume): run it, show the result."""
        job = self._click(body, action, context)
        job["on_home"] = (body.get("container") or {}).get("type") == "view"
        return await self.accept(ack, "command_button", job)

    async def do_command_button(self, job: Job) -> None:
        body = job.body
        on_home = bool(body.get("on_home"))
        tell = None if on_home else self.ephemeral(body)
        async with self.guard(tell):
            text = _command_text(blocks.decode_value(body["value"]))
            caller = await self.caller(body["team_id"], body["user_id"])
            view = job.done or await self.run(caller, text)
            if on_home:
                await self.publish_home(caller, body["user_id"], notice=view)
            elif tell is not None:
                await tell(view)

    async def on_share(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
    ) -> Any:
        """'Share in channel' under a value report: the same report, posted for everyone."""
        job = self._click(body, action, context)
        job["channel_id"] = (body.get("channel") or {}).get("id")
        return await self.accept(ack, "share", job)

    async def do_share(self, job: Job) -> None:
        body = job.body
        tell = self.ephemeral(body)
        async with self.guard(tell):
            text = _command_text(blocks.decode_value(body["value"]))
            if not is_value_command(text):
                raise BadValue("Only a value report can be shared this way; nothing was posted.")
            caller = await self.caller(body["team_id"], body["user_id"], body.get("channel_id"))
            view = job.done or await self.run(caller, text)
            if not view.ok:
                if tell is not None:
                    await tell(view)
                return
            respond = self.replies.responder(body.get("response_url"))
            if respond is not None:
                client = await self.workspaces.client_for_org(caller.org_id)
                await self.replies.send(respond, client, caller, body["user_id"], view, in_channel=True)

    async def on_story(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
    ) -> Any:
        """Staff's "Story" button on a resolved pain point: `story ID`, answered privately."""
        return await self.accept(ack, "story", self._click(body, action, context))

    async def do_story(self, job: Job) -> None:
        body = job.body
        async with self.guard(self.ephemeral(body)):
            point_id = as_id(blocks.decode_value(body["value"]).get("painpoint"))
            if point_id is None:
                raise BadValue("That button is not one I know; nothing was changed.")
            caller = await self.caller(body["team_id"], body["user_id"])
            view = job.done or await self.run(caller, f"story {point_id}")
            respond = self.replies.responder(body.get("response_url"))
            if respond is not None:
                client = await self.workspaces.client_for_org(caller.org_id)
                await self.replies.send(respond, client, caller, body["user_id"], view)

    # ---- modals -------------------------------------------------------------------------------

    async def on_submit(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
    ) -> Any:
        """The submission is recorded, then run at once: its errors belong in the acknowledgement.
        Past `SUBMIT_BUDGET` the modal closes and the job goes on; a refusal then comes as a DM."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        field = _first_block(view)
        try:
            metadata = blocks.decode_metadata(view.get("private_metadata"))
            values = blocks.submitted_values(view.get("state"))
            user_id = (body.get("user") or {}).get("id")
            if not isinstance(user_id, str) or not USER_ID.match(user_id):
                raise BadValue("I cannot tell who sent that; nothing was changed.")
        except BadValue as exc:
            await ack(response_action="errors", errors={field: str(exc)})
            return None
        payload = {
            "team_id": context.team_id,
            "user_id": user_id,
            "callback_id": view.get("callback_id"),
            "payload": metadata["payload"],
            "values": values,
        }
        try:
            job = await self.work.accept(PLATFORM, "slack.submit", payload, run=False)
        except Unrecorded:
            await ack(
                response_action="errors", errors={field: say(NOT_RECORDED, self.services.policy.language)}
            )
            return None
        answer: asyncio.Future[View] = loop.create_future()
        self._submitted[job.id] = answer
        self._in_background(self.work.run_now(job))
        budget = max(SUBMIT_BUDGET - (loop.time() - started), 0.1)
        try:
            result = await asyncio.wait_for(asyncio.shield(answer), budget)
        except TimeoutError:
            self._submitted.pop(job.id, None)
            await ack()  # closes the modal; a refusal comes as a DM
            return None
        if result.ok:
            await ack()
        else:
            await ack(response_action="errors", errors={_error_block(view, result): _cut(result.text)})
        return None

    async def do_submit(self, job: Job) -> None:
        body = job.body
        answer = self._submitted.pop(job.id, None)
        try:
            caller = await self.caller(body["team_id"], body["user_id"])
            result = job.done or await act(
                self.services, caller, str(body["callback_id"]), body["payload"], body["values"]
            )
        except Retry:
            raise
        except Exception:
            log.exception("Slack modal submission failed")
            result = error(OOPS)
        if answer is not None and not answer.done():
            answer.set_result(result)  # the acknowledgement shows it
            return
        if not result.ok:
            try:
                org_id = await self.workspaces.org_for_team(body["team_id"])
                await self.channel.post(org_id, body["user_id"], result)
            except Exception:
                log.exception("could not tell %s that the form failed", body["user_id"])

    # ---- events -------------------------------------------------------------------------------

    async def publish_home(self, caller: Caller, user_id: str, notice: View | None = None) -> None:
        sections = await home.home(self.services, caller, notice)
        client = await self.workspaces.client_for_org(caller.org_id)
        await client.views_publish(user_id=user_id, view=blocks.home(sections))

    async def on_home_opened(self, ack: AsyncAck, event: dict[str, Any], context: AsyncBoltContext) -> Any:
        if event.get("tab", "home") != "home":
            await ack()
            return None
        return await self.accept(ack, "home", {"team_id": context.team_id, "user_id": event.get("user")})

    async def do_home(self, job: Job) -> None:
        async with self.guard(None):
            caller = await self.caller(job.body["team_id"], job.body["user_id"])
            await self.publish_home(caller, str(job.body["user_id"]))

    async def on_message(self, ack: AsyncAck, event: dict[str, Any], context: AsyncBoltContext) -> Any:
        """A DM to the bot: a command, or the answer to an open pain-point prompt."""
        channel = event.get("channel")
        text = event.get("text")
        if (
            event.get("channel_type") != "im"
            or event.get("subtype")
            or event.get("bot_id")
            or not isinstance(channel, str)
            or not isinstance(text, str)
            or not text.strip()
        ):
            await ack()
            return None
        job = {
            "team_id": context.team_id,
            "user_id": event.get("user"),
            "channel": channel,
            "text": blocks.unescape(text[:4000]),
        }
        return await self.accept(ack, "message", job)

    async def do_message(self, job: Job) -> None:
        body = job.body
        org: list[int] = []

        async def tell(view: View) -> None:
            if org:
                await self.channel.post(org[0], body["channel"], view)

        async with self.guard(tell):
            caller = await self.caller(body["team_id"], body["user_id"], body["channel"])
            org.append(caller.org_id)
            view = job.done or await self.context.lane.direct_message(caller, body["text"])
            await self.channel.post(caller.org_id, body["channel"], view)

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
