"""What reaches POST /slack/events before anything is parsed: the signature first, then the body's shape.

An unsigned or badly signed request gets 401 and leaves at most one short line in the log (never
its body, never a traceback); a signed request whose body Bolt could not work with gets 400,
never 500. The log is captured at INFO from before the bot starts (Bolt copies the root logger's
level when the app is built), as a served bot logs.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.bot.slack.harness import MEMBER, SECRET, SlackBot, running_bot
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import block_action, command_body, signature, signed_headers, view_submission

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
async def bot(
    database_url: str, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[SlackBot]:
    caplog.set_level(logging.INFO)
    async with running_bot(database_url, slack) as running:
        yield running


async def post(bot: SlackBot, body: bytes | str, headers: dict[str, str]) -> tuple[int, str]:
    raw = body.encode() if isinstance(body, str) else body
    async with bot.http.post(bot.url + "/slack/events", data=raw, headers=headers) as response:
        return response.status, await response.text()


def signed(body: bytes | str, content_type: str = FORM) -> dict[str, str]:
    return signed_headers(SECRET, body, content_type=content_type)


def assert_nothing_of_it_logged(caplog: pytest.LogCaptureFixture, *fragments: str) -> None:
    """No traceback, and none of the request's own text, in any captured record."""
    text = caplog.text
    assert "Traceback" not in text and "JSONDecodeError" not in text
    assert all(record.exc_info is None for record in caplog.records)
    for fragment in fragments:
        assert fragment not in text, fragment


# ---- refused before parsing: 401 ----------------------------------------------------------------


async def test_an_unsigned_undecodable_payload_is_refused_before_it_is_parsed(
    bot: SlackBot, caplog: pytest.LogCaptureFixture
) -> None:
    status, text = await post(bot, "payload=%7B%7B%7B", {"Content-Type": FORM})
    assert status == 401 and text == "invalid signature"
    assert_nothing_of_it_logged(caplog, "%7B", "{{{")


@pytest.mark.parametrize("timestamp", ["abc", "", "12.5", "0x10", "-300", "1" * 40, "١٧٠٠٠٠٠٠٠٠"])
async def test_a_timestamp_that_is_not_whole_seconds_is_refused(
    bot: SlackBot, caplog: pytest.LogCaptureFixture, timestamp: str
) -> None:
    body = command_body("help", user_id=MEMBER, response_url=bot.slack.response_url("ts"))
    headers = {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature(SECRET, timestamp, body),  # the right HMAC over the odd value
        "Content-Type": FORM,
    }
    status, text = await post(bot, body, headers)
    assert status == 401 and text == "invalid signature"
    assert_nothing_of_it_logged(caplog, "response_url")
    assert "ts" not in bot.slack.responses


async def test_a_stale_request_is_refused_without_logging_its_body(
    bot: SlackBot, caplog: pytest.LogCaptureFixture
) -> None:
    body = command_body("help marker-of-the-body", user_id=MEMBER)
    status, _text = await post(bot, body, signed_headers(SECRET, body, timestamp=int(time.time()) - 301))
    assert status == 401
    assert_nothing_of_it_logged(caplog, "marker-of-the-body", SECRET)
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1 and len(refusals[0].getMessage()) < 200


