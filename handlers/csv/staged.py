"""Responses on PostgreSQL: one pass over the file COPYs its rows into a staging table, SQL writes them.

The SQLite path (`handlers.csv.store`) reads the file twice and sends batches of INSERTs; on
PostgreSQL that cost two minutes for a million rows, almost all of it the database's own
per-statement and per-index work. Here the first (and only) pass streams every good row into a
temporary table with COPY while the rows are checked, exactly as before (`handlers.csv.importer`);
when the file is good, a few set-based statements resolve names to ids, match rows already
stored, update changed answers and insert the new check-ins with their answer history. The rules
are the store's: a row is the same check-in when project, sponsor and `sent_at` agree to the
second (the oldest such check-in wins), an unanswered row never erases an answer, a new row is
answered, closed seven days after sending when that is past, or open.

A big load into a table that holds fewer rows (a first import of years of history) rebuilds the
check-ins' secondary indexes instead of updating nine of them a row at a time
(`storage.bulk_copy.indexes_rebuilt`): 14 s of index builds against 40 s of index updates for a
million rows on the reference machine. It holds the table for the rest of the import, which is why
it is only done when it pays, and skipped when the table is busy.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AsyncExitStack
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import DateTime, Interval

from handlers.csv.refs import Refs
from handlers.csv.rows import ResponseRow, Row
from handlers.csv.store import CLOSE_AFTER, Counts, _resolve_names, _with_taste_history
from storage.bulk_copy import copy_rows, loading, row_estimate
from storage.db import utcnow
from storage.models import KIND_TASTE
from storage.queries import name_key

STAGE = "csv_stage"
REBUILD_AT_LEAST = 100_000  # new rows before rebuilding indexes is worth holding the table
REBUILD_SHARE = 0.5  # … and at least this share of the rows the table already holds

_STAGE_COLUMNS = ("line", "p", "s", "sent_at", "answered_at", "rating", "comment")

_CREATE = (
    f"DROP TABLE IF EXISTS {STAGE}, csv_project_ids, csv_person_ids, csv_keyed",
    f"CREATE TEMPORARY TABLE {STAGE} (line integer, p integer, s integer, sent_at timestamp,"
    " answered_at timestamp, rating integer, comment text) ON COMMIT DROP",
    "CREATE TEMPORARY TABLE csv_project_ids (ix integer PRIMARY KEY, id integer, history boolean) ON COMMIT DROP",
    "CREATE TEMPORARY TABLE csv_person_ids (ix integer PRIMARY KEY, id integer) ON COMMIT DROP",
)

# Each staged row with its project's and sponsor's ids, and the stored check-in it is (old_id): the
# oldest taste check-in of the same project and sponsor sent within the row's second, found by one
# index seek a row (ix_checkins_project_next), and only in projects that have check-ins at all.
_KEYED = f"""
CREATE TEMPORARY TABLE csv_keyed ON COMMIT DROP AS
SELECT s.line, p.id AS project_id, q.id AS sponsor_id, s.sent_at, s.answered_at, s.rating, s.comment,
       m.id AS old_id
