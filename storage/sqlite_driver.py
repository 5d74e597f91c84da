"""SQLAlchemy's aiosqlite driver with one hand-over to aiosqlite's thread per statement, not four.

aiosqlite runs every call on a thread of its own, and SQLAlchemy's adapter makes one call for
each step of a statement: open a cursor, execute, fetch the rows, close the cursor. Each is a
hand-over to that thread and back (a queue, a future, a wake-up of the event loop), and under load
the thread's turn for the GIL is the expensive part: a rating click's transaction (five statements,
a commit, the pool's rollback on return) made about twenty, a fifth of the event loop's time.

Here a statement is one call that does all four steps in the thread and brings back the rows and
the cursor's attributes. A commit or rollback with no transaction open (a transaction that only
read, and the pool's reset of every connection given back) is not handed over at all: sqlite3
would do nothing with it either. Everything else (connecting, server-side cursors, errors) is the
stock adapter's.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT, await_

_Outcome = tuple[Any, list[Any], int, int | None]  # description, rows, rowcount, lastrowid


def _statement(conn: sqlite3.Connection, many: bool, operation: str, parameters: Any) -> _Outcome:
    """In aiosqlite's thread: the whole statement, its rows read and its cursor closed."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statements each take one trip to aiosqlite's thread."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")
    _awaitable_cursor_close = False  # nothing stays open in the thread after a statement

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # Not the base class's: it opens an aiosqlite cursor right away (a trip of its own).
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass  # rows are read in full by the statement; there is nothing to size

    async def _async_soft_close(self) -> None:
        return None  # the rows are already here and the thread's cursor is closed

    def close(self) -> None:
        self._rows.clear()

    async def _run(self, many: bool, operation: str, parameters: Any) -> None:
        async with self._adapt_connection._execute_mutex:
            aio = self._connection
            outcome: _Outcome = await aio._execute(_statement, aio._conn, many, operation, parameters)
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        return self._statement(False, operation, parameters)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        return self._statement(True, operation, seq_of_parameters)

    def _statement(self, many: bool, operation: Any, parameters: Any) -> Any:
        try:
            return await_(self._run(many, operation, parameters))
        except Exception as error:  # noqa: BLE001 - re-raised as the DBAPI's error, like the stock cursor
            self._adapt_connection._handle_exception(error)


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """The stock connection, with one-trip cursors and no trip to end a transaction never begun."""

    __slots__ = ()
    _cursor_cls = OneHopCursor

    def _in_transaction(self) -> bool:
        raw = self._connection._connection  # the sqlite3 connection; None once closed
        return raw is None or raw.in_transaction  # closed: let the stock code say so

    def commit(self) -> None:
        if self._in_transaction():
            super().commit()

    def rollback(self) -> None:
        if self._in_transaction():
            super().rollback()


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module to give `create_async_engine(..., module=...)` for sqlite+aiosqlite."""

    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        stock = super().connect(*arg, **kw)
        return OneHopConnection(self, stock._connection)


def one_hop_dbapi() -> OneHopDBAPI:
    import aiosqlite

    return OneHopDBAPI(aiosqlite, sqlite3)
