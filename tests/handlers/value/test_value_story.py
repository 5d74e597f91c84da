"""The story's figures (METRICS.md `wins`, `attention`, `headline`, `currency`, the breakdown)
against hand-computed expectations, with METRICS.md's edge cases, on SQLite and PostgreSQL.

`today` is 2026-11-21: the window is [2026-08-24, 2026-11-22), the previous one
[2026-05-26, 2026-08-24). `now` is 2026-11-21 12:00 UTC.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from handlers.value.headline import headline
from handlers.value.report import compute_value
from storage.db import Database
from storage.models import PainPoint, Person, Project
from storage.queries import add_person
from tests.handlers.value.test_value import TODAY, World

NOW = dt.datetime(2026, 11, 21, 12, 0)
IN_WINDOW = dt.datetime(2026, 10, 1, 9, 0)
IN_PREVIOUS = dt.datetime(2026, 7, 1, 9, 0)


def pain(
    world: World,
    project: Project,
    *,
    text: str = "it hurts",
    impact: int = 3,
    reported_at: dt.datetime = dt.datetime(2026, 8, 1),
    resolved_at: dt.datetime | None = None,
    status: str | None = None,
    baseline: float | None = None,
    after: float | None = None,
    better: str = "lower",
    metric: str | None = "Wait (days)",
    confirmed: bool | None = None,
    owner: Person | None = None,
) -> PainPoint:
    point = PainPoint(
        org_id=world.org.id,
        project_id=project.id,
        reported_by=world.sponsor.id,
        reported_at=reported_at,
        text=text,
        impact=impact,
        status=status or ("resolved" if resolved_at else "open"),
        resolved_at=resolved_at,
        metric=metric,
        baseline=baseline,
        after=after,
        better=better,
        confirmed=confirmed,
        owner_id=owner.id if owner else None,
    )
    world.session.add(point)
    return point


async def value(world: World, **kwargs: Any) -> dict[str, Any]:
    await world.session.flush()
    return await compute_value(world.session, world.org.id, today=TODAY, now=NOW, **kwargs)


def answers(world: World, project: Project, at: dt.datetime, good: int, other: int) -> None:
    """`good` answers rated 4 or 5 and `other` rated 1 to 3, an hour apart from `at`."""
    ratings = [5 if i % 2 else 4 for i in range(good)] + [1 + i % 3 for i in range(other)]
    for i, rating in enumerate(ratings):
        world.taste(project, at + dt.timedelta(hours=i), rating)


# ---------------------------------------------------------------- wins


async def test_wins_are_measured_fixes_of_the_window_by_improvement_then_latest_then_id(db: Database) -> None:
    async with db.transaction() as session:
        world = await World.make(session)
        shop = await world.project("Shop")
        till = await world.project("Till")
        nov1 = dt.datetime(2026, 11, 1, 10, 0)
        p1 = pain(
            world,
            shop,
            text="one",
            resolved_at=dt.datetime(2026, 10, 1),
            baseline=10,
            after=5,
            confirmed=True,
        )
        p2 = pain(world, till, text="two", resolved_at=nov1, baseline=20, after=10)  # 50 %, later: before p1
        p3 = pain(
            world, shop, text="three", resolved_at=nov1, baseline=4, after=6, better="higher"
        )  # 50 %, same time
        p4 = pain(
            world,
            shop,
            text="four",
            resolved_at=dt.datetime(2026, 9, 1),
            baseline=100,
            after=90,
            confirmed=False,
        )
        pain(
            world, shop, text="worse", resolved_at=dt.datetime(2026, 9, 2), baseline=8, after=10
        )  # −25 %, sixth
        p6 = pain(
            world, till, text="six", resolved_at=dt.datetime(2026, 9, 10), baseline=3, after=1
        )  # 66.7 %
        # not wins: a zero baseline, resolved before the window, not resolved yet, no after
        pain(world, shop, text="zero", resolved_at=dt.datetime(2026, 10, 2), baseline=0, after=5)
        pain(world, shop, text="old", resolved_at=dt.datetime(2026, 8, 23, 23, 59), baseline=10, after=1)
        pain(world, shop, text="unresolved", baseline=10, after=1)
        pain(world, shop, text="half", resolved_at=dt.datetime(2026, 10, 3), baseline=10)
        report = await value(world)

    wins = report["wins"]
    assert [w["painpoint"] for w in wins] == [p6.id, p2.id, p3.id, p1.id, p4.id]  # at most five
    assert [w["improvement_pct"] for w in wins] == [66.7, 50.0, 50.0, 50.0, 10.0]
    assert wins[0] == {
        "painpoint": p6.id,
        "project": "Till",
        "text": "six",
        "metric": "Wait (days)",
        "baseline": 3.0,
        "after": 1.0,
        "improvement_pct": 66.7,
        "confirmed": None,
        "resolved_at": "2026-09-10T00:00:00Z",
    }
    assert [w["confirmed"] for w in wins] == [None, None, None, True, False]
    assert report["pain_points"]["measured_fixes"] == 6  # the sixth is measured, only not listed


# ---------------------------------------------------------------- attention: souring


async def test_souring_needs_three_answers_in_each_window_and_a_drop_of_twenty_points(db: Database) -> None:
    async with db.transaction() as session:
        world = await World.make(session)
        cases = {  # name: (good, other) in the window, (good, other) in the previous window
            "Alpha": ((1, 3), (3, 1)),  # 25 % from 75 %: −50
            "Beta": ((3, 2), (4, 1)),  # 60 % from 80 %: exactly −20 counts
            "Gamma": ((0, 2), (5, 0)),  # two answers in the window: too few
            "Delta": ((0, 3), (2, 0)),  # two in the previous window: too few
            "Epsilon": ((2, 1), (3, 0)),  # 66.7 % from 100 %: −33.3
            "Theta": ((3, 1), (4, 0)),  # 75 % from 100 %: −25
            "Iota": ((4, 1), (5, 0)),  # 80 % from 100 %: −20
            "Zeta": ((4, 1), (4, 0)),  # −20, sixth by name
            "Kappa": ((5, 1), (5, 0)),  # 83.3 % from 100 %: −16.7, not souring
            "Lambda": ((3, 1), (4, 1)),  # 75 % from 80 %: −5, not souring
        }
        for name, (now, before) in cases.items():
            project = await world.project(name)
            answers(world, project, IN_WINDOW, *now)
            answers(world, project, IN_PREVIOUS, *before)
        report = await value(world)

    souring = report["attention"]["souring"]
    assert [s["project"] for s in souring] == ["Alpha", "Epsilon", "Theta", "Beta", "Iota"]
    assert souring[0] == {
        "project": "Alpha",
        "responses": 4,
        "csat_pct": 25.0,
        "previous_csat_pct": 75.0,
        "delta_csat_pts": -50.0,
    }
    assert [s["delta_csat_pts"] for s in souring] == [-50.0, -33.3, -25.0, -20.0, -20.0]


async def test_souring_and_the_breakdown_follow_the_scope(db: Database) -> None:
    async with db.transaction() as session:
        world = await World.make(session)
        shop = await world.project("Shop", segment="Retail")
        till = await world.project("Till", segment="retail ")  # the same segment, written otherwise
        ops = await world.project("Ops")  # no segment
        await world.project("Quiet", segment="Finance")  # no answers at all
        answers(world, shop, IN_WINDOW, 1, 3)
        answers(world, shop, IN_PREVIOUS, 3, 1)
        answers(world, till, IN_WINDOW, 2, 0)
        answers(world, ops, IN_WINDOW, 1, 0)
        org = await value(world)
        segment = await value(world, segment="Retail")
        project = await value(world, project=shop)

    assert org["breakdown"] == {
        "by": "segment",
        "rows": [
            {"name": "Finance", "responses": 0, "csat_pct": None, "previous_csat_pct": None, "delta_csat_pts": None},
            # Shop 1 of 4 and Till 2 of 2: 3 of 6 now; Shop 3 of 4 before
            {"name": "Retail", "responses": 6, "csat_pct": 50.0, "previous_csat_pct": 75.0, "delta_csat_pts": -25.0},
            {"name": "No segment", "responses": 1, "csat_pct": 100.0, "previous_csat_pct": None,
             "delta_csat_pts": None},
        ],
        "more": 0,
    }  # fmt: skip
    assert segment["breakdown"] == {
        "by": "project",
        "rows": [
            {
                "name": "Shop",
                "responses": 4,
                "csat_pct": 25.0,
                "previous_csat_pct": 75.0,
                "delta_csat_pts": -50.0,
            },
            {
                "name": "Till",
                "responses": 2,
                "csat_pct": 100.0,
                "previous_csat_pct": None,
                "delta_csat_pts": None,
            },
        ],
        "more": 0,
    }
    assert [s["project"] for s in org["attention"]["souring"]] == ["Shop"]
    assert [s["project"] for s in segment["attention"]["souring"]] == ["Shop"]
    assert [s["project"] for s in project["attention"]["souring"]] == ["Shop"]
    assert project["breakdown"] is None  # one project: its story, no table


async def test_an_organisation_without_segments_lists_its_projects_busiest_first(db: Database) -> None:
    async with db.transaction() as session:
        world = await World.make(session)
        for i in range(12):
            project = await world.project(f"P{i:02d}")
            answers(world, project, IN_WINDOW, i % 3, 1 + i // 6)
        await world.project("Silent")
        report = await value(world)
    breakdown = report["breakdown"]
    assert breakdown["by"] == "project" and breakdown["more"] == 2  # 12 with answers, ten shown
    # responses i % 3 + 1 + i // 6: most first, then by name; P00 and P03 (one each) are the two more
    assert [(r["name"], r["responses"]) for r in breakdown["rows"]] == [
        ("P08", 4), ("P11", 4), ("P02", 3), ("P05", 3), ("P07", 3),
        ("P10", 3), ("P01", 2), ("P04", 2), ("P06", 2), ("P09", 2),
    ]  # fmt: skip


# ---------------------------------------------------------------- attention: outcomes at risk


async def test_outcomes_at_risk_are_those_counted_by_due_then_id(db: Database) -> None:
    async with db.transaction() as session:
        world = await World.make(session)
        erp = await world.project("ERP")
        crm = await world.project("CRM")
        o1 = world.outcome(erp, 0, 10, 5, due=dt.date(2026, 11, 1))  # overdue, half way
        o2 = world.outcome(crm, 0, 10, 5, due=dt.date(2027, 1, 1))  # f = 324/365 = 0.888: 0.5 < 0.638
        world.outcome(erp, 0, 10, 0, due=None)  # no due date: never at risk
        world.outcome(erp, 0, 10, 10, due=dt.date(2026, 1, 2))  # overdue but achieved
        o5 = world.outcome(crm, 0, 10, 7, due=dt.date(2026, 12, 1))  # f = 324/334 = 0.970: 0.7 < 0.720
        world.outcome(erp, 0, 10, None, due=dt.date(2027, 12, 31), added_on=dt.date(2026, 11, 1))  # f 0.047
        world.outcome(erp, 0, 10, 8, due=dt.date(2027, 1, 1))  # 0.8 ≥ 0.638: on track
        late = [world.outcome(erp, 100, 50, None, due=dt.date(2026, 12, 31)) for _ in range(3)]  # p 0, f 0.89
        await session.flush()
        report = await value(world)

    assert report["outcomes"]["at_risk"] == 6
    risky = report["attention"]["at_risk"]
    assert [r["outcome"] for r in risky] == [o1.id, o5.id, *(o.id for o in late)]  # five; o2 (2027) is sixth
    assert risky[0] == {
        "outcome": o1.id,
        "project": "ERP",
        "metric": "metric",
        "progress_pct": 50.0,
        "due": "2026-11-01",
    }
    assert [r["progress_pct"] for r in risky] == [50.0, 70.0, 0.0, 0.0, 0.0]
    assert o2.id not in [r["outcome"] for r in risky]


# ---------------------------------------------------------------- attention: open high-impact pain points


async def test_open_high_impact_pain_points_oldest_first_with_owner_and_age(db: Database) -> None:
    async with db.transaction() as session:
        world = await World.make(session)
        lena = await add_person(session, world.org.id, "Lena Hoffmann", role="staff")
        erp = await world.project("ERP")
        oct1 = dt.datetime(2026, 10, 1)
        h1 = pain(world, erp, text="no test data", impact=5, reported_at=oct1)
        h2 = pain(world, erp, text="key users busy", impact=4, status="in_progress", owner=lena,
                  reported_at=dt.datetime(2026, 6, 1, 12, 0))  # fmt: skip
        pain(world, erp, text="minor", impact=3, reported_at=dt.datetime(2026, 5, 1))
        pain(world, erp, text="fixed", impact=5, reported_at=dt.datetime(2026, 5, 1), resolved_at=oct1)
        h5 = pain(world, erp, text="same day", impact=4, reported_at=oct1)
        report = await value(world)

    assert report["attention"]["open_high_impact"] == [
        {"painpoint": h2.id, "project": "ERP", "text": "key users busy", "impact": 4, "age_days": 173.0,
         "owner": "Lena Hoffmann"},
        {"painpoint": h1.id, "project": "ERP", "text": "no test data", "impact": 5, "age_days": 51.5, "owner": None},
        {"painpoint": h5.id, "project": "ERP", "text": "same day", "impact": 4, "age_days": 51.5, "owner": None},
    ]  # fmt: skip


# ---------------------------------------------------------------- headline and currency


async def test_headline_and_currency_from_the_computed_figures(db: Database) -> None:
    async with db.transaction() as session:
        world = await World.make(session)
        shop = await world.project("Shop")
        answers(world, shop, IN_WINDOW, 3, 1)  # 75 %
        answers(world, shop, IN_PREVIOUS, 1, 1)  # 50 %
        pain(world, shop, resolved_at=dt.datetime(2026, 10, 5), baseline=10, after=6)  # 40 %
        pain(world, shop, resolved_at=dt.datetime(2026, 10, 6))
        world.outcome(shop, 0, 10, 5, benefit=2_400_000)
        world.org.pmo_cost = 450_000.0
        report = await value(world, currency="eur")
        bare = await value(world, project=shop)

    assert report["benefits"] == {
        "planned": 2400000.0,
        "realized": 1200000.0,
        "pmo_cost": 450000.0,
        "roi_pct": 166.7,
        "currency": "EUR",
    }  # exact in JSON
    assert report["headline"] == (
        "Sponsors' satisfaction 75% (up 25.0 pts); 2 pain points fixed, 1 measured (+40% on average); "
        "€1.2M of €2.4M benefits realized; ROI +167%."
    )
    assert bare["benefits"]["currency"] is None
    assert bare["headline"] == (  # a project: its sponsor, no ROI, no symbol
        "Sponsor's satisfaction 75% (up 25.0 pts); 2 pain points fixed, 1 measured (+40% on average); "
        "1.2M of 2.4M benefits realized."
    )


def figures(**changes: Any) -> dict[str, Any]:
    report: dict[str, Any] = {
        "scope": {"project": None, "segment": None},
        "window": {"days": 90},
        "satisfaction": {"csat_pct": 78.0, "delta_csat_pts": 7.4},
        "pain_points": {"resolved": 6, "measured_fixes": 3, "mean_improvement_pct": 42.0},
        "benefits": {"planned": 2400000, "realized": 1310000, "roi_pct": 191.1, "currency": "EUR"},
    }
    for path, value_ in changes.items():
        part, key = path.split("__")
        report[part][key] = value_
    return copy.deepcopy(report)


def test_headline_is_the_contracts_example_and_leaves_out_what_is_null() -> None:
    assert headline(figures()) == (
        "Sponsors' satisfaction 78% (up 7.4 pts); 6 pain points fixed, 3 measured (+42% on average); "
        "€1.31M of €2.4M benefits realized; ROI +191%."
    )
    assert headline(figures(satisfaction__delta_csat_pts=None, benefits__roi_pct=None)) == (
        "Sponsors' satisfaction 78%; 6 pain points fixed, 3 measured (+42% on average); "
        "€1.31M of €2.4M benefits realized."
    )
    assert headline(figures(satisfaction__csat_pct=None, satisfaction__delta_csat_pts=None)).startswith(
        "6 pain points fixed"
    )
    assert headline(figures(satisfaction__delta_csat_pts=-3.05)).startswith(
        "Sponsors' satisfaction 78% (down 3.0 pts)"
    )
    assert headline(figures(satisfaction__delta_csat_pts=0.0)).startswith(
        "Sponsors' satisfaction 78% (unchanged)"
    )
    one = figures(
        pain_points__resolved=1, pain_points__measured_fixes=0, pain_points__mean_improvement_pct=None
    )
    assert "; 1 pain point fixed; " in headline(one)
    none_fixed = headline(figures(pain_points__resolved=0, pain_points__measured_fixes=0))
    assert "pain point" not in none_fixed and " 0" not in none_fixed
    no_plan = headline(figures(benefits__planned=None, benefits__realized=None, benefits__roi_pct=None))
    assert (
        no_plan
        == "Sponsors' satisfaction 78% (up 7.4 pts); 6 pain points fixed, 3 measured (+42% on average)."
    )
    assert "benefits" not in headline(figures(benefits__planned=0, benefits__realized=0))
    assert "ROI -20%" in headline(figures(benefits__roi_pct=-20.4))
    many = headline(figures(pain_points__resolved=1428, pain_points__measured_fixes=1200))
    assert "; 1,428 pain points fixed, 1,200 measured (+42% on average); " in many
    nothing = figures(
        satisfaction__csat_pct=None,
        satisfaction__delta_csat_pts=None,
        pain_points__resolved=0,
        benefits__planned=None,
        benefits__realized=None,
        benefits__roi_pct=None,
    )
    assert headline(nothing) == "Nothing to tell yet: no answers, fixes or benefits in the last 90 days."


# ---------------------------------------------------------------- the loop's next answer, per project and sponsor


async def test_a_sour_answers_next_answer_is_its_own_project_and_sponsors(db: Database) -> None:
    """SQLite seeks each next answer, PostgreSQL reads each pair's answers in order: both agree."""
    async with db.transaction() as session:
        world = await World.make(session)
        other = await add_person(session, world.org.id, "Other sponsor", email="other@example.org")
        shop = await world.project("Shop")
        till = await world.project("Till")
        day = dt.timedelta(days=1)
        t = dt.datetime(2026, 9, 1, 9, 0)
        world.taste(shop, t, 1)  # Shop × sponsor: sour, next is t + 3 (5: recovered)
        world.taste(till, t + day, 5)  # another project in between: not Shop's next
        world.taste(shop, t + day, 5).sponsor_id = other.id  # another sponsor: not the next either
        world.taste(shop, None, None, sent_at=t + 2 * day)  # unanswered: skipped
        world.taste(shop, t + 3 * day, 5)
        world.taste(till, t + 4 * day, 2)  # Till: sour, next is t + 5 (3: not recovered)
        world.taste(till, t + 5 * day, 3)
        world.taste(shop, t + 6 * day, 2).sponsor_id = other.id  # sour, no next answer
        world.taste(till, dt.datetime(2026, 8, 1), 1)  # sour before the window: not counted
        report = await value(world)
    assert report["loop"] == {
        "sour": 3,
        "followed_up": 0,
        "median_hours_to_follow_up": None,
        "recovered": 1,
        "recovery_pct": 50.0,
    }
