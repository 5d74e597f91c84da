"""Platform hygiene: retried events are processed once; uninstalling stops everything for the workspace."""

from __future__ import annotations

import pytest

from handlers.ports import DeliveryFailed
from handlers.views import View
from storage.models import Organisation, PainPoint, Person, ProcessedEvent
from tests.bot.slack.harness import SPONSOR, SlackBot, eventually, prepare, rows, running_bot, send_checkin
from tests.fakes.slack_api import FakeSlack


async def test_a_retried_event_is_processed_once(bot: SlackBot) -> None:
    await prepare(bot)
    prompt = await send_checkin(bot, kind="ask")
    event = {
        "type": "message",
        "channel_type": "im",
        "channel": prompt.channel,
        "user": SPONSOR,
        "text": "Budget",
    }
    assert await bot.event(event, event_id="EvRETRY01") == 200
    assert await bot.event(event, event_id="EvRETRY01", retry=1) == 200
    assert await bot.event(event, event_id="EvRETRY01", retry=2) == 200
    await bot.slack.wait_for("chat.postMessage", count=2)  # the check-in prompt, then the one reply
    marker = {"type": "message", "channel_type": "im", "channel": "DX", "user": "UMEMBER01", "text": "help"}
    await bot.event(marker, event_id="EvMARKER1")
    await bot.slack.wait_for("chat.postMessage", count=3)
    assert len(await rows(bot, PainPoint)) == 1
    assert len([c for c in bot.slack.called("chat.postMessage") if c.args["channel"] == prompt.channel]) == 1
    assert {e.event_id for e in await rows(bot, ProcessedEvent)} == {"EvRETRY01", "EvMARKER1"}


async def test_the_same_event_id_twice_without_retry_headers_is_processed_once(bot: SlackBot) -> None:
    home = {"type": "app_home_opened", "user": "UMEMBER01", "tab": "home"}
    assert await bot.event(home, event_id="EvTWICE01") == 200
    assert await bot.event(home, event_id="EvTWICE01") == 200
    await bot.slack.wait_for("views.publish")
    assert await bot.event(home, event_id="EvTWICE02") == 200
    await bot.slack.wait_for("views.publish", count=2)
    assert len(bot.slack.called("views.publish")) == 2


async def suspended(bot: SlackBot) -> bool:
    [org] = await rows(bot, Organisation)
    return org.suspended_at is not None


@pytest.mark.parametrize(
    "event",
    [{"type": "app_uninstalled"}, {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["UBOT0001"]}}],
)
async def test_uninstalling_suspends_the_workspace_and_stops_sending(bot: SlackBot, event: dict) -> None:
    await prepare(bot)
    assert await bot.event(event) == 200
    await eventually(lambda: suspended(bot))
    [sam] = await rows(bot, Person, Person.name == "Sam Sponsor")
    calls = len(bot.slack.calls)
    with pytest.raises(DeliveryFailed) as failed:
        await bot.runtime.services.messenger.send_direct(bot.runtime.org_id, sam.id, View(text="hello"))
    assert failed.value.permanent and "not installed" in failed.value.reason
    assert len(bot.slack.calls) == calls  # not even tried


async def test_user_token_revocations_change_nothing(bot: SlackBot) -> None:
    await bot.event(
        {"type": "tokens_revoked", "tokens": {"oauth": ["UADMIN01"], "bot": []}}, event_id="EvUSERTOK"
    )
    await bot.command("help", "UMEMBER01")
    assert not await suspended(bot)


async def test_a_working_token_after_a_reinstall_lifts_the_suspension(
    database_url: str, slack: FakeSlack
) -> None:
    async with running_bot(database_url, slack) as bot:
        await bot.event({"type": "app_uninstalled"})
        await eventually(lambda: suspended(bot))
    async with running_bot(database_url, slack) as bot:  # restarted with a token that works
        assert not await suspended(bot)
        await prepare(bot)
        await send_checkin(bot)
