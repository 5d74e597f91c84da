"""One writer at a time on SQLite, queued in the event loop (storage/sqlite_writes.py)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from sqlalchemy import text

from storage.db import Database
from storage.sqlite_writes import WriteLock, is_write, urgent


def test_writes_are_told_from_reads() -> None:
    assert is_write("INSERT INTO inbox (id) VALUES (?)") and is_write("  update checkins set x=1")
    assert is_write("DELETE FROM inbox WHERE id IN (?)") and is_write("CREATE TABLE t (x)")
    assert is_write("WITH x AS (SELECT 1) UPDATE t SET y = 2")
    assert not is_write("SELECT 1") and not is_write("PRAGMA foreign_keys=ON")
    assert not is_write("WITH x AS (SELECT 1) SELECT * FROM x")


async def test_urgent_waiters_go_first_and_each_queue_keeps_its_order() -> None:
    lock = WriteLock()
    await lock.acquire()
    order: list[str] = []

    async def take(name: str, first: bool) -> None:
        await lock.acquire(first=first)
        order.append(name)
        lock.release()

    tasks = [
        asyncio.create_task(take(n, f)) for n, f in (("a", False), ("b", False), ("U1", True), ("U2", True))
    ]
    await asyncio.sleep(0)
    lock.release()
    await asyncio.gather(*tasks)
    assert order == ["U1", "U2", "a", "b"] and not lock.held


async def test_a_waiter_that_gives_up_passes_the_lock_on() -> None:
    lock = WriteLock()
    await lock.acquire()
    quitter = asyncio.create_task(lock.acquire())
    await asyncio.sleep(0)
    quitter.cancel()
    await asyncio.gather(quitter, return_exceptions=True)
    lock.release()
    await asyncio.wait_for(lock.acquire(), 1)  # not left held by the one who gave up
    lock.release()
    assert not lock.held


async def test_every_way_a_write_ends_gives_the_lock_back(tmp_path: Path) -> None:
    """Committed, rolled back by an error, urgent or not: the next writer gets the lock at once."""
    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE t (n INTEGER)"))

    async def write(n: int) -> None:
        async with db.transaction() as session:
            with urgent() if n % 4 == 0 else contextlib.nullcontext():
                await session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
            await asyncio.sleep(0)  # others queue up behind the open write
            if n % 3 == 0:
                raise ValueError("rolled back")

    results = await asyncio.wait_for(
        asyncio.gather(*(write(n) for n in range(40)), return_exceptions=True), 10
    )
    assert sum(isinstance(r, ValueError) for r in results) == 14
    async with db.transaction() as session:  # nobody left the lock held: this write does not wait
        await asyncio.wait_for(session.execute(text("INSERT INTO t VALUES (99)")), 1)
    async with db.sessions() as session:
        assert (await session.scalar(text("SELECT count(*) FROM t"))) == 40 - 14 + 1
    await db.dispose()
