"""Security through real HTTP: signatures, roles, other people's check-ins, forged buttons and forms.

Every refused request must change nothing: not a row of the database, not a call to Slack.
"""

from __future__ import annotations

import json
import time

import pytest

from handlers.commands.parser import parse
from storage.models import Checkin, Outcome, PainPoint, Project
from storage.queries import find_project
from tests.bot.slack.harness import (
    ADMIN,
    MEMBER,
    OTHER,
    SECRET,
    SPONSOR,
    STAFF,
    SlackBot,
    prepare,
    rows,
    send_checkin,
    snapshot,
)
from tests.fakes.slack_signing import command_body, event_body, signature, signed_headers

STAFF_COMMANDS = [
    f"project add Zeus sponsor:<@{MEMBER}>",
    "project list",
    "project archive Apollo",
    "checkin Apollo",
    "ask Apollo",
    "painpoints all",
    "painpoint {point} metric:Cycle time baseline:5",
    "painpoint resolve {point}",
    "outcome add Apollo metric:NPS baseline:10 target:50",
    "outcome update {outcome} current:20",
    "alerts here",
    "export projects",
]
ADMIN_COMMANDS = ["cost 450k", f"staff add <@{MEMBER}>", f"staff remove <@{STAFF}>", "staff list"]


async def bare_post(bot: SlackBot, body: str, headers: dict[str, str]) -> int:
    async with bot.http.post(bot.url + "/slack/events", data=body.encode(), headers=headers) as response:
        await response.read()
        return response.status


async def forged(bot: SlackBot, headers_for: object) -> None:
    """A state-changing command with bad credentials: 401, and nothing changes anywhere."""
    await prepare(bot)
    before, calls = await snapshot(bot), len(bot.slack.calls)
    body = command_body(f"staff add <@{OTHER}>", user_id=ADMIN, response_url=bot.slack.response_url("forged"))
    status = await bare_post(bot, body, headers_for(body))  # type: ignore[operator]
    assert status == 401
    assert await snapshot(bot) == before
    assert len(bot.slack.calls) == calls and "forged" not in bot.slack.responses


async def test_a_missing_signature_is_refused(bot: SlackBot) -> None:
    await forged(bot, lambda body: {"Content-Type": "application/x-www-form-urlencoded"})


async def test_a_missing_timestamp_is_refused(bot: SlackBot) -> None:
    def headers(body: str) -> dict[str, str]:
        signed = signed_headers(SECRET, body)
        del signed["X-Slack-Request-Timestamp"]
        return signed

    await forged(bot, headers)


async def test_a_wrong_signature_is_refused(bot: SlackBot) -> None:
    await forged(bot, lambda body: signed_headers("not-the-secret", body))


async def test_a_signature_of_another_body_is_refused(bot: SlackBot) -> None:
    def headers(body: str) -> dict[str, str]:
        return signed_headers(
            SECRET, body.replace("staff+add", "staff+list"), content_type="application/x-www-form-urlencoded"
        )

    await forged(bot, headers)


async def test_a_stale_signature_is_refused(bot: SlackBot) -> None:
    await forged(bot, lambda body: signed_headers(SECRET, body, timestamp=int(time.time()) - 301))


async def test_a_signature_from_the_future_is_refused(bot: SlackBot) -> None:
    await forged(bot, lambda body: signed_headers(SECRET, body, timestamp=int(time.time()) + 301))


async def test_a_forged_event_is_refused(bot: SlackBot) -> None:
    await prepare(bot)
    before = await snapshot(bot)
    body = event_body({"type": "app_uninstalled"}, event_id="EvForged")
    ts = int(time.time())
    headers = {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": signature("wrong", ts, body)}
    assert await bare_post(bot, body, headers) == 401
    assert await snapshot(bot) == before


async def test_a_signature_four_minutes_old_is_accepted(bot: SlackBot) -> None:
    body = command_body("help", user_id=MEMBER, response_url=bot.slack.response_url("late"))
    assert await bare_post(bot, body, signed_headers(SECRET, body, timestamp=int(time.time()) - 240)) == 200
    assert "What you can ask" in (await bot.slack.wait_for_response("late"))["text"]


async def test_url_verification_answers_the_challenge(bot: SlackBot) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "t"})
    async with bot.http.post(
        bot.url + "/slack/events", data=body, headers=signed_headers(SECRET, body)
    ) as response:
        assert response.status == 200
        assert (await response.json())["challenge"] == "c-123"


