"""PostgreSQL's bulk loading, reached from a session without naming the driver above storage.

A million rows sent as `INSERT` statements cost the database a statement each; `COPY` streams
them in its binary format in one command (`copy_rows`). Callers (the CSV import) ask `can_copy`
first and keep their executemany path for SQLite. `loading` is the rest of what `pg_restore` does
for a big load: indexes and foreign keys made again after the rows instead of kept up to date row
by row. Everything happens inside the session's own transaction, so it is rolled back with the rest.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

LOCK_WAIT_S = 5.0  # how long a big import waits for a table in use before keeping its indexes
LOCK_NOT_AVAILABLE = "55P03"
BUILD_MEMORY = "256MB"  # maintenance_work_mem while the indexes are built again (the default is 64MB)


def can_copy(session: AsyncSession) -> bool:
    """Whether this session's database takes COPY (PostgreSQL through asyncpg)."""
    bind = session.get_bind()
    return bind.dialect.name == "postgresql" and bind.dialect.driver == "asyncpg"


async def copy_rows(
    session: AsyncSession,
    table: str,
    columns: Sequence[str],
    records: Iterable[Sequence[Any]] | AsyncIterable[Sequence[Any]],
) -> int:
    """COPY `records` (tuples in `columns` order) into `table` (a temporary table is found too).

    `records` may be a generator that reads a file as it goes: asyncpg pulls from it while it
    sends, so the rows are never all in memory. Returns how many rows the database took.
    """
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    status: str = await driver.copy_records_to_table(table, records=records, columns=list(columns))
    return int(status.rsplit(" ", 1)[-1])


async def row_estimate(session: AsyncSession, table: str) -> int:
    """About how many rows `table` holds: the planner's figure, counted when it has none yet."""
    estimate = await session.scalar(
        text("SELECT reltuples::bigint FROM pg_class WHERE oid = CAST(:t AS regclass)"), {"t": table}
    )
    if estimate is None or estimate < 0:  # never vacuumed nor analysed
        estimate = await session.scalar(text(f"SELECT count(*) FROM {_quoted(session, table)}"))
    return int(estimate or 0)


@asynccontextmanager
async def loading(
    session: AsyncSession, tables: Sequence[str], wait_s: float | None = None
) -> AsyncIterator[bool]:
    """Load a lot of rows into `tables` as `pg_restore` does: without their plain indexes and foreign keys.

    Keeping nine indexes up to date is a million random page writes each, and each foreign key a
    million look-ups (21 of the 26 s of inserting a million check-ins with their answers, measured);
    building an index afterwards is one sort, and checking a foreign key one join. So the tables are
    locked (ACCESS EXCLUSIVE, until the transaction ends, so nobody sees them without their indexes),
    their plain indexes and foreign keys dropped, and after the block made again exactly as they were
    (`pg_get_indexdef`, `pg_get_constraintdef`): a row that broke a foreign key fails the load.
    Unique and primary-key indexes stay. Yields True; when the locks are not granted within `wait_s`
    (someone is using a table) nothing is dropped and the block runs with everything in place
    (yields False). All inside the caller's transaction: a rollback restores everything.
    """
    if not await _locked(session, tables, LOCK_WAIT_S if wait_s is None else wait_s):
        yield False
        return
    indexes: list[str] = []
    keys: list[tuple[str, str, str]] = []
    for table in tables:
        found = await session.execute(_PLAIN_INDEXES, {"t": table})
        for index, definition in found:
            indexes.append(definition)
            await session.execute(text(f"DROP INDEX {index}"))
        for name, definition in await session.execute(_FOREIGN_KEYS, {"t": table}):
            keys.append((table, name, definition))
            await session.execute(
                text(f"ALTER TABLE {_quoted(session, table)} DROP CONSTRAINT {_quoted(session, name)}")
            )
    yield True
    saved_memory = await session.scalar(text("SELECT current_setting('maintenance_work_mem')"))
    await session.execute(text(f"SET LOCAL maintenance_work_mem = '{BUILD_MEMORY}'"))
    for definition in indexes:
        await session.execute(text(definition))
    await session.execute(text("SELECT set_config('maintenance_work_mem', :v, true)"), {"v": saved_memory})
    for table, name, definition in keys:
        await session.execute(
            text(
                f"ALTER TABLE {_quoted(session, table)} ADD CONSTRAINT {_quoted(session, name)} {definition}"
            )
        )


_PLAIN_INDEXES = text(
    "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
    " WHERE i.indrelid = CAST(:t AS regclass) AND NOT i.indisunique AND NOT i.indisprimary"
    " ORDER BY i.indexrelid"
)
_FOREIGN_KEYS = text(
    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
    " WHERE conrelid = CAST(:t AS regclass) AND contype = 'f' ORDER BY conname"
)


async def _locked(session: AsyncSession, tables: Sequence[str], wait_s: float) -> bool:
    """Whether the tables could be locked for this transaction within `wait_s`."""
    names = ", ".join(_quoted(session, table) for table in tables)
    saved = await session.scalar(text("SELECT current_setting('lock_timeout')"))
    try:
        async with session.begin_nested():
            await session.execute(text(f"SET LOCAL lock_timeout = '{int(wait_s * 1000)}ms'"))
            await session.execute(text(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE"))
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        return False
    await session.execute(text("SELECT set_config('lock_timeout', :v, true)"), {"v": saved})
    return True


def _quoted(session: AsyncSession, table: str) -> str:
    return session.get_bind().dialect.identifier_preparer.quote(table)
