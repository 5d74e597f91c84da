"""manifest.yml asks for what the code uses, no more: the command, the scopes, the events."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.slack.app import BOT_SCOPES, EVENTS_PATH, REDIRECT_PATH

ROOT = Path(__file__).resolve().parents[3]


def manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))


def test_the_slash_command_is_escaped_and_posts_to_the_events_route() -> None:
    [command] = manifest()["features"]["slash_commands"]
    assert command["command"] == "/pmo" and command["should_escape"] is True
    assert command["url"].endswith(EVENTS_PATH)


def test_the_scopes_are_the_ones_the_install_asks_for() -> None:
    assert manifest()["oauth_config"]["scopes"]["bot"] == list(BOT_SCOPES)
    assert manifest()["oauth_config"]["redirect_urls"][0].endswith(REDIRECT_PATH)


def test_events_interactivity_and_home() -> None:
    m = manifest()
    settings = m["settings"]
    assert sorted(settings["event_subscriptions"]["bot_events"]) == [
        "app_home_opened",
        "app_uninstalled",
        "message.im",
        "tokens_revoked",
    ]
    assert settings["event_subscriptions"]["request_url"].endswith(EVENTS_PATH)
    assert settings["interactivity"]["is_enabled"] and settings["interactivity"]["request_url"].endswith(
        EVENTS_PATH
    )
    assert m["features"]["app_home"]["home_tab_enabled"] and m["features"]["app_home"]["messages_tab_enabled"]


def test_the_docs_explain_every_scope() -> None:
    docs = (ROOT / "docs" / "slack.md").read_text(encoding="utf-8")
    for scope in BOT_SCOPES:
        assert f"`{scope}`" in docs, scope
