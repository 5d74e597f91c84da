"""The second pass of an import: write rows already known to be valid, in batches.

Re-importing a file never duplicates: each kind has a natural key (projects by name, outcomes by
project and metric, responses by project, sponsor and sent_at, pain points by project,
reported_at and text); a row whose key exists updates that row, or is skipped when nothing
differs. Two kinds of values are never erased by a re-import, because history hangs off them:
a check-in's answer (an unanswered row leaves an answered check-in alone) and an outcome's
current value (an empty `current` leaves the last measurement in place). A pain-point file with
only the older eleven columns leaves each pain point's owner, fix and confirmation as they are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, exists, func, insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.csv.bulk import Bulk, batched
from handlers.csv.refs import CHUNK, Refs, existing_projects, resolve_people, resolve_projects
from handlers.csv.rows import OlderPainpointRow, OutcomeRow, PainpointRow, ProjectRow, ResponseRow, Row
from storage.db import utcnow
from storage.models import KIND_TASTE, Answer, Checkin, Measurement, Outcome, PainPoint, Project
from storage.queries import name_key

BATCH = 10_000
SECOND = dt.timedelta(seconds=1)
CLOSE_AFTER = dt.timedelta(days=7)  # CONTRACT.md section 5: unanswered check-ins close after seven days

Rows = Iterable[tuple[int, Row]]

CHECKIN_COLUMNS = (
    "org_id",
    "project_id",
    "sponsor_id",
    "kind",
    "status",
    "sent_at",
    "answered_at",
    "rating",
    "comment",
    "closed_at",
    "message_refs",
)
ANSWER_COLUMNS = ("org_id", "checkin_id", "person_id", "rating", "comment", "answered_at")
# A pain-point row's fields after `project` are stored in columns of the same names, but its owner's id.
PAINPOINT_COLUMNS = ("org_id", "project_id", *PainpointRow._fields[1:11], "owner_id", "fix", "confirmed")


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    projects_created: int = 0
    people_created: int = 0


class ProjectIds:
    """Project id for a name as written in the file, normalising each distinct spelling once."""

    def __init__(self, by_key: Mapping[str, int]) -> None:
        self.by_key = by_key
        self.by_written: dict[str, int] = {}

    def __call__(self, written: str) -> int:
        pid = self.by_written.get(written)
        if pid is None:
            pid = self.by_written[written] = self.by_key[name_key(written)]
        return pid


async def write_projects(session: AsyncSession, org_id: int, refs: Refs, rows: Rows) -> Counts:
    counts = Counts()
    people, counts.people_created = await resolve_people(session, org_id, refs.people)
    existing = {p.name_key: p for p in await session.scalars(select(Project).where(Project.org_id == org_id))}
    now = utcnow()
    for _line, row in rows:
        assert isinstance(row, ProjectRow)
        sponsor_id = people[row.sponsor]
        project = existing.get(name_key(row.name))
        if project is None:
            project = Project(
                org_id=org_id,
                name=row.name,
                name_key=name_key(row.name),
                segment=row.segment,
                sponsor_id=sponsor_id,
                cadence=row.cadence or "biweekly",
                day=row.day or "tue",
                time=row.time or "10:00",
                ask="monthly",
                archived=False,
                created_at=now,
            )
            session.add(project)
            existing[project.name_key] = project
            counts.created += 1
            continue
        wanted = {
            "sponsor_id": sponsor_id,
            "segment": row.segment,
            "cadence": row.cadence or project.cadence,
            "day": row.day or project.day,
            "time": row.time or project.time,
        }
        _count_change(counts, _assign(project, wanted))
    await session.flush()
    return counts


async def _resolve_names(
    session: AsyncSession, org_id: int, refs: Refs, counts: Counts
) -> tuple[dict[str, int], dict[str, int], set[int]]:
    """The people and projects the file names (ids by token, ids by name key, ids just created), counted."""
    people, counts.people_created = await resolve_people(session, org_id, refs.people)
    by_key, created = await resolve_projects(session, org_id, refs.projects, people)
    counts.projects_created = len(created)
    return people, by_key, created


async def _existing(
    session: AsyncSession, model: Any, project_ids: Iterable[int], key: Callable[[Any], Hashable]
) -> dict[Any, Any]:
    """The rows of `model` in these projects by their natural key; the oldest wins a repeated key."""
    found: dict[Any, Any] = {}
    ids = sorted(set(project_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        for row in await session.scalars(select(model).where(model.project_id.in_(chunk)).order_by(model.id)):
            found.setdefault(key(row), row)
    return found


def _assign(obj: Any, values: Mapping[str, Any]) -> bool:
    """Set the attributes that differ; whether anything changed."""
    changed = False
    for attr, value in values.items():
        if getattr(obj, attr) != value:
            setattr(obj, attr, value)
            changed = True
    return changed


def _count_change(counts: Counts, changed: bool) -> None:
    if changed:
        counts.updated += 1
    else:
        counts.skipped += 1


async def write_outcomes(session: AsyncSession, org_id: int, refs: Refs, rows: Rows) -> Counts:
    """Outcomes of existing projects (checked in the first pass); a set `current` is also a Measurement."""
    counts = Counts()
    project_id = ProjectIds(await existing_projects(session, org_id, refs.projects))
    existing = await _existing(
        session, Outcome, set(project_id.by_key.values()), lambda o: (o.project_id, name_key(o.metric))
    )
    now = utcnow()
    measured: list[tuple[Outcome, float]] = []
    for _line, row in rows:
        assert isinstance(row, OutcomeRow)
        key = (project_id(row.project), name_key(row.metric))
        outcome = existing.get(key)
        if outcome is None:
            outcome = Outcome(
                org_id=org_id,
                project_id=key[0],
                metric=row.metric,
                unit=row.unit,
                baseline=row.baseline,
                target=row.target,
                current=row.current,
                benefit=row.benefit,
                due=row.due,
                added_on=now.date(),
            )
            session.add(outcome)
            existing[key] = outcome
            counts.created += 1
            if row.current is not None:
                measured.append((outcome, row.current))
            continue
        wanted: dict[str, Any] = {
            "metric": row.metric,
            "unit": row.unit,
            "baseline": row.baseline,
            "target": row.target,
            "benefit": row.benefit,
            "due": row.due,
        }
        if row.current is not None and row.current != outcome.current:
            wanted["current"] = row.current
            measured.append((outcome, row.current))
        _count_change(counts, _assign(outcome, wanted))
    await session.flush()
    session.add_all(
        Measurement(org_id=org_id, outcome_id=outcome.id, value=value, measured_at=now, person_id=None)
        for outcome, value in measured
    )
    await session.flush()
    return counts


async def write_painpoints(session: AsyncSession, org_id: int, refs: Refs, rows: Rows) -> Counts:
    counts = Counts()
    people, by_key, created = await _resolve_names(session, org_id, refs, counts)
    project_id = ProjectIds(by_key)
    existing = await _existing(
        session, PainPoint, set(by_key.values()) - created, lambda p: (p.project_id, p.reported_at, p.text)
    )
    bulk = await Bulk.open(session, PainPoint.__table__.c.reported_at.type)
    time = bulk.time
    for batch in batched(rows, BATCH):
        new: list[tuple[Any, ...]] = []
        for _line, row in batch:
            assert isinstance(row, PainpointRow)
            pid = project_id(row.project)
            values: dict[str, Any] = {
                "reported_by": people[row.reported_by],
                "impact": row.impact,
                "status": row.status,
                "resolved_at": row.resolved_at,
                "metric": row.metric,
                "baseline": row.baseline,
                "after": row.after,
                "better": row.better,
            }
            owner_id = None if row.owner is None else refs.staff[row.owner]
            if not isinstance(row, OlderPainpointRow):  # an older file leaves the loop's columns as stored
                values.update(owner_id=owner_id, fix=row.fix, confirmed=row.confirmed)
            point = existing.get((pid, row.reported_at, row.text))
            if point is not None:
                _count_change(counts, _assign(point, values))
                continue
            new.append(
                (org_id, pid, values["reported_by"], time(row.reported_at), row.text, row.impact, row.status,
                 time(row.resolved_at), row.metric, row.baseline, row.after, row.better, owner_id, row.fix,
                 row.confirmed)
            )  # fmt: skip
        await bulk.insert(PainPoint.__table__, PAINPOINT_COLUMNS, new)
        counts.created += len(new)
    await session.flush()
    return counts


async def write_responses(session: AsyncSession, org_id: int, refs: Refs, rows: Rows) -> Counts:
    """Taste check-ins with their answers; batches of BATCH rows inserted at driver speed."""
    counts = Counts()
    people, by_key, created = await _resolve_names(session, org_id, refs, counts)
    with_history = await _with_taste_history(session, set(by_key.values()) - created)
    bulk = await Bulk.open(session, Checkin.__table__.c.sent_at.type)
    writer = _ResponseWriter(session, org_id, bulk, counts)
    project_id = ProjectIds(by_key)
    async with bulk.roomy_cache():
        for batch in batched(rows, BATCH):
            keyed = [(project_id(row.project), people[row.sponsor], row) for _line, row in batch]  # type: ignore[union-attr]
            found = await _existing_checkins(session, keyed, with_history) if with_history else {}
            await writer.write(keyed, found)
    return counts


class _ResponseWriter:
    """Writes one batch of responses: new check-ins (and their answers), changed answers, the rest skipped.

    New check-ins are answered; else closed seven days after sending (as the scheduler would
    have closed them) when that is past; else still open.
    """

    def __init__(self, session: AsyncSession, org_id: int, bulk: Bulk, counts: Counts) -> None:
        self.session, self.org_id, self.bulk, self.counts = session, org_id, bulk, counts
        self.closed_before = utcnow() - CLOSE_AFTER

    async def write(self, keyed: list[tuple[int, int, ResponseRow]], found: Mapping[Any, Any]) -> None:
        time, empty, org_id, closed_before = (
            self.bulk.time,
            self.bulk.empty_json,
            self.org_id,
            self.closed_before,
        )
        new: list[tuple[Any, ...]] = []
        any_answered = False
        changes: list[tuple[int, int, ResponseRow]] = []  # (check-in id, sponsor id, row)
        for pid, sid, row in keyed:
            old = found.get((pid, sid, row.sent_at)) if found else None
            if old is not None:
                if (
                    row.answered_at is None
                    or (to_second(old.answered_at), old.rating, old.comment) == row[3:6]
                ):
                    self.counts.skipped += 1
                else:
                    changes.append((old.id, sid, row))
                continue
            sent_at = row.sent_at
            if row.answered_at is not None:
                state, answered_at, closed_at = "answered", time(row.answered_at), None
                any_answered = True
            elif sent_at <= closed_before:
                state, answered_at, closed_at = "closed", None, time(sent_at + CLOSE_AFTER)
            else:
                state, answered_at, closed_at = "open", None, None
            new.append(
                (org_id, pid, sid, KIND_TASTE, state, time(sent_at), answered_at, row.rating, row.comment, closed_at,
                 empty)
            )  # fmt: skip
        ids = await self.bulk.insert_ids(Checkin.__table__, CHECKIN_COLUMNS, new)
        self.counts.created += len(new)
        if any_answered:
            await _answers_of(self.session, ids)
        if changes:
            await _answer_again(self.session, changes)
            answers = [
                (org_id, cid, sid, r.rating, r.comment, time(r.answered_at)) for cid, sid, r in changes
            ]
            await self.bulk.insert(Answer.__table__, ANSWER_COLUMNS, answers)
            self.counts.updated += len(changes)


def _has_fraction(session: AsyncSession) -> ColumnElement[bool]:
    """sent_at is not a whole second: how each database says it (elsewhere: every row, filtered here)."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":  # stored as text, 'YYYY-MM-DD HH:MM:SS.ffffff'
        return func.substr(Checkin.sent_at, 21) != "000000"
    if dialect == "postgresql":
        return func.date_trunc("second", Checkin.sent_at) != Checkin.sent_at
    return true()


