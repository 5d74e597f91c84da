"""What sponsors receive in Teams (CONTRACT section 5): the cards, one-click answers, comments, pain points."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.checkins.views import taste_question
from storage.models import Answer, Checkin, PainPoint
from tests.bot.teams.conftest import ADMIN_AAD, CHANNEL, TEAM, TeamsWorld, buttons, card_text
from tests.fakes.bot_connector import User


@pytest.fixture
async def people(teams: TeamsWorld) -> dict[str, User]:
    admin = await teams.installed(teams.user(ADMIN_AAD, "Ada Admin", team=TEAM))
    sponsor = await teams.installed(teams.user("61", "Sam Sponsor", team=TEAM))
    other = await teams.installed(teams.user("62", "Olly Other", team=TEAM))
    await teams.say(teams.message(admin, "project add Apollo sponsor:sam@contoso.example"))
    return {"admin": admin, "sponsor": sponsor, "other": other}


async def checkin(teams: TeamsWorld) -> Checkin:
    async with teams.runtime.db.sessions() as session:
        return await session.scalar(select(Checkin).order_by(Checkin.id.desc()))


async def test_the_taste_checkin_is_a_card_with_five_answers(
    teams: TeamsWorld, people: dict[str, User]
) -> None:
    await teams.say(teams.message(people["admin"], "checkin Apollo"))
    chat = teams.personal(people["sponsor"])
    card = teams.last_card(chat)
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    assert "How does **Apollo** taste?" in card_text(card)
    row = await checkin(teams)
    taste = [b for b in buttons(card) if b["data"].get("action") == "taste"]
    assert [b["data"]["rating"] for b in taste] == [5, 4, 3, 2, 1]
    assert all(b["data"]["checkin"] == row.id for b in taste)
    assert [b["title"] for b in taste] == ["😋 Delicious", "🙂 Tasty", "😐 Bland", "😕 Off", "🤢 Sour"]
    # Sent proactively on the stored reference; the reference of the message is kept for updates.
    assert row.message_refs["teams"]["conversation"] == chat
    assert row.message_refs["teams"]["activity_id"] == teams.last_id(chat)
    assert row.message_refs["teams"]["service_url"] == teams.fake.service_url


async def test_an_answer_updates_the_card_and_can_change_and_take_a_comment(
    teams: TeamsWorld, people: dict[str, User]
) -> None:
    await teams.say(teams.message(people["admin"], "checkin Apollo"))
    sponsor, chat = people["sponsor"], teams.personal(people["sponsor"])
    row = await checkin(teams)
    card_id = teams.last_id(chat)
    posted = len(teams.fake.sent(chat))

    await teams.say(teams.submit(sponsor, {"action": "taste", "checkin": row.id, "rating": 4}, card_id))
    card = teams.last_card(chat)
    assert len(teams.fake.sent(chat)) == posted  # updated in place, nothing new posted
    assert teams.fake.connector_calls("PUT", f"/activities/{card_id}")
    assert "Your answer: 🙂 Tasty" in card_text(card)
    comment_box = next(b for b in card["body"] if b["type"] == "Container")["items"][1]
    assert comment_box["type"] == "Input.Text" and comment_box["label"] == "What do you like most?"

    await teams.say(teams.submit(sponsor, {"action": "taste", "checkin": row.id, "rating": 2}, card_id))
    assert "Your answer: 😕 Off" in card_text(teams.last_card(chat))
    assert "What would make it taste better?" in card_text(teams.last_card(chat))
    await teams.say(
        teams.submit(sponsor, {"action": "taste_comment", "checkin": row.id, "comment": "Too slow"}, card_id)
    )
    assert "You said: “Too slow”" in card_text(teams.last_card(chat))
    row = await checkin(teams)
    assert (row.rating, row.comment) == (2, "Too slow")
    async with teams.runtime.db.sessions() as session:
        answers = list(await session.scalars(select(Answer).order_by(Answer.id)))
    assert [(a.rating, a.comment) for a in answers] == [(4, None), (2, None), (2, "Too slow")]
    # A sour answer reaches the admins (no alert channel chosen); the comment updates that one card.
    alerts = [
        c
        for c in teams.fake.cards(teams.personal(people["admin"]))
        if "Sam Sponsor says Apollo" in card_text(c)
    ]
    assert len(alerts) == 1 and "Too slow" in card_text(alerts[-1])


async def test_only_the_sponsor_can_answer(teams: TeamsWorld, people: dict[str, User]) -> None:
    await teams.say(teams.message(people["admin"], "checkin Apollo"))
    row = await checkin(teams)
    before = await teams.snapshot()
    other = people["other"]
    await teams.say(teams.submit(other, {"action": "taste", "checkin": row.id, "rating": 5}, "x"))
    assert "only they can answer it" in card_text(teams.last_card(teams.personal(other)))
    assert await teams.snapshot() == before


async def test_a_forged_button_changes_nothing(teams: TeamsWorld, people: dict[str, User]) -> None:
    await teams.say(teams.message(people["admin"], "checkin Apollo"))
    row = await checkin(teams)
    sponsor = people["sponsor"]
    before = await teams.snapshot()
    for data in (
        {"action": "taste", "checkin": row.id, "rating": 9},
        {"action": "taste", "checkin": "1; drop", "rating": 3},
        {"action": "launch", "checkin": row.id},
    ):
        await teams.say(teams.submit(sponsor, data, None))
        assert teams.last_card(teams.personal(sponsor))["body"][0].get("color") == "Attention"
    assert await teams.snapshot() == before


async def test_the_painpoint_card_has_a_text_input_and_an_impact_choice(
    teams: TeamsWorld, people: dict[str, User]
) -> None:
    await teams.say(teams.channel_message(people["admin"], "@PMO alerts here"))
    await teams.say(teams.message(people["admin"], "ask Apollo"))
    sponsor, chat = people["sponsor"], teams.personal(people["sponsor"])
    card = teams.last_card(chat)
    assert "What keeps you up at night about **Apollo**?" in card_text(card)
    inputs = next(b for b in card["body"] if b["type"] == "Container")["items"][1:]
    assert [i["type"] for i in inputs] == ["Input.Text", "Input.ChoiceSet"]
    assert [c["value"] for c in inputs[1]["choices"]] == ["1", "2", "3", "4", "5"]
    [send] = buttons(card)  # the form's submit; no separate 'open the form' button on Teams
    row = await checkin(teams)
    assert send["data"] == {"checkin": row.id, "action": "painpoint"}

    card_id = teams.last_id(chat)
    data = {**send["data"], "text": "Nobody owns the data migration", "impact": "5"}
    await teams.say(teams.submit(sponsor, data, card_id))
    assert "Pain point #" in card_text(teams.last_card(chat))
    shown = teams.fake.sent(chat)
    assert "Thank you, the PMO has it" in card_text(
        shown[-2]["attachments"][0]["content"]
    )  # the card, updated
    async with teams.runtime.db.sessions() as session:
        point = await session.scalar(select(PainPoint))
    assert (point.text, point.impact) == ("Nobody owns the data migration", 5)
    alert = teams.last_card(CHANNEL)
    assert "impact 5" in card_text(alert) and "Nobody owns the data migration" in card_text(alert)


async def test_an_answer_on_the_reminder_card_updates_that_card_once(
    teams: TeamsWorld, people: dict[str, User]
) -> None:
    """The core updates every recorded card of the check-in, the reminder's ("teams:reminder") too;
    the bot must not update the clicked card a second time on top of that."""
    await teams.say(teams.message(people["admin"], "checkin Apollo"))
    sponsor, chat = people["sponsor"], teams.personal(people["sponsor"])
    row = await checkin(teams)
    reminder = taste_question(row.id, "Apollo", reminder=True)
    ref = await teams.runtime.services.messenger.send_direct(teams.runtime.org_id, row.sponsor_id, reminder)
    async with teams.runtime.db.transaction() as session:  # as the clock records a reminder it sent
        await record_reminder_ref(session, row.id, ref)
    reminder_card = teams.last_id(chat)
    assert reminder_card == ref["activity_id"]

    await teams.say(teams.submit(sponsor, {"action": "taste", "checkin": row.id, "rating": 4}, reminder_card))
    assert len(teams.fake.connector_calls("PUT", f"/activities/{reminder_card}")) == 1
    assert "Your answer: 🙂 Tasty" in card_text(teams.last_card(chat))


async def record_reminder_ref(session: AsyncSession, checkin_id: int, ref: dict[str, Any]) -> None:
    row = await session.get(Checkin, checkin_id)
    assert row is not None
    row.message_refs = {**(row.message_refs or {}), f"{ref['platform']}:reminder": ref}
