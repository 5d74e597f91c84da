"""The clock sending through the real Teams channel to the fake Bot Framework connector.

The Teams side (the bot's /api/messages, the fake connector, signed activities) is the Teams
tests' own harness (tests/bot/teams/conftest.py); the clock is driven with its tick.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, update

from bot.clock.scheduler import Clock, ClockConfig
from storage.models import Checkin, Delivery, Project
from tests.bot.teams.conftest import ADMIN_AAD, TEAM, TeamsWorld, card_text, fake, signer, teams
from tests.fakes.bot_connector import User

__all__ = ["fake", "signer", "teams"]  # the Teams harness's fixtures, used here


@pytest.fixture
async def clock(teams: TeamsWorld) -> AsyncIterator[Clock]:
    services = teams.runtime.services
    running = Clock(services, services.messenger, ClockConfig(tick=0.2, send_rate=50.0))  # type: ignore[arg-type]
    yield running
    await running.stop()


async def due_now(teams: TeamsWorld) -> None:
    """Every project falls due a minute ago, weekly, in UTC (created the day before)."""
    due = (dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=1)).replace(
        second=0, microsecond=0
    )
    async with teams.runtime.db.transaction() as session:
        await session.execute(
            update(Project).values(
                cadence="weekly",
                day=due.strftime("%a").lower(),
                time=due.strftime("%H:%M"),
                ask="off",
                created_at=due - dt.timedelta(days=1),
            )
        )


def taste_cards(teams: TeamsWorld, user: User) -> int:
    return sum("taste?" in card_text(card) for card in teams.fake.cards(teams.personal(user)))


async def test_teams_sponsors_get_one_card_and_a_blocked_one_fails_with_one_notice(
    teams: TeamsWorld, clock: Clock
) -> None:
    admin = await teams.installed(teams.user(ADMIN_AAD, "Ada Admin", team=TEAM))
    sam = await teams.installed(teams.user("61", "Sam Sponsor", team=TEAM))
    bo = await teams.installed(teams.user("62", "Bo Blocked", team=TEAM))
    for text in (
        "project add Apollo sponsor:sam@contoso.example",
        "project add Borealis sponsor:bo@contoso.example",
        "project add Cassini sponsor:bo@contoso.example",
    ):
        await teams.say(teams.message(admin, text))
    await due_now(teams)
    teams.fake.block(teams.personal(bo))  # Bo removed the bot: Teams answers 403
    teams.fake.fail(429, method="POST", times=2, retry_after="0")
    notices_before = len(teams.fake.sent(teams.personal(admin)))
    await clock.tick()
    await clock.idle(60)
    await clock.tick()
    await clock.idle(60)
    assert taste_cards(teams, sam) == 1
    assert taste_cards(teams, bo) == 0
    async with teams.runtime.db.sessions() as session:
        statuses = sorted((await session.scalars(select(Delivery.status))).all())
        checkins = sorted((await session.scalars(select(Checkin.status))).all())
    assert statuses == ["failed", "failed", "sent"] and checkins == ["failed", "failed", "open"]
    notices = [
        a
        for a in teams.fake.sent(teams.personal(admin))[notices_before:]
        if "Bo Blocked" in str(a) and "can no longer be reached" in str(a)
    ]
    assert len(notices) == 1
