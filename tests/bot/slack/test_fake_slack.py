"""The fake Slack Web API itself: what other tests (and the scheduler's) rely on it to do."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.clients import retry_handlers
from tests.fakes.slack_api import FakeSlack, dm_channel
from tests.fakes.slack_signing import signature, signed_headers


def client(slack: FakeSlack, token: str = "xoxb-test", retries: bool = True) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=slack.url, retry_handlers=retry_handlers() if retries else [])


async def test_posting_to_a_user_lands_in_the_dm_and_is_recorded(slack: FakeSlack) -> None:
    response = await client(slack).chat_postMessage(
        channel="USPONSOR1", text="hi", blocks=[{"type": "divider"}]
    )
    assert response["channel"] == dm_channel("USPONSOR1") and response["ts"]
    call = await slack.wait_for("chat.postMessage")
    assert call.token == "xoxb-test" and call.team_id == "T0001"
    assert call.args["channel"] == "USPONSOR1" and call.headers["Authorization"] == "Bearer xoxb-test"
    [message] = slack.dm("USPONSOR1")
    assert message.blocks == [{"type": "divider"}]
    await client(slack).chat_update(channel=message.channel, ts=message.ts, text="bye")
    assert (message.text, message.updates) == ("bye", 1)


async def test_429_is_answered_with_retry_after_and_the_sdk_retries(slack: FakeSlack) -> None:
    slack.on("chat.postMessage", status=429, retry_after=0, times=1)
    await client(slack).chat_postMessage(channel="C0ALERTS01", text="x")
    statuses = [c.status for c in slack.called("chat.postMessage")]
    assert statuses == [429, 200]


async def test_429_without_retries_shows_the_header(slack: FakeSlack) -> None:
    slack.on("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as raised:
        await client(slack, retries=False).chat_postMessage(channel="C1", text="x")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"


async def test_server_errors_errors_and_tokens(slack: FakeSlack) -> None:
    slack.on("users.info", status=503, times=1)
    slack.on("users.info", error="user_not_found", token="xoxb-other")
    slack.add_workspace("T0002", "xoxb-other")
    found = await client(slack).users_info(user="USPONSOR1")  # 503 once, retried
    assert found["user"]["profile"]["email"] == "sam@t0001.example"
    with pytest.raises(SlackApiError) as raised:
        await client(slack, "xoxb-other").users_info(user="USPONSOR1")
    assert raised.value.response["error"] == "user_not_found"
    with pytest.raises(SlackApiError) as raised:
        await client(slack, "xoxb-unknown").auth_test()
    assert raised.value.response["error"] == "invalid_auth"
    slack.revoke("xoxb-other")
    with pytest.raises(SlackApiError) as raised:
        await client(slack, "xoxb-other").auth_test()
    assert raised.value.response["error"] == "token_revoked"


async def test_slow_answers_are_slow_and_counted_once_answered(slack: FakeSlack) -> None:
    slack.on("auth.test", delay=0.3, times=1)
    started = time.monotonic()
    pending = asyncio.create_task(client(slack).auth_test())
    await asyncio.sleep(0.1)
    assert [c.method for c in slack.calls] == ["auth.test"] and slack.count("auth.test") == 0
    await pending
    assert time.monotonic() - started >= 0.3 and slack.count("auth.test") == 1


async def test_the_rate_limit_is_per_workspace(slack: FakeSlack) -> None:
    slack.add_workspace("T0002", "xoxb-other")
    slack.limit_rate("chat.postMessage", per_second=3)
    plain = client(slack, retries=False)
    results = []
    for _ in range(5):
        try:
            await plain.chat_postMessage(channel="C1", text="x")
            results.append(200)
        except SlackApiError as exc:
            results.append(exc.response.status_code)
    assert results[:3] == [200, 200, 200] and results[3:] == [429, 429]
    await client(slack, "xoxb-other", retries=False).chat_postMessage(channel="C1", text="other workspace")


async def test_each_workspace_can_have_its_own_limit_with_retry_after(slack: FakeSlack) -> None:
    slack.add_workspace("T0002", "xoxb-two")
    slack.add_workspace("T0003", "xoxb-three")
    slack.limit_rate("chat.postMessage", per_second=4)
    slack.limit_rate("chat.postMessage", per_second=2, team="T0002")

    async def burst(token: str, count: int) -> list[tuple[int, str | None]]:
        answers = []
        for _ in range(count):
            try:
                await client(slack, token, retries=False).chat_postMessage(channel="C1", text="x")
                answers.append((200, None))
            except SlackApiError as exc:
                answers.append((exc.response.status_code, exc.response.headers.get("Retry-After")))
        return answers

    two, three = await burst("xoxb-two", 4), await burst("xoxb-three", 6)
    assert [status for status, _ in two] == [200, 200, 429, 429]
    assert [status for status, _ in three] == [200] * 4 + [429] * 2
    assert all(after == "1" for status, after in two + three if status == 429)  # whole seconds, rounded up
    stats = slack.rate_stats("chat.postMessage")
    assert (stats["T0002"].accepted, stats["T0002"].limited, stats["T0002"].busiest) == (2, 2, 2)
    assert (stats["T0003"].accepted, stats["T0003"].limited, stats["T0003"].busiest) == (4, 2, 4)
    await asyncio.sleep(1.0)  # what Retry-After said: the workspace's second has passed
    assert await burst("xoxb-two", 1) == [(200, None)]
    assert slack.rate_stats("chat.postMessage")["T0002"].busiest == 2


async def test_the_upload_flow_keeps_the_file(slack: FakeSlack) -> None:
    response = await client(slack).files_upload_v2(
        channel="DSPONSOR1", content=b"a,b\n1,2\n", filename="x.csv", initial_comment="here"
    )
    [uploaded] = slack.files.values()
    assert response["file"]["id"] == uploaded.id
    assert (uploaded.content, uploaded.channels, uploaded.completed) == (b"a,b\n1,2\n", ["DSPONSOR1"], True)


async def test_views_need_a_trigger_and_home_is_kept(slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError):
        await client(slack).views_open(trigger_id="", view={"type": "modal", "title": "x", "blocks": []})
    await client(slack).views_publish(user_id="USPONSOR1", view={"type": "home", "blocks": []})
    assert slack.home["USPONSOR1"] == {"type": "home", "blocks": []}


async def test_response_urls_record_what_is_posted(slack: FakeSlack) -> None:
    url = slack.response_url("k1")
    async with aiohttp.ClientSession() as http, http.post(url, json={"text": "hello"}) as response:
        assert response.status == 200
    assert (await slack.wait_for_response("k1"))["text"] == "hello"
    with pytest.raises(TimeoutError):
        await slack.wait_for_response("k1", count=2, timeout=0.05)


async def test_oauth_codes_are_exchanged_once(slack: FakeSlack) -> None:
    slack.add_oauth_code(
        "code-1", team_id="T0009", bot_token="xoxb-nine", client_id="cid", client_secret="sec"
    )
    plain = client(slack, token=None)
    with pytest.raises(SlackApiError):
        await plain.oauth_v2_access(client_id="cid", client_secret="wrong", code="code-1")
    slack.add_oauth_code(
        "code-1", team_id="T0009", bot_token="xoxb-nine", client_id="cid", client_secret="sec"
    )
    granted = await plain.oauth_v2_access(client_id="cid", client_secret="sec", code="code-1")
    assert (granted["team"]["id"], granted["access_token"]) == ("T0009", "xoxb-nine")
    with pytest.raises(SlackApiError):
        await plain.oauth_v2_access(client_id="cid", client_secret="sec", code="code-1")


async def test_socket_mode_hello_envelopes_and_acks(slack: FakeSlack) -> None:
    opened = await AsyncWebClient(base_url=slack.url).apps_connections_open(app_token="xapp-test")
    async with aiohttp.ClientSession() as http, http.ws_connect(opened["url"]) as ws:
        hello = json.loads((await ws.receive()).data)
        assert hello["type"] == "hello"
        await slack.socket_connected()
        envelope_id = await slack.socket_send("events_api", {"event": {"type": "app_home_opened"}})
        envelope = json.loads((await ws.receive()).data)
        assert envelope["envelope_id"] == envelope_id
        await ws.send_str(json.dumps({"envelope_id": envelope_id}))
        assert await slack.wait_for_ack(envelope_id) == {"envelope_id": envelope_id}


async def test_wait_for_times_out_with_what_it_saw(slack: FakeSlack) -> None:
    await client(slack).auth_test()
    with pytest.raises(TimeoutError, match=r"auth\.test"):
        await slack.wait_for("chat.postMessage", timeout=0.05)


async def test_concurrent_calls_are_all_recorded(slack: FakeSlack) -> None:
    c = client(slack)
    await asyncio.gather(*(c.chat_postMessage(channel=f"U{i:04d}X", text="x") for i in range(50)))
    assert len(slack.called("chat.postMessage")) == 50 == slack.count("chat.postMessage")
    assert len({m.ts for m in slack.messages.values()}) == 50


def test_signatures_are_slacks() -> None:
    # The example of Slack's "Verifying requests from Slack" page.
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&"
        "channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
        "response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
        "trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert signature(secret, 1531420618, body) == expected
    headers = signed_headers(secret, body, timestamp=1531420618)
    assert headers["X-Slack-Signature"] == expected
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
