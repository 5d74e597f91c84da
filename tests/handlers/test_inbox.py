"""The durable inbox and its workers (handlers/inbox.py, bot/work.py), on SQLite and PostgreSQL.

What is acknowledged is in the table before the acknowledgement; a job left by a process that died
is taken over once its lease ends, exactly once; a job whose use case committed is resumed without
applying it again; a database that cannot record refuses instead of pretending.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import pytest
from sqlalchemy import event, select, update

from bot.work import Acknowledgements, DurableWork
from handlers import inbox
from handlers.inbox import Inbox, Job, Retry, Unrecorded
from handlers.outbox import perform
from handlers.ports import Outgoing, Reply, Services
from handlers.views import View, info
from storage.db import Database, utcnow
from storage.models import InboxJob
from tests.bot.slack.harness import eventually


class RecordingMessenger:
    """The core's Messenger port, recording what it was asked to send (Slack and Teams have their own tests)."""

    def __init__(self) -> None:
        self.updates: list[tuple[dict[str, Any], str]] = []
        self.posts: list[tuple[int, str]] = []

    async def send_direct(self, org_id: int, person_id: int, view: View) -> dict[str, Any]:
        self.posts.append((person_id, view.text))
        return {"platform": "test", "id": len(self.posts)}

    async def send_to_channel(
        self, org_id: int, platform: str | None, channel: str, view: View
    ) -> dict[str, Any]:
        raise AssertionError("not used")

    async def update(self, org_id: int, ref: dict[str, Any], view: View) -> None:
        self.updates.append((ref, view.text))


async def until(done: Any, within: float = 10.0) -> None:
    """Wait (boundedly) for work done in the background."""

    async def check() -> bool:
        return bool(done())

    await eventually(check, within)


def services_for(db: Database, messenger: RecordingMessenger | None = None) -> Services:
    return Services(db=db, messenger=messenger or RecordingMessenger(), directory=None)  # type: ignore[arg-type]


async def rows(db: Database) -> list[InboxJob]:
    async with db.sessions() as session:
        return list(await session.scalars(select(InboxJob).order_by(InboxJob.received_at, InboxJob.id)))


async def test_an_accepted_job_is_in_the_table_before_it_runs_and_gone_after(db: Database) -> None:
    work = DurableWork(Inbox(db), services_for(db), workers=1)
    gate = asyncio.Event()
    seen: list[dict[str, Any]] = []

    async def handler(job: Job) -> None:
        await gate.wait()
        seen.append(job.body)

    work.register("test.click", handler)
    await work.accept("test", "test.click", {"checkin": 7, "rating": 5})
    [row] = await rows(db)  # committed before accept() returned: what an acknowledgement may promise
    assert row.body == {"checkin": 7, "rating": 5} and row.state == "new" and row.owner == work.inbox.owner
    gate.set()
    await work.join(5)
    assert seen == [{"checkin": 7, "rating": 5}] and await rows(db) == []
    await work.stop()


async def test_jobs_run_a_few_at_a_time_and_all_finish(db: Database) -> None:
    work = DurableWork(Inbox(db), services_for(db), workers=2)
    running, peak, done = 0, 0, []

    async def handler(job: Job) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        running -= 1
        done.append(job.body["n"])

    work.register("test.n", handler)
    await asyncio.gather(*(work.accept("test", "test.n", {"n": n}) for n in range(50)))
    await work.join(10)
    assert sorted(done) == list(range(50)) and peak == 2 and await rows(db) == []
    await work.stop()


async def test_a_burst_is_written_in_a_few_transactions(db: Database) -> None:
    commits = 0

    def count(_conn: Any) -> None:
        nonlocal commits
        commits += 1

    event.listen(db.engine.sync_engine, "commit", count)
    box = Inbox(db)
    await asyncio.gather(*(box.record("test", "test.n", {"n": n}) for n in range(200)))
    event.remove(db.engine.sync_engine, "commit", count)
    assert len(await rows(db)) == 200
    assert commits <= 20, commits  # grouped: one commit per group, not per request


