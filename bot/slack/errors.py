"""Slack's errors in the core's terms: `DeliveryFailed`, permanent or worth retrying, with words.

slack_sdk has already retried 429s, connection errors and 500/503s (bot/slack/clients.py) by
the time an error reaches here, so what is left is either for good (the user is gone, the bot
is not in the channel, the token is revoked) or a rate limit to respect (`retry_after`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

from handlers.ports import DeliveryFailed

TOKEN_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "team_access_not_granted",
    }
)
PERMANENT = TOKEN_ERRORS | frozenset(
    {
        "user_not_found",
        "users_not_found",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "cannot_dm_bot",
        "user_disabled",
        "restricted_action",
        "restricted_action_read_only_channel",
        "missing_scope",
        "no_permission",
        "ekm_access_denied",
        "invalid_blocks",
        "invalid_arguments",
        "msg_too_long",
        "no_text",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "team_not_found",
        "org_login_required",
    }
)
WORDS = {
    "user_not_found": "Slack does not know that user (any more)",
    "users_not_found": "Slack does not know that user (any more)",
    "channel_not_found": "Slack cannot find that channel, or the bot is not in it (invite it with /invite)",
    "not_in_channel": "the bot is not in that channel (invite it with /invite)",
    "is_archived": "that channel is archived",
    "account_inactive": "the Slack account or workspace is deactivated",
    "invalid_auth": "the bot's Slack token is not valid (was the app uninstalled?)",
    "token_revoked": "the bot's Slack token was revoked (was the app uninstalled?)",
    "missing_scope": "the Slack app lacks a permission it needs (reinstall it from manifest.yml)",
    "ratelimited": "Slack is rate limiting the bot",
    "message_not_found": "the Slack message to update is gone",
}


def retry_after(response: Any) -> float | None:
    headers = getattr(response, "headers", None) or {}
    for key in ("Retry-After", "retry-after"):
        value = headers.get(key) if hasattr(headers, "get") else None
        if isinstance(value, list | tuple):
            value = value[0] if value else None
        if value is not None:
            try:
                return float(value)
            except ValueError:
                return None
    return None


def as_delivery_failed(exc: BaseException) -> DeliveryFailed:
    """The core's view of a failed Slack call."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        code = str(response.get("error") or "") if hasattr(response, "get") else ""
        status = getattr(response, "status_code", 200)
        if status == 429 or code == "ratelimited":
            return DeliveryFailed(WORDS["ratelimited"], retry_after=retry_after(response) or 1.0)
        if code in PERMANENT:
            return DeliveryFailed(f"{WORDS.get(code, 'Slack refused the message')} ({code})", permanent=True)
        if status >= 500:
            return DeliveryFailed(f"Slack had a server error ({status}); try again later")
        return DeliveryFailed(f"Slack refused the message ({code or status})")
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return DeliveryFailed("Slack could not be reached; try again later")
    return DeliveryFailed(f"sending to Slack failed ({type(exc).__name__})")


def error_code(exc: BaseException) -> str | None:
    if isinstance(exc, SlackApiError) and hasattr(exc.response, "get"):
        return exc.response.get("error")
    return None


@asynccontextmanager
async def delivery(on_token_error: Callable[[], None] | None = None) -> AsyncIterator[None]:
    """Run Slack calls; any failure leaves as `DeliveryFailed` (and a dead token is forgotten)."""
    try:
        yield
    except DeliveryFailed:
        raise
    except (TimeoutError, SlackApiError, aiohttp.ClientError, OSError) as exc:
        if on_token_error is not None and error_code(exc) in TOKEN_ERRORS:
            on_token_error()
        raise as_delivery_failed(exc) from exc
