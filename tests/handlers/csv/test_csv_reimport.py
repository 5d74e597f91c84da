"""Re-importing one's own export never duplicates check-ins (CONTRACT.md section 6).

The clock opens check-ins at a time with microseconds, files hold whole seconds: check-ins are
stored to the second, and an import matches sent_at to the second, so that databases written
before that match their own exports too.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from handlers.clock.ledger import claim_occurrence
from handlers.value.report import compute_value
from storage.db import Database
from storage.models import KIND_TASTE, Checkin
from storage.queries import find_project
from tests.handlers.csv.test_csv import count, csv_text, messages, org_of, run_export, run_import
from tests.helpers import make_world


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


async def test_a_checkin_the_clock_opened_imports_again_without_a_duplicate(db: Database) -> None:
    """The clock's time has microseconds; the export has seconds; the row must still match."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=654321) - dt.timedelta(minutes=1)
    world = await make_world(db, today=now.date())
    async with db.transaction() as session:
        claim = await claim_occurrence(
            session,
            world.project.id,
            KIND_TASTE,
            now.replace(second=0, microsecond=0),
            now.date(),
            now=now,
            lease_until=now + dt.timedelta(minutes=1),
            late_before=now - dt.timedelta(hours=6),
        )
    assert claim.outcome == "send" and claim.checkin_id is not None
    view = await world.act(world.sponsor, "taste_4", {"checkin": claim.checkin_id, "rating": 4})
    assert view.ok, view.as_text()
    stored = await world.get(Checkin, claim.checkin_id)
    assert stored.sent_at == now.replace(microsecond=0)  # stored to the second
    assert stored.answered_at is not None
    await _export_import_export(db, world.org_id, stored.answered_at.date())


async def test_checkins_stored_with_microseconds_match_their_export_to_the_second(db: Database) -> None:
    """A database written before times were stored to the second still matches its own export."""
    now = dt.datetime(2026, 3, 10, 9, 0)
    world = await make_world(db, today=now.date())
    async with db.transaction() as session:
        for minute, micro, rating in ((0, 999999, 4), (1, 1, 2), (2, 500000, None)):
            sent = now + dt.timedelta(minutes=minute, microseconds=micro)
            answered = None if rating is None else sent + dt.timedelta(minutes=30)
            session.add(Checkin(org_id=world.org_id, project_id=world.project.id, sponsor_id=world.sponsor.id,
                                kind=KIND_TASTE, status="answered" if rating else "open", sent_at=sent,
                                answered_at=answered, rating=rating, comment=None, message_refs={}))  # fmt: skip
    await _export_import_export(db, world.org_id, now.date(), checkins=3)


async def _export_import_export(db: Database, org: int, today: dt.date, checkins: int = 1) -> None:
    async with db.transaction() as session:
        before = await compute_value(session, org, today=today)
    exported = await run_export(db, org, "responses")
    assert len(cells(exported)) == checkins + 1
    again = await run_import(db, org, "responses", exported)
    assert again.ok and (again.created, again.updated, again.skipped) == (0, 0, checkins), again
    assert await count(db, Checkin) == checkins
    async with db.transaction() as session:
        after = await compute_value(session, org, today=today)
    assert after["satisfaction"] == before["satisfaction"]
    assert after["satisfaction"]["responses"] == checkins - (checkins == 3)  # the open one has no answer
    assert await run_export(db, org, "responses") == exported
    third = await run_import(db, org, "responses", exported)
    assert third.ok and third.created == 0, messages(third)


async def test_a_changed_answer_updates_the_checkin_stored_with_microseconds(db: Database) -> None:
    org = await org_of(db)
    assert (await run_import(db, org, "projects", csv_text("projects", "Apollo,ana@example.com,,,,"))).ok
    async with db.transaction() as session:
        apollo = await find_project(session, org, "Apollo")
        assert apollo is not None
        session.add(Checkin(org_id=org, project_id=apollo.id, sponsor_id=apollo.sponsor_id, kind=KIND_TASTE,
                            status="open", sent_at=dt.datetime(2026, 1, 6, 9, 30, 0, 250000),
                            message_refs={}))  # fmt: skip
    row = "Apollo,ana@example.com,2026-01-06T09:30:00Z,2026-01-06T10:00:00Z,5,Nice"
    result = await run_import(db, org, "responses", csv_text("responses", row))
    assert (result.created, result.updated) == (0, 1), result
    assert await count(db, Checkin) == 1
    near = "Apollo,ana@example.com,2026-01-06T09:30:01Z,,,"  # the next second is another check-in
    assert (await run_import(db, org, "responses", csv_text("responses", near))).created == 1
