"""Each kind's rows read from the database for export, already written as CSV cells.

Rows come in a fixed order (projects by name, responses and pain points by time, outcomes by
project) with ties broken by id, so an export imported into a fresh database exports again
byte for byte. A person is written as their e-mail, else their first platform user id, else
their name (which then imports as a local user id).

Every text cell goes through `formats.write_text` (spreadsheet safety); the names of projects
and people, repeated on many rows, are made safe once per export rather than once per row.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.csv import formats as cf
from storage.models import KIND_TASTE, Checkin, Identity, Outcome, PainPoint, Person, Project

YIELD_PER = 2000
_CONFIRMED = {True: "yes", False: "no", None: ""}  # a pain point's `confirmed`, as `rows.CONFIRMED` reads it

Stream = Callable[[AsyncSession, int], AsyncIterator[list[list[str]]]]
"""A kind's rows of one organisation, in chunks."""


async def person_labels(session: AsyncSession, org_id: int) -> dict[int, str]:
    """How each person of the organisation is written in a CSV file."""
    labels: dict[int, str] = {}
    names: dict[int, str] = {}
    for person_id, name, email in await session.execute(
        select(Person.id, Person.name, Person.email).where(Person.org_id == org_id)
    ):
        if email:
            labels[person_id] = email
        else:
            names[person_id] = name
    for person_id, external_id in await session.execute(
        select(Identity.person_id, Identity.external_id)
        .where(Identity.org_id == org_id)
        .order_by(Identity.id)
    ):
        if person_id not in labels:
            labels[person_id] = external_id
    for person_id, name in names.items():
        labels.setdefault(person_id, name)
    return {person_id: cf.write_text(label) for person_id, label in labels.items()}


async def _project_names(session: AsyncSession, org_id: int) -> dict[int, str]:
    rows = await session.execute(select(Project.id, Project.name).where(Project.org_id == org_id))
    return {pid: cf.write_text(name) for pid, name in rows}


async def _stream(
    session: AsyncSession, stmt: Select[Any], shape: Callable[[Any], list[str]]
) -> AsyncIterator[list[list[str]]]:
    result = await session.stream(stmt.execution_options(yield_per=YIELD_PER))
    async for part in result.partitions():
        yield [shape(row) for row in part]


async def projects(session: AsyncSession, org_id: int) -> AsyncIterator[list[list[str]]]:
    people = await person_labels(session, org_id)
    stmt = (
        select(Project.name, Project.sponsor_id, Project.segment, Project.cadence, Project.day, Project.time)
        .where(Project.org_id == org_id)
        .order_by(Project.name_key, Project.id)
    )

    def shape(r: Any) -> list[str]:
        return [
            cf.write_text(r.name),
            people[r.sponsor_id],
            cf.write_text(r.segment),
            r.cadence,
            r.day,
            r.time,
        ]

    async for chunk in _stream(session, stmt, shape):
        yield chunk


async def responses(session: AsyncSession, org_id: int) -> AsyncIterator[list[list[str]]]:
    people = await person_labels(session, org_id)
    projects = await _project_names(session, org_id)
    ts, text = cf.write_timestamp, cf.write_text
    stmt = (
        select(Checkin.project_id, Checkin.sponsor_id, Checkin.sent_at, Checkin.answered_at, Checkin.rating,
               Checkin.comment)
        .where(Checkin.org_id == org_id, Checkin.kind == KIND_TASTE)
        .order_by(Checkin.sent_at, Checkin.id)
    )  # fmt: skip

    def shape(r: Any) -> list[str]:
        rating = "" if r.rating is None else str(r.rating)
        return [projects[r.project_id], people[r.sponsor_id], ts(r.sent_at), ts(r.answered_at), rating,
                text(r.comment)]  # fmt: skip

    async for chunk in _stream(session, stmt, shape):
        yield chunk


async def outcomes(session: AsyncSession, org_id: int) -> AsyncIterator[list[list[str]]]:
    num, text = cf.write_number, cf.write_text
    stmt = (
        select(Project.name, Outcome.metric, Outcome.unit, Outcome.baseline, Outcome.target, Outcome.current,
               Outcome.benefit, Outcome.due)
        .join(Project, Project.id == Outcome.project_id)
        .where(Outcome.org_id == org_id)
        .order_by(Project.name_key, Outcome.id)
    )  # fmt: skip

    def shape(r: Any) -> list[str]:
        return [text(r.name), text(r.metric), text(r.unit), num(r.baseline), num(r.target), num(r.current),
                num(r.benefit), cf.write_date(r.due)]  # fmt: skip

    async for chunk in _stream(session, stmt, shape):
        yield chunk


async def painpoints(session: AsyncSession, org_id: int) -> AsyncIterator[list[list[str]]]:
    people = await person_labels(session, org_id)
    projects = await _project_names(session, org_id)
    ts, num, text = cf.write_timestamp, cf.write_number, cf.write_text
    stmt = (
        select(PainPoint.project_id, PainPoint.reported_by, PainPoint.reported_at, PainPoint.text,
               PainPoint.impact, PainPoint.status, PainPoint.resolved_at, PainPoint.metric, PainPoint.baseline,
               PainPoint.after, PainPoint.better, PainPoint.owner_id, PainPoint.fix, PainPoint.confirmed)
        .where(PainPoint.org_id == org_id)
        .order_by(PainPoint.reported_at, PainPoint.id)
    )  # fmt: skip

    def shape(r: Any) -> list[str]:
        return [projects[r.project_id], people[r.reported_by], ts(r.reported_at), text(r.text), str(r.impact),
                r.status, ts(r.resolved_at), text(r.metric), num(r.baseline), num(r.after), r.better,
                people.get(r.owner_id, ""), text(r.fix), _CONFIRMED[r.confirmed]]  # fmt: skip

    async for chunk in _stream(session, stmt, shape):
        yield chunk
