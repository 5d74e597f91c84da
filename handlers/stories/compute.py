"""A story, computed once: one pain point from the sponsor's words to the measured fix.

`story()` is one pain point (CONTRACT section 10), `track_record()` every pain point resolved in
a window, measured ones first, with the totals. Both read the same rows the same way
(`_stories`): one statement for the pain points with their project, people and the project's
CSAT before the report and since the fix (four index range counts per row, in the database),
one for the notes and one for the sponsor's answers. Every rendering (chat, Markdown, HTML,
JSON) takes the dictionary returned here and computes nothing of its own.

Choices where METRICS.md leaves room:
- "now" is 00:00 UTC of the day after `today`, as the value report's window end: the CSAT since
  the fix counts answers before it (and before resolved_at + 90 days).
- A pain point reopened by ❌ Not yet keeps its resolution date and `days_to_resolve`, as the
  value report counts it resolved in its window; its `csat_after` is null (it is not resolved).
- The sponsor's words are what they wrote with their latest answer to "Is it fixed?" (today only
  ❌ Not yet asks what is still wrong); an earlier answer's words are not shown under a later one.
- The trend is the project's six months (the organisation's for the track record) ending with
  the month the CSAT since the fix ends in, so that an old fix shows the months around it.
"""

from __future__ import annotations

import datetime as dt
from statistics import median
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from handlers.painpoints.views import improvement_pct
from handlers.value.report import compute_value, iso_utc, round_half_away, window_bounds
from storage.models import KIND_TASTE, Checkin, PainPoint, PainPointEvent, Person, Project
from storage.sqlfuncs import ShiftedDays

STORY_DAYS = 90  # the CSAT before the report and since the fix (METRICS.md `stories`)
DEFAULT_DAYS = 365  # the track record's window
GOOD = 4  # a rating at or above this is satisfied (CSAT)
ANSWER_KINDS = ("fixed", "not_yet", "comment")


def _utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _end_of(today: dt.date) -> dt.datetime:
    """00:00 UTC of the day after `today`: the value report's "now"."""
    return dt.datetime.combine(today + dt.timedelta(days=1), dt.time())


def _answers(start: Any, *until: Any) -> tuple[Any, Any]:
    """(answers, satisfied answers) of the pain point's project answered in [start, every `until`)."""
    where = [
        Checkin.project_id == PainPoint.project_id,
        Checkin.kind == KIND_TASTE,
        Checkin.answered_at >= start,
        *(Checkin.answered_at < end for end in until),
    ]

    def count(*extra: ColumnElement[bool]) -> Any:
        return select(func.count(Checkin.rating)).where(*where, *extra).correlate(PainPoint).scalar_subquery()

    return count(), count(Checkin.rating >= GOOD)


def _rows(where: ColumnElement[bool], now: dt.datetime) -> Select[Any]:
    reporter, owner = aliased(Person), aliased(Person)
    n_before, good_before = _answers(ShiftedDays(PainPoint.reported_at, -STORY_DAYS), PainPoint.reported_at)
    n_after, good_after = _answers(PainPoint.resolved_at, ShiftedDays(PainPoint.resolved_at, STORY_DAYS), now)
    return (
        select(
            PainPoint,
            Project.name.label("project"),
            Project.segment.label("segment"),
            reporter.name.label("reporter"),
            owner.name.label("owner"),
            n_before.label("n_before"),
            good_before.label("good_before"),
            n_after.label("n_after"),
            good_after.label("good_after"),
        )
        .join(Project, Project.id == PainPoint.project_id)
        .join(reporter, reporter.id == PainPoint.reported_by)
        .outerjoin(owner, owner.id == PainPoint.owner_id)
        .where(where)
    )


async def _notes(session: AsyncSession, ids: Any) -> dict[int, list[dict[str, Any]]]:
    """Each pain point's notes (the steps taken), oldest first, with who wrote them."""
    rows = await session.execute(
        select(PainPointEvent.painpoint_id, PainPointEvent.at, PainPointEvent.text, Person.name)
        .outerjoin(Person, Person.id == PainPointEvent.person_id)
        .where(PainPointEvent.painpoint_id.in_(ids), PainPointEvent.kind == "note")
        .order_by(PainPointEvent.painpoint_id, PainPointEvent.id)
    )
    notes: dict[int, list[dict[str, Any]]] = {}
    for point_id, at, text, name in rows:
        notes.setdefault(point_id, []).append({"at": iso_utc(at), "text": text, "by": name})
    return notes


async def _words(session: AsyncSession, ids: Any) -> dict[int, str]:
    """What each reporter wrote with their latest answer to "Is it fixed?", if anything."""
    rows = await session.execute(
        select(PainPointEvent.painpoint_id, PainPointEvent.kind, PainPointEvent.text)
        .join(PainPoint, PainPoint.id == PainPointEvent.painpoint_id)
        .where(
            PainPointEvent.painpoint_id.in_(ids),
            PainPointEvent.kind.in_(ANSWER_KINDS),
            PainPointEvent.person_id == PainPoint.reported_by,
        )
        .order_by(PainPointEvent.painpoint_id, PainPointEvent.id)
    )
    words: dict[int, str] = {}
    for point_id, kind, text in rows:
        if kind == "comment" and text:
            words[point_id] = text
        else:  # a new answer: what was written with an earlier one is not its words
            words.pop(point_id, None)
    return words


