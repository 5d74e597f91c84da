"""When Teams says no or not now: 403 marks the person unreachable (staff told once); 429, 412, 502
and 504 are retried with backoff; sends are paced under Teams' per-conversation and per-tenant limits."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select

from handlers.ports import DeliveryFailed
from handlers.views import View
from storage.models import Checkin, Delivery, Person
from tests.bot.teams.conftest import ADMIN_AAD, TeamsWorld, card_text
from tests.fakes.bot_connector import User


@pytest.fixture
async def pair(teams: TeamsWorld) -> tuple[User, User]:
    admin = await teams.installed(teams.user(ADMIN_AAD, "Ada Admin"))
    sponsor = await teams.installed(teams.user("81", "Sam Sponsor"))
    await teams.say(teams.message(admin, "project add Apollo sponsor:sam@contoso.example"))
    return admin, sponsor


def statuses(teams: TeamsWorld, conversation: str, method: str = "POST") -> list[int]:
    return [c.status for c in teams.fake.connector_calls(method, f"/conversations/{conversation}/activities")]


async def test_403_marks_the_sponsor_unreachable_and_tells_staff_once(
    teams: TeamsWorld, pair: tuple[User, User]
) -> None:
    admin, sponsor = pair
    chat = teams.personal(sponsor)
    teams.fake.block(chat)
    welcome = len(statuses(teams, chat))
    await teams.say(teams.message(admin, "checkin Apollo"))
    answer = card_text(teams.last_card(teams.personal(admin)))
    assert "Sent the taste check-in" in answer and "blocked or removed the PMO bot" in answer
    assert statuses(teams, chat)[welcome:] == [403]  # not retried
    async with teams.runtime.db.sessions() as session:
        person = await session.scalar(select(Person).where(Person.name == "Sam Sponsor"))
        checkin = await session.scalar(select(Checkin))
        delivery = await session.scalar(select(Delivery))
    assert person.unreachable
    assert checkin.status == "failed" and delivery.status == "failed"

    await teams.say(teams.message(admin, "ask Apollo"))
    told = [c for c in teams.fake.cards(teams.personal(admin)) if "can no longer be reached" in card_text(c)]
    assert len(told) == 1 and "Apollo" in card_text(told[0])


@pytest.mark.parametrize("status", [429, 412, 502, 504])
async def test_transient_answers_are_retried(teams: TeamsWorld, pair: tuple[User, User], status: int) -> None:
    admin, sponsor = pair
    chat = teams.personal(sponsor)
    teams.fake.fail(
        status, method="POST", conversation=chat, times=2, retry_after="0" if status == 429 else None
    )
    welcome = len(statuses(teams, chat))
    await teams.say(teams.message(admin, "checkin Apollo"))
    assert statuses(teams, chat)[welcome:] == [status, status, 201]
    assert "How does **Apollo** taste?" in card_text(teams.last_card(chat))
    assert "⚠️" not in card_text(teams.last_card(teams.personal(admin)))


async def test_retry_after_is_honoured(teams: TeamsWorld, pair: tuple[User, User]) -> None:
    admin, sponsor = pair
    chat = teams.personal(sponsor)
    teams.fake.fail(429, method="POST", conversation=chat, times=1, retry_after="1")
    welcome = len(statuses(teams, chat))
    await teams.say(teams.message(admin, "checkin Apollo"))
    calls = teams.fake.connector_calls("POST", f"/conversations/{chat}/activities")[welcome:]
    assert [c.status for c in calls] == [429, 201]
    assert calls[1].at - calls[0].at >= 0.95


async def test_an_update_and_a_reply_are_retried_too(teams: TeamsWorld, pair: tuple[User, User]) -> None:
    admin, sponsor = pair
    chat = teams.personal(sponsor)
    await teams.say(teams.message(admin, "checkin Apollo"))
    async with teams.runtime.db.sessions() as session:
        checkin = await session.scalar(select(Checkin))
    teams.fake.fail(502, method="PUT", conversation=chat, times=1)
    teams.fake.fail(429, method="POST", conversation=teams.personal(admin), times=1, retry_after="0")
    await teams.say(
        teams.submit(sponsor, {"action": "taste", "checkin": checkin.id, "rating": 5}, teams.last_id(chat))
    )
    assert statuses(teams, chat, "PUT") == [502, 200]
    assert "Your answer: 😋 Delicious" in card_text(teams.last_card(chat))
    await teams.say(teams.message(admin, "help"))
    assert statuses(teams, teams.personal(admin))[-2:] == [429, 201]


async def test_a_500_is_not_retried_and_giving_up_is_reported(
    teams: TeamsWorld, pair: tuple[User, User]
) -> None:
    admin, sponsor = pair
    chat = teams.personal(sponsor)
    teams.fake.fail(500, method="POST", conversation=chat, times=1)
    welcome = len(statuses(teams, chat))
    await teams.say(teams.message(admin, "checkin Apollo"))
    assert statuses(teams, chat)[welcome:] == [500]
    assert "HTTP 500" in card_text(teams.last_card(teams.personal(admin)))
    teams.fake.fail(429, method="POST", conversation=chat, times=None, retry_after="0")
    await teams.say(teams.message(admin, "ask Apollo"))
    assert statuses(teams, chat)[welcome + 1 :] == [429] * 5  # the policy's five attempts, then it gives up
    assert "HTTP 429" in card_text(teams.last_card(teams.personal(admin)))
    async with teams.runtime.db.sessions() as session:
        person = await session.scalar(select(Person).where(Person.name == "Sam Sponsor"))
    assert not person.unreachable


def most_in_any_window(times: list[float], seconds: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_sends_to_one_conversation_are_paced(teams: TeamsWorld, pair: tuple[User, User]) -> None:
    _, sponsor = pair
    async with teams.runtime.db.sessions() as session:
        person = await session.scalar(select(Person).where(Person.name == "Sam Sponsor"))
    messenger = teams.runtime.services.messenger
    started = time.monotonic()
    await asyncio.gather(
        *(messenger.send_direct(teams.runtime.org_id, person.id, View(text=f"note {i}")) for i in range(9))
    )
    calls = [
        c.at
        for c in teams.fake.connector_calls("POST", f"/conversations/{teams.personal(sponsor)}/activities")
    ]
    calls = [t for t in calls if t >= started]
    assert len(calls) == 9
    assert most_in_any_window(calls, 1.0) <= 6  # under Teams' 7 per second
    assert most_in_any_window(calls, 2.0) <= 7  # and its 8 per 2 seconds


async def test_sends_across_a_tenant_are_paced(teams: TeamsWorld, pair: tuple[User, User]) -> None:
    messenger = teams.runtime.services.messenger
    with pytest.raises(DeliveryFailed, match="has not been in Teams conversation"):
        await messenger.send_to_channel(teams.runtime.org_id, "teams", "19:c0@thread.tacv2", View(text="hi"))
    await teams.say(teams.channel_message(pair[0], "@PMO help"))  # now the bot knows the tenant's service URL
    started = time.monotonic()
    channels = [f"19:c{i}@thread.tacv2" for i in range(34)]
    await asyncio.gather(
        *(messenger.send_to_channel(teams.runtime.org_id, "teams", c, View(text="hello")) for c in channels)
    )
    calls = [c.at for c in teams.fake.connector_calls("POST") if c.at >= started and "/19:c" in c.path]
    assert len(calls) == 34
    assert most_in_any_window(calls, 1.0) <= 29  # under 30 per second per tenant


async def test_a_german_admin_hears_why_in_german_while_the_ledger_keeps_english(
    teams: TeamsWorld, pair: tuple[User, User]
) -> None:
    admin, sponsor = pair
    await teams.say(teams.message(admin, "language de"))
    teams.fake.block(teams.personal(sponsor))
    await teams.say(teams.message(admin, "checkin Apollo"))
    cards = [card_text(c) for c in teams.fake.cards(teams.personal(admin))]
    assert any("⚠️ Sam Sponsor hat den PMO-Bot in Teams blockiert oder entfernt" in c for c in cards), cards[
        -2:
    ]
    [notice] = [c for c in cards if "ist über Teams nicht mehr erreichbar" in c]
    assert "Teams hat die Nachricht abgelehnt: Der Bot wurde blockiert oder entfernt" in notice
    assert "blocked" not in notice
    async with teams.runtime.db.sessions() as session:
        delivery = await session.scalar(select(Delivery))
    assert delivery.status == "failed"
    assert delivery.error == "Sam Sponsor has blocked or removed the PMO bot in Teams"  # as recorded
