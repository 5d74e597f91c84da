"""Alerts: a sour taste or a painful pain point reaches the PMO where it is listening.

Where: the channel chosen with `alerts here` for each platform, else PMO_ALERT_CHANNEL for
the platforms `alerts here` has not set, else every admin by direct message.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.checkin_views import taste_label
from handlers.followups import follow_up_choice
from handlers.ports import Outgoing, Policy
from handlers.views import Fact, View
from storage.models import Organisation, PainPoint, Person, Project

SLACK_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{6,}$")


def channel_platform(channel: str) -> str:
    """Which platform a channel id belongs to: Slack ids are C…/G…, Teams ids hold a colon."""
    if SLACK_CHANNEL.match(channel):
        return "slack"
    if ":" in channel:
        return "teams"
    return "local"


async def route(session: AsyncSession, org: Organisation, policy: Policy, view: View) -> list[Outgoing]:
    chosen = dict(org.alert_channels or {})
    outbox = [Outgoing(view=view, channel=channel, platform=platform) for platform, channel in chosen.items()]
    if policy.alert_channel and channel_platform(policy.alert_channel) not in chosen:
        outbox.append(Outgoing(view=view, channel=policy.alert_channel, platform=None))
    if outbox:
        return outbox
    admins = await session.scalars(
        select(Person.id).where(Person.org_id == org.id, Person.role == "admin").order_by(Person.id)
    )
    return [Outgoing(view=view, person_id=person_id) for person_id in admins]


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
    facts = [Fact("Project", project.name), Fact("Sponsor", sponsor.name), Fact("Taste", taste_label(rating))]
    if comment:
        facts.append(Fact("Comment", comment))
    title = f"{taste_label(rating)}: *{project.name}*" + (" (comment added)" if comment else "")
    view = View(
        title=title,
        text=f"{sponsor.name} says {project.name} tastes {taste_label(rating)}.",
        facts=tuple(facts),
        choices=(follow_up_choice(checkin_id=checkin_id),) if checkin_id is not None else (),
    )
    return await route(session, org, policy, view)


async def painful(
    session: AsyncSession,
    org: Organisation,
    policy: Policy,
    point: PainPoint,
    project: Project,
    reporter: Person,
) -> list[Outgoing]:
    view = View(
        title=f"🌙 Pain point #{point.id} on *{project.name}* (impact {point.impact})",
        text=point.text,
        facts=(
            Fact("Project", project.name),
            Fact("Reported by", reporter.name),
            Fact("Impact", f"{point.impact}/5"),
        ),
        choices=(follow_up_choice(painpoint_id=point.id),),
    )
    return await route(session, org, policy, view)
