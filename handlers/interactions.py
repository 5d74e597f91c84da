"""What sponsors do with the bot's messages: click a taste, write a comment, report a pain point.

Channels turn a button click or a form submission into `act(...)`, and a plain direct message
into `direct_message(...)`; the payloads are validated here like any other input.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import followups
from handlers.checkins import lifecycle
from handlers.commands.parser import ParseError, is_prefixed, parse
from handlers.commands.run import run_command
from handlers.i18n import _
from handlers.ids import as_id
from handlers.outbox import perform_as
from handlers.painpoints import loop, tracking
from handlers.painpoints.views import FIX_ACTION, FIX_COMMENT, STORY_ACTION
from handlers.ports import Caller, Outgoing, Policy, Reply, Services
from handlers.views import View, error
from storage.models import KIND_PAINPOINT, Checkin, PainPoint, Person, Project

ACTIONS = (
    "taste",
    "taste_comment",
    "painpoint_open",
    "painpoint",
    followups.ACTION,
    FIX_ACTION,
    FIX_COMMENT,
    STORY_ACTION,
)


def action_name(action: str) -> str:
    """`taste_4` (a Slack action id) and `taste` (Teams card data) are the same action; so are
    `fix_yes`/`fix_no` and `fix`."""
    if action.startswith("taste_") and action != "taste_comment":
        return "taste"
    if action in (f"{FIX_ACTION}_yes", f"{FIX_ACTION}_no"):
        return FIX_ACTION
    return action


async def _taken_updates(session: AsyncSession, payload: dict[str, Any], policy: Policy) -> list[Outgoing]:
    """A follow-up just taken: its alert, wherever it was posted, shows who took it."""
    if "checkin" in payload:
        checkin = await session.get(Checkin, payload["checkin"])
        return await lifecycle.taken_alert(session, checkin, policy) if checkin else []
    point = await session.get(PainPoint, payload["painpoint"])
    return await loop.taken_alert(session, point) if point else []


async def act(
    services: Services,
    caller: Caller,
    action: str,
    payload: dict[str, Any],
    values: dict[str, Any] | None = None,
) -> View:
    """A button or a form. `payload` is what the button carried; `values` what the form collected."""
    name = action_name(action)
    if name not in ACTIONS or not isinstance(payload, dict):
        return error(_("That button is not one I know; nothing was changed."))
    if values is not None and not isinstance(values, dict):
        return error(_("That form sent something I cannot read; nothing was changed."))
    values = values or {}
    if name == STORY_ACTION:  # read-only: the command itself, with its role check
        point_id = as_id(payload.get("painpoint"))
        if set(payload) != {"painpoint"} or point_id is None:
            return error(_("That button is not one I know; nothing was changed."))
        return await run_command(services, caller, f"story {point_id}")

    async def work(session: AsyncSession, person: Person) -> Reply:
        policy = services.policy
        if name == followups.ACTION:
            reply = await followups.take(session, person, payload)
            if reply.view.ok and reply.view.public:  # taken now, not before
                reply.outbox += await _taken_updates(session, payload, policy)
            return reply
        if name == FIX_ACTION:
            return await loop.answer_fix(session, person, payload, policy)
        if name == FIX_COMMENT:
            return await loop.comment_fix(session, person, payload, values.get("comment"))
        checkin_id = payload.get("checkin")
        if name == "taste":
            return await lifecycle.answer_taste(session, person, checkin_id, payload.get("rating"), policy)
        if name == "taste_comment":
            return await lifecycle.comment_taste(session, person, checkin_id, values.get("comment"), policy)
        if name == "painpoint":
            return await tracking.report(
                session, person, checkin_id, values.get("text"), values.get("impact"), policy
            )
        try:
            checkin = await lifecycle.load_for_answer(session, person, checkin_id, KIND_PAINPOINT)
        except lifecycle.Refused as exc:
            return Reply(error(exc.args[0]))
        project = await session.get(Project, checkin.project_id)
        return Reply(lifecycle.question_for(checkin, project.name if project else ""))

    return await perform_as(services, caller, work)


async def direct_message(services: Services, caller: Caller, text: str) -> View:
    """A message to the bot: a command when it reads as one, else the answer to an open prompt.

    Sponsors write in prose, and prose can begin like a command ("outcomes are unclear"). A
    message that reads as a command but fails (an unknown project, a refused role) changed
    nothing, so while a pain-point prompt is open it is taken as the answer instead, unless it
    was written with the `pmo` prefix.
    """
    try:
        parse(text)
        is_command = True
    except ParseError:
        is_command = False
    if is_command:
        view = await run_command(services, caller, text)
        if view.ok or is_prefixed(text):
            return view
        answer = await _answer_prompt(services, caller, text)
        return answer if answer.ok else view
    view = await _answer_prompt(services, caller, text)
    if view.ok:
        return view
    return await run_command(services, caller, text)  # explains what was not understood


async def _answer_prompt(services: Services, caller: Caller, text: str) -> View:
    """Record the text as the answer to the caller's open pain-point prompt; not ok when none."""

    async def work(session: AsyncSession, person: Person) -> Reply:
        reply = await tracking.report_by_reply(session, person, text, services.policy)
        return reply or Reply(View(ok=False))

    return await perform_as(services, caller, work)
