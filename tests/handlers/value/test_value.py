"""The value report against hand-computed figures (METRICS.md), on SQLite and PostgreSQL.

`today` is fixed at 2026-11-21, so the 90-day window is [2026-08-24, 2026-11-22), the previous
window is [2026-05-26, 2026-08-24) and the trend months are 2026-06 … 2026-11.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from sqlalchemy import event

from handlers.value.report import compute_value, month_starts, recent_comments, round_half_away, window_bounds
from storage.db import Database
from storage.models import (
    KIND_PAINPOINT,
    KIND_TASTE,
    Checkin,
    Organisation,
    Outcome,
    PainPoint,
    Person,
    Project,
)
from storage.queries import add_person, get_or_create_org, name_key

TODAY = dt.date(2026, 11, 21)
START = dt.datetime(2026, 8, 24)
END = dt.datetime(2026, 11, 22)
PREV_START = dt.datetime(2026, 5, 26)
SECOND = dt.timedelta(seconds=1)
CREATED = dt.datetime(2025, 1, 1)


class World:
    """Rows added straight to the database: the report must not care how they got there."""

    def __init__(self, session: Any, org: Organisation, sponsor: Person) -> None:
        self.session, self.org, self.sponsor = session, org, sponsor

    @classmethod
    async def make(cls, session: Any, key: str = "default") -> World:
        org = await get_or_create_org(session, key)
        sponsor = await add_person(session, org.id, f"Sponsor {key}", email=f"sponsor@{key}.example")
        return cls(session, org, sponsor)

    async def project(self, name: str, segment: str | None = None, archived: bool = False) -> Project:
        project = Project(
            org_id=self.org.id,
            name=name,
            name_key=name_key(name),
            segment=segment,
            sponsor_id=self.sponsor.id,
            archived=archived,
            created_at=CREATED,
        )
        self.session.add(project)
        await self.session.flush()
        return project

    def taste(
        self,
        project: Project,
        answered_at: dt.datetime | None = None,
        rating: int | None = None,
        *,
        sent_at: dt.datetime | None = None,
        comment: str | None = None,
        kind: str = KIND_TASTE,
    ) -> Checkin:
        checkin = Checkin(
            org_id=self.org.id,
            project_id=project.id,
            sponsor_id=self.sponsor.id,
            kind=kind,
            status="answered" if answered_at else "closed",
            sent_at=sent_at or (answered_at - dt.timedelta(hours=1) if answered_at else START),
            answered_at=answered_at,
            rating=rating,
            comment=comment,
            message_refs={},
        )
        self.session.add(checkin)
        return checkin

    def pain(
        self,
        project: Project,
        reported_at: dt.datetime,
        resolved_at: dt.datetime | None = None,
        *,
        baseline: float | None = None,
        after: float | None = None,
        better: str = "lower",
    ) -> PainPoint:
        point = PainPoint(
            org_id=self.org.id,
            project_id=project.id,
            reported_by=self.sponsor.id,
            reported_at=reported_at,
            text="it hurts",
            impact=3,
            status="resolved" if resolved_at else "open",
            resolved_at=resolved_at,
            baseline=baseline,
            after=after,
            better=better,
        )
        self.session.add(point)
        return point

    def outcome(
        self,
        project: Project,
        baseline: float,
        target: float,
        current: float | None = None,
        *,
        benefit: float | None = None,
        due: dt.date | None = None,
        added_on: dt.date = dt.date(2026, 1, 1),
    ) -> Outcome:
        outcome = Outcome(
            org_id=self.org.id,
            project_id=project.id,
            metric="metric",
            baseline=baseline,
            target=target,
            current=current,
            benefit=benefit,
            due=due,
            added_on=added_on,
        )
        self.session.add(outcome)
        return outcome

    async def value(self, **kwargs: Any) -> dict[str, Any]:
        await self.session.flush()
        report = await compute_value(self.session, self.org.id, today=TODAY, **kwargs)
        assert json.loads(json.dumps(report, allow_nan=False)) == report  # plain JSON numbers, no Decimal
        return report


# ---------------------------------------------------------------- pure helpers


def test_rounding_is_half_away_from_zero_on_the_decimal_value() -> None:
    assert round_half_away(4.125, 2) == 4.13  # Python's round gives 4.12
    assert round_half_away(2.675, 2) == 2.68  # binary 2.67499…: Python's round gives 2.67
    assert round_half_away(4.25, 1) == 4.3
    assert round_half_away(-0.05, 1) == -0.1
    assert str(round_half_away(-0.04, 1)) == "0.0"  # never "-0.0" in the JSON
    assert round_half_away(None, 1) is None


def test_window_ends_at_midnight_after_today_and_rejects_bad_days() -> None:
    assert window_bounds(TODAY, 90) == (START, END)
    assert window_bounds(TODAY, 1) == (dt.datetime(2026, 11, 21), END)
    for bad in (0, -3, 2.5, "90", True):
        with pytest.raises(ValueError, match="days must be a whole number"):
            window_bounds(TODAY, bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="before the calendar begins"):
        window_bounds(TODAY, 400_000)


def test_trend_months_cross_the_year() -> None:
    assert month_starts(dt.date(2027, 1, 15)) == [
        dt.date(2026, 8, 1),
        dt.date(2026, 9, 1),
        dt.date(2026, 10, 1),
        dt.date(2026, 11, 1),
        dt.date(2026, 12, 1),
        dt.date(2027, 1, 1),
        dt.date(2027, 2, 1),
    ]
    assert month_starts(dt.date(2026, 12, 31))[-2:] == [dt.date(2026, 12, 1), dt.date(2027, 1, 1)]


# ---------------------------------------------------------------- the report on real databases


async def test_nothing_to_compute_from_is_null_never_zero(db: Database) -> None:
    async with db.transaction() as session:
        world = await World.make(session)
        await world.project("Quiet")
        report = await world.value()
    assert report == {
        "scope": {"project": None, "segment": None},
        "window": {"start": "2026-08-24T00:00:00Z", "end": "2026-11-22T00:00:00Z", "days": 90},
        "satisfaction": {
            "responses": 0,
            "mean": None,
            "csat_pct": None,
            "net_taste_pct": None,
            "previous_csat_pct": None,
            "delta_csat_pts": None,
        },
        "response_rate_pct": None,
        "pain_points": {
            "reported": 0,
            "open": 0,
            "resolved": 0,
            "median_days_to_resolve": None,
            "measured_fixes": 0,
            "mean_improvement_pct": None,
            "in_progress": 0,
            "confirmed_fixes": 0,
            "reopened": 0,
        },
        "loop": {
            "sour": 0,
            "followed_up": 0,
            "median_hours_to_follow_up": None,
            "recovered": 0,
            "recovery_pct": None,
        },
        "outcomes": {"total": 0, "achieved": 0, "on_track": 0, "at_risk": 0, "mean_progress_pct": None},
        "benefits": {"planned": None, "realized": None, "pmo_cost": None, "roi_pct": None, "currency": None},
        "wins": [],
        "attention": {"souring": [], "at_risk": [], "open_high_impact": []},
        "headline": "Nothing to tell yet: no answers, fixes or benefits in the last 90 days.",
        "breakdown": {"by": "project", "rows": [], "more": 0},
        "trend": [
            {"month": month, "responses": 0, "mean": None, "csat_pct": None}
            for month in ("2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11")
        ],
    }


async def test_satisfaction_previous_window_delta_and_trend(db: Database) -> None:
    async with db.transaction() as session:
        world = await World.make(session)
        other = await World.make(session, "other-org")
        alpha = await world.project("Alpha")
        # current window [2026-08-24, 2026-11-22): 5 5 4 4 3 1
        world.taste(alpha, START, 5)  # the first instant belongs to the window
        world.taste(alpha, dt.datetime(2026, 9, 10, 9), 5)
        world.taste(alpha, dt.datetime(2026, 10, 1, 9), 4)
        world.taste(alpha, dt.datetime(2026, 10, 2, 9), 3)
        world.taste(alpha, END - SECOND, 1)
        # answered Sour in August, changed to Tasty in September: counts once, where and as it is now
        world.taste(alpha, dt.datetime(2026, 9, 15, 12), 4, sent_at=dt.datetime(2026, 7, 30))
        # previous window [2026-05-26, 2026-08-24): 4 2 1
        world.taste(alpha, START - SECOND, 4)
        world.taste(alpha, dt.datetime(2026, 6, 1), 2)
        world.taste(alpha, PREV_START, 1)
        # outside both windows, or not taste answers at all
        world.taste(alpha, END, 5)  # the end is exclusive (but it is in November's trend)
        world.taste(alpha, PREV_START - SECOND, 5)
        world.taste(alpha, sent_at=dt.datetime(2026, 10, 5))  # unanswered
        world.taste(alpha, dt.datetime(2026, 10, 5), None, kind=KIND_PAINPOINT)
        other.taste(await other.project("Elsewhere"), dt.datetime(2026, 10, 5), 1)
        report = await world.value()

    assert report["satisfaction"] == {
        "responses": 6,
        "mean": 3.67,  # 22 / 6
        "csat_pct": 66.7,  # 4 / 6
        "net_taste_pct": 16.7,  # (2 − 1) / 6
        "previous_csat_pct": 33.3,  # 1 / 3
        "delta_csat_pts": 33.3,  # 66.67 − 33.33 from unrounded values, not 66.7 − 33.3 = 33.4
    }
    assert report["trend"] == [
        {"month": "2026-06", "responses": 1, "mean": 2.0, "csat_pct": 0.0},
        {"month": "2026-07", "responses": 0, "mean": None, "csat_pct": None},
        {"month": "2026-08", "responses": 2, "mean": 4.5, "csat_pct": 100.0},
        {"month": "2026-09", "responses": 2, "mean": 4.5, "csat_pct": 100.0},
        {"month": "2026-10", "responses": 2, "mean": 3.5, "csat_pct": 50.0},
        {"month": "2026-11", "responses": 2, "mean": 3.0, "csat_pct": 50.0},
    ]


async def test_a_short_window_cuts_a_month_but_the_trend_keeps_whole_months(db: Database) -> None:
    async with db.transaction() as session:
        world = await World.make(session)
        beta = await world.project("Beta")
        world.taste(beta, dt.datetime(2026, 10, 1), 5)  # October: before the 30-day window
        world.taste(beta, dt.datetime(2026, 10, 22, 23, 59, 59), 4)  # a second before the window
        world.taste(beta, dt.datetime(2026, 10, 23), 4)  # the window's first instant
        world.taste(beta, dt.datetime(2026, 11, 2), 2)
        world.taste(beta, dt.datetime(2026, 9, 30), 1)  # previous 30 days: [09-23, 10-23)
        world.taste(beta, dt.datetime(2026, 6, 1), 4)  # the oldest trend month's first instant
        world.taste(beta, dt.datetime(2026, 5, 31, 23, 59, 59), 1)  # before the trend
        report = await world.value(days=30)

    assert report["window"] == {"start": "2026-10-23T00:00:00Z", "end": "2026-11-22T00:00:00Z", "days": 30}
    satisfaction = report["satisfaction"]
    assert (satisfaction["responses"], satisfaction["mean"], satisfaction["csat_pct"]) == (2, 3.0, 50.0)
    assert satisfaction["net_taste_pct"] == -50.0  # (0 − 1) / 2
    # previous 30 days: 5, 4, 1 → 66.7 %; delta 50 − 66.67 = −16.7
    assert (satisfaction["previous_csat_pct"], satisfaction["delta_csat_pts"]) == (66.7, -16.7)
    assert [(m["month"], m["responses"], m["mean"], m["csat_pct"]) for m in report["trend"]] == [
        ("2026-06", 1, 4.0, 100.0),
        ("2026-07", 0, None, None),
        ("2026-08", 0, None, None),
        ("2026-09", 1, 1.0, 0.0),
        ("2026-10", 3, 4.33, 100.0),  # 13 / 3, the whole month although the window starts on the 23rd
        ("2026-11", 1, 2.0, 0.0),
    ]


async def test_response_rate_counts_checkins_sent_in_the_window(db: Database) -> None:
    async with db.transaction() as session:
        world = await World.make(session)
        gamma = await world.project("Gamma")
        world.taste(gamma, dt.datetime(2026, 8, 24, 2), 5, sent_at=START)
        world.taste(gamma, dt.datetime(2026, 12, 5), 4, sent_at=dt.datetime(2026, 10, 1))  # answered later
        world.taste(gamma, dt.datetime(2026, 9, 2, 3), 3, sent_at=dt.datetime(2026, 9, 2))
        for day in (dt.datetime(2026, 9, 1), dt.datetime(2026, 9, 3), dt.datetime(2026, 9, 4), END - SECOND):
            world.taste(gamma, sent_at=day)  # never answered
        world.taste(gamma, dt.datetime(2026, 8, 25), 5, sent_at=START - SECOND)  # sent before the window
        world.taste(gamma, sent_at=END)  # sent after it
        world.taste(gamma, sent_at=dt.datetime(2026, 9, 5), kind=KIND_PAINPOINT)
        report = await world.value()
    assert report["response_rate_pct"] == 42.9  # 3 answered of 7 sent


async def test_pain_points_counts_median_and_measured_fixes(db: Database) -> None:
    async with db.transaction() as session:
        world = await World.make(session)
        other = await World.make(session, "other-org")
        alpha, beta = await world.project("Alpha"), await world.project("Beta")
        world.pain(alpha, dt.datetime(2026, 5, 1))  # open for months: open, not reported
        world.pain(alpha, START)  # reported at the window's first instant, still open
        d = dt.datetime
        world.pain(alpha, d(2026, 9, 1), d(2026, 9, 3), baseline=10, after=6)  # 2 days, +40 %
        world.pain(
            alpha, d(2026, 9, 1), d(2026, 9, 5, 12), baseline=50, after=60, better="higher"
        )  # 4.5, +20
        world.pain(beta, d(2026, 7, 1), d(2026, 9, 10), baseline=-20, after=-10)  # 71 days, −50 %
        world.pain(
            alpha, d(2026, 10, 1), d(2026, 10, 5), baseline=0, after=5
        )  # 4 days, baseline 0: not measured
        world.pain(alpha, d(2026, 10, 1), d(2026, 10, 11, 12), baseline=7)  # 10.5 days, no after
        world.pain(alpha, d(2026, 11, 1), d(2026, 11, 5))  # 4 days again: a tie
        world.pain(alpha, d(2026, 5, 1), START - SECOND, baseline=10, after=0)  # resolved before the window
        world.pain(alpha, d(2026, 11, 1), END)  # resolved at the exclusive end
        other.pain(await other.project("Elsewhere"), d(2026, 10, 1))
        org = await world.value()
        only_alpha = await world.value(project=alpha)
        only_beta = await world.value(project=beta)

    assert org["pain_points"] == {
        "reported": 7,
        "open": 2,
        "resolved": 6,
        "median_days_to_resolve": 4.3,  # durations 2, 4, 4, 4.5, 10.5, 71: (4 + 4.5) / 2 = 4.25
        "measured_fixes": 3,
        "mean_improvement_pct": 3.3,  # (40 + 20 − 50) / 3
        "in_progress": 0,
        "confirmed_fixes": 0,
        "reopened": 0,
    }
    assert only_alpha["pain_points"]["resolved"] == 5
    assert only_alpha["pain_points"]["median_days_to_resolve"] == 4.0  # 2, 4, 4, 4.5, 10.5
    assert only_alpha["pain_points"]["mean_improvement_pct"] == 30.0
    assert only_beta["pain_points"] == {
        "reported": 0,
        "open": 0,
        "resolved": 1,
        "median_days_to_resolve": 71.0,
        "measured_fixes": 1,
        "mean_improvement_pct": -50.0,
        "in_progress": 0,
        "confirmed_fixes": 0,
        "reopened": 0,
    }


async def test_outcomes_progress_risk_and_benefits(db: Database) -> None:
    async with db.transaction() as session:
        world = await World.make(session)
        world.org.pmo_cost = 1000.0
        p = await world.project("Delta")
        date = dt.date
        world.outcome(p, 10, 20, 25, benefit=1000)  # p 1.5: achieved, counts as 1
        world.outcome(p, 100, 60, 80, benefit=500)  # target below baseline, p 0.5, no due: on track
        # moving the wrong way: p −0.25 → 0; f = 324/365 = 0.89, so p < f − 0.25: at risk
        world.outcome(p, 100, 60, 110, benefit=2000, due=date(2027, 1, 1), added_on=date(2026, 1, 1))
        world.outcome(p, 0, 10, due=date(2027, 6, 1), added_on=TODAY)  # no current: p 0, f 0: on track
        world.outcome(p, 0, 10, 9, benefit=100, due=date(2026, 11, 20))  # past due: at risk
        # due before it was added: f = 1, so p 0.7 is at risk and p 0.8 is not
        world.outcome(p, 0, 10, 7, due=date(2026, 11, 25), added_on=date(2026, 12, 1))
        world.outcome(p, 0, 10, 8, due=date(2026, 11, 25), added_on=date(2026, 12, 1))
        # f = 20/40 = 0.5: p 0.25 is exactly f − 0.25 (not at risk), p 0.24 is below it (at risk)
        world.outcome(p, 0, 10, 2.5, benefit=333.33, due=date(2026, 12, 11), added_on=date(2026, 11, 1))
        world.outcome(p, 0, 10, 2.4, benefit=0, due=date(2026, 12, 11), added_on=date(2026, 11, 1))
        world.outcome(p, 0, 10, 8, due=TODAY, added_on=date(2026, 11, 1))  # due today is not past due
        world.outcome(
            p, 5, 1, 1, benefit=300, due=date(2026, 1, 1), added_on=date(2025, 6, 1)
        )  # achieved late
        report = await world.value()

    assert report["outcomes"] == {
        "total": 11,
        "achieved": 2,
        "on_track": 5,
        "at_risk": 4,
        "mean_progress_pct": 56.3,  # (100+50+0+0+90+70+80+25+24+80+100) / 11
    }
    assert report["benefits"] == {
        "planned": 4233.33,
        "realized": 1723.33,  # 1000 + 250 + 90 + 83.3325 + 300
        "pmo_cost": 1000.0,
        "roi_pct": 72.3,
        "currency": None,
    }


async def test_scope_project_segment_and_archived_projects(db: Database) -> None:
    async with db.transaction() as session:
        world = await World.make(session)
        world.org.pmo_cost = 150.0
        retail = await world.project("Shopfront", segment="Retail")
        archived = await world.project("Old tills", segment="retail ", archived=True)
        ops = await world.project("Warehouse", segment="Ops")
        loose = await world.project("Loose")
        when = dt.datetime(2026, 10, 1)
        for project, rating, benefit, current in (
            (retail, 5, 100, 10),
            (archived, 4, 200, 5),
            (ops, 1, 400, 0),
            (loose, 2, 800, None),
        ):
            world.taste(project, when, rating)
            world.outcome(project, 0, 10, current, benefit=benefit)
            world.pain(project, when)
        org = await world.value()
        segment = await world.value(segment="RETAIL")
        project = await world.value(project=ops)
        mismatch = await world.value(project=retail, segment="Ops")
        unknown = await world.value(segment="Nowhere")
        world.org.pmo_cost = 0.0
        no_cost = await world.value()

    assert org["scope"] == {"project": None, "segment": None}
    assert (org["satisfaction"]["responses"], org["satisfaction"]["csat_pct"]) == (4, 50.0)
    assert org["outcomes"]["total"] == 4 and org["pain_points"]["open"] == 4
    assert org["benefits"] == {
        "planned": 1500.0,
        "realized": 200.0,
        "pmo_cost": 150.0,
        "roi_pct": 33.3,
        "currency": None,
    }

    assert segment["scope"] == {"project": None, "segment": "RETAIL"}
    assert segment["satisfaction"]["responses"] == 2 and segment["satisfaction"]["mean"] == 4.5
    assert segment["pain_points"]["open"] == 2  # the archived project counts
    assert segment["benefits"] == {
        "planned": 300.0,
        "realized": 200.0,
        "pmo_cost": None,
        "roi_pct": None,
        "currency": None,
    }

    assert project["scope"] == {"project": "Warehouse", "segment": None}
    assert project["satisfaction"]["csat_pct"] == 0.0 and project["satisfaction"]["net_taste_pct"] == -100.0
    assert project["benefits"] == {
        "planned": 400.0,
        "realized": 0.0,
        "pmo_cost": None,
        "roi_pct": None,
        "currency": None,
    }

    for empty in (mismatch, unknown):
        assert empty["satisfaction"]["responses"] == 0 and empty["satisfaction"]["csat_pct"] is None
        assert empty["outcomes"]["total"] == 0 and empty["benefits"]["planned"] is None

    assert no_cost["benefits"]["pmo_cost"] == 0.0 and no_cost["benefits"]["roi_pct"] is None


async def test_bad_scope_and_days_are_refused(db: Database) -> None:
    async with db.transaction() as session:
        world = await World.make(session)
        other = await World.make(session, "other-org")
        foreign = await other.project("Theirs")
        with pytest.raises(ValueError, match="belongs to another organisation"):
            await world.value(project=foreign)
        with pytest.raises(ValueError, match="days must be a whole number of at least 1"):
            await world.value(days=0)
        with pytest.raises(ValueError, match="segment must name a segment"):
            await world.value(segment="  ")


async def test_recent_comments_are_newest_first_in_scope(db: Database) -> None:
    async with db.transaction() as session:
        world = await World.make(session)
        alpha, beta = await world.project("Alpha"), await world.project("Beta")
        world.taste(alpha, dt.datetime(2026, 11, 20), 5, comment="Great pace")
        world.taste(beta, dt.datetime(2026, 11, 21, 12), 2, comment="  Too slow ")
        world.taste(alpha, dt.datetime(2026, 11, 21, 13), 4, comment="   ")
        world.taste(alpha, dt.datetime(2026, 11, 21, 14), 3)
        world.taste(alpha, END, 1, comment="from tomorrow")
        world.taste(alpha, dt.datetime(2026, 11, 21, 15), None, comment="a pain point", kind=KIND_PAINPOINT)
        world.taste(alpha, dt.datetime(2026, 1, 1), 4, comment="old")
        await session.flush()
        org = await recent_comments(session, world.org.id, project=None, segment=None, limit=2, today=TODAY)
        only_alpha = await recent_comments(session, world.org.id, project=alpha, segment=None, today=TODAY)
        with pytest.raises(ValueError, match="limit"):
            await recent_comments(session, world.org.id, project=None, segment=None, limit=0, today=TODAY)
    assert org == [
        {"project": "Beta", "rating": 2, "comment": "Too slow", "answered_at": "2026-11-21T12:00:00Z"},
        {"project": "Alpha", "rating": 5, "comment": "Great pace", "answered_at": "2026-11-20T00:00:00Z"},
    ]
    assert [c["comment"] for c in only_alpha] == ["Great pace", "old"]


@pytest.mark.sqlite_only
async def test_figures_come_from_few_indexed_queries(db: Database) -> None:
    """Guard against a regression to row loading or full scans of the check-ins table."""
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        statements.append((statement, parameters))

    async with db.transaction() as session:
        world = await World.make(session)
        shop = await world.project("Shop", segment="Retail")
        await world.project("Till", segment="Retail")
        world.taste(shop, dt.datetime(2026, 10, 1), 5)
        await session.flush()
        event.listen(db.engine.sync_engine, "before_cursor_execute", record)
        try:
            for scope in ({}, {"project": shop}, {"segment": "Retail"}):
                statements.clear()
                await compute_value(session, world.org.id, today=TODAY, **scope)
                # the figures (7 at most) and the highlights: tallies, projects, wins, open pain points
                assert len(statements) <= 11, scope
                connection = await session.connection()
                for statement, parameters in list(statements):
                    if "checkins" not in statement:
                        continue
                    plan = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                    details = [row[3] for row in plan]
                    uses = [d for d in details if "checkins" in d]
                    assert uses, details
                    assert all(re.match(r"SEARCH checkins(_\d+)? USING COVERING INDEX", d) for d in uses), (
                        details
                    )  # _1: an alias
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", record)
