"""The value report: every figure of METRICS.md, computed once, in the database, for every channel.

Figures are SQL aggregates (COUNT/SUM/AVG with FILTER or CASE), so an organisation with a
million taste check-ins costs a few covering-index range scans, never a million rows in Python:
the window, the previous window and the six trend months are cut into disjoint time slices,
each slice is summed once (one UNION ALL statement), and each figure adds up its few slices.
Python only divides the aggregates, applies the null rules and rounds, last.

Choices where METRICS.md leaves room:
- Rounding is half away from zero on the decimal value (4.125 → 4.13, 2.675 → 2.68), as people
  round by hand; Python's `round` would give 4.12 and 2.67.
- A segment matches case- and spacing-insensitively (`name_key`), like project names.
- `project` and `segment` together mean that project, if it is in that segment (else nothing).
- Counts are 0 when there is nothing to count; ratios, means, medians and sums of money are
  `null` when there is nothing to compute them from (no outcomes: `planned` and `realized` null).
- A taste answer counts by its current `answered_at` and `rating`; an earlier answer that was
  changed later counts where the change happened, once.
- Trend months are whole calendar months, not cut by the window.
- A pain point resolved in the window counts whatever its status now (re-opening keeps the date).
- An outcome whose target equals its baseline (refused at entry; only a hand-edited database
  has one) has progress 0 rather than a division by zero.
"""

from __future__ import annotations

import datetime as dt
from itertools import pairwise
from typing import Any, NamedTuple

from sqlalchemy import Float, Select, and_, case, func, literal, null, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from handlers.value.common import (
    DELICIOUS,
    GOOD,
    LIST_LIMIT,
    RISK_MARGIN,
    SOUR,
    as_float,
    improvement,
    iso_utc,
    measured,
    pct,
    round_half_away,
)
from handlers.value.common import in_scope as _in_scope
from handlers.value.headline import headline
from handlers.value.highlights import Tally, open_high_impact, souring_and_breakdown, wins
from storage.db import utcnow
from storage.models import KIND_TASTE, Checkin, Organisation, Outcome, PainPoint, PainPointEvent, Project
from storage.queries import name_key
from storage.sqlfuncs import DateDaysBetween, DaysBetween

DEFAULT_DAYS = 90
TREND_MONTHS = 6


# ---------------------------------------------------------------- small pure helpers


def window_bounds(today: dt.date, days: int) -> tuple[dt.datetime, dt.datetime]:
    """[start, end): end is 00:00 UTC of the day after `today`, start is `days` before it."""
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"days must be a whole number of at least 1, not {days!r}")
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time())
    try:
        start = end - dt.timedelta(days=days)
        _ = start - dt.timedelta(days=days)  # the previous window must exist too
    except OverflowError:
        raise ValueError(f"days:{days} reaches back before the calendar begins") from None
    return start, end


def month_starts(today: dt.date, count: int = TREND_MONTHS) -> list[dt.date]:
    """First days of the `count` calendar months ending with today's, oldest first, plus the next one."""
    year, month = today.year, today.month
    starts = [dt.date(year, month, 1)]
    for _ in range(count - 1):
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        starts.insert(0, dt.date(year, month, 1))
    year, month = (today.year, today.month + 1) if today.month < 12 else (today.year + 1, 1)
    return [*starts, dt.date(year, month, 1)]


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


# ---------------------------------------------------------------- scope


async def _scope_project_ids(
    session: AsyncSession, org_id: int, project: Project | None, segment: str | None
) -> list[int] | None:
    """None means the whole organisation; otherwise the projects in scope (archived included)."""
    if project is not None and project.org_id != org_id:
        raise ValueError(f"project {project.name!r} belongs to another organisation")
    if segment is None:
        return None if project is None else [project.id]
    wanted = name_key(segment)
    if not wanted:
        raise ValueError("segment must name a segment, not be blank")
    rows = await session.execute(
        select(Project.id, Project.segment).where(Project.org_id == org_id, Project.segment.is_not(None))
    )
    ids = [row.id for row in rows if name_key(row.segment) == wanted]
    if project is not None:
        ids = [i for i in ids if i == project.id]
    return ids


