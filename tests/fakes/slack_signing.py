"""Sign requests exactly as Slack does, and build the bodies Slack posts, for tests and benchmarks.

Slack signs `v0:{timestamp}:{raw body}` with HMAC-SHA256 under the app's signing secret and
sends `X-Slack-Signature: v0=<hex>` and `X-Slack-Request-Timestamp: <unix seconds>`. Tests post
these bodies over real HTTP, so the bot's verification is the real one (Bolt's SignatureVerifier).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode


def signature(secret: str, timestamp: int | str, body: str | bytes) -> str:
    """`v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    raw = body.encode() if isinstance(body, str) else body
    base = b"v0:" + str(timestamp).encode() + b":" + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str, body: str | bytes, *, timestamp: int | None = None, content_type: str | None = None
) -> dict[str, str]:
    """The headers Slack sends with `body`; `timestamp` defaults to now (pass an old one to test staleness)."""
    ts = int(time.time()) if timestamp is None else timestamp
    raw = body.encode() if isinstance(body, str) else body
    if content_type is None:
        content_type = (
            "application/json" if raw.lstrip().startswith(b"{") else "application/x-www-form-urlencoded"
        )
    return {
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature(secret, ts, raw),
        "Content-Type": content_type,
    }


def command_body(
    text: str,
    *,
    user_id: str,
    team_id: str = "T0001",
    channel_id: str = "C0GENERAL",
    response_url: str = "https://hooks.slack.invalid/commands/1",
    trigger_id: str = "trigger-1",
    command: str = "/pmo",
    user_name: str | None = None,
) -> str:
    """A slash command as Slack posts it (form-encoded)."""
    return urlencode(
        {
            "token": "deprecated-verification-token",
            "team_id": team_id,
            "team_domain": team_id.lower(),
            "channel_id": channel_id,
            "channel_name": "general",
            "user_id": user_id,
            "user_name": user_name or user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0PMO",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )


def interaction_body(payload: dict[str, Any]) -> str:
    """An interaction (block_actions, view_submission) as Slack posts it: form field `payload`."""
    return urlencode({"payload": json.dumps(payload)})


def block_action(
    action_id: str,
    value: Any,
    *,
    user_id: str,
    team_id: str = "T0001",
    channel_id: str | None = None,
    message_ts: str | None = None,
    response_url: str = "https://hooks.slack.invalid/actions/1",
    trigger_id: str = "trigger-1",
    container_type: str = "message",
    view_id: str | None = None,
) -> dict[str, Any]:
    """A `block_actions` payload for one button click; `value` is JSON-encoded unless a string."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": team_id, "domain": team_id.lower()},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": team_id},
        "api_app_id": "A0PMO",
        "token": "deprecated-verification-token",
        "trigger_id": trigger_id,
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b",
                "value": value if isinstance(value, str) else json.dumps(value),
                "action_ts": f"{time.time():.6f}",
            }
        ],
        "is_enterprise_install": False,
    }
    if container_type == "message":
        payload["container"] = {"type": "message", "channel_id": channel_id, "message_ts": message_ts}
        payload["channel"] = {"id": channel_id}
        payload["message"] = {"ts": message_ts, "type": "message"}
    else:
        payload["container"] = {"type": "view", "view_id": view_id or "VHOME"}
        payload["view"] = {"id": view_id or "VHOME", "type": "home", "callback_id": ""}
    return payload


def view_submission(
    callback_id: str,
    private_metadata: str,
    values: dict[str, dict[str, dict[str, Any]]],
    *,
    user_id: str,
    team_id: str = "T0001",
) -> dict[str, Any]:
    """A `view_submission` payload: `values` is Slack's state.values (block_id → action_id → element)."""
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": team_id.lower()},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": team_id},
        "api_app_id": "A0PMO",
        "token": "deprecated-verification-token",
        "trigger_id": "trigger-submit",
        "view": {
            "id": "VMODAL",
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {"values": values},
            "hash": "h",
        },
        "response_urls": [],
        "is_enterprise_install": False,
    }


def event_body(
    event: dict[str, Any], *, team_id: str = "T0001", event_id: str = "Ev0001", api_app_id: str = "A0PMO"
) -> str:
    """An Events API callback (JSON), e.g. `{"type": "app_home_opened", "user": "U1", ...}`."""
    return json.dumps(
        {
            "token": "deprecated-verification-token",
            "team_id": team_id,
            "api_app_id": api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [{"team_id": team_id, "user_id": "UBOT0001", "is_bot": True}],
        }
    )
