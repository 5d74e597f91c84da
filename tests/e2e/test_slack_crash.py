"""Acknowledged Slack work survives `kill -9` and overload (CONTRACT section 8), with real processes.

The bot is `python app.py serve --no-scheduler` in its own process (tests/slackkit.py's `BotServer`,
clockkit's `ClockProcess` with the serve command) against the fake Slack Web API in this process, and
gets signed requests over real HTTP, as from Slack. SIGKILL is a real crash: no cleanup, the inbox
rows it leaves are all that is left of the acknowledged work.

- After a kill right after the last of 200 acknowledgements, a restarted process stores every answer
  and rewrites every check-in message (chat.update), and the inbox ends empty.
- On PostgreSQL, two web processes share the clicks; one is killed and not restarted: the other takes
  its jobs over once their lease expires.
- Overload: 50 clients without pause for 20 s (or 5,000 requests); whatever was acknowledged is done, whatever was refused
  (503, or a command's "could not record") changed nothing; memory stays bounded; no pool time-outs.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from storage.db import Database
from tests.fakes.slack_api import FakeSlack
from tests.slackkit import (
    BotServer,
    Posted,
    Target,
    answered,
    answers,
    help_command,
    inbox_rows,
    lease_left,
    post,
    rating_click,
    seed_checkins,
)

SPONSORS = 200
SETTLE_WITHIN = 60.0  # seconds after the (re)start for everything acknowledged to be done
BAD_LOG = ("Traceback", "QueuePool limit", "TimeoutError", "timed out")


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


def rating_for(index: int) -> int:
    return 3 + index % 3  # 3..5: no sour-taste alert, only the check-in's own message is rewritten


async def click_all(server: BotServer, slack: FakeSlack, targets: list[tuple[int, Target]]) -> list[Posted]:
    """One signed rating click per target, all in flight at once; each answer's status."""
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=len(targets))
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        return await asyncio.gather(
            *(
                post(http, server.url, rating_click(slack, t, rating_for(i), f"click-{t.checkin}"))
                for i, t in targets
            )
        )


def updates(slack: FakeSlack, targets: list[Target]) -> dict[int, int]:
    """Check-in id → how many chat.update calls its message got."""
    return {t.checkin: slack.messages[(t.channel, t.ts)].updates for t in targets}


async def settled(
    db: Database, slack: FakeSlack, targets: list[Target], expected: dict[int, int], server: BotServer
) -> float:
    """Wait (bounded) until every expected rating is stored, every message updated and the inbox
    empty; the seconds it took. On time-out: what is missing, and the server's last words."""
    started = time.monotonic()
    deadline = started + SETTLE_WITHIN
    while True:
        stored = await answered(db)
        shown = updates(slack, targets)
        rows = await inbox_rows(db)
        if stored == expected and all(shown.values()) and not rows:
            return time.monotonic() - started
        if time.monotonic() > deadline:
            missing = sorted(set(expected) - set(stored))
            wrong = sorted(i for i in expected if i in stored and stored[i] != expected[i])
            unshown = sorted(i for i, n in shown.items() if not n)
            raise AssertionError(
                f"{SETTLE_WITHIN:.0f} s after the start: {len(stored)}/{len(expected)} answers stored "
                f"(missing {missing[:10]}…, wrong rating {wrong[:10]}), {len(unshown)} messages never "
                f"updated ({unshown[:10]}…), inbox {rows}; the server said:\n" + "\n".join(server.lines[-40:])
            )
        await asyncio.sleep(0.25)


def log_problems(server: BotServer) -> list[str]:
    return [line for line in server.lines if any(bad in line for bad in BAD_LOG)]


def no_ephemerals(slack: FakeSlack, targets: list[Target]) -> dict[str, list[object]]:
    """Successful rating clicks tell nobody anything: a response_url post would be an error."""
    return {
        f"click-{t.checkin}": slack.responses[f"click-{t.checkin}"]
        for t in targets
        if slack.responses.get(f"click-{t.checkin}")
    }


async def test_clicks_acknowledged_before_a_kill_are_stored_and_shown_after_a_restart(
    database_url: str, slack: FakeSlack, tmp_path: Path
) -> None:
    db = Database(database_url)
    servers: list[BotServer] = []
    try:
        targets = await seed_checkins(db, slack, SPONSORS)
        expected = {t.checkin: rating_for(i) for i, t in enumerate(targets)}
        first = await BotServer(database_url, slack, tmp_path).start()
        servers.append(first)
        await first.ready()
        started = time.monotonic()
        results = await click_all(first, slack, list(enumerate(targets)))
        first.kill()  # right after the last acknowledgement
        acked_in = time.monotonic() - started
        assert await first.stop() != 0
        refused = [r.text for r in results if r.status != 200]
        assert Counter(r.status for r in results) == {200: SPONSORS}, refused
        done_before = len(await answered(db))
        left = await inbox_rows(db)
        assert done_before < SPONSORS, "the kill came after all the work was done: nothing was tested"

        second = await BotServer(database_url, slack, tmp_path).start()
        servers.append(second)
        await second.ready()
        took = await settled(db, slack, targets, expected, second)
        shown = updates(slack, targets)
        twice = sorted(i for i, n in shown.items() if n > 1)
        print(
            f"\nrestart ({db.url.get_backend_name()}): {SPONSORS} clicks acknowledged in {acked_in:.2f} s; "
            f"at the kill {done_before} answers stored, inbox {left}; after the restart all stored and "
            f"shown in {took:.1f} s; messages updated more than once: {len(twice)} {twice[:10]}; "
            f"peak memory {first.peak_mb:.0f} MB, {second.peak_mb:.0f} MB",
            flush=True,
        )
        assert await answers(db) == SPONSORS  # each answer applied once, none twice
        assert not no_ephemerals(slack, targets)
        assert not log_problems(second), log_problems(second)
        assert await second.stop() == 0
    finally:
        for server in servers:
            await server.stop()
        await db.dispose()


