"""The value digest in Teams: `digest here` in a team channel, `digest to` a person, then the clock
sends it through the real Teams channel to the fake Bot Framework connector, once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update

from bot.clock.scheduler import Clock, ClockConfig
from storage.models import KIND_DIGEST, Delivery, DigestRecipient, DigestSchedule
from tests.bot.teams.conftest import CHANNEL, TeamsWorld, card_text, fake, signer, teams
from tests.bot.teams.test_commands import Org, org, said

__all__ = ["fake", "org", "signer", "teams"]  # the Teams harness's fixtures, used here


def images(card: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Image":
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return found


def digests(teams: TeamsWorld, conversation: str) -> list[dict[str, Any]]:
    return [c for c in teams.fake.cards(conversation) if "PMO value digest" in card_text(c)]


async def test_the_digest_reaches_a_teams_channel_and_a_person_once(teams: TeamsWorld, org: Org) -> None:
    await teams.say(teams.channel_message(org.staff, "@PMO digest here weekly"))
    assert "The value digest will come to this channel" in card_text(teams.last_card(CHANNEL))
    assert "will receive the value digest" in await said(teams, org.staff, "digest to mel@contoso.example")
    assert "in the channel" in await said(teams, org.staff, "digest here")  # a personal chat is no channel
    due = (dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=1)).replace(
        second=0, microsecond=0
    )
    async with teams.runtime.db.transaction() as session:
        await session.execute(
            update(DigestSchedule).values(day=due.strftime("%a").lower(), time=due.strftime("%H:%M"))
        )
        await session.execute(update(DigestRecipient).values(added_at=due - dt.timedelta(days=1)))
    services = teams.runtime.services
    clock = Clock(services, services.messenger, ClockConfig(tick=0.2))  # type: ignore[arg-type]
    try:
        for _ in range(3):
            await clock.tick()
            await clock.idle(60)
    finally:
        await clock.stop()
    [in_channel] = digests(teams, CHANNEL)
    [to_mel] = digests(teams, teams.personal(org.member))
    text = card_text(in_channel)
    assert "PMO value digest — last 7 days" in text and "Space" in text
    assert images(in_channel) and images(in_channel)[0]["url"].startswith("data:image/png;base64,")
    assert card_text(to_mel) == text
    async with teams.runtime.db.sessions() as session:
        rows = (await session.scalars(select(Delivery).where(Delivery.kind == KIND_DIGEST))).all()
    assert sorted((r.recipient or "")[:7] for r in rows if r.status == "sent") == ["channel", "person:"]
    shown = await said(teams, org.staff, "digest")
    assert "to 2 recipients" in shown and "weekly" in shown
