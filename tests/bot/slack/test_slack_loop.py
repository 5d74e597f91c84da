"""Issue 11 end to end on Slack: a sponsor's pain point from report to confirmed fix, through signed
requests against the fake Web API, and the value report's loop figures at every step (METRICS.md)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from handlers.value.report import compute_value
from storage.db import utcnow
from storage.models import InboxJob, Organisation, PainPoint, PainPointEvent
from tests.bot.slack.harness import (
    ADMIN,
    ALERTS,
    SPONSOR,
    STAFF,
    SlackBot,
    eventually,
    prepare,
    rows,
    send_checkin,
)
from tests.bot.slack.test_slack_checkins import alert_payload, alert_recorded, opened_view, rate, text_input
from tests.bot.slack.test_slack_checkins import select as picked
from tests.fakes.slack_api import Message


async def figures(bot: SlackBot) -> dict[str, Any]:
    """The organisation's pain-point figures, from the one value computation."""
    async with bot.runtime.db.sessions() as session:
        org_id = await session.scalar(select(Organisation.id))
        assert org_id is not None
        report = await compute_value(session, org_id, today=utcnow().date())
    return report["pain_points"]


def loop_figures(found: dict[str, Any]) -> tuple[int, ...]:
    return tuple(found[k] for k in ("open", "in_progress", "resolved", "confirmed_fixes", "reopened"))


async def report_painpoint(bot: SlackBot) -> PainPoint:
    """Sam answers the pain-point prompt with the form: impact 5, so it alerts."""
    prompt = await send_checkin(bot, kind="ask")
    [button] = bot.buttons(prompt.blocks)
    await bot.click("painpoint_open", button["value"], SPONSOR, channel=prompt.channel, ts=prompt.ts)
    modal = opened_view(await bot.slack.wait_for("views.open"))
    values = {
        "text": {"text": text_input("Orders wait days for credit checks")},
        "impact": {"impact": picked("5")},
    }
    assert (await bot.submit("painpoint", modal["private_metadata"], values, SPONSOR))[0] == 200
    await bot.slack.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == ALERTS)
    [point] = await rows(bot, PainPoint)
    return point


async def said_to(bot: SlackBot, where: str, text: str, since: int) -> bool:
    """Whether a message after the first `since` in a DM (user id) or channel shows `text`."""
    messages = bot.slack.in_channel(where) if where.startswith("C") else bot.dm(where)
    return any(text in bot.text_of(m.blocks) for m in messages[since:])


async def shows(bot: SlackBot, message: Message, text: str) -> bool:
    return text in bot.text_of(message.blocks)


async def no_jobs_left(bot: SlackBot) -> bool:
    """Whether the inbox is empty: every click's work, the listener's part included, is done."""
    return not await rows(bot, InboxJob)


async def staff_says(bot: SlackBot, text: str, user: str = STAFF) -> str:
    reply = await bot.command(text, user)
    assert isinstance(reply, dict)
    return str(reply["text"])


def fix_button(message: Message, action_id: str) -> dict[str, Any]:
    return next(b for b in SlackBot.buttons(message.blocks) if b["action_id"] == action_id)


async def you_said(bot: SlackBot, count: int) -> Message:
    """The sponsor's newest DM once it is "You said, we did" number `count`."""
    said = [m for m in bot.dm(SPONSOR) if "You said, we did" in bot.text_of(m.blocks)]
    assert len(said) == count, [bot.text_of(m.blocks) for m in bot.dm(SPONSOR)]
    return said[-1]