async def test_past_the_held_limit_jobs_wait_in_the_table_not_in_memory(db: Database) -> None:
    work = DurableWork(Inbox(db), services_for(db), workers=1, held=2, sweep_every=0.05)
    gate = asyncio.Event()
    done: list[int] = []

    async def handler(job: Job) -> None:
        await gate.wait()
        done.append(job.body["n"])

    work.register("test.n", handler)
    holds: list[bool] = []
    record = work.inbox.record

    async def noting(*args: Any, **kwargs: Any) -> Job:
        holds.append(kwargs["hold"])
        return await record(*args, **kwargs)

    work.inbox.record = noting  # type: ignore[method-assign]
    for n in range(6):
        await work.accept("test", "test.n", {"n": n})
        assert (work._queue.qsize() if work._queue else 0) <= 2
    assert holds.count(False) >= 3  # the rest was recorded for whoever has room
    gate.set()
    await until(lambda: len(done) >= 6)
    await work.join(5)
    assert sorted(done) == list(range(6)) and await rows(db) == []
    await work.stop()


async def test_a_job_left_by_a_process_that_died_is_taken_over_once(db: Database) -> None:
    dead = Inbox(db, owner="web-dead")
    job = await dead.record("test", "test.n", {"n": 1})  # held by a process that then died
    async with db.transaction() as session:  # its lease has run out
        await session.execute(
            update(InboxJob)
            .where(InboxJob.id == job.id)
            .values(lease_until=utcnow() - dt.timedelta(seconds=1))
        )
    runs: list[str] = []

    async def handler(job: Job) -> None:
        runs.append(job.id)

    first = DurableWork(Inbox(db, owner="web-a"), services_for(db), sweep_every=0.05)
    second = DurableWork(Inbox(db, owner="web-b"), services_for(db), sweep_every=0.05)
    for work in (first, second):
        work.register("test.n", handler)
        work.start()
    await until(lambda: bool(runs))
    await asyncio.sleep(0.3)  # both sweeps had several chances
    await first.stop()
    await second.stop()
    assert runs == [job.id] and await rows(db) == []


async def test_a_held_job_is_not_taken_while_its_lease_runs(db: Database) -> None:
    alive = Inbox(db, owner="web-alive")
    await alive.record("test", "test.n", {"n": 1})
    assert await Inbox(db, owner="web-other").take(10) == []


async def test_a_job_whose_use_case_committed_is_resumed_without_applying_it_again(db: Database) -> None:
    messenger = RecordingMessenger()
    services = services_for(db, messenger)
    applied = 0

    async def use_case(session: Any) -> Reply:
        nonlocal applied
        applied += 1
        view = info("Thanks, noted")
        return Reply(view, [Outgoing(View(text="answered"), update_ref={"platform": "test", "ts": "1"})])

    replies: list[str] = []

    async def handler(job: Job) -> None:
        view = job.done or await perform(services, 1, use_case)
        replies.append(view.text)

    dead = Inbox(db, owner="web-dead")
    job = await dead.record("test", "test.answer", {})
    with inbox.running(job.id):  # the dead process got as far as committing the use case…

        async def committed(session: Any) -> Reply:
            reply = await use_case(session)
            await inbox.applied(session, 1, reply)
            return reply

        async with db.transaction() as session:
            await committed(session)
    [row] = await rows(db)
    assert row.state == "applied" and row.result is not None
    async with db.transaction() as session:  # …and died before sending anything
        await session.execute(update(InboxJob).values(lease_until=utcnow() - dt.timedelta(seconds=1)))

    work = DurableWork(Inbox(db, owner="web-next"), services, sweep_every=0.05)
    work.register("test.answer", handler)
    work.start()
    await until(lambda: bool(replies))
    await work.stop()
    assert applied == 1  # the use case ran once, before the crash
    assert messenger.updates == [({"platform": "test", "ts": "1"}, "answered")]  # what it queued went out
    assert replies == ["Thanks, noted"] and await rows(db) == []


