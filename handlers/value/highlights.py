"""What the value report names, not only counts: the wins, what needs attention, and each
segment's (or project's) satisfaction, exactly as METRICS.md `wins` and `attention` define them.

Each list is one statement that reads as few rows as its order allows (the wins among the pain
points resolved in the window, the open high-impact ones in reporting order until five are
found); the per-project satisfaction of both windows (`tallies`) serves the souring projects
and the breakdown table alike.

Choices where METRICS.md leaves room:
- Souring compares exactly, in whole numbers (100 × (good₁·n₀ − good₀·n₁) ≤ −20 · n₁·n₀), so a
  change of exactly −20 points is souring whatever the floating-point rounding of the two CSATs.
- The breakdown is per segment when the scope is the organisation and any project in it has a
  segment (projects without one are a row "No segment"); per project otherwise (a segment, or
  an organisation without segments), and then only projects with responses in either window,
  most responses first, at most `BREAKDOWN_ROWS`, with how many more there are.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from handlers.value.common import GOOD, LIST_LIMIT, improvement, iso_utc, measured, pct, round_half_away
from storage.models import KIND_TASTE, Checkin, PainPoint, Person, Project
from storage.queries import name_key

SOURING_MIN_RESPONSES = 3  # in each window
SOURING_DROP_PTS = -20  # delta_csat_pts at or below this
HIGH_IMPACT = 4
BREAKDOWN_ROWS = 10
NO_SEGMENT = "No segment"


async def wins(
    session: AsyncSession, scope: ColumnElement[bool], start: dt.datetime, end: dt.datetime
) -> list[dict[str, Any]]:
    """The measured fixes resolved in the window, largest improvement first (then latest, then id)."""
    gain = improvement()
    rows = await session.execute(
        select(
            PainPoint.id,
            Project.name,
            PainPoint.text,
            PainPoint.metric,
            PainPoint.baseline,
            PainPoint.after,
            gain.label("gain"),
            PainPoint.confirmed,
            PainPoint.resolved_at,
        )
        .join(Project, Project.id == PainPoint.project_id)
        .where(scope, PainPoint.resolved_at >= start, PainPoint.resolved_at < end, measured())
        .order_by(gain.desc(), PainPoint.resolved_at.desc(), PainPoint.id)
        .limit(LIST_LIMIT)
    )
    return [
        {
            "painpoint": r.id,
            "project": r.name,
            "text": r.text,
            "metric": r.metric,
            "baseline": r.baseline,
            "after": r.after,
            "improvement_pct": round_half_away(float(r.gain), 1),
            "confirmed": r.confirmed,
            "resolved_at": iso_utc(r.resolved_at),
        }
        for r in rows
    ]


async def open_high_impact(
    session: AsyncSession, scope: ColumnElement[bool], now: dt.datetime
) -> list[dict[str, Any]]:
    """Open or in-progress pain points of impact 4 or 5, oldest first, with their owner and age."""
    rows = await session.execute(
        select(
            PainPoint.id,
            Project.name,
            PainPoint.text,
            PainPoint.impact,
            PainPoint.reported_at,
            Person.name.label("owner"),
        )
        .join(Project, Project.id == PainPoint.project_id)
        .outerjoin(Person, Person.id == PainPoint.owner_id)
        .where(scope, PainPoint.status.in_(("open", "in_progress")), PainPoint.impact >= HIGH_IMPACT)
        .order_by(PainPoint.reported_at, PainPoint.id)
        .limit(LIST_LIMIT)
    )
    return [
        {
            "painpoint": r.id,
            "project": r.name,
            "text": r.text,
            "impact": r.impact,
            "age_days": round_half_away((now - r.reported_at).total_seconds() / 86400, 1),
            "owner": r.owner,
        }
        for r in rows
    ]


class Tally(NamedTuple):
    """Taste answers of one project (or segment): responses and good ones, now and before."""

    n: int = 0
    good: int = 0
    n_before: int = 0
    good_before: int = 0

    def figures(self) -> dict[str, Any]:
        csat, before = pct(self.good, self.n), pct(self.good_before, self.n_before)
        delta = csat - before if csat is not None and before is not None else None
        return {
            "responses": self.n,
            "csat_pct": round_half_away(csat, 1),
            "previous_csat_pct": round_half_away(before, 1),
            "delta_csat_pts": round_half_away(delta, 1),
        }

    def souring(self) -> bool:
        if self.n < SOURING_MIN_RESPONSES or self.n_before < SOURING_MIN_RESPONSES:
            return False
        # csat − before ≤ −20, multiplied out by n · n_before: exact, in whole numbers
        drop = 100 * (self.good * self.n_before - self.good_before * self.n)
        return drop <= SOURING_DROP_PTS * self.n * self.n_before


async def tallies(
    session: AsyncSession, scope: ColumnElement[bool], windows: tuple[dt.datetime, dt.datetime, dt.datetime]
) -> dict[int, Tally]:
    """Per project: its answers and good ones in the window and in the previous window.

    Two range scans of the project index, each grouped by project as it reads (the rows come
    project by project): about as much as the satisfaction figures cost. Counting both windows in
    one scan with a FILTER on the date, or in the satisfaction figures' own statement (each time
    slice grouped per project), cost SQLite twice as much at 1,000 projects and 177,000 answers.
    """
    previous_start, start, end = windows

    def half(bucket: int, low: dt.datetime, high: dt.datetime) -> Any:
        return (
            select(
                literal(bucket).label("bucket"),
                Checkin.project_id,
                func.count().label("n"),
                func.count().filter(Checkin.rating >= GOOD).label("good"),
            )
            .where(scope, Checkin.kind == KIND_TASTE, Checkin.answered_at >= low, Checkin.answered_at < high)
            .group_by(Checkin.project_id)
        )

    halves: dict[int, list[int]] = {}
    for bucket, project_id, n, good in await session.execute(
        union_all(half(0, start, end), half(2, previous_start, start))
    ):
        sums = halves.setdefault(project_id, [0, 0, 0, 0])
        sums[bucket], sums[bucket + 1] = int(n or 0), int(good or 0)
    return {project_id: Tally(*sums) for project_id, sums in halves.items()}


async def souring_and_breakdown(
    session: AsyncSession,
    org_id: int,
    ids: list[int] | None,
    scope: ColumnElement[bool],
    windows: tuple[dt.datetime, dt.datetime, dt.datetime],
    per_project: dict[int, Tally] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """`attention.souring` and the breakdown table (None for one project), from one tally per
    project: `per_project` when the satisfaction figures counted it already, else `tallies`."""
    if per_project is None:
        if ids is None:
            # Through the project index, project by project: the rows arrive grouped, where the
            # organisation's (answered_at) index would make SQLite sort every answer by project (3×).
            scope = Checkin.project_id.in_(select(Project.id).where(Project.org_id == org_id))
        per_project = await tallies(session, scope, windows)
    projects = select(Project.id, Project.name, Project.segment).where(Project.org_id == org_id)
    if ids is not None:
        projects = projects.where(Project.id.in_(ids))
    names: dict[int, tuple[str, str | None]] = {
        pid: (name, segment) for pid, name, segment in await session.execute(projects.order_by(Project.id))
    }
    souring = sorted(
        (
            {"project": names[pid][0], **tally.figures()}
            for pid, tally in per_project.items()
            if pid in names and tally.souring()
        ),
        key=lambda row: (row["delta_csat_pts"], row["project"]),
    )[:LIST_LIMIT]
    if ids is not None and len(ids) == 1:
        return souring, None
    return souring, _breakdown(
        per_project, names, by_segment=ids is None and any(s for _, s in names.values())
    )


def _breakdown(
    per_project: dict[int, Tally], names: dict[int, tuple[str, str | None]], *, by_segment: bool
) -> dict[str, Any]:
    groups: dict[str, list[int]] = {}
    spelled: dict[str, str] = {}  # a segment written two ways is one segment, shown as first seen
    none = Tally()
    for pid, (name, segment) in names.items():  # by id: "first seen" is the oldest project's spelling
        key = name
        if by_segment:
            key = spelled.get(segment or "") or spelled.setdefault(
                name_key(segment) if segment else "", segment or NO_SEGMENT
            )
            spelled.setdefault(segment or "", key)
        tally = per_project.get(pid, none)
        sums = groups.setdefault(key, [0, 0, 0, 0])
        for i in range(4):
            sums[i] += tally[i]
    if by_segment:
        order = sorted(groups, key=lambda key: (key == NO_SEGMENT, key.casefold()))
        order = [key for key in order if key != NO_SEGMENT or groups[key][0] or groups[key][2]]
    else:
        order = sorted(
            (key for key, sums in groups.items() if sums[0] or sums[2]),
            key=lambda key: (-groups[key][0], key.casefold()),
        )
    shown = order if by_segment else order[:BREAKDOWN_ROWS]
    return {
        "by": "segment" if by_segment else "project",
        "rows": [{"name": key, **Tally(*groups[key]).figures()} for key in shown],
        "more": len(order) - len(shown),
    }
