"""Check-ins in Slack DMs end to end: the question, a click, a changed answer, the comment modal,
the pain-point form and a plain DM reply, alerts and "I'll follow up" (CONTRACT section 5)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from storage.models import Answer, Checkin, PainPoint
from tests.bot.slack.harness import (
    ALERTS,
    MEMBER,
    SPONSOR,
    STAFF,
    SlackBot,
    prepare,
    rows,
    send_checkin,
)
from tests.fakes.slack_api import Message


def taste_value(message: Message, action_id: str) -> str:
    return next(b["value"] for b in SlackBot.buttons(message.blocks) if b["action_id"] == action_id)


async def rate(bot: SlackBot, message: Message, rating: int, count: int = 1) -> None:
    action = f"taste_{rating}"
    await bot.click(action, taste_value(message, action), SPONSOR, channel=message.channel, ts=message.ts)
    await bot.slack.wait_for("chat.update", count=count)


def opened_view(call: Any) -> dict[str, Any]:
    view = call.args["view"]
    return json.loads(view) if isinstance(view, str) else view


def text_input(value: str | None) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def select(value: str | None) -> dict[str, Any]:
    return {"type": "static_select", "selected_option": {"value": value} if value else None}


async def test_the_checkin_is_a_dm_with_five_taste_buttons(bot: SlackBot) -> None:
    await prepare(bot)
    message = await send_checkin(bot)
    [post] = bot.slack.called("chat.postMessage")
    assert post.args["channel"] == SPONSOR  # posted to the user id: Slack routes it to the DM
    assert bot.slack.called("conversations.open") == []
    assert "How does *Apollo* taste?" in bot.text_of(message.blocks)
    buttons = bot.buttons(message.blocks)
    assert [b["action_id"] for b in buttons] == ["taste_5", "taste_4", "taste_3", "taste_2", "taste_1"]
    assert [b["text"]["text"] for b in buttons] == [
        "😋 Delicious",
        "🙂 Tasty",
        "😐 Bland",
        "😕 Off",
        "🤢 Sour",
    ]
    assert [json.loads(b["value"]) for b in buttons] == [{"checkin": 1, "rating": r} for r in (5, 4, 3, 2, 1)]
    [checkin] = await rows(bot, Checkin)
    assert checkin.message_refs == {
        "slack": {"platform": "slack", "channel": message.channel, "ts": message.ts}
    }


async def test_a_click_answers_and_updates_the_message_in_place(bot: SlackBot) -> None:
    await prepare(bot)
    message = await send_checkin(bot)
    await rate(bot, message, 4)
    [update] = bot.slack.called("chat.update")
    assert (update.args["channel"], update.args["ts"]) == (message.channel, message.ts)
    shown = bot.text_of(message.blocks)
    assert "Your answer: 🙂 Tasty" in shown
    styles = {b["action_id"]: b.get("style") for b in bot.buttons(message.blocks)}
    assert styles["taste_4"] == "primary" and styles["taste_5"] is None
    assert "open_form_taste_comment" in styles  # "Tell us more"
    [checkin] = await rows(bot, Checkin)
    assert (checkin.rating, checkin.status) == (4, "answered")


async def test_a_changed_answer_replaces_the_current_one_and_keeps_history(bot: SlackBot) -> None:
    await prepare(bot)
    message = await send_checkin(bot)
    await rate(bot, message, 4)
    await rate(bot, message, 2, count=2)
    [checkin] = await rows(bot, Checkin)
    assert checkin.rating == 2
    assert [a.rating for a in await rows(bot, Answer)] == [4, 2]
    assert "Your answer: 😕 Off" in bot.text_of(message.blocks) and message.updates == 2


async def test_tell_us_more_opens_a_modal_and_the_comment_is_kept(bot: SlackBot) -> None:
    await prepare(bot)
    message = await send_checkin(bot)
    await rate(bot, message, 3)
    key = await bot.click(
        "open_form_taste_comment",
        taste_value(message, "open_form_taste_comment"),
        SPONSOR,
        channel=message.channel,
        ts=message.ts,
    )
    call = await bot.slack.wait_for("views.open")
    assert call.args["trigger_id"] == f"trigger-{key}"
    modal = opened_view(call)
    assert modal["type"] == "modal" and modal["callback_id"] == "taste_comment"
    assert modal["blocks"][0]["label"]["text"] == "What would make it taste better?"
    status, body = await bot.submit(
        "taste_comment",
        modal["private_metadata"],
        {"comment": {"comment": text_input("More demos, please")}},
        SPONSOR,
    )
    assert (status, body) == (200, None)  # the modal closes
    await bot.slack.wait_for("chat.update", count=2)
    assert "You said: “More demos, please”" in bot.text_of(message.blocks)
    [checkin] = await rows(bot, Checkin)
    assert (checkin.rating, checkin.comment) == (3, "More demos, please")


async def test_a_comment_before_a_rating_is_refused(bot: SlackBot) -> None:
    await prepare(bot)
    message = await send_checkin(bot)
    key = await bot.click(
        "open_form_taste_comment", json.dumps({"checkin": 1}), SPONSOR, channel=message.channel, ts=message.ts
    )
    assert "Pick a taste first" in (await bot.slack.wait_for_response(key))["text"]
    assert bot.slack.called("views.open") == []


async def test_the_pain_point_form_records_and_alerts(bot: SlackBot) -> None:
    await prepare(bot)
    prompt = await send_checkin(bot, kind="ask")
    assert "What keeps you up at night about *Apollo*?" in bot.text_of(prompt.blocks)
    [button] = bot.buttons(prompt.blocks)
    assert button["action_id"] == "painpoint_open"
    await bot.click("painpoint_open", button["value"], SPONSOR, channel=prompt.channel, ts=prompt.ts)
    modal = opened_view(await bot.slack.wait_for("views.open"))
    assert modal["callback_id"] == "painpoint"
    assert [b["block_id"] for b in modal["blocks"] if b["type"] == "input"] == ["text", "impact"]
    impact = next(b for b in modal["blocks"] if b.get("block_id") == "impact")["element"]
    assert [o["value"] for o in impact["options"]] == ["1", "2", "3", "4", "5"]
    values = {
        "text": {"text": text_input("Vendor keeps slipping <!channel>")},
        "impact": {"impact": select("5")},
    }
    status, body = await bot.submit("painpoint", modal["private_metadata"], values, SPONSOR)
    assert (status, body) == (200, None)
    [point] = await rows(bot, PainPoint)
    assert (point.text, point.impact, point.status) == ("Vendor keeps slipping <!channel>", 5, "open")
    alert = (
        await bot.slack.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == ALERTS)
    ).args
    shown = bot.text_of(alert["blocks"])
    assert "Pain point #1 on *Apollo* (impact 5)" in shown and "Sam Sponsor" in shown
    assert "&lt;!channel&gt;" in shown and "<!channel>" not in shown  # a comment cannot ping the channel
    assert [b["action_id"] for b in bot.buttons(alert["blocks"])] == ["follow_up"]
    await bot.slack.wait_for("chat.update")
    assert "Thank you, the PMO has it" in bot.text_of(prompt.blocks)


async def test_the_pain_point_form_without_impact_shows_the_error_in_the_modal(bot: SlackBot) -> None:
    await prepare(bot)
    await send_checkin(bot, kind="ask")
    values = {"text": {"text": text_input("Budget")}, "impact": {"impact": select(None)}}
    _status, body = await bot.submit("painpoint", json.dumps({"payload": {"checkin": 1}}), values, SPONSOR)
    assert body["response_action"] == "errors" and "Impact is a number" in body["errors"]["impact"]
    assert await rows(bot, PainPoint) == []


async def test_a_plain_dm_reply_answers_the_open_prompt(bot: SlackBot) -> None:
    await prepare(bot)
    prompt = await send_checkin(bot, kind="ask")
    event = {
        "type": "message",
        "channel_type": "im",
        "channel": prompt.channel,
        "user": SPONSOR,
        "text": "Hiring is slow",
        "ts": "1.2",
    }
    assert await bot.event(event) == 200
    reply = await bot.slack.wait_for("chat.postMessage", count=2)
    assert reply.args["channel"] == prompt.channel and "Pain point #1 on Apollo" in reply.args["text"]
    [point] = await rows(bot, PainPoint)
    assert (point.text, point.impact) == ("Hiring is slow", 3)


async def test_a_dm_command_is_answered_in_the_dm(bot: SlackBot) -> None:
    event = {
        "type": "message",
        "channel_type": "im",
        "channel": "DMEMBER01",
        "user": MEMBER,
        "text": "help",
        "ts": "1.3",
    }
    assert await bot.event(event) == 200
    reply = await bot.slack.wait_for("chat.postMessage")
    assert reply.args["channel"] == "DMEMBER01" and "What you can ask" in reply.args["text"]


async def test_bot_messages_and_edits_are_ignored(bot: SlackBot) -> None:
    for extra in ({"bot_id": "B1"}, {"subtype": "message_changed"}):
        event = {
            "type": "message",
            "channel_type": "im",
            "channel": "DX",
            "user": MEMBER,
            "text": "help",
            **extra,
        }
        assert await bot.event(event) == 200
    event = {"type": "message", "channel_type": "im", "channel": "DX", "user": MEMBER, "text": "help"}
    await bot.event(event)
    await bot.slack.wait_for("chat.postMessage")
    assert len(bot.slack.called("chat.postMessage")) == 1


async def test_a_sour_taste_alerts_and_staff_can_follow_it_up(bot: SlackBot) -> None:
    await prepare(bot)
    message = await send_checkin(bot)
    await rate(bot, message, 1)
    alert_call = await bot.slack.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == ALERTS)
    [alert] = bot.slack.in_channel(ALERTS)
    shown = bot.text_of(alert.blocks)
    assert "Sour" in shown and "Apollo" in shown and "Sam Sponsor" in shown
    [follow] = bot.buttons(alert.blocks)
    assert follow["action_id"] == "follow_up" and json.loads(follow["value"]) == {"checkin": 1}
    # a plain member may not take it
    key = await bot.click(
        "follow_up", follow["value"], MEMBER, channel=ALERTS, ts=alert.ts, message=alert_payload(alert)
    )
    assert "for PMO staff" in (await bot.slack.wait_for_response(key))["text"]
    # staff take it: the alert shows who, and the button is gone
    await bot.click(
        "follow_up", follow["value"], STAFF, channel=ALERTS, ts=alert.ts, message=alert_payload(alert)
    )
    update = await bot.slack.wait_for("chat.update", where=lambda c: c.args.get("channel") == ALERTS)
    assert update.args["ts"] == alert_call.response["ts"]
    assert "Stan Staff is following up" in bot.text_of(alert.blocks) and bot.buttons(alert.blocks) == []
    [checkin] = await rows(bot, Checkin)
    assert checkin.followed_up_by is not None and checkin.followed_up_at is not None


async def test_a_second_taker_is_told_who_has_it(bot: SlackBot) -> None:
    await prepare(bot)
    await bot.command(f"staff add <@{MEMBER}>", "UADMIN01")
    await send_checkin(bot, kind="ask")
    values = {"text": {"text": text_input("Budget cut")}, "impact": {"impact": select("4")}}
    await bot.submit("painpoint", json.dumps({"payload": {"checkin": 1}}), values, SPONSOR)
    await bot.slack.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == ALERTS)
    [alert] = bot.slack.in_channel(ALERTS)
    value = json.dumps({"painpoint": 1})
    stale = alert_payload(alert)
    await bot.click("follow_up", value, STAFF, channel=ALERTS, ts=alert.ts, message=stale)
    await bot.slack.wait_for("chat.update", where=lambda c: c.args.get("channel") == ALERTS)
    key = await bot.click("follow_up", value, MEMBER, channel=ALERTS, ts=alert.ts, message=stale)
    assert "Stan Staff took pain point #1" in (await bot.slack.wait_for_response(key))["text"]
    [point] = await rows(bot, PainPoint)
    assert point.followed_up_at is not None


async def test_alerts_here_moves_alerts_to_that_channel(bot: SlackBot) -> None:
    await prepare(bot)
    reply = await bot.command("alerts here", STAFF, channel="C0PMOROOM1")
    assert "Alerts will come to this channel" in reply["text"]
    message = await send_checkin(bot)
    await rate(bot, message, 2)
    await bot.slack.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == "C0PMOROOM1")
    assert bot.slack.in_channel(ALERTS) == []


def alert_payload(alert: Message) -> dict[str, Any]:
    return {"type": "message", "ts": alert.ts, "text": alert.text, "blocks": alert.blocks}


async def alert_recorded(bot: SlackBot) -> None:
    """Wait until the alert's message reference is in the check-in (record_refs after the post)."""
    for _ in range(200):
        [checkin] = await rows(bot, Checkin)
        if (checkin.message_refs.get("alerts") or {}).values():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the alert's reference was never recorded")


