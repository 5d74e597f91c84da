"""Fixtures for the Slack tests: the fake Slack Web API, and the bot running against it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.bot.slack.harness import SlackBot, add_people, running_bot
from tests.fakes.slack_api import FakeSlack


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        add_people(fake)
        yield fake


@pytest.fixture
async def bot(database_url: str, slack: FakeSlack) -> AsyncIterator[SlackBot]:
    async with running_bot(database_url, slack) as running:
        yield running
