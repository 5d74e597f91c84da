"""Where and how often the value digest goes: the `digest …` commands' use cases.

One schedule per organisation (`DigestSchedule`: cadence, day, time in PMO_TIMEZONE; defaults
monthly, mon, 09:00) and its recipients (`DigestRecipient`): at most one channel per platform,
set with `digest here` where the command is typed, and any number of people (`digest to`).
Each runs inside the command's one transaction; nothing is sent from here but by `digest now`,
whose messages go out through the outbox after the commit.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import Cat, _, ngettext
from handlers.people import display
from handlers.ports import Outgoing
from handlers.views import Fact, View, error, info
from storage.db import utcnow
from storage.models import DAYS, KIND_DIGEST, Delivery, DigestRecipient, DigestSchedule, Person

WEEKDAYS = (_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday"))
DAY_WORDS = dict(zip(DAYS, WEEKDAYS, strict=True))
PLATFORM_WORDS = {"slack": "Slack", "teams": "Teams", "local": _("the console")}
HOW_TO_START = _("Run 'digest here' in a channel the bot is in, or 'digest to PERSON'.")


def channel_key(platform: str) -> str:
    """The ledger's name for a platform's digest channel: moving it sends no occurrence twice."""
    return f"channel:{platform}"


def person_key(person_id: int) -> str:
    return f"person:{person_id}"


async def schedule_of(session: AsyncSession, org_id: int) -> DigestSchedule | None:
    return await session.scalar(select(DigestSchedule).where(DigestSchedule.org_id == org_id))


async def _schedule(session: AsyncSession, org_id: int, now: dt.datetime) -> DigestSchedule:
    found = await schedule_of(session, org_id)
    if found is None:
        found = DigestSchedule(org_id=org_id, cadence="monthly", day="mon", time="09:00", updated_at=now)
        session.add(found)
    return found


async def recipients(session: AsyncSession, org_id: int) -> list[DigestRecipient]:
    """Channels first (by platform), then people in the order they were added."""
    rows = await session.scalars(select(DigestRecipient).where(DigestRecipient.org_id == org_id))
    return sorted(rows, key=lambda r: (r.person_id is not None, r.platform or "", r.id))


def rhythm(schedule: DigestSchedule | None, timezone: str) -> str:
    """'the first Monday of each month at 09:00 (Europe/Berlin)', in words."""
    cadence = schedule.cadence if schedule else "monthly"
    day = DAY_WORDS[schedule.day if schedule else "mon"]
    time = schedule.time if schedule else "09:00"
    if cadence == "off":
        return _("off: nothing is sent on a schedule ('digest now' still sends it)")
    if cadence == "weekly":
        return _(
            "weekly, every %(day)s at %(time)s (%(timezone)s), the last 7 days",
            day=day,
            time=time,
            timezone=timezone,
        )
    return _(
        "monthly, the first %(day)s of each month at %(time)s (%(timezone)s), the last 30 days",
        day=day,
        time=time,
        timezone=timezone,
    )


async def set_here(
    session: AsyncSession,
    org_id: int,
    platform: str,
    channel: str,
    *,
    cadence: str | None,
    day: str | None,
    time: str | None,
    timezone: str,
) -> View:
    """`digest here [weekly|monthly|off] [day:…] [time:…]`: this channel is the platform's digest
    channel (replacing another of the same platform); what is not given stays as it was."""
    now = utcnow()
    schedule = await _schedule(session, org_id, now)
    schedule.cadence = cadence or schedule.cadence
    schedule.day = day or schedule.day
    schedule.time = time or schedule.time
    schedule.updated_at = now
    key = channel_key(platform)
    row = await session.scalar(
        select(DigestRecipient).where(DigestRecipient.org_id == org_id, DigestRecipient.key == key)
    )
    moved = row is not None and row.channel != channel
    if row is None:
        session.add(DigestRecipient(org_id=org_id, key=key, platform=platform, channel=channel, added_at=now))
    elif moved:
        row.channel, row.added_at = channel, now
    lines = [_("Schedule: %(rhythm)s.", rhythm=rhythm(schedule, timezone))]
    if moved:
        lines.append(
            _(
                "It no longer goes to the channel chosen before on %(platform)s.",
                platform=PLATFORM_WORDS.get(platform, platform),
            )
        )
    return info(_("The value digest will come to this channel."), *lines)


async def add_person(session: AsyncSession, org_id: int, person: Person, timezone: str) -> View:
    """`digest to PERSON`: they receive the digest by direct message."""
    now = utcnow()
    schedule = await _schedule(session, org_id, now)
    key = person_key(person.id)
    found = await session.scalar(
        select(DigestRecipient.id).where(DigestRecipient.org_id == org_id, DigestRecipient.key == key)
    )
    if found is not None:
        return info(_("%(name)s already receives the value digest; nothing changed.", name=person.name))
    session.add(DigestRecipient(org_id=org_id, key=key, person_id=person.id, added_at=now))
    return info(
        _(
            "%(name)s will receive the value digest: %(rhythm)s.",
            name=display(person),
            rhythm=rhythm(schedule, timezone),
        )
    )


async def remove_person(session: AsyncSession, org_id: int, person: Person) -> View:
    """`digest remove PERSON`: no more digests for them (the ledger keeps what they were sent)."""
    removed = await session.execute(
        delete(DigestRecipient).where(
            DigestRecipient.org_id == org_id, DigestRecipient.key == person_key(person.id)
        )
    )
    if not removed.rowcount:  # type: ignore[attr-defined]
        return error(
            _("%(name)s does not receive the value digest.", name=person.name), "digest remove PERSON"
        )
    return info(_("%(name)s will no longer receive the value digest.", name=person.name))


async def _recipient_words(session: AsyncSession, rows: list[DigestRecipient]) -> list[str]:
    names = dict(
        (
            await session.execute(
                select(Person.id, Person.name).where(
                    Person.id.in_([r.person_id for r in rows if r.person_id])
                )
            )
        ).all()  # type: ignore[arg-type]
    )
    words = []
    for row in rows:
        if row.person_id is None:
            platform = PLATFORM_WORDS.get(row.platform or "", row.platform or "")
            words.append(_("channel %(channel)s on %(platform)s", channel=row.channel, platform=platform))
        else:
            name = names.get(row.person_id) or _("someone")
            words.append(_("%(name)s (direct message)", name=name))
    return words


async def settings_view(session: AsyncSession, org_id: int, timezone: str) -> View:
    """`digest`: the schedule, who receives it, and the last one the clock sent."""
    schedule = await schedule_of(session, org_id)
    rows = await recipients(session, org_id)
    last = (
        await session.execute(
            select(Delivery.occurrence, func.count())
            .where(Delivery.org_id == org_id, Delivery.kind == KIND_DIGEST, Delivery.status == "sent")
            .group_by(Delivery.occurrence)
            .order_by(Delivery.occurrence.desc())
            .limit(1)
        )
    ).first()
    facts = [
        Fact(_("Schedule"), rhythm(schedule, timezone)),
        Fact(
            _("Goes to"), Cat(*await _recipient_words(session, rows), sep="; ") if rows else _("nobody yet")
        ),
        Fact(
            _("Last sent"),
            ngettext(
                "%(at)s UTC to %(n)s recipient",
                "%(at)s UTC to %(n)s recipients",
                last[1],
                at=f"{last[0]:%Y-%m-%d %H:%M}",
            )
            if last
            else _("never"),
        ),
    ]
    lines = () if rows else (HOW_TO_START,)
    return View(title=_("Value digest"), facts=tuple(facts), lines=lines)


def outbox_for(rows: list[DigestRecipient], view: View) -> list[Outgoing]:
    """`digest now`: one message per recipient, each channel on its own platform."""
    return [
        Outgoing(view=view, person_id=row.person_id)
        if row.person_id is not None
        else Outgoing(view=view, channel=row.channel, platform=row.platform)
        for row in rows
    ]
