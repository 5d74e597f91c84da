"""Alerts: a sour taste or a painful pain point reaches the PMO where it is listening.

Where: the channel chosen with `alerts here` for each platform, else PMO_ALERT_CHANNEL for
the platforms `alerts here` has not set, else every member of PMO staff (admins included) by
direct message.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.followups import follow_up_choice
from handlers.i18n import Cat, _
from handlers.ids import as_id
from handlers.platform_ids import platform_of
from handlers.ports import Outgoing, Policy
from handlers.tastes import SOUR, taste_label
from handlers.views import Fact, View
from storage.models import Checkin, Organisation, PainPoint, Person, Project

REFS_KEY = "alerts"  # where a check-in's (or pain point's) message_refs keep the messages of its alert


def ref_key(ref: dict[str, Any]) -> str:
    """One alert message per destination: the platform and the channel or conversation it is in."""
    where = ref.get("channel") or ref.get("conversation") or ref.get("message")
    return f"{ref.get('platform', 'local')}:{where}"


def alert_refs(refs: dict[str, Any] | None) -> dict[str, Any] | None:
    """The alert messages recorded for a check-in; None when no alert was ever posted for it.

    {} means posted but not recorded yet (the send is under way, or its reference was lost)."""
    found = (refs or {}).get(REFS_KEY)
    return found if isinstance(found, dict) else None


async def recorded_messages(session: AsyncSession, follow_up: dict[str, Any]) -> list[dict[str, Any]]:
    """Where the alert a follow-up button names (`{"checkin": id}` or `{"painpoint": id}`) is
    recorded: the messages its use case rewrites in place, so a channel need not."""
    model = Checkin if "checkin" in follow_up else PainPoint
    ident = as_id(follow_up.get("checkin", follow_up.get("painpoint")))
    about = await session.get(model, ident) if ident else None
    found = alert_refs(about.message_refs if about is not None else None) or {}
    return [ref for ref in found.values() if isinstance(ref, dict)]


def channel_platform(channel: str) -> str:
    """Which platform a channel id (PMO_ALERT_CHANNEL) belongs to."""
    return platform_of(channel, "channel")


async def route(session: AsyncSession, org: Organisation, policy: Policy, view: View) -> list[Outgoing]:
    chosen = dict(org.alert_channels or {})
    outbox = [Outgoing(view=view, channel=channel, platform=platform) for platform, channel in chosen.items()]
    if policy.alert_channel and channel_platform(policy.alert_channel) not in chosen:
        outbox.append(Outgoing(view=view, channel=policy.alert_channel, platform=None))
    if outbox:
        return outbox
    staff = await session.scalars(
        select(Person.id)
        .where(Person.org_id == org.id, Person.role.in_(("staff", "admin")))
        .order_by(Person.id)
    )
    return [Outgoing(view=view, person_id=person_id) for person_id in staff]


def taste_alert(
    project: Project,
    sponsor: Person,
    rating: int,
    comment: str | None,
    checkin_id: int | None = None,
    *,
    was: int | None = None,
    taker: Person | None = None,
    taken_at: dt.datetime | None = None,
    did: str | None = None,
) -> View:
    """The alert of a sour taste, as it stands: the current answer and comment, who took it, and
    what they did (`followup ID did:`).

    `was` is the sour rating the alert was posted for, given once the answer is no longer sour.
    """
    label = taste_label(rating)
    changed = was is not None and rating > SOUR
    taste = (
        _("now %(taste)s (was %(was)s)", taste=label, was=taste_label(was))
        if changed and was is not None
        else label
    )
    facts = [Fact(_("Project"), project.name), Fact(_("Sponsor"), sponsor.name), Fact(_("Taste"), taste)]
    if comment:
        facts.append(Fact(_("Comment"), comment))
    title: str
    if changed and was is not None:
        title = _(
            "Changed, now %(taste)s: *%(project)s* (was %(was)s)",
            taste=label,
            project=project.name,
            was=taste_label(was),
        )
        text = _(
            "%(sponsor)s changed their answer: %(project)s now tastes %(taste)s.",
            sponsor=sponsor.name,
            project=project.name,
            taste=label,
        )
    else:
        title = Cat(label, ": *", project.name, "*")
        text = _(
            "%(sponsor)s says %(project)s tastes %(taste)s.",
            sponsor=sponsor.name,
            project=project.name,
            taste=label,
        )
    if comment:
        title = Cat(title, " ", _("(comment added)"))
    lines: tuple[str, ...] = ()
    choices = (follow_up_choice(checkin_id=checkin_id),) if checkin_id is not None else ()
    if taker is not None:
        line = (
            _(
                "👤 %(name)s is following up this sour taste (taken %(when)s UTC).",
                name=taker.name,
                when=f"{taken_at:%Y-%m-%d %H:%M}",
            )
            if taken_at is not None
            else _("👤 %(name)s is following up this sour taste.", name=taker.name)
        )
        lines, choices = (line,), ()
    if did:
        lines += (_("✅ What was done: %(did)s", did=did),)
    return View(title=title, text=text, facts=tuple(facts), choices=choices, lines=lines)


async def sour_taste(
    session: AsyncSession,
    org: Organisation,
    policy: Policy,
    project: Project,
    sponsor: Person,
    rating: int,
    comment: str | None,
    checkin_id: int | None = None,
) -> list[Outgoing]:
    """Post a new sour-taste alert; with a check-in, its messages are recorded for later updates."""
    view = taste_alert(project, sponsor, rating, comment, checkin_id)
    outbox = await route(session, org, policy, view)
    if checkin_id is None:
        return outbox
    return [replace(item, checkin_id=checkin_id, alert=True) for item in outbox]


def updates(refs: dict[str, Any], view: View) -> list[Outgoing]:
    """Recorded messages (an alert's, or a check-in's own: `lifecycle.refs_updates`), each rewritten to show `view`."""
    return [Outgoing(view=view, update_ref=ref) for ref in refs.values() if isinstance(ref, dict)]


def painful_alert(
    point: PainPoint,
    project: Project,
    reporter: Person,
    *,
    taker: Person | None = None,
    taken_at: dt.datetime | None = None,
) -> View:
    """The alert of a painful pain point, as it stands: the button, or who took it and when."""
    lines: tuple[str, ...] = ()
    choices = (follow_up_choice(painpoint_id=point.id),)
    if taker is not None:
        line = (
            _(
                "👤 %(name)s is following up this pain point (taken %(when)s UTC).",
                name=taker.name,
                when=f"{taken_at:%Y-%m-%d %H:%M}",
            )
            if taken_at is not None
            else _("👤 %(name)s is following up this pain point.", name=taker.name)
        )
        lines, choices = (line,), ()
    return View(
        title=_(
            "🌙 Pain point #%(id)s on *%(project)s* (impact %(impact)s)",
            id=point.id,
            project=project.name,
            impact=point.impact,
        ),
        text=point.text,
        facts=(
            Fact(_("Project"), project.name),
            Fact(_("Reported by"), reporter.name),
            Fact(_("Impact"), f"{point.impact}/5"),
        ),
        choices=choices,
        lines=lines,
    )


async def painful(
    session: AsyncSession,
    org: Organisation,
    policy: Policy,
    point: PainPoint,
    project: Project,
    reporter: Person,
) -> list[Outgoing]:
    """Post the pain point's alert; its messages are recorded on the pain point for later updates."""
    outbox = await route(session, org, policy, painful_alert(point, project, reporter))
    return [replace(item, painpoint_id=point.id, alert=True) for item in outbox]
