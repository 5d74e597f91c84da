"""The work queue behind acknowledgements, and the slow lane that keeps charts off the event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from bot.slack.lane import SlowLane, is_slow
from bot.slack.work import Acknowledgements, WorkQueue
from handlers import charts
from handlers.commands import run_command
from handlers.ports import Caller
from tests.fakes.slack_signing import command_body, signed_headers
from tests.slack.harness import ADMIN, SlackBot, prepare, rows


async def test_jobs_run_a_few_at_a_time_and_all_finish() -> None:
    queue = WorkQueue(workers=3)
    running, peak, done = 0, 0, []

    def job(n: int):
        async def run() -> None:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            running -= 1
            done.append(n)

        return run

    for n in range(50):
        queue.submit(job(n))
    await queue.join(5)
    assert sorted(done) == list(range(50)) and peak == 3
    await queue.stop()


async def test_a_failing_job_is_logged_and_the_queue_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    queue = WorkQueue(workers=1)
    done = []

    async def boom() -> None:
        raise RuntimeError("boom")

    async def fine() -> None:
        done.append(1)

    queue.submit(boom)
    queue.submit(fine)
    await queue.join(5)
    assert done == [1] and "failed" in caplog.text
    await queue.stop()


async def test_a_full_queue_runs_the_job_at_once() -> None:
    queue = WorkQueue(workers=1, limit=1)
    gate = asyncio.Event()
    order = []

    def job(name: str, wait: bool = False):
        async def run() -> None:
            if wait:
                await gate.wait()
            order.append(name)

        return run

    queue.submit(job("first", wait=True))  # taken by the worker, which waits
    await asyncio.sleep(0)
    queue.submit(job("queued"))  # fills the queue
    queue.submit(job("overflow"))  # runs at once, ahead of the queue
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert order == ["overflow"]
    gate.set()
    await queue.join(5)
    assert order == ["overflow", "first", "queued"]
    await queue.stop()


def stamping(into: list[float]) -> Callable[[], Awaitable[None]]:
    """A job that notes when it ran."""

    async def job() -> None:
        into.append(time.perf_counter())

    return job


async def test_work_waits_while_a_request_is_being_acknowledged() -> None:
    acks = Acknowledgements()
    queue = WorkQueue(workers=1, acks=acks, defer_limit=5.0)
    ran: list[float] = []
    with acks.handling():
        queue.submit(stamping(ran))
        with acks.handling():  # a second request arrives while the first is acknowledged
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.05)
        assert ran == []  # one request is still being acknowledged
        acknowledged = time.perf_counter()
    await queue.join(1)
    assert len(ran) == 1 and ran[0] >= acknowledged and acks.open == 0
    await queue.stop()


async def test_work_waits_no_longer_than_the_defer_limit() -> None:
    acks = Acknowledgements()
    queue = WorkQueue(workers=1, acks=acks, defer_limit=0.2)
    ran: list[float] = []
    with acks.handling():  # a request that never seems to end
        started = time.perf_counter()
        queue.submit(stamping(ran))
        await queue.join(2)
    assert 0.15 <= ran[0] - started < 1.0
    await queue.stop()


async def test_work_with_nothing_to_acknowledge_starts_at_once() -> None:
    queue = WorkQueue(workers=1, acks=Acknowledgements(), defer_limit=5.0)
    ran: list[float] = []
    started = time.perf_counter()
    queue.submit(stamping(ran))
    await queue.join(1)
    assert len(ran) == 1 and ran[0] - started < 0.5
    await queue.stop()


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
