"""Languages through Slack (CONTRACT section 12): signed requests, the fake Web API.

A sponsor whose Slack locale is de-DE (users.info with include_locale) gets the check-in, its
buttons and the answer in German; `language fr` switches; staff reading French see French figures.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storage.models import Identity
from tests.bot.slack.harness import (
    ADMIN,
    SPONSOR,
    STAFF,
    SlackBot,
    add_people,
    prepare,
    rows,
    running_bot,
    send_checkin,
)
from tests.fakes.slack_api import FakeSlack

NNBSP = "\u202f"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        add_people(fake)
        fake.add_user(SPONSOR, name="Sam Sponsor", email="sam@t0001.example", locale="de-DE")
        yield fake


@pytest.fixture
async def bot(database_url: str, slack: FakeSlack) -> AsyncIterator[SlackBot]:
    async with running_bot(database_url, slack) as running:
        yield running


async def test_a_german_sponsor_gets_a_german_checkin_with_german_buttons(bot: SlackBot) -> None:
    await prepare(bot)  # Stan adds Apollo with Sam as sponsor: users.info asked with include_locale
    asked = [c for c in bot.slack.called("users.info") if c.args.get("user") == SPONSOR]
    assert asked and all(c.args.get("include_locale") in ("1", "true", True) for c in asked)
    [identity] = await rows(bot, Identity, Identity.external_id == SPONSOR)
    assert identity.locale == "de-DE"
    message = await send_checkin(bot)  # Stan's reply stays English: "Sent the taste check-in …"
    assert "Wie schmeckt *Apollo*?" in SlackBot.text_of(message.blocks)
    assert [b["text"]["text"] for b in SlackBot.buttons(message.blocks)] == [
        "😋 Köstlich", "🙂 Lecker", "😐 Fad", "😕 Komisch", "🤢 Sauer",
    ]  # fmt: skip
    assert message.text.startswith("Wie schmeckt")  # the notification's fallback text too
    value = next(b["value"] for b in SlackBot.buttons(message.blocks) if b["action_id"] == "taste_4")
    await bot.click("taste_4", value, SPONSOR, channel=message.channel, ts=message.ts)
    await bot.slack.wait_for("chat.update")
    updated = bot.slack.messages[(message.channel, message.ts)]
    assert "Ihre Antwort: 🙂 Lecker. Danke! Sie können sie jederzeit ändern." in SlackBot.text_of(
        updated.blocks
    )


async def test_language_fr_switches_and_staff_read_french_figures(bot: SlackBot) -> None:
    await prepare(bot)
    reply = await bot.command("language fr", SPONSOR)
    assert "Désormais, je vous parle en français." in reply["text"]
    message = await send_checkin(bot)
    assert "Quel goût a *Apollo* ?" in SlackBot.text_of(message.blocks)
    assert next(b["text"]["text"] for b in SlackBot.buttons(message.blocks)) == "😋 Délicieux"
    assert "Désormais" in (await bot.command("language fr", STAFF))["text"]
    added = await bot.command('outcome add Apollo metric:"Cycle time" baseline:12500 target:9000', STAFF)
    assert f"de 12{NNBSP}500 à 9{NNBSP}000" in added["text"], added["text"]
    listing = await bot.command("outcomes", STAFF)
    assert f"12{NNBSP}500 → 9{NNBSP}000, actuellement —" in listing["text"], listing["text"]
    english = await bot.command("outcomes", ADMIN)
    assert "12,500 → 9,000, now —" in english["text"], english["text"]
