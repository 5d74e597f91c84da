"""Acknowledgements counted for the work behind them, and the slow lane that keeps charts off the event loop.

The durable work itself is tested in tests/handlers/test_inbox.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from bot.lane import SlowLane, is_slow
from handlers import charts
from handlers.commands.run import run_command
from handlers.ports import Caller
from tests.bot.slack.harness import ADMIN, SlackBot, prepare, rows
from tests.fakes.slack_signing import command_body, signed_headers


async def test_the_bolt_app_counts_each_request_until_it_is_acknowledged(bot: SlackBot) -> None:
    acks = bot.platform.bolt.acks
    seen: list[int] = []

    async def count(next: Callable[[], Awaitable[None]]) -> None:  # Bolt passes `next` by name
        seen.append(acks.open)
        await next()

    bot.platform.bolt.middleware(count)
    body = command_body("help", user_id=ADMIN, response_url=bot.slack.response_url("counted"))
    assert (await bot.post(body)).status == 200
    assert seen == [1] and acks.open == 0
    wrong = await bot.post(body, headers=signed_headers("not-the-secret", body))
    assert wrong.status == 401 and acks.open == 0 and seen == [1]
    await bot.slack.wait_for_response("counted", timeout=10)


def test_only_reports_go_to_the_lane() -> None:
    assert is_slow("value") and is_slow("value Apollo days:30") and is_slow("export projects")
    assert not is_slow("help") and not is_slow("checkin Apollo") and not is_slow("valu")


async def max_lag_while(work, seconds_hint: float = 0.005) -> float:
    """The longest the event loop was unavailable while `work` ran."""
    lag = 0.0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal lag
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(seconds_hint)
            lag = max(lag, time.perf_counter() - before - seconds_hint)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    try:
        await work()
    finally:
        stop.set()
        await task
    return lag


async def test_a_report_in_the_lane_leaves_the_event_loop_free(
    bot: SlackBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(charts, "draw_trend", charts.draw_trend.__wrapped__)  # draw every time
    await prepare(bot)
    await bot.command("help", ADMIN)
    from storage.models import Identity

    [admin] = await rows(bot, Identity, Identity.external_id == ADMIN)
    caller = Caller(bot.runtime.org_id, admin.person_id, "slack")
    services = bot.runtime.services
    lane = SlowLane(services)
    try:
        direct = await run_command(services, caller, "value")  # warm: matplotlib imported, fonts cached
        in_lane = await lane.run_command(caller, "value")
        assert in_lane.title == direct.title and in_lane.facts == direct.facts and in_lane.chart

        async def three_here() -> None:
            for _ in range(3):
                await run_command(services, caller, "value")

        async def three_in_lane() -> None:
            await asyncio.gather(*(lane.run_command(caller, "value") for _ in range(3)))

        here, there = await max_lag_while(three_here), await max_lag_while(three_in_lane)
        assert here > 0.05  # drawing a chart holds the loop this long
        assert there < here / 2, (here, there)
    finally:
        await lane.stop()


async def test_the_lane_cannot_send(bot: SlackBot) -> None:
    await prepare(bot)
    from storage.models import Identity

    [staff] = await rows(bot, Identity, Identity.external_id == "USTAFF01")
    lane = SlowLane(bot.runtime.services)
    try:
        view = await lane.run_command(Caller(bot.runtime.org_id, staff.person_id, "slack"), "checkin Apollo")
        assert "reports cannot send messages" in view.as_text()
    finally:
        await lane.stop()
