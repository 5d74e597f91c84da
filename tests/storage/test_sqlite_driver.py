"""SQLite statements in one trip to aiosqlite's thread (storage/sqlite_driver.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection
from sqlalchemy.exc import IntegrityError

from storage.db import Database


async def test_a_statement_gives_its_rows_count_and_id(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'd.db'}")
    try:
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER UNIQUE)"))
            inserted = await session.execute(text("INSERT INTO t (n) VALUES (:n)"), {"n": 7})
            assert inserted.lastrowid == 1
            await session.execute(text("INSERT INTO t (n) VALUES (:n)"), [{"n": 8}, {"n": 9}])
            changed = await session.execute(text("UPDATE t SET n = n + 10 WHERE n > 7"))
            assert changed.rowcount == 2
        async with db.transaction() as session:
            rows = (await session.execute(text("SELECT id, n FROM t ORDER BY id"))).all()
            assert [tuple(r) for r in rows] == [(1, 7), (2, 18), (3, 19)]
            returned = await session.execute(text("DELETE FROM t WHERE n = 7 RETURNING id"))
            assert returned.scalar_one() == 1
    finally:
        await db.dispose()


async def test_an_error_is_the_databases_and_rolls_the_transaction_back(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'd.db'}")
    try:
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE t (n INTEGER UNIQUE)"))
            await session.execute(text("INSERT INTO t VALUES (1)"))
        with pytest.raises(IntegrityError):
            async with db.transaction() as session:
                await session.execute(text("INSERT INTO t VALUES (2)"))
                await session.execute(text("INSERT INTO t VALUES (1)"))
        async with db.transaction() as session:
            assert (await session.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1
    finally:
        await db.dispose()


async def test_only_an_open_transaction_is_committed_or_rolled_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transaction that only read has nothing for sqlite3 to end, so no trip is made for it."""
    db = Database(f"sqlite:///{tmp_path / 'd.db'}")
    trips: list[str] = []
    for name in ("commit", "rollback"):
        stock = getattr(AsyncAdapt_aiosqlite_connection, name)

        def counted(self: AsyncAdapt_aiosqlite_connection, stock: Any = stock, name: str = name) -> None:
            trips.append(name)
            stock(self)

        monkeypatch.setattr(AsyncAdapt_aiosqlite_connection, name, counted)
    try:
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE t (n INTEGER)"))
        trips.clear()
        async with db.transaction() as session:
            await session.execute(text("SELECT count(*) FROM t"))
        assert trips == []
        async with db.transaction() as session:
            await session.execute(text("INSERT INTO t VALUES (1)"))
        assert trips == ["commit"]
    finally:
        await db.dispose()
