"""Telling a bare id's platform from its shape, for the two ids that come without one."""

from __future__ import annotations

import pytest

from handlers.alerts import channel_platform
from handlers.platform_ids import platform_of


@pytest.mark.parametrize(
    ("user_id", "platform"),
    [
        ("U024BE7LH", "slack"),
        ("W0ABC", "slack"),
        ("3F2504E0-4F89-11D3-9A0C-0305E82C3301", "teams"),
        ("u123", "local"),
        ("C0ALERTS1", "local"),  # a Slack channel is not a user
        ("U024BE7LH ", "local"),
    ],
)
def test_user_ids(user_id: str, platform: str) -> None:
    assert platform_of(user_id) == platform_of(user_id, "user") == platform


@pytest.mark.parametrize(
    ("channel", "platform"),
    [
        ("C0ALERTS1", "slack"),
        ("G0123456", "slack"),
        ("D0123456", "slack"),
        ("C01234", "local"),  # too short for a Slack channel
        ("19:abc@thread.tacv2", "teams"),
        ("#pmo-alerts", "local"),
        ("pmo-default", "local"),
        ("U024BE7LH", "local"),  # a Slack user is not a channel
    ],
)
def test_channel_ids(channel: str, platform: str) -> None:
    assert platform_of(channel, "channel") == channel_platform(channel) == platform