async def test_a_pain_point_from_report_to_a_confirmed_fix(bot: SlackBot) -> None:
    await prepare(bot)
    point = await report_painpoint(bot)
    assert loop_figures(await figures(bot)) == (1, 0, 0, 0, 0)

    # an owner from staff, told by DM
    staff_dms = len(bot.dm(STAFF))
    reply = await staff_says(bot, f"painpoint {point.id} owner:<@{STAFF}> due:2999-01-01", ADMIN)
    assert "Stan Staff" in reply and "direct message" in reply, reply
    [brief] = bot.dm(STAFF)[staff_dms:]
    assert f"#{point.id}" in bot.text_of(brief.blocks) and "painpoint resolve" in bot.text_of(brief.blocks)
    assert loop_figures(await figures(bot)) == (0, 1, 0, 0, 0)

    assert "Noted" in await staff_says(bot, f'painpoint {point.id} note:"Asked finance for a rule"')
    await staff_says(bot, f'painpoint {point.id} metric:"Order cycle time" baseline:12')
    assert f"#{point.id}" in await staff_says(bot, "painpoints mine")

    # a measured fix: the sponsor hears "You said, we did" with ✅ Fixed / ❌ Not yet
    reply = await staff_says(bot, f'painpoint resolve {point.id} after:9 fix:"Credit checks at order entry"')
    assert "Sam Sponsor was told" in reply, reply
    first = await you_said(bot, 1)
    shown = bot.text_of(first.blocks)
    assert "Orders wait days for credit checks" in shown and "Credit checks at order entry" in shown
    assert "Order cycle time: 12 → 9 (+25.0%)" in shown
    assert [b["action_id"] for b in bot.buttons(first.blocks)] == ["fix_yes", "fix_no"]
    assert loop_figures(await figures(bot)) == (0, 0, 1, 0, 0)

    # ❌ Not yet: reopened, the owner and the alert channel are told, the sponsor says what is wrong
    staff_dms, alerts_before = len(bot.dm(STAFF)), len(bot.slack.in_channel(ALERTS))
    not_yet = fix_button(first, "fix_no")
    await bot.click("fix_no", not_yet["value"], SPONSOR, channel=first.channel, ts=first.ts)
    await bot.slack.wait_for("chat.update", where=lambda c: c.args.get("ts") == first.ts)
    assert "not fixed yet" in bot.text_of(first.blocks)
    await eventually(lambda: said_to(bot, STAFF, "is not fixed yet", staff_dms))
    await eventually(lambda: said_to(bot, ALERTS, "is not fixed yet", alerts_before))
    assert loop_figures(await figures(bot)) == (1, 0, 1, 0, 1)
    still = fix_button(first, "open_form_fix_comment")
    await bot.click("open_form_fix_comment", still["value"], SPONSOR, channel=first.channel, ts=first.ts)
    modal = opened_view(await bot.slack.wait_for("views.open", count=2))
    assert modal["callback_id"] == "fix_comment"
    comment = {"comment": {"comment": text_input("Rush orders still wait")}}
    assert (await bot.submit("fix_comment", modal["private_metadata"], comment, SPONSOR))[0] == 200
    await eventually(lambda: said_to(bot, STAFF, "Rush orders still wait", staff_dms))

    # a second fix, ✅ Fixed: confirmed; the reopening stays counted
    await staff_says(bot, f'painpoint resolve {point.id} after:5 fix:"Rush orders skip the queue"')
    second = await you_said(bot, 2)
    await bot.click(
        "fix_yes", fix_button(second, "fix_yes")["value"], SPONSOR, channel=second.channel, ts=second.ts
    )
    await bot.slack.wait_for("chat.update", where=lambda c: c.args.get("ts") == second.ts)
    assert "You said it is fixed" in bot.text_of(second.blocks)
    [done] = await rows(bot, PainPoint)
    assert (done.status, done.confirmed, done.fix) == ("resolved", True, "Rush orders skip the queue")
    assert loop_figures(await figures(bot)) == (0, 0, 1, 1, 1)
    kinds = [e.kind for e in await rows(bot, PainPointEvent)]
    assert kinds == ["owner", "note", "resolved", "not_yet", "reopened", "comment", "resolved", "fixed"]


async def test_a_forged_fix_button_of_another_sponsors_pain_point_is_refused(bot: SlackBot) -> None:
    await prepare(bot)
    point = await report_painpoint(bot)
    await staff_says(bot, f'painpoint resolve {point.id} fix:"Done"')
    key = await bot.click(
        "fix_yes", json.dumps({"painpoint": point.id, "fixed": True}), STAFF, channel="D0STAFF"
    )
    assert "Only the sponsor who reported" in (await bot.slack.wait_for_response(key))["text"]
    [kept] = await rows(bot, PainPoint)
    assert kept.confirmed is None


async def test_one_alert_kept_current_through_comment_answer_change_follow_up_and_did(bot: SlackBot) -> None:
    """A sour click, a comment and an answer change: one alert and two updates of it on the same ts;
    then "I'll follow up" and `followup ID did:` update that same message again."""
    await prepare(bot)
    message = await send_checkin(bot)
    await rate(bot, message, 1)
    posted = await bot.slack.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == ALERTS)
    await alert_recorded(bot)
    comment = {"comment": {"comment": text_input("Nobody tested the release")}}
    assert (await bot.submit("taste_comment", json.dumps({"payload": {"checkin": 1}}), comment, SPONSOR))[
        0
    ] == 200
    on_alert = lambda c: c.args.get("channel") == ALERTS  # noqa: E731
    await bot.slack.wait_for("chat.update", where=on_alert)
    await rate(bot, message, 2, count=4)
    updates = await bot.slack.wait_for_all("chat.update", where=on_alert, count=2)
    [alert] = bot.slack.in_channel(ALERTS)
    assert {c.args["ts"] for c in updates} == {alert.ts} == {posted.response["ts"]}
    assert alert.updates == 2 and "Nobody tested the release" in bot.text_of(alert.blocks)

    [follow] = bot.buttons(alert.blocks)
    await bot.click(
        "follow_up", follow["value"], STAFF, channel=ALERTS, ts=alert.ts, message=alert_payload(alert)
    )
    # the use case rewrites the recorded alert in place; the listener leaves it alone (one update)
    await bot.slack.wait_for("chat.update", where=on_alert, count=3)
    await eventually(lambda: no_jobs_left(bot))  # the click's job is done, listener included
    assert alert.updates == 3 and "Stan Staff is following up" in bot.text_of(alert.blocks)
    assert "Recorded what was done" in await staff_says(
        bot, 'followup 1 did:"A test day before each release"'
    )
    await eventually(lambda: shows(bot, alert, "What was done: A test day before each release"))
    assert bot.slack.in_channel(ALERTS) == [alert]  # still the one message
    assert alert.updates == 4
    shown = bot.text_of(alert.blocks)
    assert "Stan Staff is following up" in shown and "What was done: A test day before each release" in shown