async def test_two_web_processes_on_postgresql_the_survivor_takes_over_the_dead_ones_clicks(
    database_url: str, slack: FakeSlack, tmp_path: Path
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("several web processes need PostgreSQL")
    db = Database(database_url)
    servers: list[BotServer] = []
    try:
        targets = await seed_checkins(db, slack, SPONSORS)
        expected = {t.checkin: rating_for(i) for i, t in enumerate(targets)}
        doomed = await BotServer(database_url, slack, tmp_path).start()
        survivor = await BotServer(database_url, slack, tmp_path).start()
        servers += [doomed, survivor]
        await doomed.ready()
        await survivor.ready()
        half = SPONSORS // 2
        killed_at = 0.0

        async def to_doomed() -> list[Posted]:
            nonlocal killed_at
            results = await click_all(doomed, slack, list(enumerate(targets))[:half])
            doomed.kill()  # right after its last acknowledgement
            killed_at = time.monotonic()
            return results

        mine, theirs = await asyncio.gather(
            to_doomed(), click_all(survivor, slack, list(enumerate(targets))[half:])
        )
        assert await doomed.stop() != 0
        statuses = Counter(r.status for r in [*mine, *theirs])
        assert statuses == {200: SPONSORS}, [r.text for r in [*mine, *theirs] if r.status != 200]
        dead_ids = [t.checkin for t in targets[:half]]
        left = len(dead_ids) - len(await answered(db, dead_ids))
        assert left > 0, "the kill came after all the dead process's work was done: nothing was tested"
        leases = await lease_left(db)

        took = await settled(db, slack, targets, expected, survivor)
        takeover = time.monotonic() - killed_at
        shown = updates(slack, targets)
        twice = sorted(i for i, n in shown.items() if n > 1)
        print(
            f"\ntwo web processes (PostgreSQL): at the kill {left} of the dead one's {half} clicks were not "
            f"done, their leases ending in {leases} s; the survivor finished everything {takeover:.1f} s after the kill ({took:.1f} s of "
            f"waiting); messages updated more than once: {len(twice)} {twice[:10]}; peak memory "
            f"{doomed.peak_mb:.0f} MB, {survivor.peak_mb:.0f} MB",
            flush=True,
        )
        assert await answers(db) == SPONSORS
        assert not no_ephemerals(slack, targets)
        assert not log_problems(survivor), log_problems(survivor)
        assert await survivor.stop() == 0
    finally:
        for server in servers:
            await server.stop()
        await db.dispose()


# ---- overload ---------------------------------------------------------------------------------

CLIENTS = 50
# 50 clients send without pause for LOAD_SECONDS, or until REQUESTS were answered: the work runs at
# about a seventh of the acknowledgements' pace, so the drain takes ~6× as long as the load; 5,000
# still leave thousands of jobs past the 1,000 a process holds in memory (they wait in the table).
LOAD_SECONDS = float(os.environ.get("PMO_OVERLOAD_SECONDS", "20"))
REQUESTS = int(os.environ.get("PMO_OVERLOAD_REQUESTS", "5000"))
DRAIN_WITHIN = float(os.environ.get("PMO_OVERLOAD_DRAIN", "120"))  # at most, after the load
STALL = 20.0  # seconds without any progress in the drain: stuck, not slow
POOL = 2_000  # check-ins the clicks go round; answering again is allowed (each answer is a row)
CLICKS_IN_TEN = 7  # of every ten requests, the rest are `/pmo help`
MEMORY_MB = 200
REFUSED = "could not record"


@dataclass
class Tally:
    """What the clients were told, request by request."""

    clicks: list[tuple[int, int]] = field(default_factory=list)  # acknowledged (check-in, rating)
    click_keys: list[str] = field(default_factory=list)
    refused_clicks: Counter[int] = field(default_factory=Counter)  # by status
    refused_click_keys: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)  # acknowledged: their response_url keys
    refused_commands: list[str] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)  # no answer at all (connection, time-out)
    latencies: list[float] = field(default_factory=list)

    @property
    def acknowledged(self) -> int:
        return len(self.clicks) + len(self.commands)

    @property
    def refused(self) -> int:
        return sum(self.refused_clicks.values()) + len(self.refused_commands)