# ---------------------------------------------------------------- satisfaction and trend


RATING_SUMS = ("n", "total", "good", "delicious", "sour")


def _rating_slice(
    scope: ColumnElement[bool], index: int, start: dt.datetime, end: dt.datetime, *, by_project: bool = False
) -> Select[Any]:
    """Sums of the taste answers answered in [start, end): one covering-index range scan
    (summed per project when `by_project`).

    FILTER (SQLite 3.30+, PostgreSQL) costs about half of SUM(CASE …) per row on SQLite.
    """
    rating = Checkin.rating
    query = select(
        literal(index).label("slice"),
        *([Checkin.project_id.label("project_id")] if by_project else []),
        func.count(rating).label("n"),
        func.sum(rating).label("total"),
        func.count().filter(rating >= GOOD).label("good"),
        func.count().filter(rating >= DELICIOUS).label("delicious"),
        func.count().filter(rating <= SOUR).label("sour"),
    ).where(scope, Checkin.kind == KIND_TASTE, Checkin.answered_at >= start, Checkin.answered_at < end)
    return query.group_by(Checkin.project_id) if by_project else query


def _ratings(sums: dict[str, int]) -> dict[str, Any]:
    n = sums["n"]
    return {
        "n": n,
        "mean": sums["total"] / n if n else None,
        "csat": pct(sums["good"], n),
        "net": pct(sums["delicious"] - sums["sour"], n),
    }


async def _rating_sums(
    session: AsyncSession,
    scope: ColumnElement[bool],
    buckets: list[tuple[dt.datetime, dt.datetime]],
    *,
    per_project: bool = False,
) -> tuple[list[dict[str, int]], dict[int, Tally] | None]:
    """Rating sums per bucket; buckets may overlap, but every answer is read once.

    The bucket edges cut time into disjoint slices; the database sums each slice (one
    UNION ALL statement) and each bucket adds up the few slices it is made of. With
    `per_project`, the same read also tallies each project's answers in the first two buckets
    (`_per_project_sums`); otherwise the tallies are None.
    """
    edges = sorted({edge for bucket in buckets for edge in bucket})
    slices = list(pairwise(edges))
    tallies = None
    if per_project:
        rows, tallies = await _per_project_sums(session, scope, slices, buckets[:2])
    else:
        rows = list(
            await session.execute(
                union_all(*(_rating_slice(scope, i, a, b) for i, (a, b) in enumerate(slices)))
            )
        )
    per_slice = {row.slice: {k: int(getattr(row, k) or 0) for k in RATING_SUMS} for row in rows}
    empty = dict.fromkeys(RATING_SUMS, 0)
    totals = []
    for start, end in buckets:
        inside = [per_slice.get(i, empty) for i, (a, b) in enumerate(slices) if start <= a and b <= end]
        totals.append({k: sum(part[k] for part in inside) for k in RATING_SUMS})
    return totals, tallies


class SliceSums(NamedTuple):
    """One time slice's RATING_SUMS, named as the flat statement's rows are."""

    slice: int
    n: int
    total: int
    good: int
    delicious: int
    sour: int