def to_second(moment: dt.datetime | None) -> dt.datetime | None:
    """A stored time as files hold it: whole seconds (older databases may hold microseconds)."""
    return moment.replace(microsecond=0) if moment is not None and moment.microsecond else moment


async def _answers_of(session: AsyncSession, checkin_ids: list[int]) -> None:
    """The answer history row of each answered check-in just created (one batch), copied in the database."""
    source = select(Checkin.org_id, Checkin.id, Checkin.sponsor_id, Checkin.rating, Checkin.comment,
                    Checkin.answered_at)  # fmt: skip
    just_created = source.where(Checkin.id.in_(checkin_ids), Checkin.answered_at.is_not(None))
    await session.execute(insert(Answer).from_select(ANSWER_COLUMNS, just_created))


async def _with_taste_history(session: AsyncSession, project_ids: set[int]) -> set[int]:
    """The projects that already have taste check-ins: only their rows can match an existing one."""
    found: set[int] = set()
    ids = sorted(project_ids)
    for start in range(0, len(ids), CHUNK):
        has_checkins = exists().where(Checkin.project_id == Project.id, Checkin.kind == KIND_TASTE)
        found.update(
            await session.scalars(
                select(Project.id).where(Project.id.in_(ids[start : start + CHUNK]), has_checkins)
            )
        )
    return found