@pytest.mark.parametrize(
    "signature_value", ["", "v0=", "v0=zz", "v1=" + "0" * 64, "v0=" + "0" * 64, "v0=" + "a" * 8000]
)
async def test_a_malformed_or_wrong_signature_is_refused(
    bot: SlackBot, caplog: pytest.LogCaptureFixture, signature_value: str
) -> None:
    body = command_body("help marker-of-the-body", user_id=MEMBER)
    headers = {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": signature_value}
    status, _text = await post(bot, body, headers | {"Content-Type": FORM})
    assert status == 401
    assert_nothing_of_it_logged(caplog, "marker-of-the-body", "a" * 100)


async def test_a_forged_log_line_in_an_unsigned_body_is_never_written(
    bot: SlackBot, caplog: pytest.LogCaptureFixture
) -> None:
    body = command_body("help", user_id=MEMBER) + "\n2026-01-01 INFO forged line"
    for headers in ({"Content-Type": FORM}, signed_headers("not-the-secret", body, content_type=FORM)):
        status, _text = await post(bot, body, headers)
        assert status == 401
    assert "forged" not in caplog.text
    assert not any("forged" in record.getMessage() for record in caplog.records)


async def test_big_unsigned_requests_barely_grow_the_log(
    bot: SlackBot, caplog: pytest.LogCaptureFixture
) -> None:
    body = "payload=" + "x" * (4 * 1024 * 1024)
    before = len(caplog.text)
    started = time.perf_counter()
    for headers in (
        {"Content-Type": FORM},
        signed_headers("not-the-secret", body, content_type=FORM),
        {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64},
    ):
        status, _text = await post(bot, body, headers)
        assert status == 401
    assert len(caplog.text) - before < 1024
    assert "xxxxxxxx" not in caplog.text
    assert time.perf_counter() - started < 10


# ---- signed but malformed: 400 ------------------------------------------------------------------


def payload_body(payload: Any) -> str:
    return urlencode({"payload": payload if isinstance(payload, str) else json.dumps(payload)})


def click(**changes: Any) -> dict[str, Any]:
    payload = block_action("taste_4", "{}", user_id=MEMBER, channel_id="D1", message_ts="1.2")
    payload.update(changes)
    return payload


def submission(**changes: Any) -> dict[str, Any]:
    payload = view_submission("taste_comment", "{}", {}, user_id=MEMBER)
    payload.update(changes)
    return payload


def event(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "event_callback",
        "team_id": "T0001",
        "event_id": "EvBAD",
        "event": {"type": "app_home_opened", "user": MEMBER, "tab": "home"},
    }
    payload.update(changes)
    return payload


MALFORMED: list[tuple[str, bytes | str, str]] = [
    ("payload is not JSON", "payload=%7B%7B%7B", FORM),
    ("payload is empty", "payload=", FORM),
    ("payload is a list", payload_body([1, 2]), FORM),
    ("payload is a string", payload_body('"block_actions"'), FORM),
    ("payload is deeply nested", payload_body('{"a":' * 100_000 + "1" + "}" * 100_000), FORM),
    ("JSON body is not JSON", '{"type": "event_callback", ', "application/json"),
    ("JSON body is a list", "[1, 2]", "application/json"),
    ("body is not UTF-8", b"payload=%7B%7D&x=\xff\xfe", FORM),
    ("actions is a string", payload_body(click(actions="x")), FORM),
    ("actions is empty", payload_body(click(actions=[])), FORM),
    ("an action is not an object", payload_body(click(actions=["taste_4"])), FORM),
    ("an action_id is not a string", payload_body(click(actions=[{"action_id": 4, "value": "{}"}])), FORM),
    ("an action has no action_id", payload_body(click(actions=[{"value": "{}"}])), FORM),
    ("the clicker is a string", payload_body(click(user="UMEMBER01")), FORM),
    ("the container is a string", payload_body(click(container="message")), FORM),
    ("view is a string", payload_body(submission(view="VMODAL")), FORM),
    (
        "view callback_id is a number",
        payload_body(submission(view={"type": "modal", "callback_id": 5})),
        FORM,
    ),
    ("view has no type", payload_body(submission(view={"callback_id": "taste_comment"})), FORM),
    ("event is a string", json.dumps(event(event="app_home_opened")), "application/json"),
    ("event type is a number", json.dumps(event(event={"type": 5})), "application/json"),
    ("authorizations is a string", json.dumps(event(authorizations="T0001")), "application/json"),
    ("authorizations hold a string", json.dumps(event(authorizations=["T0001"])), "application/json"),
    ("team is a number", json.dumps(event(team=5)), "application/json"),
    ("response_urls is a string", payload_body(submission(response_urls="x")), FORM),
]


@pytest.mark.parametrize(("why", "body", "content_type"), MALFORMED, ids=[m[0] for m in MALFORMED])
async def test_a_signed_malformed_body_gets_400_not_500(
    bot: SlackBot, caplog: pytest.LogCaptureFixture, why: str, body: bytes | str, content_type: str
) -> None:
    calls = len(bot.slack.calls)
    status, text = await post(bot, body, signed(body, content_type))
    assert status == 400, (why, status, text)
    assert len(text) < 100 and "Traceback" not in text
    assert_nothing_of_it_logged(caplog)
    assert len(bot.slack.calls) == calls


# ---- signed and well formed: as before ----------------------------------------------------------


async def test_a_signed_command_still_works(bot: SlackBot) -> None:
    reply = await bot.command("help", MEMBER)
    assert "What you can ask" in reply["text"]


async def test_a_signed_url_verification_and_ssl_check_still_work(bot: SlackBot) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c-456", "token": "t"})
    status, text = await post(bot, body, signed(body, "application/json"))
    assert status == 200 and json.loads(text)["challenge"] == "c-456"
    body = "ssl_check=1&token=t"
    status, _text = await post(bot, body, signed(body))
    assert status == 200


async def test_a_signed_click_with_an_odd_but_valid_shape_still_reaches_the_bot(bot: SlackBot) -> None:
    """Extra fields, a null channel and a charset in the content type are fine."""
    key = "odd"
    payload = click(response_url=bot.slack.response_url(key), channel=None, extra={"anything": [1, "x"]})
    body = payload_body(payload)
    status, _text = await post(bot, body, signed(body, FORM + "; charset=utf-8"))
    assert status == 200
    assert "nothing was changed" in (await bot.slack.wait_for_response(key))["text"]


async def test_bolt_logs_no_body_of_a_signed_request_nobody_handles(
    bot: SlackBot, caplog: pytest.LogCaptureFixture
) -> None:
    payload = {
        "type": "dialog_submission",
        "callback_id": "old_dialog",
        "team": {"id": "T0001"},
        "user": {"id": MEMBER},
        "submission": {"words": "private words"},
    }
    body = payload_body(payload)
    status, _text = await post(bot, body, signed(body))
    assert status == 404
    assert "private words" not in caplog.text
    assert any("Unhandled request" in r.getMessage() for r in caplog.records)


async def test_building_the_slack_app_leaves_the_bots_own_logger_alone(
    database_url: str, slack: FakeSlack
) -> None:
    """Bolt configures the logger its app is named after: never the bot's `pmo` namespace, whose
    INFO lines (durable work, the clock) must follow the root logger, not the level the root
    happened to have when a Slack app was built."""
    ours, root = logging.getLogger("pmo"), logging.getLogger()
    before = (ours.level, list(ours.filters), list(ours.handlers))
    level = root.level
    root.setLevel(logging.WARNING)  # as `app.py value` leaves it
    try:
        async with running_bot(database_url, slack) as bot:
            await bot.command("help", MEMBER)  # Bolt sets up its app's logger on every request
            assert (ours.level, list(ours.filters), list(ours.handlers)) == before
    finally:
        root.setLevel(level)
    root.setLevel(logging.INFO)
    try:
        assert logging.getLogger("pmo.work").isEnabledFor(logging.INFO)
    finally:
        root.setLevel(level)