async def _per_project_sums(
    session: AsyncSession,
    scope: ColumnElement[bool],
    slices: list[tuple[dt.datetime, dt.datetime]],
    windows: list[tuple[dt.datetime, dt.datetime]],
) -> tuple[list[SliceSums], dict[int, Tally]]:
    """The slices' sums and each project's tally (answers and good ones, in the window and the one
    before) in one read of the answers: each slice summed per project, then added up both ways.

    PostgreSQL only: its hash aggregates make this 20 ms dearer than the slices alone, where a
    second read (`highlights.tallies`) costs 50 ms; SQLite, which groups by sorting, is the other
    way round. Two shapes share the five value columns: a slice's row (project NULL) holds its
    RATING_SUMS; a project's row (slice -1) its answers and good ones now, then before."""
    per = union_all(*(_rating_slice(scope, i, a, b, by_project=True) for i, (a, b) in enumerate(slices))).cte(
        "per_project"
    )
    inside = [[i for i, (a, b) in enumerate(slices) if w[0] <= a and b <= w[1]] for w in windows]
    now, before = per.c.slice.in_(inside[0]), per.c.slice.in_(inside[1])
    query = union_all(
        select(
            per.c.slice,
            null().label("project_id"),
            *(func.sum(per.c[k]).label(f"v{i}") for i, k in enumerate(RATING_SUMS)),
        ).group_by(per.c.slice),
        select(
            literal(-1).label("slice"),
            per.c.project_id,
            func.sum(per.c.n).filter(now).label("v0"),
            func.sum(per.c.good).filter(now).label("v1"),
            func.sum(per.c.n).filter(before).label("v2"),
            func.sum(per.c.good).filter(before).label("v3"),
            literal(0).label("v4"),
        )
        .where(per.c.slice.in_(inside[0] + inside[1]))
        .group_by(per.c.project_id),
    )
    rows: list[SliceSums] = []
    tallies: dict[int, Tally] = {}
    for index, project_id, *values in await session.execute(query):
        if project_id is None:
            rows.append(SliceSums(index, *(int(v or 0) for v in values)))
        else:
            tallies[project_id] = Tally(*(int(v or 0) for v in values[:4]))
    return rows, tallies


async def _satisfaction_and_trend(
    session: AsyncSession,
    scope: ColumnElement[bool],
    start: dt.datetime,
    end: dt.datetime,
    days: int,
    today: dt.date,
    *,
    per_project: bool = False,
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[int, Tally] | None]:
    months = month_starts(today)
    buckets = [(start, end), (start - dt.timedelta(days=days), start)]
    buckets += [(_midnight(a), _midnight(b)) for a, b in pairwise(months)]
    sums, tallies = await _rating_sums(session, scope, buckets, per_project=per_project)
    current, previous, *per_month = [_ratings(part) for part in sums]
    delta = (
        current["csat"] - previous["csat"]
        if current["csat"] is not None and previous["csat"] is not None
        else None
    )
    satisfaction = {
        "responses": current["n"],
        "mean": round_half_away(current["mean"], 2),
        "csat_pct": round_half_away(current["csat"], 1),
        "net_taste_pct": round_half_away(current["net"], 1),
        "previous_csat_pct": round_half_away(previous["csat"], 1),
        "delta_csat_pts": round_half_away(delta, 1),
    }
    trend = [
        {
            "month": month.strftime("%Y-%m"),
            "responses": figures["n"],
            "mean": round_half_away(figures["mean"], 2),
            "csat_pct": round_half_away(figures["csat"], 1),
        }
        for month, figures in zip(months, per_month, strict=False)
    ]
    return satisfaction, trend, tallies


async def _response_rate(
    session: AsyncSession, scope: ColumnElement[bool], start: dt.datetime, end: dt.datetime
) -> float | None:
    row = (
        await session.execute(
            select(func.count().label("sent"), func.count(Checkin.answered_at).label("answered")).where(
                scope, Checkin.kind == KIND_TASTE, Checkin.sent_at >= start, Checkin.sent_at < end
            )
        )
    ).one()
    return round_half_away(pct(row.answered, row.sent), 1)


# ---------------------------------------------------------------- pain points


def _count(*where: ColumnElement[bool]) -> Any:
    """`(SELECT count(*) FROM painpoints WHERE …)` as a column, never correlated with an outer query."""
    return select(func.count()).select_from(PainPoint).where(*where).correlate(None).scalar_subquery()


