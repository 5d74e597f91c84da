"""The PostgreSQL import of responses: COPY into a staging table, then set-based writes.

Same promises as every import (all rows or none, each bad row by its physical line), checked here
on files big enough that the rows were already streamed into the stage when the bad one came, and
the bulk-load mode (`storage.bulk_copy.loading`): indexes and foreign keys dropped and made again
exactly, a row that breaks a foreign key still refused, a busy table left alone. PostgreSQL only
(skipped without TEST_DATABASE_URL); the SQLite path is the rest of this folder.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from handlers.csv import staged
from handlers.csv.api import import_csv_file
from storage import bulk_copy
from storage.db import Database
from storage.models import Answer, Checkin, Person, Project
from tests.handlers.csv.test_csv import count, messages, org_of, run_import, write_responses_csv

ROWS = 20_000

_SCHEMA = text(
    "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid IN ('checkins'::regclass, 'answers'::regclass)"
    " UNION ALL SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)"
    " FROM pg_constraint WHERE conrelid IN ('checkins'::regclass, 'answers'::regclass) ORDER BY 1"
)

HELD = text(
    "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND mode = 'AccessExclusiveLock'"
    " AND relation IN ('checkins'::regclass, 'answers'::regclass)"
)


@pytest.fixture
async def pg(db: Database) -> AsyncIterator[Database]:
    if db.is_sqlite:
        pytest.skip("the COPY path is PostgreSQL's; SQLite keeps its own")
    yield db


def physical_lines(path: Path) -> list[int]:
    """The physical line each data row starts on (comments hold line breaks, so rows ≠ lines)."""
    with path.open(encoding="utf-8", newline="") as stream:
        reader = csv.reader(stream)
        starts, last = [], 0
        for _row in reader:
            starts.append(last + 1)
            last = reader.line_num
    return starts[1:]


def replace_rows(path: Path, changes: dict[int, list[str]]) -> None:
    """Rewrite data rows (0-based) of a file with other cells."""
    with path.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.reader(stream))
    for index, cells in changes.items():
        rows[index + 1] = cells
    with path.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out, lineterminator="\n").writerows(rows)


async def schema(db: Database) -> list[str]:
    async with db.transaction() as session:
        return list(await session.scalars(_SCHEMA))


async def test_the_staging_table_is_what_writes_the_rows(pg: Database, tmp_path: Path) -> None:
    org = await org_of(pg)
    path = write_responses_csv(tmp_path / "r.csv", 300, projects=10)
    async with pg.transaction() as session:
        result = await import_csv_file(session, org, "responses", path)
        staged_rows = await session.scalar(text(f"SELECT count(*) FROM {staged.STAGE}"))
    assert result.ok and result.created == 300 and staged_rows == 300
    async with pg.transaction() as session:  # ON COMMIT DROP: gone with the transaction
        assert await session.scalar(text(f"SELECT to_regclass('pg_temp.{staged.STAGE}')")) is None


async def test_bad_rows_after_thousands_of_good_ones_import_nothing(pg: Database, tmp_path: Path) -> None:
    org = await org_of(pg)
    path = write_responses_csv(tmp_path / "r.csv", ROWS, projects=40)
    lines = physical_lines(path)
    replace_rows(
        path,
        {
            12_345: [
                "Project 001",
                "sponsor1@example.com",
                "2020-01-09T14:45:00Z",
                "2020-01-09T15:00:00Z",
                "6",
                "",
            ],
            19_998: ["Project 002", "sponsor1@example.com", "yesterday", "", "", ""],
        },
    )
    result = await run_import(pg, org, "responses", path)
    assert messages(result) == [
        f"line {lines[12_345]}: rating '6' is not 1–5",
        f"line {lines[19_998]}: sent_at 'yesterday' is not an ISO-8601 date and time (e.g. 2026-01-31T09:30:00Z)",
    ]
    assert lines[19_998] > 19_999  # comments with line breaks came before it
    for model in (Checkin, Answer, Project, Person):
        assert await count(pg, model) == 0


async def test_a_repeated_row_is_named_by_both_lines(pg: Database, tmp_path: Path) -> None:
    org = await org_of(pg)
    path = write_responses_csv(tmp_path / "r.csv", 5_000, projects=20)
    lines = physical_lines(path)
    with path.open(encoding="utf-8", newline="") as stream:
        first = list(csv.reader(stream))[1 + 100]
    replace_rows(path, {4_000: first})
    result = await run_import(pg, org, "responses", path)
    assert messages(result) == [
        f"line {lines[4_000]}: same project, sponsor and sent_at as line {lines[100]}"
    ]
    assert await count(pg, Checkin) == 0


async def test_a_nul_byte_is_a_bad_row_not_a_database_error(pg: Database, tmp_path: Path) -> None:
    """PostgreSQL text cannot hold NUL; the row is refused with its line before COPY would choke on it."""
    org = await org_of(pg)
    path = write_responses_csv(tmp_path / "r.csv", ROWS, projects=40)
    lines = physical_lines(path)
    replace_rows(
        path,
        {
            15_000: ["Project 000", "sponsor1@example.com", "2020-01-11T11:00:00Z", "2020-01-11T12:00:00Z", "4",
                     "Go\x00od"],
            15_001: ["Proj\x00ect 001", "sponsor1@example.com", "2020-01-11T11:01:00Z", "", "", ""],
        },
    )  # fmt: skip
    result = await run_import(pg, org, "responses", path)
    assert messages(result) == [
        f"line {lines[15_000]}: comment contains a control character (U+0000)",
        f"line {lines[15_001]}: project contains a control character (U+0000)",
    ]
    assert await count(pg, Checkin) == await count(pg, Person) == 0


async def test_twenty_thousand_rows_then_again_then_changed(pg: Database, tmp_path: Path) -> None:
    org = await org_of(pg)
    path = write_responses_csv(tmp_path / "r.csv", ROWS, projects=40)
    result = await run_import(pg, org, "responses", path)
    assert (result.created, result.updated, result.skipped) == (ROWS, 0, 0)
    assert (result.projects_created, result.people_created) == (40, 20)
    answered = await count(pg, Checkin, Checkin.status == "answered")
    assert await count(pg, Answer) == answered == await count(pg, Checkin, Checkin.answered_at.is_not(None))
    assert (
        await count(pg, Checkin, Checkin.status == "closed", Checkin.closed_at.is_not(None))
        == ROWS - answered
    )
    again = await run_import(pg, org, "responses", path)
    assert (again.created, again.updated, again.skipped) == (0, 0, ROWS)
    with path.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.reader(stream))[1:]
    unanswered = [i for i, cells in enumerate(rows) if not cells[3]][:3]
    changes = {i: [*rows[i][:3], "2021-06-01T00:00:00Z", "2", "Changed"] for i in unanswered}
    replace_rows(path, changes)
    changed = await run_import(pg, org, "responses", path)
    assert (changed.created, changed.updated, changed.skipped) == (0, 3, ROWS - 3)
    assert await count(pg, Answer) == answered + 3
    assert await count(pg, Checkin, Checkin.comment == "Changed", Checkin.status == "answered") == 3


async def test_a_big_load_rebuilds_indexes_and_keys_exactly(
    pg: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staged, "REBUILD_AT_LEAST", 1_000)
    org = await org_of(pg)
    before = await schema(pg)
    assert any("FOREIGN KEY" in entry for entry in before) and any("INDEX" in entry for entry in before)
    path = write_responses_csv(tmp_path / "r.csv", 5_000, projects=20)
    async with pg.transaction() as session:
        result = await import_csv_file(session, org, "responses", path)
        locks = await session.scalar(HELD)
    assert result.created == 5_000 and locks == 2  # the load mode ran
    assert await schema(pg) == before
    async with pg.transaction() as session:
        answered = await session.scalar(select(Checkin.id).where(Checkin.answered_at.is_not(None)).limit(1))
        plan = "\n".join(
            await session.scalars(text(f"EXPLAIN SELECT * FROM answers WHERE checkin_id = {answered}"))
        )
    assert "ix_answers_checkin_id" in plan  # the rebuilt index is used


async def test_the_load_mode_still_refuses_a_broken_foreign_key(pg: Database) -> None:
    org = await org_of(pg)
    with pytest.raises(IntegrityError):
        async with pg.transaction() as session, bulk_copy.loading(session, ("checkins",)) as dropped:
            assert dropped
            await session.execute(
                text("INSERT INTO checkins (org_id, project_id, sponsor_id, kind, status, sent_at, message_refs)"
                     " VALUES (:org, 999999, 999999, 'taste', 'open', now(), '{}')"),
                {"org": org},
            )  # fmt: skip
    assert await count(pg, Checkin) == 0
    assert any("fk_checkins_project_id_projects" in entry for entry in await schema(pg))


async def test_a_busy_table_keeps_its_indexes_and_the_import_goes_on(
    pg: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staged, "REBUILD_AT_LEAST", 1_000)
    monkeypatch.setattr(bulk_copy, "LOCK_WAIT_S", 0.2)
    org = await org_of(pg)
    before = await schema(pg)
    path = write_responses_csv(tmp_path / "r.csv", 3_000, projects=10)
    reader = Database(pg.url.render_as_string(hide_password=False))
    try:
        async with reader.transaction() as other:
            await other.execute(text("SELECT count(*) FROM checkins"))  # holds ACCESS SHARE until it ends
            async with pg.transaction() as session:
                result = await asyncio.wait_for(import_csv_file(session, org, "responses", path), 60)
                assert await session.scalar(HELD) == 0  # the load mode gave way to the reader
    finally:
        await reader.dispose()
    assert result.ok and result.created == 3_000
    assert await schema(pg) == before
