"""PostgreSQL connections are pinged only after sitting idle (storage/idle_ping.py).

A connection the server dropped while it sat in the pool is replaced without the caller noticing;
one dropped while in steady use fails its one statement and the pool then starts afresh."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from storage import idle_ping
from storage.db import Database
from tests.conftest import PG_URL

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="PostgreSQL tests need TEST_DATABASE_URL (set by .ci/run)"),
]


async def _backend_pid(db: Database) -> int:
    async with db.sessions() as session:
        return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _terminate(pid: int) -> None:
    conn = await asyncpg.connect(PG_URL.replace("postgres://", "postgresql://", 1))
    try:
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()


async def test_a_connection_dropped_while_idle_is_replaced_unnoticed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(idle_ping, "IDLE_PING", 0.0)  # every checkout counts as after a long idle
    db = Database(PG_URL)
    try:
        first = await _backend_pid(db)
        await _terminate(first)
        second = await _backend_pid(db)  # the ping found it dead: a new connection, no error
        assert second != first
    finally:
        await db.dispose()


async def test_a_connection_in_steady_use_is_not_pinged_and_a_drop_costs_one_statement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(idle_ping, "IDLE_PING", 3600.0)
    db = Database(PG_URL)
    try:
        first = await _backend_pid(db)
        await _terminate(first)
        with pytest.raises(DBAPIError):
            await _backend_pid(db)  # not pinged: the statement meets the dropped connection
        assert await _backend_pid(db) != first  # and the pool started afresh
    finally:
        await db.dispose()