async def _pain_points(
    session: AsyncSession, org_id: int, ids: list[int] | None, start: dt.datetime, end: dt.datetime
) -> dict[str, Any]:
    """One statement, shaped so that each figure reads as few rows as its scope allows.

    Summing CASEs over every pain point in scope made SQLite fetch each one the organisation
    ever had through an index, one table look-up each (24 ms of a 100 ms report at 20,000).
    Open pain points are counted in the (project_id, status) index alone, the organisation's
    too (through its projects). For the organisation, reported ones are counted in the
    (org_id, reported_at) index alone and only those resolved in the window are read; a
    segment or a project reaches its pain points through the project index, so one pass over
    those reported or resolved in the window serves every figure.
    """
    scope = _in_scope(PainPoint.org_id, PainPoint.project_id, org_id, ids)
    reported = and_(PainPoint.reported_at >= start, PainPoint.reported_at < end)
    resolved = and_(PainPoint.resolved_at >= start, PainPoint.resolved_at < end)
    is_open = PainPoint.status == "open"
    in_progress = PainPoint.status == "in_progress"
    if ids is None:
        n_reported = _count(scope, reported)
        org_projects = PainPoint.project_id.in_(select(Project.id).where(Project.org_id == org_id))
        n_open = _count(org_projects, is_open)
        n_in_progress = _count(org_projects, in_progress)
        rows = and_(scope, resolved)
    else:
        n_reported = func.count().filter(reported)
        n_open = _count(scope, is_open)
        n_in_progress = _count(scope, in_progress)
        rows = and_(scope, or_(reported, resolved))
    fixed = and_(resolved, measured())
    row = (
        await session.execute(
            select(
                n_reported.label("reported"),
                n_open.label("open"),
                n_in_progress.label("in_progress"),
                func.count().filter(resolved).label("resolved"),
                func.count().filter(resolved, PainPoint.confirmed.is_(True)).label("confirmed"),
                func.count().filter(fixed).label("measured"),
                func.avg(case((fixed, improvement()), else_=null())).label("improvement"),
                _reopened(scope, start, end).label("reopened"),
            )
            .select_from(PainPoint)
            .where(rows)
        )
    ).one()
    n_resolved = int(row.resolved or 0)
    return {
        "reported": int(row.reported or 0),
        "open": int(row.open or 0),
        "in_progress": int(row.in_progress or 0),
        "resolved": n_resolved,
        "median_days_to_resolve": round_half_away(
            await _median_days_to_resolve(session, scope, resolved, n_resolved), 1
        ),
        "measured_fixes": int(row.measured or 0),
        "mean_improvement_pct": round_half_away(as_float(row.improvement), 1),
        "confirmed_fixes": int(row.confirmed or 0),
        "reopened": int(row.reopened or 0),
    }


def _reopened(scope: ColumnElement[bool], start: dt.datetime, end: dt.datetime) -> Any:
    """❌ Not yet answers that put a resolved pain point back to open, by their time (a column)."""
    return (
        select(func.count())
        .select_from(PainPointEvent)
        .join(PainPoint, PainPoint.id == PainPointEvent.painpoint_id)
        .where(scope, PainPointEvent.kind == "reopened", PainPointEvent.at >= start, PainPointEvent.at < end)
        .correlate(None)
        .scalar_subquery()
    )


# ---------------------------------------------------------------- the loop (sour tastes)


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


async def _loop(
    session: AsyncSession, scope: ColumnElement[bool], start: dt.datetime, end: dt.datetime
) -> dict[str, Any]:
    """What the PMO did about sour answers in the window: taken, how fast, and the next answer.

    Counted by the database in one read of the sour answers (a covering index), each one's next
    answer found by one index seek (`_next_rating`); then the follow-up times of the taken ones,
    which are few, for their median."""
    sour = and_(
        scope,
        Checkin.kind == KIND_TASTE,
        Checkin.answered_at >= start,
        Checkin.answered_at < end,
        Checkin.rating <= SOUR,
    )
    if session.get_bind().dialect.name == "postgresql":
        counts = (await session.execute(_loop_counts_by_pair(sour, start, end))).one()
    else:
        counts = (await session.execute(_loop_counts_by_seek(sour))).one()
    n_sour, taken, with_next, recovered = (int(value or 0) for value in counts)
    hours: list[float] = []
    if taken:
        followed = await session.execute(
            select(Checkin.answered_at, Checkin.followed_up_at).where(
                sour, Checkin.followed_up_by.is_not(None), Checkin.followed_up_at.is_not(None)
            )
        )
        hours = [max((up - answered).total_seconds() / 3600, 0.0) for answered, up in followed]
    return {
        "sour": n_sour,
        "followed_up": taken,
        "median_hours_to_follow_up": round_half_away(_median(hours), 1),
        "recovered": recovered,
        "recovery_pct": round_half_away(pct(recovered, with_next), 1),
    }


