"""What is never lost in Teams (CONTRACT section 8): an activity is recorded before it is handled,
and one cut short after its use case committed is finished by the next process."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select, update

from bot.teams.platform import TeamsPlatform
from bot.work import DurableWork
from handlers.inbox import Inbox
from storage.db import utcnow
from storage.models import Answer, Checkin, InboxJob
from tests.bot.slack.harness import eventually
from tests.bot.teams.conftest import ADMIN_AAD, TEAM, TeamsWorld, card_text
from tests.fakes.bot_connector import User


@pytest.fixture
async def people(teams: TeamsWorld) -> dict[str, User]:
    admin = await teams.installed(teams.user(ADMIN_AAD, "Ada Admin", team=TEAM))
    sponsor = await teams.installed(teams.user("61", "Sam Sponsor", team=TEAM))
    await teams.say(teams.message(admin, "project add Apollo sponsor:sam@contoso.example"))
    await teams.say(teams.message(admin, "checkin Apollo"))
    return {"admin": admin, "sponsor": sponsor}


def platform(teams: TeamsWorld) -> TeamsPlatform:
    [found] = [p for p in teams.runtime.platforms if isinstance(p, TeamsPlatform)]
    return found


async def inbox_rows(teams: TeamsWorld) -> list[InboxJob]:
    async with teams.runtime.db.sessions() as session:
        return list(await session.scalars(select(InboxJob)))


async def test_an_answer_cut_short_after_it_was_stored_updates_its_card_from_the_next_process(
    teams: TeamsWorld, people: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = teams.personal(people["sponsor"])
    card_id = teams.last_id(chat)
    async with teams.runtime.db.sessions() as session:
        checkin = await session.scalar(select(Checkin).order_by(Checkin.id.desc()))
    teams_platform = platform(teams)
    dying = teams.runtime.work

    # The process dies right after the answer committed, while it updates the card: no cleanup runs.
    async def killed(*_args: Any, **_kwargs: Any) -> None:
        raise asyncio.CancelledError

    monkeypatch.setattr(teams_platform.channel, "update", killed)
    monkeypatch.setattr(dying.inbox, "finish", lambda _job_id: None)
    click = teams.submit(people["sponsor"], {"action": "taste", "checkin": checkin.id, "rating": 4}, card_id)
    with contextlib.suppress(aiohttp.ServerDisconnectedError):  # Teams never saw it succeed
        await teams.post(click)
    [job] = await inbox_rows(teams)
    assert job.state == "applied"  # the use case committed; what it queued did not go out
    await dying.stop()
    async with teams.runtime.db.transaction() as session:  # its lease runs out, as it would after a kill
        await session.execute(update(InboxJob).values(lease_until=utcnow() - dt.timedelta(seconds=1)))
    monkeypatch.undo()

    puts_before = len(teams.fake.connector_calls("PUT", f"/activities/{card_id}"))
    successor = DurableWork(
        Inbox(teams.runtime.db, owner="web-next"), teams.runtime.services, sweep_every=0.05
    )
    successor.register("teams.activity", teams_platform.bot.resume)
    successor.start()

    async def resumed() -> bool:
        return not await inbox_rows(teams)

    await eventually(resumed, 10)
    await successor.stop()
    assert len(teams.fake.connector_calls("PUT", f"/activities/{card_id}")) > puts_before
    assert "Your answer: 🙂 Tasty" in card_text(teams.last_card(chat))
    async with teams.runtime.db.sessions() as session:
        answers = await session.scalar(
            select(func.count()).select_from(Answer).where(Answer.checkin_id == checkin.id)
        )
    assert answers == 1  # stored once, before the crash; the next process only finished the sending


async def test_an_activity_that_cannot_be_recorded_is_refused_in_words_and_changes_nothing(
    teams: TeamsWorld, people: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    from handlers.inbox import Unrecorded

    async def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise Unrecorded("the database did not answer in time")

    chat = teams.personal(people["sponsor"])
    card_id = teams.last_id(chat)
    async with teams.runtime.db.sessions() as session:
        checkin = await session.scalar(select(Checkin).order_by(Checkin.id.desc()))
    before = await teams.snapshot()
    monkeypatch.setattr(teams.runtime.work.inbox, "record", refuse)
    posted = len(teams.fake.sent(chat))
    await teams.post(
        teams.submit(people["sponsor"], {"action": "taste", "checkin": checkin.id, "rating": 5}, card_id)
    )
    assert await teams.snapshot() == before
    assert len(teams.fake.sent(chat)) == posted + 1
    assert "could not record that" in card_text(teams.last_card(chat))