async def test_a_job_whose_new_posts_went_out_does_not_post_them_again(db: Database) -> None:
    messenger = RecordingMessenger()
    services = services_for(db, messenger)

    async def use_case(session: Any) -> Reply:
        return Reply(info("Sent"), [Outgoing(View(text="check-in"), person_id=3)])

    box = Inbox(db, owner="web-dead")
    job = await box.record("test", "test.send", {})
    with inbox.running(job.id):
        await perform(services, 1, use_case)  # committed, posted, marked sent; then the process died
    assert messenger.posts == [(3, "check-in")]
    [row] = await rows(db)
    assert row.state == "sent"
    resumed = Job(row.id, row.platform, row.kind, row.body, row.state, row.result, row.attempts)
    work = DurableWork(Inbox(db, owner="web-next"), services)
    seen: list[str | None] = []

    async def handler(job: Job) -> None:
        seen.append(job.done.text if job.done else None)

    work.register("test.send", handler)
    await work.run_now(resumed)
    await work.stop()
    assert messenger.posts == [(3, "check-in")] and seen == ["Sent"]


async def test_a_passing_failure_puts_the_job_back_for_later(db: Database) -> None:
    work = DurableWork(Inbox(db), services_for(db), sweep_every=0.05)
    attempts: list[int] = []

    async def handler(job: Job) -> None:
        attempts.append(job.attempts)
        if len(attempts) == 1:
            raise Retry("OperationalError")

    work.register("test.n", handler)
    await work.accept("test", "test.n", {})
    await until(lambda: len(attempts) >= 2)
    await work.join(5)
    await work.stop()
    assert attempts == [1, 2] and await rows(db) == []


async def test_a_job_taken_over_too_often_is_kept_as_failed(db: Database) -> None:
    box = Inbox(db)
    job = await box.record("test", "test.n", {})
    job.attempts = 6
    work = DurableWork(box, services_for(db))
    ran: list[str] = []

    async def handler(job: Job) -> None:
        ran.append(job.id)

    work.register("test.n", handler)
    await work.run_now(job)
    await work.stop()
    [row] = await rows(db)
    assert ran == [] and row.state == "failed" and "taken over" in (row.error or "")


@pytest.mark.sqlite_only
async def test_a_database_that_does_not_answer_in_time_refuses_and_the_job_never_runs(tmp_path: Any) -> None:
    path = tmp_path / "locked.db"
    db = Database(f"sqlite:///{path}")
    await db.migrate()
    import sqlite3

    holder = sqlite3.connect(path, timeout=0)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the database
    box = Inbox(db)
    started = time.monotonic()
    with pytest.raises(Unrecorded):
        await box.record("test", "test.n", {"n": 1}, within=0.3)
    assert time.monotonic() - started < 1.0  # refused within Slack's three seconds
    holder.rollback()  # the writer goes; the group that was waiting for it lands…
    holder.close()
    await asyncio.wait_for(box.flush(), 15)
    assert await rows(db) == []  # …and the refused request's row is deleted with it
    await db.dispose()


async def test_a_refused_row_for_anyone_that_lands_late_is_never_taken(tmp_path: Any) -> None:
    """Past the held limit a row is for any process; one whose request was refused while its write
    waited must still never run (load test of issue 13: 4 refused clicks were stored anyway)."""
    path = tmp_path / "locked.db"
    db = Database(f"sqlite:///{path}")
    await db.migrate()
    import sqlite3

    holder = sqlite3.connect(path, timeout=0)
    holder.execute("BEGIN IMMEDIATE")
    box, other = Inbox(db), Inbox(db, owner="web-other")
    with pytest.raises(Unrecorded):
        await box.record("test", "test.n", {"n": 1}, hold=False, within=0.3)
    holder.rollback()
    holder.close()
    taken: list[Job] = []
    landing = asyncio.create_task(box.flush())
    while not landing.done():  # the other process sweeps all the while the row lands and goes
        taken += await other.take(10)
        await asyncio.sleep(0.005)
    taken += await other.take(10)
    assert taken == [] and await rows(db) == []
    await db.dispose()


