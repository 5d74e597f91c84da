"""The shape of a signed Slack request body, checked before Bolt sees it.

Bolt parses the body itself and then reaches into it (`body["actions"][0]`, `"type" in
body["event"]`, `payload["authorizations"][0]`…); a body that is signed but not shaped the way
Slack sends it would fail there with an exception, i.e. a 500 and a traceback. `problem(...)`
parses the body exactly as Bolt will (slack_bolt.request.internals.parse_body) and says, in a few
words, what is wrong with it, or None when Bolt can take it. It checks what Bolt and our
listeners rely on, not everything Slack may send: extra fields are always fine.

The answer never quotes the body: it goes into a log line and a 400.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

# Payload types whose listeners read `body["user"]["id"]`, `body["container"]["type"]`…
INTERACTIVE = frozenset(
    {
        "block_actions",
        "block_suggestion",
        "view_submission",
        "view_closed",
        "shortcut",
        "message_action",
        "interactive_message",
        "dialog_submission",
        "dialog_cancellation",
        "dialog_suggestion",
    }
)
# Fields an interaction carries as an object (or null), never as a string.
_INTERACTIVE_OBJECTS = ("user", "team", "channel", "container", "message")
# Fields Bolt reads either as a plain id or as an object with an "id" (request/internals.py).
_ID_OR_OBJECT = ("enterprise", "team", "user", "channel")


def parse(text: str, content_type: str | None) -> Any:
    """The body as Bolt parses it; raises ValueError (or RecursionError) where Bolt would raise."""
    if not text:
        return {}
    if content_type == "application/json" or text.startswith("{"):
        return json.loads(text)
    if "payload" in text:  # Bolt's own test: the word anywhere in the form
        payload = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
        return {} if payload is None else json.loads(payload)
    return dict(parse_qsl(text, keep_blank_values=True))


def content_type_of(header: str | None) -> str | None:
    """The media type as Bolt compares it: the Content-Type header up to its first ';'."""
    return header.split(";")[0] if header else None


def checked(text: str, content_type: str | None) -> dict[str, Any] | str:
    """The (already verified) body parsed as Bolt would, or what makes it unusable in a few words."""
    if not text:
        return "the body is empty"
    try:
        body = parse(text, content_type)
    except (ValueError, RecursionError):
        return "the body (or its payload) is not valid JSON"
    if not isinstance(body, dict):
        return "the body (or its payload) is not a JSON object"
    return _problem_of(body) or body


def _problem_of(body: dict[str, Any]) -> str | None:
    kind = body.get("type")
    if kind is not None and not isinstance(kind, str):
        return "type is not a string"
    for name in _ID_OR_OBJECT:
        if not _is(body.get(name), str, dict, type(None)):
            return f"{name} is neither an id nor an object"
    authorizations = body.get("authorizations")
    if authorizations is not None and not (
        isinstance(authorizations, list) and all(isinstance(a, dict) for a in authorizations)
    ):
        return "authorizations is not a list of objects"
    response_urls = body.get("response_urls")
    if response_urls is not None and not (
        isinstance(response_urls, list) and all(isinstance(u, dict) for u in response_urls)
    ):
        return "response_urls is not a list of objects"
    if kind in INTERACTIVE:
        for name in _INTERACTIVE_OBJECTS:
            if not _is(body.get(name), dict, type(None)):
                return f"{name} is not an object"
    if kind == "block_actions" and (found := _actions_problem(body.get("actions"))):
        return found
    submitted = kind in ("view_submission", "view_closed")
    if ("view" in body or submitted) and (found := _view_problem(body.get("view"), required=submitted)):
        return found
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict):
            return "event is not an object"
        if not isinstance(event.get("type"), str):
            return "event.type is not a string"
    return None


def _actions_problem(actions: Any) -> str | None:
    if not isinstance(actions, list) or not actions:
        return "actions is not a non-empty list"
    for action in actions:
        if not isinstance(action, dict) or not isinstance(action.get("action_id"), str):
            return "an action is not an object with a string action_id"
    return None


def _view_problem(view: Any, *, required: bool) -> str | None:
    if view is None and not required:
        return None
    if not isinstance(view, dict):
        return "view is not an object"
    if required and not (isinstance(view.get("type"), str) and isinstance(view.get("callback_id"), str)):
        return "view has no string type and callback_id"
    return None


def _is(value: Any, *types: type) -> bool:
    return isinstance(value, types)
