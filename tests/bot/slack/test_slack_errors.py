"""Slack's refusals in words (bot/slack/errors.py): each a whole message naming Slack's code as
given, said in the reader's language; what is stored is its English."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.slack.errors import PERMANENT, WORDS, as_delivery_failed
from handlers.i18n import LANGUAGES, SOURCE, say


def refusal(code: str, status: int = 200) -> SlackApiError:
    """What slack_sdk raises when Slack answers `{"ok": false, "error": code}`."""
    response = AsyncSlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.com/api/chat.postMessage",
        req_args={},
        data={"ok": False, "error": code},
        headers={},
        status_code=status,
    )
    return SlackApiError(f"The request to the Slack API failed. ({code})", response)


@pytest.mark.parametrize("code", sorted(WORDS))
def test_every_code_with_words_is_said_in_german_and_keeps_the_code(code: str) -> None:
    failed = as_delivery_failed(refusal(code))
    english = str(failed.reason)
    german = say(failed.reason, "de")
    assert failed.permanent and code in PERMANENT
    assert english.endswith(f" ({code})") and german.endswith(f" ({code})")
    assert german != english
    assert all(code in say(failed.reason, language) for language in LANGUAGES if language != SOURCE)


def test_the_english_words_are_as_they_were() -> None:
    assert str(as_delivery_failed(refusal("not_in_channel")).reason) == (
        "the bot is not in that channel (invite it with /invite) (not_in_channel)"
    )
    assert str(as_delivery_failed(refusal("users_not_found")).reason) == (
        "Slack does not know that user (any more) (users_not_found)"
    )
    assert str(as_delivery_failed(refusal("ratelimited", 429)).reason) == "Slack is rate limiting the bot"


@pytest.mark.parametrize(
    ("code", "status", "german"),
    [
        ("cannot_dm_bot", 200, "Slack hat die Nachricht abgelehnt (cannot_dm_bot)"),  # permanent, no words
        ("something_new", 200, "Slack hat die Nachricht abgelehnt (something_new)"),  # not known at all
        ("", 400, "Slack hat die Nachricht abgelehnt (400)"),
        ("", 502, "Bei Slack ist ein Serverfehler aufgetreten (502); versuchen Sie es später noch einmal"),
    ],
)
def test_a_refusal_without_words_names_what_slack_said(code: str, status: int, german: str) -> None:
    failed = as_delivery_failed(refusal(code, status))
    assert say(failed.reason, "de") == german
    assert f"({code or status})" in str(failed.reason) and str(failed.reason).startswith("Slack ")
