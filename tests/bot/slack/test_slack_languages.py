"""Languages through Slack (CONTRACT section 12): signed requests, the fake Web API.

A sponsor whose Slack locale is de-DE (users.info with include_locale) gets the check-in, its
buttons and the answer in German; `language fr` switches; staff reading French see French figures.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator

import pytest

from handlers.charts import chart_of
from storage.models import Checkin, Delivery, Identity
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
from tests.bot.slack.test_slack_checkins import opened_view, rate, taste_value
from tests.fakes.slack_api import FakeSlack
from tests.handlers.test_charts import Drawing, drawn

NNBSP = "\u202f"

__all__ = ["drawn"]  # the fixture that watches charts drawn


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


async def test_a_german_sponsors_modal_closes_with_a_german_button(bot: SlackBot) -> None:
    await prepare(bot)
    message = await send_checkin(bot)
    await rate(bot, message, 3)
    await bot.click(
        "open_form_taste_comment",
        taste_value(message, "open_form_taste_comment"),
        SPONSOR,
        channel=message.channel,
        ts=message.ts,
    )
    modal = opened_view(await bot.slack.wait_for("views.open"))
    assert modal["close"]["text"] == "Abbrechen"  # the channel's own word, in the view's language
    assert modal["submit"]["text"] != "Send" and "taste better" not in modal["blocks"][0]["label"]["text"]


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


async def test_a_german_staff_member_gets_the_value_chart_in_german(
    bot: SlackBot, drawn: list[Drawing]
) -> None:
    await prepare(bot)
    assert "Deutsch" in (await bot.command("language de", STAFF))["text"]
    reply = await bot.command("value", STAFF)
    [image] = [b for b in reply["blocks"] if b["type"] == "image"]
    assert image["alt_text"].startswith("CSAT nach Monat")
    uploaded = bot.slack.files[image["slack_file"]["id"]].content
    [german] = [d for d in drawn if d.language == "de"]
    assert {"Geschmacks-Check-ins nach Monat", "Antworten", "CSAT in %"} <= set(german.words)
    assert uploaded == chart_of(german.series, "de") != chart_of(german.series, "en")
    english = await bot.command("value", ADMIN)  # an English reader: the English drawing, kept
    [image] = [b for b in english["blocks"] if b["type"] == "image"]
    assert bot.slack.files[image["slack_file"]["id"]].content == chart_of(german.series, "en")
    assert [d.language for d in drawn] == ["en", "de"]
    assert all(d.thread != threading.main_thread().name for d in drawn)  # never on the event loop


async def test_a_german_staff_member_hears_why_a_checkin_was_not_delivered_in_german(bot: SlackBot) -> None:
    await prepare(bot)
    assert (await bot.command("language de", STAFF))["text"]
    bot.slack.on("chat.postMessage", error="user_not_found")
    reply = await bot.command("checkin Apollo", STAFF)
    assert "⚠️ Slack kennt diese Person nicht (mehr) (user_not_found)" in reply["text"], reply["text"]
    assert "does not know" not in reply["text"]
    [checkin] = await rows(bot, Checkin)
    [delivery] = await rows(bot, Delivery, Delivery.checkin_id == checkin.id)
    assert checkin.status == "failed" and delivery.status == "failed"
    assert delivery.error == "Slack does not know that user (any more) (user_not_found)"  # as recorded
