"""The database: URL handling, the async engine, sessions and migrations."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

MIGRATIONS = Path(__file__).with_name("migrations")
# The newest migration's revision. A database already there is not handed to Alembic at all,
# which keeps Alembic (about 11 MB) out of the memory of every start after the first.
# tests/integration/test_migrations.py checks this against Alembic's own head.
SCHEMA_HEAD = "0004_clock"


class DatabaseUrlError(ValueError):
    """A DATABASE_URL that cannot be used; the message says why in one line."""


def async_url(raw: str) -> URL:
    """Accept sqlite://, postgresql:// and Heroku's postgres:// and pick the async driver."""
    raw = raw.strip()
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://") :]
    try:
        url = make_url(raw)
    except ArgumentError:
        raise DatabaseUrlError(
            "DATABASE_URL is not a database URL (expected sqlite:///FILE or postgresql://USER@HOST/DB)"
        ) from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        return url.set(drivername="sqlite+aiosqlite")
    if backend == "postgresql":
        if not url.host and not url.query.get("host"):
            raise DatabaseUrlError("DATABASE_URL for PostgreSQL names no host")
        if not url.database:
            raise DatabaseUrlError("DATABASE_URL for PostgreSQL names no database")
        return url.set(drivername="postgresql+asyncpg")
    raise DatabaseUrlError(f"DATABASE_URL uses '{backend}'; only sqlite and postgresql are supported")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Database:
    """One engine and session factory per process; a session per use case."""

    def __init__(self, url: str, echo: bool = False) -> None:
        self.url = async_url(url)
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def safe_url(self) -> str:
        """The URL with any password hidden, for logs."""
        return self.url.render_as_string(hide_password=True)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - any failure means "not healthy"
            return False

    async def schema_version(self) -> str | None:
        """The Alembic revision the database is at; None for an empty database."""
        try:
            async with self.engine.connect() as conn:
                return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        except DBAPIError:
            return None  # no alembic_version table yet

    async def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        if await self.schema_version() == SCHEMA_HEAD:
            return
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        async with self.engine.begin() as conn:

            def upgrade(sync_conn: Any) -> None:
                cfg.attributes["connection"] = sync_conn
                command.upgrade(cfg, "head")

            await conn.run_sync(upgrade)

    async def dispose(self) -> None:
        await self.engine.dispose()


def utcnow() -> dt.datetime:
    """Naive UTC now, the form every stored time takes."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