FROM {STAGE} s
JOIN csv_project_ids p ON p.ix = s.p
JOIN csv_person_ids q ON q.ix = s.s
LEFT JOIN LATERAL (
    SELECT c.id FROM checkins c
    WHERE p.history AND c.project_id = p.id AND c.sponsor_id = q.id AND c.kind = :taste
      AND c.sent_at >= s.sent_at AND c.sent_at < s.sent_at + interval '1 second'
    ORDER BY c.id LIMIT 1
) m ON true
"""

# A stored check-in whose answer the file changes: the file's answer becomes the current one, and history.
_CHANGE = text("""
WITH changed AS (
    UPDATE checkins c
    SET status = 'answered', answered_at = k.answered_at, rating = k.rating, comment = k.comment
    FROM csv_keyed k
    WHERE c.id = k.old_id AND k.answered_at IS NOT NULL
      AND (date_trunc('second', c.answered_at), c.rating, c.comment)
          IS DISTINCT FROM (k.answered_at, k.rating, k.comment)
    RETURNING c.id, k.sponsor_id, k.rating, k.comment, k.answered_at, k.line
)
INSERT INTO answers (org_id, checkin_id, person_id, rating, comment, answered_at)
SELECT :org, id, sponsor_id, rating, comment, answered_at FROM changed ORDER BY line
""")

# New check-ins in file order, and the answer history row of each answered one.
_CREATE_NEW = text("""
WITH new AS (
    INSERT INTO checkins (org_id, project_id, sponsor_id, kind, status, sent_at, answered_at, rating,
                          comment, closed_at, message_refs)
    SELECT :org, project_id, sponsor_id, :taste,
           CASE WHEN answered_at IS NOT NULL THEN 'answered'
                WHEN sent_at <= CAST(:closed_before AS timestamp) THEN 'closed' ELSE 'open' END,
           sent_at, answered_at, rating, comment,
           CASE WHEN answered_at IS NULL AND sent_at <= CAST(:closed_before AS timestamp)
                THEN sent_at + CAST(:close_after AS interval) END,
           '{}'
    FROM csv_keyed WHERE old_id IS NULL ORDER BY line
    RETURNING id, sponsor_id, rating, comment, answered_at
)
INSERT INTO answers (org_id, checkin_id, person_id, rating, comment, answered_at)
SELECT :org, id, sponsor_id, rating, comment, answered_at FROM new WHERE answered_at IS NOT NULL
""").bindparams(bindparam("closed_before", type_=DateTime()), bindparam("close_after", type_=Interval()))


class ResponsesStaging:
    """The staging table of one responses import: `load` during the pass, `write` once the file is good."""

    def __init__(self, session: AsyncSession, org_id: int) -> None:
        self.session, self.org_id = session, org_id
        self.projects: dict[str, int] = {}  # a project's name as written → its index in the stage
        self.people: dict[str, int] = {}  # a sponsor as written → index
        self.loaded = 0

    async def load(self, rows: Iterable[tuple[int, Row]]) -> None:
        """COPY the rows into the stage as they are read; the names become small integers."""
        for statement in _CREATE:
            await self.session.execute(text(statement))
        self.loaded = await copy_rows(self.session, STAGE, _STAGE_COLUMNS, self._records(rows))

    def _records(self, rows: Iterable[tuple[int, Row]]) -> Iterator[tuple[Any, ...]]:
        projects, people = self.projects, self.people
        for line, row in rows:
            assert isinstance(row, ResponseRow)
            p = projects.get(row.project)
            if p is None:
                p = projects[row.project] = len(projects)
            s = people.get(row.sponsor)
            if s is None:
                s = people[row.sponsor] = len(people)
            yield line, p, s, row.sent_at, row.answered_at, row.rating, row.comment

    async def write(self, refs: Refs) -> Counts:
        """Resolve names, match stored check-ins, change answers, insert the rest: all in SQL."""
        session, counts = self.session, Counts()
        people, by_key, created = await _resolve_names(session, self.org_id, refs, counts)
        with_history = await _with_taste_history(session, set(by_key.values()) - created)
        project_rows = [
            (ix, by_key[name_key(written)], by_key[name_key(written)] in with_history)
            for written, ix in self.projects.items()
        ]
        await copy_rows(session, "csv_project_ids", ("ix", "id", "history"), project_rows)
        person_rows = [(ix, people[token]) for token, ix in self.people.items()]
        await copy_rows(session, "csv_person_ids", ("ix", "id"), person_rows)
        await session.execute(text(_KEYED), {"taste": KIND_TASTE})
        await session.execute(text("ANALYZE csv_keyed"))  # temporary tables get no autovacuum statistics
        matched = 0
        if with_history:
            matched = await session.scalar(text("SELECT count(*) FROM csv_keyed WHERE old_id IS NOT NULL"))
            if matched:
                changed = await session.execute(_CHANGE, {"org": self.org_id})
                counts.updated = changed.rowcount
        counts.skipped = matched - counts.updated
        counts.created = self.loaded - matched
        async with AsyncExitStack() as stack:
            if await self._worth_rebuilding(counts.created):
                await stack.enter_async_context(loading(session, ("checkins", "answers")))
            params = {"org": self.org_id, "taste": KIND_TASTE, "closed_before": utcnow() - CLOSE_AFTER,
                      "close_after": CLOSE_AFTER}  # fmt: skip
            await session.execute(_CREATE_NEW, params)
        return counts

    async def _worth_rebuilding(self, new_rows: int) -> bool:
        if new_rows < REBUILD_AT_LEAST:
            return False
        return new_rows >= REBUILD_SHARE * await row_estimate(self.session, "checkins")
