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

from handlers.i18n import Msg, _
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
# What each refusal means, a whole message naming Slack's code as given (docs/languages.md).
WORDS: dict[str, Msg] = {
    "user_not_found": _("Slack does not know that user (any more) (%(code)s)", code="user_not_found"),
    "users_not_found": _("Slack does not know that user (any more) (%(code)s)", code="users_not_found"),
    "channel_not_found": _(
        "Slack cannot find that channel, or the bot is not in it (invite it with /invite) (%(code)s)",
        code="channel_not_found",
    ),
    "not_in_channel": _(
        "the bot is not in that channel (invite it with /invite) (%(code)s)", code="not_in_channel"
    ),
    "is_archived": _("that channel is archived (%(code)s)", code="is_archived"),
    "account_inactive": _(
        "the Slack account or workspace is deactivated (%(code)s)", code="account_inactive"
    ),
    "invalid_auth": _(
        "the bot's Slack token is not valid (was the app uninstalled?) (%(code)s)", code="invalid_auth"
    ),
    "token_revoked": _(
        "the bot's Slack token was revoked (was the app uninstalled?) (%(code)s)", code="token_revoked"
    ),
    "missing_scope": _(
        "the Slack app lacks a permission it needs (reinstall it from manifest.yml) (%(code)s)",
        code="missing_scope",
    ),
    "message_not_found": _("the Slack message to update is gone (%(code)s)", code="message_not_found"),
}
RATE_LIMITED = _("Slack is rate limiting the bot")


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
            return DeliveryFailed(RATE_LIMITED, retry_after=retry_after(response) or 1.0)
        if code in PERMANENT:
            return DeliveryFailed(WORDS.get(code) or refused(code), permanent=True)
        if status >= 500:
            return DeliveryFailed(_("Slack had a server error (%(status)s); try again later", status=status))
        return DeliveryFailed(refused(code or str(status)))
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return DeliveryFailed(_("Slack could not be reached; try again later"))
    return DeliveryFailed(_("sending to Slack failed (%(error)s)", error=type(exc).__name__))


def refused(code: str) -> Msg:
    """A refusal WORDS has no words for: Slack's code (or HTTP status) as Slack gave it."""
    return _("Slack refused the message (%(code)s)", code=code)


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
