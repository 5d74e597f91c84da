"""A benchmark's PostgreSQL database starts empty: its public schema is dropped and made again.

Without this a second run against the same database meets the first run's rows (a unique identity
already there) and stops with a traceback. SQLite benchmarks use a new file each run instead.
"""

from __future__ import annotations

from sqlalchemy import text

from storage.db import Database


async def fresh_schema(db: Database) -> None:
    """Empty a PostgreSQL database for a run (it must be one made for benchmarks); SQLite: nothing."""
    if db.is_sqlite:
        return
    async with db.engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
