"""The migrations and the models describe the same schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from storage.db import Database
from storage.models import Base


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
        if table.name.startswith("slack_"):
            continue
        assert "org_id" in table.columns, f"{table.name} has no org_id"