# ---- roles ----------------------------------------------------------------------------------------


async def with_ids(bot: SlackBot, text: str) -> str:
    if "{" not in text:
        return text
    from storage.db import utcnow

    async with bot.runtime.db.transaction() as session:
        project = await find_project(session, bot.runtime.org_id, "Apollo")
        assert project is not None
        point = PainPoint(
            org_id=project.org_id,
            project_id=project.id,
            reported_by=project.sponsor_id,
            reported_at=utcnow(),
            text="Vendor late",
            impact=3,
            status="open",
            better="lower",
        )
        outcome = Outcome(
            org_id=project.org_id,
            project_id=project.id,
            metric="NPS",
            baseline=10,
            target=50,
            added_on=utcnow().date(),
        )
        session.add_all([point, outcome])
        await session.flush()
        return text.format(point=point.id, outcome=outcome.id)


@pytest.mark.parametrize("who", [MEMBER, SPONSOR])
async def test_every_staff_and_admin_command_is_refused_and_changes_nothing(bot: SlackBot, who: str) -> None:
    await prepare(bot)
    await bot.command("help", who)  # first contact: the person exists before the snapshot
    failures = []
    for command, words in [(c, "PMO staff") for c in STAFF_COMMANDS] + [
        (c, "PMO admins") for c in ADMIN_COMMANDS
    ]:
        text = await with_ids(bot, command)
        before, calls = await snapshot(bot), len(bot.slack.calls)
        reply = await bot.command(text, who)
        expected = f"Sorry, '{parse(text).name}' is for {words} only. Nothing was changed."
        if expected not in reply["text"] or reply["response_type"] != "ephemeral":
            failures.append(f"{text!r}: {reply['text']!r}")
        if await snapshot(bot) != before:
            failures.append(f"{text!r} changed the database")
        if [c.method for c in bot.slack.calls[calls:]] != ["response_url"]:
            failures.append(f"{text!r} called Slack: {[c.method for c in bot.slack.calls[calls:]]}")
    assert failures == []


async def test_staff_are_refused_admin_commands(bot: SlackBot) -> None:
    await prepare(bot)
    for text in ADMIN_COMMANDS:
        before = await snapshot(bot)
        reply = await bot.command(text, STAFF)
        assert "is for PMO admins only" in reply["text"]
        assert await snapshot(bot) == before


# ---- clicks and forms that are not the clicker's ----------------------------------------------------


async def test_a_click_on_someone_elses_checkin_changes_nothing(bot: SlackBot) -> None:
    await prepare(bot)
    message = await send_checkin(bot)
    await bot.command("help", OTHER)
    before, calls = await snapshot(bot), len(bot.slack.calls)
    value = json.dumps({"checkin": 1, "rating": 1})
    key = await bot.click("taste_1", value, OTHER, channel=message.channel, ts=message.ts)
    refusal = await bot.slack.wait_for_response(key)
    assert "sent to someone else" in refusal["text"] and refusal["response_type"] == "ephemeral"
    assert refusal["replace_original"] is False
    assert await snapshot(bot) == before
    assert [c.method for c in bot.slack.calls[calls:]] == ["response_url"]
    assert message.updates == 0
    [checkin] = await rows(bot, Checkin)
    assert checkin.rating is None


async def test_someone_else_cannot_open_the_comment_form(bot: SlackBot) -> None:
    await prepare(bot)
    message = await send_checkin(bot)
    await bot.click(
        "taste_4", json.dumps({"checkin": 1, "rating": 4}), SPONSOR, channel=message.channel, ts=message.ts
    )
    await bot.slack.wait_for("chat.update")
    key = await bot.click("open_form_taste_comment", json.dumps({"checkin": 1}), OTHER)
    assert "sent to someone else" in (await bot.slack.wait_for_response(key))["text"]
    assert bot.slack.called("views.open") == []


