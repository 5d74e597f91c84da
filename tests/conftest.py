"""Shared fixtures: a real, freshly migrated database per test, on SQLite and PostgreSQL.

The schema is migrated once per test session into a template (a file on SQLite, a database on
PostgreSQL when TEST_DATABASE_URL is set), and each test gets its own copy of it, so tests never
share rows and never pay for the migrations again. The PostgreSQL template's name carries the
process id, so two test runs on one server never drop each other's template.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from storage.db import Database

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
TEMPLATE = f"pmo_test_template_{os.getpid()}"

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _admin_dsn() -> str:
    url = make_url(PG_URL.replace("postgres://", "postgresql://", 1))
    return url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)


def _pg_url(database: str) -> str:
    url = make_url(PG_URL.replace("postgres://", "postgresql://", 1))
    return url.set(database=database).render_as_string(hide_password=False)


async def _pg_admin(*statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_admin_dsn())
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """Migrate a template database once per test session."""
    if not PG_URL:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL (set by .ci/run)")

    async def build() -> None:
        await _pg_admin(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)", f"CREATE DATABASE {TEMPLATE}")
        db = Database(_pg_url(TEMPLATE))
        await db.migrate()
        await db.dispose()

    asyncio.run(build())
    yield TEMPLATE
    asyncio.run(_pg_admin(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate one SQLite file per test session; tests copy it."""
    path = tmp_path_factory.mktemp("template") / "pmo.db"
    db = Database(f"sqlite:///{path}")

    async def migrate() -> None:
        await db.migrate()
        await db.dispose()

    asyncio.run(migrate())
    return path


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of a fresh, migrated database of the backend the test is parametrised with."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        path = tmp_path / "pmo.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"pmo_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f"CREATE DATABASE {name} TEMPLATE {template}"))
    yield _pg_url(name)
    asyncio.run(_pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that uses a database runs on SQLite, and on PostgreSQL when configured."""
    sqlite_only = any(m.name == "sqlite_only" for m in metafunc.definition.iter_markers())
    if "database_url" in metafunc.fixturenames and not sqlite_only:
        metafunc.parametrize("database_url", BACKENDS, indirect=True)
