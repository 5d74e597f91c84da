"""Crashes of real clock processes in the middle of a fan-out to the fake Slack Web API.

Each clock is `python app.py clock` in its own process, killed with SIGKILL (no cleanup), then
restarted or replaced. The fake holds back its answer to one accepted chat.postMessage so that the
kill lands in the worst moment: Slack has the message, the ledger does not know yet.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.db import Database
from tests.clockkit import ClockProcess, clock_env, ledger, seed
from tests.fakes.slack_history import FakeSlackWithHistory

SPONSORS = 30
RATE = 20.0
ARGS = ("--tick", "0.5", "--lease", "3")


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlackWithHistory]:
    async with FakeSlackWithHistory() as fake:
        yield fake


def due_a_minute_ago() -> dt.datetime:
    return (dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=1)).replace(
        second=0, microsecond=0
    )


def check_ins(slack: FakeSlackWithHistory, user: str) -> int:
    return sum(1 for m in slack.dm(user) if "taste?" in (m.text or ""))


async def all_sent(db: Database, count: int, within: float = 60.0) -> dict[str, int]:
    """Wait until the ledger holds `count` sent rows and nothing claimed (bounded; a database
    cannot be awaited, so it is asked every 0.2 s)."""
    async with asyncio.timeout(within):
        while True:
            statuses = await ledger(db)
            if statuses.get("sent", 0) >= count and not statuses.get("claimed"):
                return statuses
            await asyncio.sleep(0.2)


async def test_a_clock_killed_mid_fan_out_and_restarted_sends_each_check_in_once(
    database_url: str, slack: FakeSlackWithHistory, tmp_path: Path
) -> None:
    db = Database(database_url)
    try:
        users = await seed(db, SPONSORS, due_a_minute_ago())
        env = clock_env(database_url, slack.url, RATE)
        slack.hold_post(12)  # Slack takes the 12th message, and the clock never hears back
        first = await ClockProcess(env, tmp_path, *ARGS).start()
        await asyncio.wait_for(slack.held.wait(), 60)
        first.kill()
        assert await first.stop() != 0
        slack.release()
        claimed = (await ledger(db)).get("claimed", 0)
        assert claimed >= 1  # at least the held one: claimed, sent, not recorded
        second = await ClockProcess(env, tmp_path, *ARGS).start()
        try:
            try:
                statuses = await all_sent(db, SPONSORS)
            except TimeoutError:
                raise AssertionError(
                    f"ledger {await ledger(db)}; the restarted clock said:\n" + "\n".join(second.lines[-40:])
                ) from None
            await second.wait_for_line("taking it over")
        finally:
            assert await second.stop() == 0
        assert statuses == {"sent": SPONSORS}
        assert [check_ins(slack, user) for user in users] == [1] * SPONSORS
        assert len(slack.called("chat.postMessage")) == SPONSORS  # the held one was found, not sent again
    finally:
        await db.dispose()


@pytest.mark.sqlite_only
async def test_a_second_clock_on_sqlite_refuses_to_start(
    database_url: str, slack: FakeSlackWithHistory, tmp_path: Path
) -> None:
    env = clock_env(database_url, slack.url, RATE)
    first = await ClockProcess(env, tmp_path, *ARGS).start()
    try:
        await first.wait_for_line("this clock leads")
        second = await ClockProcess(env, tmp_path, *ARGS).start()
        assert await second.exited() == 1
        refusal = "\n".join(second.lines)
        assert "another clock (process" in refusal and "only one may run" in refusal
        assert "Traceback" not in refusal
    finally:
        assert await first.stop() == 0


async def test_two_clocks_on_postgresql_send_once_and_the_second_takes_over(
    database_url: str, slack: FakeSlackWithHistory, tmp_path: Path
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("several clocks need PostgreSQL")
    db = Database(database_url)
    clocks: list[ClockProcess] = []
    try:
        users = await seed(db, SPONSORS, due_a_minute_ago())
        env = clock_env(database_url, slack.url, RATE)
        slack.hold_post(10)
        clocks = [await ClockProcess(env, tmp_path, *ARGS).start() for _ in range(2)]
        await asyncio.wait_for(slack.held.wait(), 60)
        leader = next(c for c in clocks if c.saw("this clock leads"))
        follower = next(c for c in clocks if c is not leader)
        assert follower.saw("another clock leads")
        leader.kill()
        killed_at = time.monotonic()
        await leader.stop()
        slack.release()
        await follower.wait_for_line("this clock leads", within=60)
        takeover = time.monotonic() - killed_at
        statuses = await all_sent(db, SPONSORS)
        assert takeover < 60, takeover
        assert statuses == {"sent": SPONSORS}
        assert [check_ins(slack, user) for user in users] == [1] * SPONSORS
        assert len(slack.called("chat.postMessage")) == SPONSORS
    finally:
        for process in clocks:
            await process.stop()
        await db.dispose()


@pytest.mark.sqlite_only
async def test_serve_runs_the_clock_unless_told_not_to(
    database_url: str, slack: FakeSlackWithHistory, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**clock_env(database_url, slack.url, RATE), "HOST": "127.0.0.1", "PORT": str(port)}
    serve = await ClockProcess(env, tmp_path, command="serve").start()
    try:
        await serve.wait_for_line("this clock leads")
        refused = await ClockProcess(env, tmp_path, *ARGS).start()
        assert await refused.exited() == 1
    finally:
        assert await serve.stop() == 0
    quiet = await ClockProcess(env, tmp_path, "--no-scheduler", command="serve").start()
    try:
        await quiet.wait_for_line("listening on")
        alone = await ClockProcess(env, tmp_path, *ARGS).start()
        await alone.wait_for_line("this clock leads")
        assert await alone.stop() == 0
        assert not quiet.saw("clock started")
    finally:
        assert await quiet.stop() == 0
