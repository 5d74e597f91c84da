"""The painpoints file's `owner,fix,confirmed` columns (CONTRACT.md section 6), and its older eleven-column form."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from handlers.csv.api import COLUMNS
from storage.db import Database
from storage.models import PainPoint, PainPointEvent, Person, Project
from storage.queries import add_identity, add_person
from tests.handlers.csv.test_csv import count, csv_text, messages, org_of, run_export, run_import

REPORTED = "Apollo,ana@example.com,2026-01-10T08:00:00Z"
LOOP_ROWS = (
    f"{REPORTED},Slow approvals,4,resolved,2026-01-20T08:00:00Z,Approval wait (h),48,6,lower,lena@example.com,"
    "Credit checks at order entry,yes",
    "Apollo,ana@example.com,2026-01-11T08:00:00Z,Stale test data,3,in_progress,,,,,lower,U0LENA,,",
    "Apollo,ana@example.com,2026-01-12T08:00:00Z,No staging,5,open,2026-01-15T00:00:00Z,,,,lower,"
    "lena@example.com,'=A staging box,no",  # ❌ Not yet: back to open, resolved_at kept
    "Apollo,ana@example.com,2026-01-13T08:00:00Z,Unowned,2,open,,,,,lower,,,",
)


async def staff(db: Database, org: int) -> None:
    """Lena is PMO staff, known by her e-mail and by a Slack id; Sam is a plain member."""
    async with db.transaction() as session:
        lena = await add_person(session, org, "Lena", email="lena@example.com", role="staff")
        await add_identity(session, lena, "slack", "U0LENA")
        sam = await add_person(session, org, "Sam", email="sam@example.com")
        await add_identity(session, sam, "slack", "U0SAM")


def test_the_painpoints_file_ends_with_the_loops_columns() -> None:
    assert COLUMNS["painpoints"][-3:] == ("owner", "fix", "confirmed") and len(COLUMNS["painpoints"]) == 14


async def test_owner_fix_and_confirmed_are_imported(db: Database) -> None:
    org = await org_of(db)
    await staff(db, org)
    result = await run_import(db, org, "painpoints", csv_text("painpoints", *LOOP_ROWS))
    assert result.ok and result.created == 4, messages(result)
    async with db.transaction() as session:
        lena = await session.scalar(select(Person.id).where(Person.name == "Lena"))
        points = list(await session.scalars(select(PainPoint).order_by(PainPoint.reported_at)))
        assert [(p.status, p.owner_id, p.fix, p.confirmed) for p in points] == [
            ("resolved", lena, "Credit checks at order entry", True),
            ("in_progress", lena, None, None),
            ("open", lena, "=A staging box", False),
            ("open", None, None, None),
        ]
        assert points[2].resolved_at == dt.datetime(2026, 1, 15)


async def test_the_round_trip_is_exact_and_creates_nothing(db: Database) -> None:
    org = await org_of(db)
    await staff(db, org)
    assert (await run_import(db, org, "painpoints", csv_text("painpoints", *LOOP_ROWS))).ok
    exported = await run_export(db, org, "painpoints")
    assert exported == csv_text("painpoints", *LOOP_ROWS).replace(",U0LENA,", ",lena@example.com,")
    before = {model: await count(db, model) for model in (PainPoint, PainPointEvent, Person, Project)}
    again = await run_import(db, org, "painpoints", exported)
    assert (again.created, again.updated, again.skipped) == (0, 0, 4)
    assert {model: await count(db, model) for model in before} == before
    assert await run_export(db, org, "painpoints") == exported


async def test_an_eleven_column_file_imports_and_keeps_the_loop_as_stored(db: Database) -> None:
    org = await org_of(db)
    await staff(db, org)
    assert (await run_import(db, org, "painpoints", csv_text("painpoints", LOOP_ROWS[0]))).ok
    older = csv_text(
        "painpoints",
        f"{REPORTED},Slow approvals,4,resolved,2026-01-20T08:00:00Z,Approval wait (h),48,5,lower",
        "Apollo,ana@example.com,2026-01-14T08:00:00Z,New one,3,open,,,,,",
    )
    assert older.startswith(",".join(COLUMNS["painpoints"][:11]) + "\n")
    result = await run_import(db, org, "painpoints", older)
    assert (result.created, result.updated, result.skipped) == (1, 1, 0), messages(result)
    async with db.transaction() as session:
        points = list(await session.scalars(select(PainPoint).order_by(PainPoint.reported_at)))
        assert [(p.after, p.owner_id is not None, p.fix, p.confirmed) for p in points] == [
            (5, True, "Credit checks at order entry", True),
            (None, False, None, None),
        ]


async def test_an_empty_owner_fix_or_confirmed_in_a_full_file_clears_it(db: Database) -> None:
    org = await org_of(db)
    await staff(db, org)
    assert (await run_import(db, org, "painpoints", csv_text("painpoints", LOOP_ROWS[0]))).ok
    cleared = f"{REPORTED},Slow approvals,4,resolved,2026-01-20T08:00:00Z,Approval wait (h),48,6,lower,,,"
    assert (await run_import(db, org, "painpoints", csv_text("painpoints", cleared))).updated == 1
    async with db.transaction() as session:
        point = await session.scalar(select(PainPoint))
        assert point is not None and (point.owner_id, point.fix, point.confirmed) == (None, None, None)


async def test_bad_owner_and_confirmed_values_are_named_by_line(db: Database) -> None:
    org = await org_of(db)
    await staff(db, org)
    row = (
        "Apollo,ana@example.com,2026-01-{day}T08:00:00Z,Point {day},3,{status},,,,,lower,{owner},,{confirmed}"
    )
    cases = [
        (dict(owner="sam@example.com", confirmed=""), "owner 'sam@example.com' is not PMO staff (an admin can run 'staff add' first)"),
        (dict(owner="U0SAM", confirmed=""), "owner 'U0SAM' is not PMO staff (an admin can run 'staff add' first)"),
        (dict(owner="nobody@example.com", confirmed=""), "owner 'nobody@example.com' is not PMO staff (an admin can run 'staff add' first)"),
        (dict(owner="lena@", confirmed=""), "owner 'lena@' is not an e-mail address"),
        (dict(owner="lena@example.com", confirmed="maybe"), "confirmed 'maybe' is not one of yes, no"),
        (dict(owner="", confirmed="", status="in_progress"), "status is in_progress but owner is empty"),
    ]  # fmt: skip
    rows = [
        row.format(day=f"{day:02d}", **{"status": "open", **values})
        for day, (values, _reason) in enumerate(cases, start=10)
    ]
    before = {model: await count(db, model) for model in (PainPoint, Person, Project)}
    result = await run_import(db, org, "painpoints", csv_text("painpoints", *rows))
    assert messages(result) == [f"line {line}: {reason}" for line, (_, reason) in enumerate(cases, start=2)]
    assert {model: await count(db, model) for model in before} == before


async def test_the_older_header_is_named_when_a_header_is_wrong(db: Database) -> None:
    org = await org_of(db)
    result = await run_import(db, org, "painpoints", "project,reported_by\nApollo,ana@example.com\n")
    assert messages(result)[0].startswith(
        f"line 1: the header must be exactly {','.join(COLUMNS['painpoints'])} (or its first 11 columns); found"
    )