def _loop_counts_by_seek(sour: ColumnElement[bool]) -> Select[Any]:
    """Sour answers, followed up, with a next answer, recovered: each next answer one index seek.

    OFFSET 0 keeps the database from merging the subquery into the counts (SQLite renders it
    LIMIT -1 OFFSET 0): merged, each count that names `next` ran the seek again, twice a sour
    answer (70 ms of the organisation report at 1,000,000 check-ins on SQLite; fenced, 35 ms)."""
    answers = select(Checkin.followed_up_by, _next_rating().label("next")).where(sour).offset(0).subquery()
    return select(
        func.count(),
        func.count(answers.c.followed_up_by),
        func.count(answers.c.next),
        func.count().filter(answers.c.next >= GOOD),
    )


def _loop_counts_by_pair(sour: ColumnElement[bool], start: dt.datetime, end: dt.datetime) -> Select[Any]:
    """The same four counts, each (project, sponsor) pair's answers read once, in order (PostgreSQL).

    A correlated seek costs PostgreSQL about ten times what it costs SQLite (the executor's start
    of a subplan; 14,000 sour answers took 280 ms). Here each pair with a sour answer reads its
    answered check-ins from its earliest sour one on, in `sent_at` order from the next-answer
    index, and LEAD gives each answer the next one: the sequence the seek walks, read once.
    (SQLite runs this form 4× slower than the seeks: its window function sorts.)"""
    pairs = (
        select(
            Checkin.project_id,
            Checkin.sponsor_id,
            func.min(Checkin.sent_at).label("first"),
            func.count(Checkin.followed_up_by).label("taken"),
        )
        .where(sour)
        .group_by(Checkin.project_id, Checkin.sponsor_id)
        .cte("sour_pairs")
    )
    later = aliased(Checkin)
    answered = (
        select(
            later.rating,
            later.answered_at,
            func.lead(later.rating).over(order_by=(later.sent_at, later.id)).label("next"),
        )
        .where(
            later.project_id == pairs.c.project_id,
            later.sponsor_id == pairs.c.sponsor_id,
            later.kind == KIND_TASTE,
            later.sent_at >= pairs.c.first,
            later.answered_at.is_not(None),
        )
        .lateral("answered")
    )
    taken = select(func.coalesce(func.sum(pairs.c.taken), 0)).scalar_subquery()
    return (
        select(func.count(), taken, func.count(answered.c.next), func.count().filter(answered.c.next >= GOOD))
        .select_from(pairs)
        .join(answered, literal(True))
        .where(answered.c.rating <= SOUR, answered.c.answered_at >= start, answered.c.answered_at < end)
    )


def _next_rating() -> Any:
    """The rating of a sour answer's next answer: the earliest later check-in of the same project
    and sponsor that has been answered (unanswered ones in between are skipped), or NULL."""
    later = aliased(Checkin)
    return (
        select(later.rating)
        .where(
            later.project_id == Checkin.project_id,
            later.sponsor_id == Checkin.sponsor_id,
            later.kind == KIND_TASTE,
            later.sent_at > Checkin.sent_at,
            later.answered_at.is_not(None),
        )
        .order_by(later.sent_at)
        .limit(1)
        .correlate(Checkin)
        .scalar_subquery()
    )


