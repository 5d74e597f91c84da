"""The Slack channel the core sends through: references, retries, and Slack's errors in the core's terms."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from handlers.ports import DeliveryFailed
from handlers.views import Attachment, Choice, View
from storage.models import Identity, Person
from tests.bot.slack.harness import MEMBER, SPONSOR, SlackBot, rows, running_bot
from tests.fakes.slack_api import FakeSlack

CHART = b"\x89PNG\r\n\x1a\nfake-png"


async def person(bot: SlackBot, user: str) -> Person:
    await bot.command("help", user)  # first contact creates the person
    [identity] = await rows(bot, Identity, Identity.external_id == user)
    [found] = await rows(bot, Person, Person.id == identity.person_id)
    return found


async def send(bot: SlackBot, user: str, view: View) -> dict:
    found = await person(bot, user)
    return await bot.runtime.services.messenger.send_direct(bot.runtime.org_id, found.id, view)


async def test_send_direct_posts_to_the_user_and_returns_a_slack_reference(bot: SlackBot) -> None:
    ref = await send(
        bot, SPONSOR, View(title="Hello", text="One click", choices=(Choice("x", "X", {"a": 1}),))
    )
    [message] = bot.dm(SPONSOR)
    assert ref == {"platform": "slack", "channel": message.channel, "ts": message.ts}
    [post] = bot.slack.called("chat.postMessage")
    assert post.args["channel"] == SPONSOR and post.args["text"].startswith("Hello")
    await bot.runtime.services.messenger.update(bot.runtime.org_id, ref, View(text="Changed"))
    assert message.text == "Changed" and message.updates == 1


@pytest.mark.parametrize(
    "code", ["user_not_found", "channel_not_found", "account_inactive", "not_in_channel", "is_archived"]
)
async def test_errors_that_will_not_go_away_are_permanent(bot: SlackBot, code: str) -> None:
    sponsor = await person(bot, SPONSOR)
    bot.slack.on("chat.postMessage", error=code)
    with pytest.raises(DeliveryFailed) as failed:
        await bot.runtime.services.messenger.send_direct(bot.runtime.org_id, sponsor.id, View(text="x"))
    assert failed.value.permanent and code in failed.value.reason


async def test_a_rate_limit_is_waited_out_then_reported_with_retry_after(bot: SlackBot) -> None:
    sponsor = await person(bot, SPONSOR)
    bot.slack.on("chat.postMessage", status=429, retry_after=0, times=1)
    await bot.runtime.services.messenger.send_direct(bot.runtime.org_id, sponsor.id, View(text="x"))
    assert [c.status for c in bot.slack.called("chat.postMessage")] == [429, 200]
    bot.slack.on("chat.postMessage", status=429, retry_after=0)
    with pytest.raises(DeliveryFailed) as failed:
        await bot.runtime.services.messenger.send_direct(bot.runtime.org_id, sponsor.id, View(text="x"))
    assert not failed.value.permanent and failed.value.retry_after is not None
    assert [c.status for c in bot.slack.called("chat.postMessage")][2:] == [
        429,
        429,
        429,
    ]  # 1 try + 2 retries


async def test_server_errors_are_retried_unless_the_message_may_have_been_posted(bot: SlackBot) -> None:
    sponsor = await person(bot, SPONSOR)
    ref = await bot.runtime.services.messenger.send_direct(bot.runtime.org_id, sponsor.id, View(text="x"))
    bot.slack.on("chat.update", status=503, times=1)  # an update repeated is the same update
    await bot.runtime.services.messenger.update(bot.runtime.org_id, ref, View(text="y"))
    assert [c.status for c in bot.slack.called("chat.update")] == [503, 200]
    bot.slack.on("chat.postMessage", status=500, times=1)  # a post repeated could be a second post
    with pytest.raises(DeliveryFailed) as failed:
        await bot.runtime.services.messenger.send_direct(bot.runtime.org_id, sponsor.id, View(text="x"))
    assert not failed.value.permanent and "server error" in failed.value.reason
    assert [c.status for c in bot.slack.called("chat.postMessage")] == [200, 500]


async def test_a_revoked_token_is_permanent(bot: SlackBot) -> None:
    sponsor = await person(bot, SPONSOR)
    bot.slack.revoke("xoxb-test")
    with pytest.raises(DeliveryFailed) as failed:
        await bot.runtime.services.messenger.send_direct(bot.runtime.org_id, sponsor.id, View(text="x"))
    assert failed.value.permanent and "token_revoked" in failed.value.reason


async def test_an_unreachable_slack_is_temporary(database_url: str) -> None:
    async with FakeSlack() as slack:
        slack.add_user(SPONSOR, name="Sam Sponsor", email="sam@t0001.example")
        async with running_bot(database_url, slack) as bot:
            sponsor = await person(bot, SPONSOR)
            await slack.stop()  # Slack goes away
            with pytest.raises(DeliveryFailed) as failed:
                await bot.runtime.services.messenger.send_direct(
                    bot.runtime.org_id, sponsor.id, View(text="x")
                )
            assert not failed.value.permanent and "could not be reached" in failed.value.reason


async def test_a_chart_slack_cannot_show_yet_is_tried_again_then_dropped(bot: SlackBot) -> None:
    view = View(title="Trend", chart=CHART, chart_alt="CSAT by month: Jan 80%")
    bot.slack.on("chat.postMessage", error="invalid_blocks", times=1)
    await send(bot, SPONSOR, view)
    posts = bot.slack.called("chat.postMessage")
    assert [p.status for p in posts] == [200, 200] and [p.response["ok"] for p in posts] == [False, True]
    assert any(b["type"] == "image" for b in bot.dm(SPONSOR)[-1].blocks)
    bot.slack.on("chat.postMessage", error="invalid_blocks", times=2)
    await bot.runtime.services.messenger.send_direct(
        bot.runtime.org_id, (await person(bot, SPONSOR)).id, view
    )
    last = bot.dm(SPONSOR)[-1]
    assert not any(b["type"] == "image" for b in last.blocks) and "CSAT by month" in bot.text_of(last.blocks)


async def test_an_attachment_follows_the_message_into_the_dm(bot: SlackBot) -> None:
    ref = await send(bot, SPONSOR, View(text="Your file", attachment=Attachment("x.csv", b"a,b\n")))
    [uploaded] = bot.slack.files.values()
    assert uploaded.channels == [ref["channel"]] and uploaded.content == b"a,b\n"


async def test_users_info_is_asked_once_a_day(database_url: str, slack: FakeSlack) -> None:
    async with running_bot(database_url, slack) as bot:
        await bot.command("help", MEMBER)
        await bot.command("help", MEMBER)
        assert len(bot.slack.called("users.info", lambda c: c.args.get("user") == MEMBER)) == 1
        async with bot.runtime.db.transaction() as session:
            await session.execute(
                update(Identity)
                .where(Identity.external_id == MEMBER)
                .values(refreshed_at=dt.datetime(2020, 1, 1))
            )
    slack.add_user(MEMBER, name="Mia Member", email="mia@t0001.example", tz="Asia/Tokyo")
    async with running_bot(database_url, slack) as bot:  # a new process: nothing cached in memory
        await bot.command("help", MEMBER)
        assert len(bot.slack.called("users.info", lambda c: c.args.get("user") == MEMBER)) == 2
        [identity] = await rows(bot, Identity, Identity.external_id == MEMBER)
        [mia] = await rows(bot, Person, Person.id == identity.person_id)
        assert mia.tz == "Asia/Tokyo" and identity.refreshed_at > dt.datetime(2020, 1, 2)


async def test_someone_slack_cannot_describe_is_still_served(bot: SlackBot) -> None:
    bot.slack.on("users.info", error="user_not_found")
    reply = await bot.command("help", "UGHOST001")
    assert "What you can ask" in reply["text"]
    [identity] = await rows(bot, Identity, Identity.external_id == "UGHOST001")
    assert identity.refreshed_at is None  # asked again next time