def _csat(good: int, n: int) -> float | None:
    return round_half_away(100.0 * good / n, 1) if n else None


def _story(row: Any, notes: list[dict[str, Any]], words: str | None) -> dict[str, Any]:
    point: PainPoint = row.PainPoint
    resolved = point.status == "resolved"
    improvement = improvement_pct(point)
    measure = None
    if point.metric is not None or point.baseline is not None:
        measure = {
            "metric": point.metric,
            "baseline": point.baseline,
            "after": point.after,
            "better": point.better,
            "improvement_pct": round_half_away(improvement, 1),
        }
    days = None
    if point.resolved_at is not None:
        days = round_half_away((point.resolved_at - point.reported_at).total_seconds() / 86400, 1)
    n_after = int(row.n_after or 0) if resolved else 0
    return {
        "painpoint": point.id,
        "project": row.project,
        "segment": row.segment,
        "status": point.status,
        "said": {
            "text": point.text,
            "impact": point.impact,
            "reported_at": iso_utc(point.reported_at),
            "by": row.reporter,
        },
        "owner": row.owner,
        "due": point.due.isoformat() if point.due else None,
        "notes": notes,
        "fix": point.fix,
        "measure": measure,
        "resolved_at": iso_utc(point.resolved_at) if point.resolved_at else None,
        "days_to_resolve": days,
        "confirmation": {
            "confirmed": point.confirmed,
            "at": iso_utc(point.confirmed_at) if point.confirmed_at else None,
            "words": words,
        },
        "csat_before": _csat(int(row.good_before or 0), int(row.n_before or 0)),
        "responses_before": int(row.n_before or 0),
        "csat_after": _csat(int(row.good_after or 0), n_after) if resolved else None,
        "responses_after": n_after,
        "_improvement": improvement,  # unrounded, for ordering and the mean; dropped before returning
        "_resolved_at": point.resolved_at,
        "_reported_at": point.reported_at,
        "_project_id": point.project_id,
    }


async def _stories(
    session: AsyncSession, where: ColumnElement[bool], now: dt.datetime
) -> list[dict[str, Any]]:
    ids = select(PainPoint.id).where(where)
    rows = (await session.execute(_rows(where, now))).all()
    if not rows:
        return []
    notes = await _notes(session, ids)
    words = await _words(session, ids)
    return [_story(row, notes.get(row.PainPoint.id, []), words.get(row.PainPoint.id)) for row in rows]


def _public(story: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in story.items() if not key.startswith("_")}


def _chart_day(story: dict[str, Any], today: dt.date) -> dt.date:
    """The last day of the story's trend: when the CSAT since the fix ends (today at the latest)."""
    resolved_at = story["_resolved_at"]
    if story["status"] != "resolved" or resolved_at is None:
        return today
    return min(today, (resolved_at + dt.timedelta(days=STORY_DAYS)).date())


async def story(
    session: AsyncSession, org_id: int, point_id: int, *, today: dt.date | None = None
) -> dict[str, Any] | None:
    """The story of pain point `point_id` of the organisation (CONTRACT section 10), or None."""
    today = today or _utc_today()
    found = await _stories(
        session, and_(PainPoint.id == point_id, PainPoint.org_id == org_id), _end_of(today)
    )
    if not found:
        return None
    [one] = found
    project = await session.get(Project, one["_project_id"])
    report = await compute_value(session, org_id, project=project, today=_chart_day(one, today))
    return {**_public(one), "trend": report["trend"]}


def _order(story: dict[str, Any]) -> tuple[Any, ...]:
    """Measured fixes first, largest improvement first; then by resolution (latest first), then id."""
    resolved = -story["_resolved_at"].timestamp()
    if story["_improvement"] is None:
        return (1, 0.0, resolved, story["painpoint"])
    return (0, -story["_improvement"], resolved, story["painpoint"])


async def track_record(
    session: AsyncSession, org_id: int, *, days: int = DEFAULT_DAYS, today: dt.date | None = None
) -> dict[str, Any]:
    """Every pain point resolved in the last `days` days (by resolved_at, as the value report
    counts them), measured ones first, opened by the totals."""
    today = today or _utc_today()
    start, end = window_bounds(today, days)
    where = and_(PainPoint.org_id == org_id, PainPoint.resolved_at >= start, PainPoint.resolved_at < end)
    found = sorted(await _stories(session, where, end), key=_order)
    improvements = [s["_improvement"] for s in found if s["_improvement"] is not None]
    durations = [(s["_resolved_at"] - s["_reported_at"]).total_seconds() / 86400 for s in found]
    totals = {
        "fixes": len(found),
        "measured": len(improvements),
        "mean_improvement_pct": round_half_away(sum(improvements) / len(improvements), 1)
        if improvements
        else None,
        "confirmed": sum(1 for s in found if s["confirmation"]["confirmed"] is True),
        "median_days_to_resolve": round_half_away(median(durations), 1) if durations else None,
    }
    report = await compute_value(session, org_id, today=today)
    return {
        "window": {"start": iso_utc(start), "end": iso_utc(end), "days": days},
        "totals": totals,
        "stories": [_public(s) for s in found],
        "trend": report["trend"],
    }
