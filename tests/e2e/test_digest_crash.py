"""The value digest when real clock processes are killed (SIGKILL) in the middle of sending it.

Each clock is `python app.py clock` against the fake Slack Web API. The digest fell due a minute
ago for a Slack channel and a few people; the fake stalls one chat.postMessage before taking it
(`stall_post`), so the kill lands between the claim and the send: the ledger holds a claim, Slack
has nothing. The next clock (restarted, or the other of two on PostgreSQL) takes the claim over
and every recipient ends up with the digest exactly once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.db import Database
from storage.models import KIND_DIGEST, Delivery, DigestRecipient, DigestSchedule, Identity, Person
from storage.queries import get_or_create_org
from tests.clockkit import ClockProcess, clock_env, seed
from tests.fakes.slack_api import dm_channel
from tests.fakes.slack_history import FakeSlackWithHistory

PEOPLE = 5
CHANNEL = "C0DIGEST1"
ARGS = ("--tick", "0.5", "--lease", "3")
TITLE = "PMO value digest"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlackWithHistory]:
    async with FakeSlackWithHistory() as fake:
        yield fake


def a_minute_ago() -> dt.datetime:
    return (dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=1)).replace(
        second=0, microsecond=0
    )


async def subscribed(db: Database, due: dt.datetime) -> list[str]:
    """A weekly digest due at `due` (UTC) for a Slack channel and PEOPLE people on Slack."""
    await seed(db, 0, due)  # the admin only: no check-ins fall due
    yesterday = due - dt.timedelta(days=1)
    users = [f"UREADER{i:02d}" for i in range(PEOPLE)]
    async with db.transaction() as session:
        org = await get_or_create_org(session)
        session.add(
            DigestSchedule(
                org_id=org.id, cadence="weekly", day=due.strftime("%a").lower(), time=due.strftime("%H:%M"),
                updated_at=yesterday,
            )
        )  # fmt: skip
        session.add(
            DigestRecipient(
                org_id=org.id, key="channel:slack", platform="slack", channel=CHANNEL, added_at=yesterday
            )
        )
        for user in users:
            person = Person(org_id=org.id, name=user, role="member", unreachable=False, created_at=yesterday)
            session.add(person)
            await session.flush()
            session.add(Identity(org_id=org.id, person_id=person.id, platform="slack", external_id=user))
            session.add(
                DigestRecipient(
                    org_id=org.id, key=f"person:{person.id}", person_id=person.id, added_at=yesterday
                )
            )
    return users


def copies(slack: FakeSlackWithHistory, channel: str) -> int:
    return sum(1 for m in slack.in_channel(channel) if TITLE in (m.text or ""))


async def digest_rows(db: Database) -> dict[str, int]:
    async with db.sessions() as session:
        rows = await session.execute(
            select(Delivery.status, func.count())
            .where(Delivery.kind == KIND_DIGEST)
            .group_by(Delivery.status)
        )
        return {status: count for status, count in rows}


async def all_sent(db: Database, count: int, within: float = 60.0) -> dict[str, int]:
    async with asyncio.timeout(within):
        while True:
            statuses = await digest_rows(db)
            if statuses.get("sent", 0) >= count and not statuses.get("claimed"):
                return statuses
            await asyncio.sleep(0.2)


async def test_a_clock_killed_while_sending_the_digest_and_restarted_sends_each_copy_once(
    database_url: str, slack: FakeSlackWithHistory, tmp_path: Path
) -> None:
    db = Database(database_url)
    try:
        users = await subscribed(db, a_minute_ago())
        env = clock_env(database_url, slack.url, None)
        slack.stall_post(3)
        first = await ClockProcess(env, tmp_path, *ARGS).start()
        await asyncio.wait_for(slack.held.wait(), 60)
        first.kill()
        assert await first.stop() != 0
        slack.release()
        assert (await digest_rows(db)).get("claimed", 0) >= 1  # the stalled copy at least
        second = await ClockProcess(env, tmp_path, *ARGS).start()
        try:
            try:
                statuses = await all_sent(db, PEOPLE + 1)
            except TimeoutError:
                raise AssertionError(f"{await digest_rows(db)}:\n" + "\n".join(second.lines[-40:])) from None
            await asyncio.sleep(2)  # a few more ticks: nothing more may go out
        finally:
            assert await second.stop() == 0
        assert statuses == {"sent": PEOPLE + 1}
        assert copies(slack, CHANNEL) == 1
        assert [copies(slack, dm_channel(user)) for user in users] == [1] * PEOPLE
        third = await ClockProcess(env, tmp_path, *ARGS).start()  # a restart after the send: nothing
        try:
            await third.wait_for_line("this clock leads")
            await asyncio.sleep(2)
        finally:
            assert await third.stop() == 0
        assert copies(slack, CHANNEL) == 1 and await digest_rows(db) == {"sent": PEOPLE + 1}
    finally:
        await db.dispose()


async def test_two_clocks_on_postgresql_send_the_digest_once_when_the_leader_dies(
    database_url: str, slack: FakeSlackWithHistory, tmp_path: Path
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("several clocks need PostgreSQL")
    db = Database(database_url)
    clocks: list[ClockProcess] = []
    try:
        users = await subscribed(db, a_minute_ago())
        env = clock_env(database_url, slack.url, None)
        slack.stall_post(2)
        clocks = [await ClockProcess(env, tmp_path, *ARGS).start() for _ in range(2)]
        await asyncio.wait_for(slack.held.wait(), 60)
        leader = next(c for c in clocks if c.saw("this clock leads"))
        follower = next(c for c in clocks if c is not leader)
        leader.kill()
        await leader.stop()
        slack.release()
        await follower.wait_for_line("this clock leads", within=60)
        statuses = await all_sent(db, PEOPLE + 1)
        await asyncio.sleep(2)
        assert statuses == {"sent": PEOPLE + 1} == await digest_rows(db)
        assert copies(slack, CHANNEL) == 1
        assert [copies(slack, dm_channel(user)) for user in users] == [1] * PEOPLE
    finally:
        for process in clocks:
            await process.stop()
        await db.dispose()