async def _existing_checkins(
    session: AsyncSession, keyed: list[tuple[int, int, Any]], with_history: set[int]
) -> dict[tuple[int, int, dt.datetime], Any]:
    """Existing taste check-ins matching this batch's (project, sponsor, sent_at) keys; the oldest wins.

    sent_at matches to the second (CONTRACT.md section 6), because files hold whole seconds while a
    database written before times were stored to the second may hold microseconds. An exact
    `IN (...)` finds the usual rows; for the keys it misses, one index range scan per project
    over the batch's times returns only the check-ins whose sent_at has a fraction of a second.
    """
    times: dict[int, set[dt.datetime]] = {}
    for pid, _sid, row in keyed:
        if pid in with_history:
            times.setdefault(pid, set()).add(row.sent_at)
    found: dict[tuple[int, int, dt.datetime], Any] = {}
    columns = (Checkin.id, Checkin.sponsor_id, Checkin.sent_at, Checkin.answered_at, Checkin.rating,
               Checkin.comment)  # fmt: skip
    for pid, moments in times.items():
        ordered = sorted(moments)
        for start in range(0, len(ordered), CHUNK):
            result = await session.execute(
                select(*columns)
                .where(Checkin.project_id == pid, Checkin.kind == KIND_TASTE,
                       Checkin.sent_at.in_(ordered[start : start + CHUNK]))
                .order_by(Checkin.id)
            )  # fmt: skip
            for old in result:
                found.setdefault((pid, old.sponsor_id, old.sent_at), old)
    missed: dict[int, list[dt.datetime]] = {}
    for pid, sid, row in keyed:
        if pid in with_history and (pid, sid, row.sent_at) not in found:
            missed.setdefault(pid, []).append(row.sent_at)
    fractional = _has_fraction(session)
    for pid, moments in missed.items():
        wanted = set(moments)
        within = (Checkin.project_id == pid, Checkin.kind == KIND_TASTE, Checkin.sent_at > min(wanted),
                  Checkin.sent_at < max(wanted) + SECOND, fractional)  # fmt: skip
        for old in await session.execute(select(*columns).where(*within).order_by(Checkin.id)):
            second = to_second(old.sent_at)
            key = (pid, old.sponsor_id, second)
            if second in wanted and (key not in found or old.id < found[key].id):
                found[key] = old
    return found


async def _answer_again(session: AsyncSession, changes: list[tuple[int, int, ResponseRow]]) -> None:
    """An existing check-in whose answer the file changes: the new answer becomes the current one."""
    await session.execute(
        update(Checkin),
        [
            {
                "id": cid,
                "status": "answered",
                "answered_at": r.answered_at,
                "rating": r.rating,
                "comment": r.comment,
            }
            for cid, _sid, r in changes
        ],
    )
