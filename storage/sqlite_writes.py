"""One writer at a time on SQLite, queued in the event loop instead of in SQLite's busy handler.

SQLite lets one connection write at a time; another writer that finds the database locked sleeps
in SQLite's busy handler (1, 2, 5, 10, 15, 20, 25 … 100 ms) and tries again. With a few writers
at once (two inbox workers, the inbox's group commit, the clock) those sleeps, not the work, set
the pace: a click's transaction waited about 11 ms for a lock held for well under one. So within a
process, a transaction takes a lock at its first write (INSERT, UPDATE, DELETE, …) and gives it
back when it commits or rolls back; the next writer is woken at once, in order. Writers marked
`urgent()` (the inbox's group commit, which acknowledgements wait for) go before the others.
Reads never take it (WAL lets them run beside the writer). Other processes on the same file still
meet SQLite's own lock and busy handler, as before.

`ThreadWriter` is for the one write that acknowledgements wait for (the inbox's group commit).
Through the async engine that commit took eight or so hand-overs to aiosqlite's thread and back,
each a turn of an event loop busy with fifty requests plus a wait for the GIL: 10-13 ms at 50 in
flight, which set how fast the bot could acknowledge at all.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

WAIT = 30.0  # seconds a writer waits for the lock before it fails like a busy database
_HELD = "pmo_write_lock"
_READS = ("SELECT", "PRAGMA", "BEGIN", "SAVEPOINT", "RELEASE", "ROLLBACK", "COMMIT")
_URGENT: ContextVar[bool] = ContextVar("pmo_urgent_write", default=False)


@contextmanager
def urgent() -> Iterator[None]:
    """Writes in this block go before other waiting writers (someone is waiting for them)."""
    token = _URGENT.set(True)
    try:
        yield
    finally:
        _URGENT.reset(token)


def is_write(statement: str) -> bool:
    head = statement.lstrip()[:10].upper()
    if head.startswith("WITH"):
        upper = statement.upper()
        return any(word in upper for word in ("INSERT ", "UPDATE ", "DELETE "))
    return not head.startswith(_READS)


class WriteLock:
    """A lock with two queues: urgent waiters are served first, each queue in arrival order."""

    def __init__(self) -> None:
        self.held = False
        self._waiting: tuple[deque[asyncio.Future[None]], deque[asyncio.Future[None]]] = (deque(), deque())

    async def acquire(self, *, first: bool = False) -> None:
        if not self.held:
            self.held = True
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiting[0 if first else 1].append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed over just as the wait was given up: pass it on
            raise

    def release(self) -> None:
        for queue in self._waiting:
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # stays held: it passes to the waiter
                    return
        self.held = False


T = TypeVar("T")


class ThreadWriter:
    """A sqlite3 connection for the inbox's group commit, under the engine's write lock.

    The group is written on the event loop itself when SQLite can take it at once: a few dozen
    rows and a commit in WAL mode take a fraction of a millisecond, less than any hand-over to a
    thread, whose turn for the GIL under load costs milliseconds. That connection never waits
    (busy_timeout 0) and never checkpoints (the engine's connections do). When another process
    holds the database, the same work runs in a thread of its own instead, where waiting is fine.
    """

    def __init__(self, path: str, lock: WriteLock, prepare: Callable[[Any, Any], None]) -> None:
        self.path = path
        self.lock = lock
        self.prepare = prepare
        self._executor: ThreadPoolExecutor | None = None
        self._waiting: sqlite3.Connection | None = None  # the thread's, which may wait for a lock
        self._at_once: sqlite3.Connection | None = None  # the loop's, which never waits

    def _connect(self, *, wait: bool) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self.prepare(conn, None)
        if not wait:
            conn.execute("PRAGMA busy_timeout = 0")
            conn.execute("PRAGMA wal_autocheckpoint = 0")
        return conn

    @staticmethod
    def _transaction(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    def _in_thread(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._waiting is None:
            self._waiting = self._connect(wait=True)
        return self._transaction(self._waiting, work)

    async def run(self, work: Callable[[sqlite3.Connection], T], *, first: bool = True) -> T:
        """`work(conn)` in one transaction (`first`: ahead of other writers of this process)."""
        await asyncio.wait_for(self.lock.acquire(first=first), WAIT)
        try:
            if self._at_once is None:
                self._at_once = self._connect(wait=False)
            try:
                return self._transaction(self._at_once, work)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pmo-sqlite-writer")
            return await asyncio.get_running_loop().run_in_executor(self._executor, self._in_thread, work)
        finally:
            self.lock.release()

    def close(self) -> None:
        if self._at_once is not None:
            self._at_once.close()
        if self._executor is not None:
            if self._waiting is not None:
                self._executor.submit(self._waiting.close).result()
            self._executor.shutdown(wait=True)
        self._executor = self._waiting = self._at_once = None


def serialize_writes(engine: AsyncEngine) -> WriteLock:
    """Make the engine's transactions queue for one process-wide write lock (see module doc)."""
    lock = WriteLock()

    def before_execute(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if conn.info.get(_HELD) or not is_write(statement):
            return
        try:
            await_only(asyncio.wait_for(lock.acquire(first=_URGENT.get()), WAIT))
        except TimeoutError:
            raise OperationalError(statement[:60], None, Exception("database is locked")) from None
        conn.info[_HELD] = True

    def release(info: dict[str, Any]) -> None:
        if info.pop(_HELD, None):
            lock.release()

    sync = engine.sync_engine
    event.listen(sync, "before_cursor_execute", before_execute)
    # The transaction ends: its commit or rollback follows at once, so the next writer waits for
    # SQLite at most that long. A connection given back or dropped with a write open lets go too.
    event.listen(sync, "commit", lambda conn: release(conn.info))
    event.listen(sync, "rollback", lambda conn: release(conn.info))
    event.listen(
        sync.pool,
        "reset",
        lambda dbapi_connection, connection_record, reset_state: release(connection_record.info),
    )
    event.listen(
        sync.pool,
        "invalidate",
        lambda dbapi_connection, connection_record, exception: release(connection_record.info),
    )
    return lock
