"""App Home: `app_home_opened` publishes a home tab for each role, and its buttons work."""

from __future__ import annotations

import json
from typing import Any

from handlers.people import FOREVER
from storage.models import Person
from tests.bot.slack.harness import ADMIN, MEMBER, SPONSOR, STAFF, SlackBot, prepare, rows, send_checkin


async def open_home(bot: SlackBot, user: str, count: int = 1) -> dict[str, Any]:
    assert (
        await bot.event({"type": "app_home_opened", "user": user, "channel": "DHOME", "tab": "home"}) == 200
    )
    call = await bot.slack.wait_for(
        "views.publish", count=count, where=lambda c: c.args.get("user_id") == user
    )
    view = call.args["view"]
    return json.loads(view) if isinstance(view, str) else view


async def answered(bot: SlackBot, rating: int) -> None:
    message = await send_checkin(bot)
    await bot.click(
        f"taste_{rating}",
        json.dumps({"checkin": 1, "rating": rating}),
        SPONSOR,
        channel=message.channel,
        ts=message.ts,
    )
    await bot.slack.wait_for("chat.update")


async def test_staff_see_the_summary_pain_points_and_sour_tastes(bot: SlackBot) -> None:
    await prepare(bot)
    await answered(bot, 1)
    home = await open_home(bot, STAFF)
    assert home["type"] == "home"
    shown = bot.text_of(home["blocks"])
    assert "PMO value — last 90 days" in shown and "Satisfaction (CSAT)" in shown
    assert "Open pain points" in shown and "None open" in shown
    assert "Sour tastes, last 30 days" in shown and "🤢 Sour · Apollo · Sam Sponsor" in shown
    assert bot.buttons(home["blocks"]) == []


async def test_a_sponsor_sees_their_projects_answers_and_can_pause(bot: SlackBot) -> None:
    await prepare(bot)
    await answered(bot, 4)
    home = await open_home(bot, SPONSOR)
    shown = bot.text_of(home["blocks"])
    assert "Your projects" in shown and "Apollo: Taste check-ins biweekly on Tuesday" in shown
    assert "Your last answers" in shown and "🙂 Tasty · Apollo" in shown
    assert "Satisfaction (CSAT)" not in shown  # the organisation's figures are for staff
    [pause] = bot.buttons(home["blocks"])
    assert (pause["action_id"], json.loads(pause["value"])) == ("command", {"command": "pause"})
    await bot.click("command", pause["value"], SPONSOR, container="view")
    republished = await bot.slack.wait_for(
        "views.publish", count=2, where=lambda c: c.args.get("user_id") == SPONSOR
    )
    again = republished.args["view"]
    again = json.loads(again) if isinstance(again, str) else again
    assert "Check-ins are paused until you type 'resume'" in bot.text_of(again["blocks"])
    [resume] = bot.buttons(again["blocks"])
    assert json.loads(resume["value"]) == {"command": "resume"}
    [sam] = await rows(bot, Person, Person.name == "Sam Sponsor")
    assert sam.paused_until == FOREVER


async def test_anyone_else_sees_the_summary_and_help(bot: SlackBot) -> None:
    await prepare(bot)
    home = await open_home(bot, MEMBER)
    shown = bot.text_of(home["blocks"])
    assert "PMO value — last 90 days" in shown and "What you can ask" in shown
    assert "/pmo value" in shown and "/pmo project add" not in shown
    assert "Your projects" not in shown and "Open pain points" not in shown


async def test_an_admin_sees_the_staff_home(bot: SlackBot) -> None:
    home = await open_home(bot, ADMIN)
    assert "Open pain points" in bot.text_of(home["blocks"])


async def test_the_messages_tab_publishes_nothing(bot: SlackBot) -> None:
    assert (
        await bot.event({"type": "app_home_opened", "user": MEMBER, "channel": "D1", "tab": "messages"})
        == 200
    )
    await bot.command("help", MEMBER)  # something later that is awaited
    assert bot.slack.called("views.publish") == []
