"""Issue 12 part 4 on Slack: staff's "Story" button under `painpoint resolve` answers with the story,
the chart uploaded beside it; a member's click on a copied button is refused."""

from __future__ import annotations

import json

from tests.bot.slack.harness import MEMBER, STAFF, SlackBot, prepare
from tests.bot.slack.test_slack_loop import report_painpoint


async def test_the_story_button_answers_with_the_story(bot: SlackBot) -> None:
    await prepare(bot)
    point = await report_painpoint(bot)
    await bot.command(f'painpoint {point.id} metric:"Days" baseline:10', STAFF)
    reply = await bot.command(f'painpoint resolve {point.id} after:4 fix:"Credit limits per customer"', STAFF)
    assert isinstance(reply, dict)
    [button] = [b for b in bot.buttons(reply["blocks"]) if b["action_id"] == "story"]
    assert json.loads(button["value"]) == {"painpoint": point.id}

    key = await bot.click("story", button["value"], STAFF)
    answer = await bot.slack.wait_for_response(key, timeout=15)
    shown = bot.text_of(answer["blocks"])
    assert f"Story of pain point #{point.id}" in shown and "Credit limits per customer" in shown
    assert "Days: 10 → 4 (+60.0%, lower is better)" in shown
    assert answer["response_type"] == "ephemeral"

    key = await bot.click("story", button["value"], MEMBER)
    refused = await bot.slack.wait_for_response(key, timeout=15)
    assert "PMO staff and project sponsors only" in bot.text_of(refused["blocks"]) + refused["text"]
