"""Executemany inserts fast enough for a million rows, on SQLite and PostgreSQL alike.

Going through SQLAlchemy's per-row type processing costs about 20 µs a row, which is most of a
million-row import. On SQLite we hand plain tuples straight to the driver instead, with times
already in the text form SQLAlchemy itself stores (checked against its own type at start-up).
PostgreSQL goes through Core executemany, which asyncpg batches well.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

T = TypeVar("T")
SQLITE_CACHE_KIB = 32768  # page cache while bulk-writing: six indexes on checkins thrash the 2 MiB default
_SAMPLES = (dt.datetime(2026, 1, 31, 9, 30), dt.datetime(999, 12, 31, 23, 59, 59, 123456))


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of up to `size` items, so a whole file is never held in memory at once."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _same(value: Any) -> Any:
    return value


def _sqlite_time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(" ", "microseconds")


class Bulk:
    """Inserts rows given as tuples in a fixed column order, inside the session's transaction.

    Build the tuples with `time(value)` for a DateTime column (`time_type` is that column's
    type, against which the fast text form is checked once) and `empty_json` for `{}`: they are
    what this driver is given for those columns.
    """

    def __init__(self, conn: AsyncConnection, time_type: Any) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"
        self.time: Callable[[dt.datetime | None], Any] = _same
        self.empty_json: Any = {}
        if self.sqlite:
            self.empty_json = "{}"
            processor = time_type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
            fast_ok = processor is not None and all(processor(s) == _sqlite_time(s) for s in _SAMPLES)
            self.time = _sqlite_time if fast_ok else (processor or _same)

    @classmethod
    async def open(cls, session: AsyncSession, time_type: Any) -> Bulk:
        return cls(await session.connection(), time_type)

    async def insert(self, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.sqlite:
            await self.conn.exec_driver_sql(self._sql(table, columns), rows)
        else:
            await self.conn.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])

    async def insert_ids(
        self, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
    ) -> list[int]:
        """Insert and return the new primary keys in row order."""
        if not rows:
            return []
        if not self.sqlite:
            params = [dict(zip(columns, row, strict=True)) for row in rows]
            stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            return list((await self.conn.execute(stmt, params)).scalars())
        await self.conn.exec_driver_sql(self._sql(table, columns), rows)
        # SQLite has one writer at a time and this transaction holds the write lock, so the rows
        # just inserted got consecutive rowids ending at the largest one.
        last = (
            await self.conn.exec_driver_sql(f"SELECT max(id) FROM {self._quote(table.name)}")
        ).scalar_one()
        return list(range(last - len(rows) + 1, last + 1))

    @asynccontextmanager
    async def roomy_cache(self) -> AsyncIterator[None]:
        """On SQLite, a larger page cache for the duration of a big write, then the previous size again."""
        if not self.sqlite:
            yield
            return
        before = (await self.conn.exec_driver_sql("PRAGMA cache_size")).scalar_one()
        await self.conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        try:
            yield
        finally:
            await self.conn.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")

    def _quote(self, name: str) -> str:
        return self.conn.dialect.identifier_preparer.quote(name)

    def _sql(self, table: Table, columns: Sequence[str]) -> str:
        names = ", ".join(self._quote(c) for c in columns)
        marks = ", ".join("?" for _ in columns)
        return f"INSERT INTO {self._quote(table.name)} ({names}) VALUES ({marks})"
