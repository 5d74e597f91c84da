"""The migrations and the models describe the same schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from storage.db import MIGRATIONS, SCHEMA_HEAD, Database
from storage.models import Base

ROOT = Path(__file__).resolve().parents[2]


async def test_migrated_schema_matches_the_models(db: Database) -> None:
    def diff(sync_conn: Any) -> list[Any]:
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with db.engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == []


async def test_migrating_again_changes_nothing(db: Database) -> None:
    async with db.engine.connect() as conn:
        before = await conn.run_sync(lambda c: sorted(inspect(c).get_table_names()))
    await db.migrate()
    async with db.engine.connect() as conn:
        after = await conn.run_sync(lambda c: sorted(inspect(c).get_table_names()))
    assert before == after
    assert {"organisations", "people", "projects", "checkins", "deliveries", "outcomes"} <= set(after)


async def test_every_table_belongs_to_an_organisation() -> None:
    for table in Base.metadata.sorted_tables:
        if table.name in ("organisations", "processed_events", "alembic_version"):
            continue
        if table.name == "inbox":  # work in flight, recorded before its organisation is known
            continue
        if table.name.startswith("slack_"):
            continue
        assert "org_id" in table.columns, f"{table.name} has no org_id"


def test_schema_head_is_alembics_one_and_only_head() -> None:
    """storage.db.SCHEMA_HEAD must move with every new migration, or `serve` would skip it."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_heads() == [SCHEMA_HEAD]


async def test_a_database_at_an_older_revision_is_brought_to_the_head(db: Database) -> None:
    from alembic import command
    from alembic.config import Config

    def downgrade(sync_conn: Any) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = sync_conn
        command.downgrade(config, "0001")

    async with db.engine.begin() as conn:
        await conn.run_sync(downgrade)
    assert await db.schema_version() == "0001"
    await db.migrate()
    assert await db.schema_version() == SCHEMA_HEAD
    async with db.engine.connect() as conn:
        columns = await conn.run_sync(lambda c: {col["name"] for col in inspect(c).get_columns("deliveries")})
    assert "slot" in columns


def test_a_start_on_an_up_to_date_database_does_not_load_alembic(database_url: str) -> None:
    code = (
        "import asyncio, sys\n"
        "from storage.db import Database\n"
        "async def main():\n"
        f"    db = Database({database_url!r})\n"
        "    await db.migrate()\n"
        "    await db.dispose()\n"
        "asyncio.run(main())\n"
        "print('alembic' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False"