async def test_a_changed_taste_keeps_the_comment_and_updates_the_alert_in_place(bot: SlackBot) -> None:
    """Issue 9 item 8: 🤢 Sour, a comment in the modal, then 😐 Bland."""
    await prepare(bot)
    message = await send_checkin(bot)
    await rate(bot, message, 1)
    alert_call = await bot.slack.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == ALERTS)
    await alert_recorded(bot)
    status, _ = await bot.submit(
        "taste_comment",
        json.dumps({"payload": {"checkin": 1}}),
        {"comment": {"comment": text_input("The vendor is late again")}},
        SPONSOR,
    )
    assert status == 200
    on_alert = lambda c: c.args.get("channel") == ALERTS  # noqa: E731
    await bot.slack.wait_for("chat.update", where=on_alert)
    await rate(bot, message, 3, count=4)  # card: Sour, comment, Bland; alert: comment
    await bot.slack.wait_for("chat.update", where=on_alert, count=2)

    [alert] = bot.slack.in_channel(ALERTS)  # one alert for the check-in, never a second
    assert alert.ts == alert_call.response["ts"] and alert.updates == 2
    shown = bot.text_of(alert.blocks)
    assert "now 😐 Bland" in shown and "was 🤢 Sour" in shown
    assert "The vendor is late again" in shown
    assert [b["action_id"] for b in bot.buttons(alert.blocks)] == ["follow_up"]
    card = bot.text_of(message.blocks)
    assert "Your answer: 😐 Bland" in card and "You said: “The vendor is late again”" in card
    [checkin] = await rows(bot, Checkin)
    assert (checkin.rating, checkin.comment) == (3, "The vendor is late again")
    assert set(checkin.message_refs) == {"slack", "alerts"}
    assert checkin.message_refs["slack"]["channel"] == message.channel
