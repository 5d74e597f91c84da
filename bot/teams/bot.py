"""The Teams bot: what each incoming activity means for the core.

- a message in a personal chat is a command (`value`, `pmo value`, `/pmo value`) or the answer to
  an open pain-point prompt (`direct_message`); in a channel or group chat the bot's @mention is
  removed, other @mentions become `<@AADID>`, and it is a command (`run_command`);
- a message whose `value` holds `"action"` is an Adaptive Card's `Action.Submit` (`act`);
- `installationUpdate` and `conversationUpdate` tell who installed the bot and where it is, which
  is stored (person, e-mail, time zone, conversation reference) so the bot can write first later;
- a `fileConsent/invoke` is the answer to an export's consent card.

A tenant is an organisation: with a single-tenant registration (the default) every activity of
the home tenant belongs to the deployment's organisation, the one Slack feeds too; activities
from another tenant are turned away. A multi-tenant registration gives each other tenant its own.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace
from typing import Any

from botbuilder.core import ActivityHandler, InvokeResponse, TurnContext
from botbuilder.schema import Activity, ChannelAccount

from bot.platform import PlatformContext
from bot.teams.channel import HOW_TO_INSTALL, TeamsChannel, card_activity
from bot.teams.conversations import base_id, forget_team, remember_conversation
from bot.teams.export import Exporter, consent_activity, export_kind
from bot.teams.members import PLATFORM, client_timezone, find_identity, member_from, remember
from bot.teams.sender import Refused, Sender, tenant_of
from bot.teams.text import command_text, mentions
from bot.work import Unrecorded
from handlers.i18n import Cat, _, language_of_locale
from handlers.inbox import NOT_RECORDED, Job
from handlers.interactions import act, action_name
from handlers.outbox import OOPS, deliver
from handlers.ports import Caller, DeliveryFailed
from handlers.reachability import mark_reachable, mark_unreachable
from handlers.views import View, error, info, localize
from storage.db import utcnow
from storage.models import Checkin, Person
from storage.queries import get_or_create_org

log = logging.getLogger(__name__)

RESUME_KIND = "teams.activity"
REFRESH_AFTER = dt.timedelta(days=1)  # how often a person's Teams profile (e-mail, name) is asked again
WELCOME = _(
    "I ask project sponsors how their project tastes, track what keeps them up at night, and show the "
    "PMO's value. Type **help** to see what you can ask me."
)
TEAM_WELCOME = _(
    "Thanks for adding me to this team. PMO staff: mention me with **alerts here** in the channel that "
    "should hear about sour tastes and painful pain points; mention me with **help** for the rest."
)


def conversation_kind(activity: Activity) -> str:
    """'personal', 'channel' or 'groupChat' (the Emulator's chats count as personal)."""
    kind = getattr(activity.conversation, "conversation_type", None)
    if kind in ("channel", "groupChat"):
        return kind
    return "groupChat" if getattr(activity.conversation, "is_group", False) else "personal"


def team_id_of(activity: Activity) -> str | None:
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    team = data.get("team") if isinstance(data.get("team"), dict) else {}
    return team.get("id") or None


def reference_dict(activity: Activity) -> dict[str, Any]:
    reference = TurnContext.get_conversation_reference(activity)
    reference.activity_id = None
    return reference.serialize()


class TeamsBot(ActivityHandler):
    def __init__(self, context: PlatformContext, sender: Sender, channel: TeamsChannel) -> None:
        self.context = context
        self.services = context.services
        self.sender = sender
        self.channel = channel
        self.exporter = Exporter(context, sender)

    async def on_turn(self, turn_context: TurnContext) -> None:
        """Each activity is recorded in the inbox before it is handled, and handled before Teams is
        answered (bot/work.py `inline`): a crash after its use case committed is finished by
        `resume` in whichever process comes next; one that the database cannot record is refused."""
        activity = turn_context.activity
        try:
            async with self.context.work.inline(PLATFORM, RESUME_KIND, {"activity": activity.serialize()}):
                await self._turn(turn_context)
        except Unrecorded as exc:
            log.warning("a Teams activity was refused: the inbox could not record it (%s)", exc)
            if activity.type == "message":
                try:
                    refusal = localize(error(NOT_RECORDED), self._language(activity))
                    await self.sender.reply(turn_context, card_activity(refusal))
                except Exception:  # noqa: BLE001 - already failing; the log has the cause
                    log.warning("could not tell the sender to try again")

    def _language(self, activity: Activity) -> str:
        """Where no person can be looked up (a welcome, a refusal): the activity's own locale,
        else the organisation's language."""
        return language_of_locale(getattr(activity, "locale", None)) or self.services.policy.language

    async def resume(self, job: Job) -> None:
        """An activity whose use case committed before the process died: what it queued was sent
        (DurableWork); the answer the person did not see is sent now, proactively. An activity that
        never got that far was not answered, so Teams told the person it failed: nothing to finish."""
        view = job.done
        if view is None:
            log.info("a Teams activity interrupted before it changed anything was dropped (%s)", job.id)
            return
        activity = Activity().deserialize(job.body["activity"])
        reference = reference_dict(activity)
        value = activity.value if isinstance(activity.value, dict) else {}
        clicked = activity.reply_to_id
        if view.ok and action_name(str(value.get("action") or "")) in ("taste", "taste_comment") and clicked:
            if not await self._is_recorded(value.get("checkin"), clicked):
                await self.sender.update(reference, card_activity(view, activity_id=clicked))
            return
        await self.sender.send(reference, card_activity(replace(view, attachment=None)))

    async def _turn(self, turn_context: TurnContext) -> None:
        try:
            await super().on_turn(turn_context)
        except Refused as exc:  # Teams would not take our answer; nothing more can be said there
            log.warning("Teams refused the bot's answer: %s", exc.failure.detail)
        except Exception:
            log.exception("a Teams activity could not be handled")
            if turn_context.activity.type == "message":
                try:
                    oops = localize(error(OOPS), self._language(turn_context.activity))
                    await self.sender.reply(turn_context, card_activity(oops))
                except Exception:  # noqa: BLE001 - already failing; the log has the cause
                    log.warning("could not tell the sender that something went wrong")

    # ---- organisations -------------------------------------------------------------------------

    async def org_for(self, activity: Activity) -> int | None:
        """The organisation of the activity's tenant, or None when this deployment does not serve it."""
        settings = self.context.settings
        tenant = tenant_of(activity)
        home = settings.microsoft_app_tenant_id
        if not settings.teams_enabled or not tenant or tenant == home:
            return self.context.org_id
        if settings.microsoft_app_type != "MultiTenant":
            return None
        async with self.context.db.transaction() as session:
            org = await get_or_create_org(session, f"teams:{tenant}", f"Teams tenant {tenant}")
            return org.id

    async def _first_time(self, org_id: int, activity: Activity) -> bool:
        """Teams may deliver an activity twice; handle each id once (handlers/events.py)."""
        if not activity.id:
            return True
        event_id = f"{activity.conversation.id}|{activity.id}"[:200]
        return await self.context.events.first_time(PLATFORM, event_id, org_id)

    # ---- people --------------------------------------------------------------------------------

    async def _person(
        self, context: TurnContext, org_id: int, account: ChannelAccount, *, personal_reference: bool
    ) -> tuple[int, bool]:
        """The person behind `account`, stored or refreshed; and whether their 1:1 chat is news."""
        activity = context.activity
        external = account.aad_object_id or account.id
        async with self.context.db.sessions() as session:
            identity = await find_identity(session, org_id, external)
            person = await session.get(Person, identity.person_id) if identity else None
            stale = (
                identity is None
                or person is None
                or not person.email
                or identity.refreshed_at is None
                or identity.refreshed_at < utcnow() - REFRESH_AFTER
            )
            had_reference = bool(identity and (identity.address or {}).get("reference"))
        details = None
        if stale and activity.channel_id == "msteams":
            details = await self.sender.member(context, account.id)
        reference = reference_dict(activity) if personal_reference else None
        async with self.context.db.transaction() as session:
            person, _ = await remember(
                session,
                org_id,
                member_from(account, details),
                tenant_id=tenant_of(activity) or None,
                service_url=activity.service_url,
                channel_id=activity.channel_id,
                reference=reference,
                tz=client_timezone(activity.entities),
                locale=activity.locale,
                admins=self.context.settings.pmo_admins,
                refreshed=details is not None or identity is None,
            )
            back = await mark_reachable(session, person) if personal_reference else False
            return person.id, personal_reference and (back or not had_reference)

    async def _mentioned_people(self, context: TurnContext, org_id: int) -> tuple[str, dict[str, str]]:
        """Everyone @mentioned (except the bot) stored as a person; their Teams id → AAD id."""
        activity = context.activity
        found = mentions(activity.entities)
        bot_id = activity.recipient.id if activity.recipient else None
        people: dict[str, str] = {}
        for mention in found:
            if mention.user_id == bot_id or mention.user_id in people:
                continue
            details = (
                await self.sender.member(context, mention.user_id)
                if activity.channel_id == "msteams"
                else None
            )
            member = member_from(ChannelAccount(id=mention.user_id, name=mention.name), details)
            async with self.context.db.transaction() as session:
                await remember(
                    session,
                    org_id,
                    member,
                    tenant_id=tenant_of(activity) or None,
                    service_url=activity.service_url,
                    channel_id=activity.channel_id,
                    admins=self.context.settings.pmo_admins,
                )
            people[mention.user_id] = member.external_id
        return command_text(activity.text, bot_id, found, people), people

    async def _remember_place(self, org_id: int, activity: Activity) -> bool:
        """Keep the channel (and its team) so alerts can be posted there; True when the team is new."""
        tenant = tenant_of(activity) or None
        reference = reference_dict(activity)
        reference.pop("user", None)  # a place, not whoever spoke there last
        reference.pop("locale", None)
        channel_id = base_id(activity.conversation.id)
        reference["conversation"]["id"] = channel_id
        team_id = team_id_of(activity)
        address = {"reference": reference, "tenant_id": tenant, "team_id": team_id}
        async with self.context.db.transaction() as session:
            new = False
            if team_id:
                team_reference = {**reference, "conversation": {**reference["conversation"], "id": team_id}}
                team_address = {"reference": team_reference, "tenant_id": tenant, "team_id": team_id}
                _, new = await remember_conversation(session, org_id, team_id, "team", team_address)
            if channel_id != team_id:
                await remember_conversation(
                    session,
                    org_id,
                    channel_id,
                    conversation_kind(activity),
                    address,
                    activity.conversation.name,
                )
            return new

    # ---- messages ------------------------------------------------------------------------------

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        org_id = await self.org_for(activity)
        if org_id is None:
            await self.sender.reply(
                turn_context,
                card_activity(error("This PMO bot serves another organisation; nothing was stored.")),
            )
            return
        if not await self._first_time(org_id, activity):
            return
        kind = conversation_kind(activity)
        person_id, _ = await self._person(
            turn_context, org_id, activity.from_property, personal_reference=kind == "personal"
        )
        channel = None if kind == "personal" else base_id(activity.conversation.id)
        if channel:
            await self._remember_place(org_id, activity)
        caller = Caller(org_id=org_id, person_id=person_id, platform=PLATFORM, channel=channel)
        value = activity.value
        if isinstance(value, dict) and value.get("action"):
            await self._submitted(turn_context, caller, dict(value))
            return
        text, _ = await self._mentioned_people(turn_context, org_id)
        if kind == "personal":  # a command, or the answer to an open pain-point prompt
            view = await self.context.lane.direct_message(caller, text or "help")
        else:
            view = await self.context.lane.command(caller, text or "help")
        await self._answer(turn_context, caller, text, view)

    async def _answer(self, context: TurnContext, caller: Caller, text: str, view: View) -> None:
        if view.attachment is None:
            await self.sender.reply(context, card_activity(view))
            return
        kind = export_kind(text) or "export"
        offer = consent_activity(view.attachment, kind)
        if caller.channel is None:
            await self.sender.reply(context, offer)
            return
        # A consent card only works in a personal chat: offer it there, and say so here.
        async with self.context.db.sessions() as session:
            person = await session.get(Person, caller.person_id)
            identity = await find_identity(
                session,
                caller.org_id,
                context.activity.from_property.aad_object_id or context.activity.from_property.id,
            )
        try:
            if person is None:
                raise DeliveryFailed(_("you are not known here yet"), permanent=True)
            await self.channel.deliver_direct(caller.org_id, person, identity, offer)
        except DeliveryFailed as exc:
            problem = error(
                _(
                    "I could not send you %(file)s in a personal chat (%(reason)s). "
                    "Ask me 'export %(kind)s' in a personal chat with me.",
                    file=view.attachment.filename,
                    reason=exc.reason,
                    kind=kind,
                )
            )
            await self.sender.reply(context, card_activity(localize(problem, view.language)))
            return
        sent = info(
            _(
                "I sent %(file)s to you in a personal chat: accept it there to save it to your OneDrive.",
                file=view.attachment.filename,
            )
        )
        await self.sender.reply(context, card_activity(localize(sent, view.language)))

    async def _submitted(self, context: TurnContext, caller: Caller, value: dict[str, Any]) -> None:
        """An Action.Submit: the button's data and the card's inputs, as the core expects them."""
        action = str(value.pop("action"))
        payload = {key: value.pop(key) for key in ("checkin", "rating", "painpoint", "fixed") if key in value}
        inputs = {key: item for key, item in value.items() if key != "msteams"}
        view = await act(self.services, caller, action, payload, inputs)
        name = action_name(action)
        if view.ok and name in ("taste", "taste_comment"):
            clicked = context.activity.reply_to_id
            if clicked and not await self._is_recorded(payload.get("checkin"), clicked):
                await self.sender.update_in_turn(context, card_activity(view, activity_id=clicked))
            return
        await self.sender.reply(context, card_activity(view))

    async def _is_recorded(self, checkin_id: Any, activity_id: str) -> bool:
        """Whether the core updates that card itself: it is one of the check-in's recorded Teams
        messages (the question under "teams", its reminder under "teams:reminder")."""
        if not isinstance(checkin_id, int) or isinstance(checkin_id, bool):
            return False
        async with self.context.db.sessions() as session:
            checkin = await session.get(Checkin, checkin_id)
        refs = (checkin.message_refs or {}) if checkin else {}
        return any(
            isinstance(ref, dict)
            and ref.get("platform") == PLATFORM
            and ref.get("activity_id") == activity_id
            for ref in refs.values()
        )

    # ---- installs ------------------------------------------------------------------------------

    async def on_installation_update(self, turn_context: TurnContext) -> None:
        action = str(turn_context.activity.action or "")
        if action.startswith("add"):
            await self._installed(turn_context, turn_context.activity.from_property)
        elif action.startswith("remove"):
            await self._uninstalled(turn_context)

    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        added = activity.members_added or []
        if any(m.id == bot_id for m in added):
            await self._installed(turn_context, activity.from_property)
        others = [m for m in added if m.id != bot_id]
        org_id = await self.org_for(activity)
        if others and org_id is not None:
            personal = conversation_kind(activity) == "personal"
            for account in others:
                await self._person(turn_context, org_id, account, personal_reference=personal)
        if any(m.id == bot_id for m in activity.members_removed or []):
            await self._uninstalled(turn_context)

    async def _installed(self, context: TurnContext, installer: ChannelAccount | None) -> None:
        activity = context.activity
        org_id = await self.org_for(activity)
        if org_id is None:
            await self.sender.reply(
                context, card_activity(error("This PMO bot serves another organisation; nothing was stored."))
            )
            return
        if conversation_kind(activity) == "personal":
            if installer is None:
                return
            _known, news = await self._person(context, org_id, installer, personal_reference=True)
            if news:
                await self.sender.reply(
                    context,
                    card_activity(
                        localize(
                            View(
                                title=_("Hi %(name)s 👋", name=installer.name)
                                if installer.name
                                else _("Hi 👋"),
                                text=WELCOME,
                            ),
                            self._language(activity),
                        )
                    ),
                )
            return
        new_team = await self._remember_place(org_id, activity)
        if installer is not None and installer.id:
            await self._person(context, org_id, installer, personal_reference=False)
        team_id = team_id_of(activity)
        if new_team and team_id:
            for account in await self.sender.members(context, team_id):
                await self._remember_member(context, org_id, account)
            welcome = localize(View(title="PMO value bot", text=TEAM_WELCOME), self._language(activity))
            await self.sender.reply(context, card_activity(welcome))

    async def _remember_member(self, context: TurnContext, org_id: int, account: Any) -> None:
        activity = context.activity
        async with self.context.db.transaction() as session:
            await remember(
                session,
                org_id,
                member_from(account),
                tenant_id=tenant_of(activity) or None,
                service_url=activity.service_url,
                channel_id=activity.channel_id,
                admins=self.context.settings.pmo_admins,
            )

    async def _uninstalled(self, context: TurnContext) -> None:
        activity = context.activity
        org_id = await self.org_for(activity)
        if org_id is None:
            return
        if conversation_kind(activity) != "personal":
            team_id = team_id_of(activity)
            if team_id:
                async with self.context.db.transaction() as session:
                    await forget_team(session, org_id, team_id)
            return
        account = activity.from_property
        async with self.context.db.sessions() as session:
            identity = await find_identity(session, org_id, account.aad_object_id or account.id)
        if identity is None:
            return
        async with self.context.db.transaction() as session:
            outbox = await mark_unreachable(
                session,
                identity.person_id,
                PLATFORM,
                _("they removed the PMO bot in Teams"),
                Cat(HOW_TO_INSTALL, "."),
                self.services.policy,
            )
        for problem in await deliver(self.services, org_id, outbox):
            log.warning("could not tell the PMO about an uninstall: %s", problem)

    # ---- invokes -------------------------------------------------------------------------------

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        activity = turn_context.activity
        if activity.name != "fileConsent/invoke":
            return InvokeResponse(status=501)
        org_id = await self.org_for(activity)
        if org_id is None:
            return InvokeResponse(status=403)
        person_id, _ = await self._person(
            turn_context, org_id, activity.from_property, personal_reference=True
        )
        caller = Caller(org_id=org_id, person_id=person_id, platform=PLATFORM)
        return await self.exporter.answer(turn_context, caller)