async def overload(server: BotServer, slack: FakeSlack, targets: list[Target]) -> Tally:
    tally = Tally()
    numbers = itertools.count()
    deadline = time.monotonic() + LOAD_SECONDS
    timeout = aiohttp.ClientTimeout(total=30)

    async def client(http: aiohttp.ClientSession) -> None:
        while time.monotonic() < deadline:
            n = next(numbers)
            if n >= REQUESTS:
                return
            key = f"load-{n}"
            is_click = n % 10 < CLICKS_IN_TEN
            target = targets[n % len(targets)]
            rating = rating_for(n // len(targets))
            signed = rating_click(slack, target, rating, key) if is_click else help_command(slack, key)
            try:
                answer = await post(http, server.url, signed)
            except (aiohttp.ClientError, TimeoutError) as exc:
                tally.errors[type(exc).__name__] += 1
                continue
            tally.latencies.append(answer.seconds)
            if is_click and answer.status == 200:
                tally.clicks.append((target.checkin, rating))
                tally.click_keys.append(key)
            elif is_click:
                tally.refused_clicks[answer.status] += 1
                tally.refused_click_keys.append(key)
            elif answer.status == 200 and REFUSED not in answer.text:
                tally.commands.append(key)
            else:
                tally.refused_commands.append(key)

    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        await asyncio.gather(*(client(http) for _ in range(CLIENTS)))
    return tally


async def test_overload_acknowledged_work_is_done_refused_work_changed_nothing_memory_bounded(
    database_url: str, slack: FakeSlack, tmp_path: Path
) -> None:
    db = Database(database_url)
    server: BotServer | None = None
    try:
        targets = await seed_checkins(db, slack, POOL)
        server = await BotServer(database_url, slack, tmp_path).start()
        await server.ready()
        backlog = [0]

        async def watch() -> None:  # the deepest the inbox got: past HELD (1,000), rows wait unheld
            while True:
                backlog.append(sum((await inbox_rows(db)).values()))
                await asyncio.sleep(1.0)

        watcher = asyncio.create_task(watch())
        started = time.monotonic()
        try:
            tally = await overload(server, slack, targets)
        finally:
            watcher.cancel()
        loaded = time.monotonic() - started

        def commands_answered() -> int:
            return sum(1 for key in tally.commands if slack.responses.get(key))

        # Bounded: at most DRAIN_WITHIN, and a drain that stops moving for STALL seconds is stuck.
        drain_deadline = time.monotonic() + DRAIN_WITHIN
        last, moved = None, time.monotonic()
        while True:
            stored, rows = await answers(db), await inbox_rows(db)
            progress = (stored, commands_answered(), sum(rows.values()))
            if stored >= len(tally.clicks) and progress[1] == len(tally.commands) and not rows:
                break
            if progress != last:
                last, moved = progress, time.monotonic()
            if time.monotonic() > drain_deadline or time.monotonic() - moved > STALL:
                break
            await asyncio.sleep(0.5)
        drained = time.monotonic() - started - loaded
        answered_ids = set(await answered(db))
        clicked_ids = {checkin for checkin, _ in tally.clicks}
        latencies = sorted(tally.latencies) or [0.0]
        total = tally.acknowledged + tally.refused
        summary = (
            f"\noverload ({db.url.get_backend_name()}): {CLIENTS} clients for {loaded:.1f} s: {total} "
            f"answered requests ({total / loaded:.0f}/s), acknowledged {tally.acknowledged} "
            f"({len(tally.clicks)} clicks, {len(tally.commands)} commands), refused {tally.refused} "
            f"(clicks {dict(tally.refused_clicks)}, commands {len(tally.refused_commands)}), no answer "
            f"{dict(tally.errors)}; ack latency p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, "
            f"p99 {latencies[int(0.99 * (len(latencies) - 1))] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} "
            f"ms, over 3 s {sum(1 for x in latencies if x > 3)}; deepest inbox {max(backlog)} rows; "
            f"drained in {drained:.1f} s ({(tally.acknowledged) / (loaded + drained):.0f} jobs/s overall): "
            f"answers stored {stored}, check-ins answered {len(answered_ids)} of {len(clicked_ids)} clicked, "
            f"commands answered {commands_answered()}/{len(tally.commands)}, inbox {rows}; "
            f"peak memory {server.peak_mb:.0f} MB; log problems {len(log_problems(server))}"
        )
        print(summary, flush=True)
        assert not tally.errors, summary
        assert stored == len(tally.clicks), summary  # every acknowledged click once; refused ones: none
        assert answered_ids == clicked_ids, summary
        assert commands_answered() == len(tally.commands), summary
        assert not [key for key in tally.refused_commands if slack.responses.get(key)], summary
        assert not rows, summary
        assert server.peak_mb < MEMORY_MB, summary
        problems = log_problems(server)
        assert not problems, "\n".join(problems[:20])
        assert await server.stop() == 0
    finally:
        if server is not None:
            await server.stop()
        await db.dispose()