async def _median_days_to_resolve(
    session: AsyncSession, scope: ColumnElement[bool], resolved: ColumnElement[bool], n: int
) -> float | None:
    """The middle one or two durations, picked by the database (ORDER BY … LIMIT 2 OFFSET)."""
    if n == 0:
        return None
    duration = DaysBetween(PainPoint.resolved_at, PainPoint.reported_at)
    middle = [
        float(value)
        for value in await session.scalars(
            select(duration).where(scope, resolved).order_by(duration).limit(2).offset((n - 1) // 2)
        )
    ]
    return middle[0] if n % 2 else (middle[0] + middle[1]) / 2


# ---------------------------------------------------------------- outcomes and benefits


def _clamp01(value: Any) -> Any:
    return case((value < 0, 0.0), (value > 1, 1.0), else_=value)


async def _outcomes_and_benefits(
    session: AsyncSession, scope: ColumnElement[bool], today: dt.date, *, listed: bool = True
) -> tuple[dict[str, Any], float | None, float | None, list[dict[str, Any]]]:
    """The outcome counts (rounded), the planned and realized benefit (unrounded, for ROI), and
    the first outcomes at risk (`attention.at_risk`), by the one rule that counts them."""
    # nullif typed Float: untyped, PostgreSQL was told to divide in NUMERIC, which made every use
    # of `p` below arbitrary-precision arithmetic (about ten times slower than double precision).
    span = func.nullif(Outcome.target - Outcome.baseline, 0.0, type_=Float)
    progress = func.coalesce((Outcome.current - Outcome.baseline) / span, 0.0)
    elapsed = _clamp01(
        DateDaysBetween(literal(today, Outcome.added_on.type), Outcome.added_on)
        / DateDaysBetween(Outcome.due, Outcome.added_on)
    )
    per_outcome = (
        select(
            Outcome.id.label("id"),
            Outcome.project_id.label("project_id"),
            Outcome.metric.label("metric"),
            progress.label("p"),
            Outcome.due.label("due"),
            case((Outcome.due <= Outcome.added_on, 1.0), else_=elapsed).label("f"),
            func.coalesce(Outcome.benefit, 0.0).label("benefit"),
        )
        .where(scope)
        .subquery()
    )
    p = per_outcome.c.p
    achieved = p >= 1
    at_risk = and_(
        p < 1,
        per_outcome.c.due.is_not(None),
        or_(per_outcome.c.due < literal(today, Outcome.due.type), p < per_outcome.c.f - RISK_MARGIN),
    )
    row = (
        await session.execute(
            select(
                func.count().label("total"),
                func.sum(case((achieved, 1), else_=0)).label("achieved"),
                func.sum(case((at_risk, 1), else_=0)).label("at_risk"),
                func.avg(100.0 * _clamp01(p)).label("progress"),
                func.sum(per_outcome.c.benefit).label("planned"),
                func.sum(per_outcome.c.benefit * _clamp01(p)).label("realized"),
            ).select_from(per_outcome)
        )
    ).one()
    total, n_achieved, n_at_risk = int(row.total or 0), int(row.achieved or 0), int(row.at_risk or 0)
    outcomes = {
        "total": total,
        "achieved": n_achieved,
        "on_track": total - n_achieved - n_at_risk,
        "at_risk": n_at_risk,
        "mean_progress_pct": round_half_away(as_float(row.progress), 1),
    }
    risky: list[dict[str, Any]] = []
    if listed and n_at_risk:
        rows = await session.execute(
            select(
                per_outcome.c.id,
                Project.name,
                per_outcome.c.metric,
                (100.0 * _clamp01(p)).label("progress"),
                per_outcome.c.due,
            )
            .join(Project, Project.id == per_outcome.c.project_id)
            .where(at_risk)
            .order_by(per_outcome.c.due, per_outcome.c.id)
            .limit(LIST_LIMIT)
        )
        risky = [
            {
                "outcome": r.id,
                "project": r.name,
                "metric": r.metric,
                "progress_pct": round_half_away(as_float(r.progress), 1),
                "due": r.due.isoformat(),
            }
            for r in rows
        ]
    if not total:
        return outcomes, None, None, risky
    return outcomes, float(row.planned or 0), float(row.realized or 0), risky


# ---------------------------------------------------------------- the report


def _utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


async def compute_value(
    session: AsyncSession,
    org_id: int,
    *,
    project: Project | None = None,
    segment: str | None = None,
    days: int = DEFAULT_DAYS,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
    currency: str | None = None,
    highlights: bool = True,
) -> dict[str, Any]:
    """The JSON object of CONTRACT.md section 7, each figure exactly as METRICS.md defines it.

    `now` (naive UTC) is the moment of the report, for the ages of open pain points; `today`
    defaults to its date. `currency` is PMO_CURRENCY, handed in by the caller (the core reads no
    settings). `highlights=False` leaves out what names rather than counts (wins, attention, the
    breakdown and the headline): only the benchmark asks for that, to weigh what they cost.
    """
    now = now or utcnow()
    today = today or now.date()
    start, end = window_bounds(today, days)
    ids = await _scope_project_ids(session, org_id, project, segment)
    checkins = _in_scope(Checkin.org_id, Checkin.project_id, org_id, ids)
    painpoints = _in_scope(PainPoint.org_id, PainPoint.project_id, org_id, ids)
    # On PostgreSQL the satisfaction figures' own read tallies each project too (souring, the table)
    together = highlights and session.get_bind().dialect.name == "postgresql"
    satisfaction, trend, tallies = await _satisfaction_and_trend(
        session, checkins, start, end, days, today, per_project=together
    )
    response_rate = await _response_rate(session, checkins, start, end)
    pain_points = await _pain_points(session, org_id, ids, start, end)
    loop = await _loop(session, checkins, start, end)
    outcomes, planned, realized, at_risk = await _outcomes_and_benefits(
        session, _in_scope(Outcome.org_id, Outcome.project_id, org_id, ids), today, listed=highlights
    )
    cost = None
    if ids is None:  # the PMO's cost is the whole organisation's, so only its ROI is meaningful
        cost = as_float(await session.scalar(select(Organisation.pmo_cost).where(Organisation.id == org_id)))
    roi = 100.0 * (realized - cost) / cost if cost and realized is not None else None
    benefits = {
        "planned": round_half_away(planned, 2),
        "realized": round_half_away(realized, 2),
        "pmo_cost": round_half_away(cost, 2),
        "roi_pct": round_half_away(roi, 1),
        "currency": currency.upper() if currency else None,
    }
    report: dict[str, Any] = {
        "scope": {"project": project.name if project is not None else None, "segment": segment},
        "window": {"start": iso_utc(start), "end": iso_utc(end), "days": days},
        "satisfaction": satisfaction,
        "response_rate_pct": response_rate,
        "pain_points": pain_points,
        "loop": loop,
        "outcomes": outcomes,
        "benefits": benefits,
    }
    if highlights:
        souring, breakdown = await souring_and_breakdown(
            session, org_id, ids, checkins, (start - dt.timedelta(days=days), start, end), tallies
        )
        report["wins"] = await wins(session, painpoints, start, end)
        report["attention"] = {
            "souring": souring,
            "at_risk": at_risk,
            "open_high_impact": await open_high_impact(session, painpoints, now),
        }
        report["headline"] = str(headline(report))  # JSON: English (docs/languages.md)
        report["breakdown"] = breakdown
    report["trend"] = trend
    return report


async def recent_comments(
    session: AsyncSession,
    org_id: int,
    *,
    project: Project | None = None,
    segment: str | None = None,
    limit: int = 5,
    today: dt.date | None = None,
) -> list[dict[str, Any]]:
    """The newest verbatim taste comments in scope, answered before the end of `today` (UTC).

    Each is `{"project", "rating", "comment", "answered_at"}` (answered_at as `…Z`), newest first;
    the detailed value view shows them beside the figures.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a whole number of at least 1, not {limit!r}")
    _, end = window_bounds(today or _utc_today(), 1)
    ids = await _scope_project_ids(session, org_id, project, segment)
    rows = await session.execute(
        select(Project.name, Checkin.rating, Checkin.comment, Checkin.answered_at)
        .join(Project, Project.id == Checkin.project_id)
        .where(
            _in_scope(Checkin.org_id, Checkin.project_id, org_id, ids),
            Checkin.kind == KIND_TASTE,
            Checkin.answered_at < end,
            Checkin.rating.is_not(None),
            Checkin.comment.is_not(None),
            func.trim(Checkin.comment) != "",
        )
        .order_by(Checkin.answered_at.desc(), Checkin.id.desc())
        .limit(limit)
    )
    return [
        {
            "project": row.name,
            "rating": row.rating,
            "comment": row.comment.strip(),
            "answered_at": iso_utc(row.answered_at),
        }
        for row in rows
    ]
