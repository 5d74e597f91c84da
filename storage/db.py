"""The database: URL handling, the async engine, sessions and migrations."""

from __future__ import annotations

import asyncio
import datetime as dt
import errno
import os
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from storage.idle_ping import ping_when_idle
from storage.sqlite_driver import one_hop_dbapi
from storage.sqlite_writes import ThreadWriter, serialize_writes

MIGRATIONS = Path(__file__).with_name("migrations")
# The newest migration's revision. A database already there is not handed to Alembic at all,
# which keeps Alembic (about 11 MB) out of the memory of every start after the first.
# tests/storage/test_migrations.py checks this against Alembic's own head.
SCHEMA_HEAD = "0009_webhooks"


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


def shown_url(raw: str) -> str:
    """DATABASE_URL as the user wrote it, with every password hidden: for one-line error messages."""
    try:
        shown = make_url(raw.strip()).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a URL)"
    return re.sub(r"(?i)([?&][a-z_]*pass[a-z_]*=)[^&]*", r"\1***", shown)


_SQLITE_REASONS = {
    "SQLITE_BUSY": "{file} is locked by another process",
    "SQLITE_LOCKED": "{file} is locked by another process",
    "SQLITE_NOTADB": "{file} is not a SQLite database",
    "SQLITE_CORRUPT": "{file} is damaged (not a sound SQLite database)",
    "SQLITE_FULL": "the disk holding {file} is full",
    "SQLITE_IOERR": "a disk I/O error on {file}",
    "SQLITE_PERM": "permission to {file} is denied",
}
# PostgreSQL errors that say the database cannot be used as configured (SQLSTATE classes and codes):
# connection exceptions, authorization, no such database, too many connections, server shutting down.
_PG_UNAVAILABLE = ("08", "28", "3D000", "53300", "57P01", "57P02", "57P03")
_UNREACHABLE = {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT}


def unavailable_reason(exc: BaseException, url: URL) -> str | None:
    """Why the database at `url` cannot be used, in a few words, when `exc` says so; else None.

    The one place that tells an unusable database (no such directory or database, read-only,
    locked, refused connection, unknown role) from a bug. No password is ever part of it.
    """
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        name = getattr(orig, "sqlite_errorname", None)
        if isinstance(name, str):
            return _sqlite_reason(name, url.database or "")
        code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        if isinstance(code, str) and code.startswith(_PG_UNAVAILABLE):
            message = str(orig).strip().splitlines()[0] if str(orig).strip() else code
            return f"PostgreSQL {message}"
        if exc.connection_invalidated:
            return "the connection to the database was lost"
        return None
    if url.get_backend_name() != "postgresql":
        return None
    where = f"{url.host or url.query.get('host') or 'localhost'}:{url.port or 5432}"
    if isinstance(exc, socket.gaierror):
        return f"PostgreSQL host '{url.host}' is not found"
    if isinstance(exc, ConnectionRefusedError):
        return f"PostgreSQL at {where} refuses connections (is it running?)"
    if isinstance(exc, OSError) and not isinstance(exc, TimeoutError) and exc.errno in _UNREACHABLE:
        return f"PostgreSQL at {where} cannot be reached: {exc.strerror or exc}"
    return None


def _sqlite_reason(name: str, database: str) -> str | None:
    path = Path(database)
    if name == "SQLITE_CANTOPEN":
        if not path.parent.is_dir():
            return f"directory {path.parent} does not exist"
        if path.is_dir():
            return f"{path} is a directory"
        if path.exists() and not os.access(path, os.R_OK):
            return f"{path} cannot be read (permission denied)"
        if not os.access(path.parent, os.W_OK):
            return f"directory {path.parent} is read-only"
        return f"{path} cannot be opened"
    if name.startswith("SQLITE_READONLY"):
        if path.exists() and not os.access(path, os.W_OK):
            return f"{path} is read-only"
        if not os.access(path.parent, os.W_OK):
            return f"directory {path.parent} is read-only"
        return f"{path} is read-only"
    for prefix, reason in _SQLITE_REASONS.items():
        if name.startswith(prefix):
            return reason.format(file=path)
    return None  # a constraint, a missing table…: a bug or a schema problem, not an unusable database


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
            kwargs["module"] = one_hop_dbapi()  # a statement is one trip to aiosqlite's thread
        else:
            kwargs.update(pool_size=10, max_overflow=10)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        self.direct: ThreadWriter | None = None  # SQLite: the one-hop writer (storage/sqlite_writes.py)
        if not self.is_sqlite:
            ping_when_idle(self.engine.sync_engine)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            lock = serialize_writes(self.engine)
            if self.url.database and self.url.database != ":memory:":
                self.direct = ThreadWriter(self.url.database, lock, _sqlite_pragmas)
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
        if self.direct is not None:
            await asyncio.to_thread(self.direct.close)
        await self.engine.dispose()


def utcnow() -> dt.datetime:
    """Naive UTC now, the form every stored time takes."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