@pytest.mark.parametrize(
    ("action_id", "value", "words"),
    [
        ("taste_4", "not json", "no data I can read"),
        ("taste_4", json.dumps(["checkin", 1]), "no data I can read"),
        ("taste_4", json.dumps({"checkin": 1, "rating": 5}), "not one I know"),
        ("taste_4", json.dumps({"checkin": "1", "rating": 4}), "does not point at a check-in"),
        ("taste_4", json.dumps({"checkin": 999, "rating": 4}), "does not exist"),
        ("taste_4", "x" * 2001, "no data I can read"),
        ("painpoint_open", json.dumps({"checkin": 1}), "does not exist"),
        ("follow_up", json.dumps({"checkin": 1}), "for PMO staff"),
        ("command", json.dumps({"command": "cost 1"}), "for PMO admins only"),
        ("command", json.dumps({"command": 5}), "no command I can read"),
        ("share", json.dumps({"command": "staff list"}), "Only a value report"),
    ],
)
async def test_forged_button_values_change_nothing(
    bot: SlackBot, action_id: str, value: str, words: str
) -> None:
    await prepare(bot)
    message = await send_checkin(bot)
    before = await snapshot(bot)
    key = await bot.click(action_id, value, SPONSOR, channel=message.channel, ts=message.ts)
    reply = await bot.slack.wait_for_response(key)
    assert words in reply["text"], reply["text"]
    assert await snapshot(bot) == before
    assert message.updates == 0


@pytest.mark.parametrize(
    ("metadata", "values", "words"),
    [
        (
            "not json",
            {"comment": {"comment": {"type": "plain_text_input", "value": "x"}}},
            "not one I opened",
        ),
        (
            json.dumps({"payload": "x"}),
            {"comment": {"comment": {"type": "plain_text_input", "value": "x"}}},
            "not one I opened",
        ),
        (
            json.dumps({"payload": {"checkin": 1}}),
            {"comment": {"comment": {"type": "plain_text_input", "value": "  "}}},
            "empty",
        ),
        (json.dumps({"payload": {"checkin": 1}}), {"comment": "x"}, "cannot read"),
        (
            json.dumps({"payload": {"checkin": 1}}),
            {"comment": {"comment": {"type": "plain_text_input", "value": "y" * 3001}}},
            "3,000",
        ),
    ],
)
async def test_forged_or_bad_modal_submissions_change_nothing(
    bot: SlackBot, metadata: str, values: dict, words: str
) -> None:
    await prepare(bot)
    message = await send_checkin(bot)
    await bot.click(
        "taste_4", json.dumps({"checkin": 1, "rating": 4}), SPONSOR, channel=message.channel, ts=message.ts
    )
    await bot.slack.wait_for("chat.update")
    before = await snapshot(bot)
    status, body = await bot.submit("taste_comment", metadata, values, SPONSOR)
    assert status == 200 and body["response_action"] == "errors"
    assert words in next(iter(body["errors"].values()))
    assert await snapshot(bot) == before


async def test_a_comment_by_someone_else_is_refused_in_the_modal(bot: SlackBot) -> None:
    await prepare(bot)
    message = await send_checkin(bot)
    await bot.click(
        "taste_4", json.dumps({"checkin": 1, "rating": 4}), SPONSOR, channel=message.channel, ts=message.ts
    )
    await bot.slack.wait_for("chat.update")
    await bot.command("help", OTHER)
    before = await snapshot(bot)
    values = {"comment": {"comment": {"type": "plain_text_input", "value": "I am not the sponsor"}}}
    _status, body = await bot.submit("taste_comment", json.dumps({"payload": {"checkin": 1}}), values, OTHER)
    assert body["response_action"] == "errors" and "someone else" in body["errors"]["comment"]
    assert await snapshot(bot) == before
    [project] = await rows(bot, Project)
    assert project.name == "Apollo"