async def test_a_row_for_anyone_is_let_go_once_its_request_is_acknowledged(db: Database) -> None:
    box, other = Inbox(db), Inbox(db, owner="web-other")
    job = await box.record("test", "test.n", {"n": 1}, hold=False)
    await box.flush()
    [took] = await other.take(10)
    assert (took.id, took.attempts) == (job.id, 1)


async def test_a_database_that_is_away_refuses_at_once() -> None:
    db = Database("postgresql://nobody@127.0.0.1:1/none")
    box = Inbox(db)
    with pytest.raises(Unrecorded):
        await box.record("test", "test.n", {}, within=5)
    await db.dispose()


async def test_work_waits_while_a_request_is_being_acknowledged(db: Database) -> None:
    acks = Acknowledgements(busy_at=1)
    work = DurableWork(Inbox(db), services_for(db), acks=acks, workers=1, defer_limit=5.0)
    ran: list[float] = []

    async def handler(job: Job) -> None:
        ran.append(time.perf_counter())

    work.register("test.n", handler)
    with acks.handling():
        await work.accept("test", "test.n", {})
        with acks.handling():  # a second request arrives while the first is acknowledged
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.05)
        assert ran == []  # one request is still being acknowledged
        acknowledged = time.perf_counter()
    await work.join(5)
    assert len(ran) == 1 and ran[0] >= acknowledged and acks.open == 0
    await work.stop()


async def test_work_waits_no_longer_than_the_defer_limit(db: Database) -> None:
    acks = Acknowledgements(busy_at=1)
    work = DurableWork(Inbox(db), services_for(db), acks=acks, workers=1, defer_limit=0.2)
    ran: list[float] = []

    async def handler(job: Job) -> None:
        ran.append(time.perf_counter())

    work.register("test.n", handler)
    with acks.handling():  # a request that never seems to end
        started = time.perf_counter()
        await work.accept("test", "test.n", {})
        await work.join(5)
    assert 0.15 <= ran[0] - started < 1.5
    await work.stop()


async def test_work_goes_on_beside_a_few_acknowledgements_and_waits_in_a_burst(db: Database) -> None:
    acks = Acknowledgements(busy_at=3)
    work = DurableWork(Inbox(db), services_for(db), acks=acks, workers=1, defer_limit=5.0)
    ran: list[str] = []

    async def handler(job: Job) -> None:
        ran.append(job.body["when"])

    work.register("test.n", handler)
    with acks.handling(), acks.handling():  # ordinary traffic: two under way
        await work.accept("test", "test.n", {"when": "steady"})
        await until(lambda: ran == ["steady"], 2)
        with acks.handling():  # a third at once: a burst
            await work.accept("test", "test.n", {"when": "burst"})
            await asyncio.sleep(0.2)
            assert ran == ["steady"]
    await work.join(5)
    assert ran == ["steady", "burst"]
    await work.stop()


async def test_a_clean_stop_frees_what_is_left_for_the_next_process(db: Database) -> None:
    work = DurableWork(Inbox(db, owner="web-stopping"), services_for(db), workers=1)
    gate = asyncio.Event()

    async def handler(job: Job) -> None:
        await gate.wait()

    work.register("test.n", handler)
    for n in range(3):
        await work.accept("test", "test.n", {"n": n})
    await work.stop(timeout=0.2)
    left = await rows(db)
    assert len(left) >= 2 and all(row.owner is None and row.lease_until is None for row in left)
    assert len(await Inbox(db, owner="web-next").take(10)) == len(left)
