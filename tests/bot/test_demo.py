"""The demo organisation, loaded into real SQLite and PostgreSQL databases and checked against METRICS.md."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.demo import DemoError, DemoSummary, load_demo
from handlers.value.report import compute_value
from storage.db import Database, utcnow
from storage.models import (
    KIND_PAINPOINT,
    KIND_TASTE,
    Answer,
    Base,
    Checkin,
    Delivery,
    Identity,
    LocalMessage,
    Measurement,
    Organisation,
    Outcome,
    PainPoint,
    Person,
    Project,
)
from storage.queries import add_person, get_or_create_org, name_key

PAST_DAY = dt.date(2025, 3, 14)


async def load(db: Database, key: str = "default", **kwargs: Any) -> tuple[int, DemoSummary]:
    async with db.transaction() as session:
        org = await get_or_create_org(session, key)
        return org.id, await load_demo(session, org.id, **kwargs)


async def rows(session: AsyncSession, model: type[Base], org_id: int) -> list[Any]:
    return list(await session.scalars(select(model).where(model.org_id == org_id).order_by(model.id)))


async def counts(db: Database) -> dict[str, int]:
    async with db.transaction() as session:
        return {
            model.__tablename__: int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (
                Person,
                Identity,
                Project,
                Checkin,
                Answer,
                Delivery,
                PainPoint,
                Outcome,
                Measurement,
            )
        }


def outcome_state(outcome: Outcome, today: dt.date) -> str:
    """METRICS.md, computed here independently of the code under test."""
    p = (
        0.0
        if outcome.current is None
        else (outcome.current - outcome.baseline) / (outcome.target - outcome.baseline)
    )
    if p >= 1:
        return "achieved"
    if outcome.due is not None:
        if outcome.due <= outcome.added_on:
            f = 1.0
        else:
            f = min(1.0, max(0.0, (today - outcome.added_on) / (outcome.due - outcome.added_on)))
        if outcome.due < today or p < f - 0.25:
            return "at_risk"
    return "on_track"


async def test_counts_people_and_projects(db: Database) -> None:
    org_id, summary = await load(db)
    async with db.transaction() as session:
        projects = await rows(session, Project, org_id)
        people = await rows(session, Person, org_id)
        identities = await rows(session, Identity, org_id)
        checkins = await rows(session, Checkin, org_id)
        points = await rows(session, PainPoint, org_id)
        outcomes = await rows(session, Outcome, org_id)
    assert summary == DemoSummary(
        projects=len(projects),
        people=len(people),
        checkins=len(checkins),
        painpoints=len(points),
        outcomes=len(outcomes),
    )
    assert 10 <= len(projects) <= 14
    assert len({p.segment for p in projects}) >= 3
    assert len({p.cadence for p in projects}) >= 3
    assert len({(p.day, p.time) for p in projects}) >= 6
    assert [p.role for p in people].count("staff") == 2
    assert [p.role for p in people].count("admin") == 1
    sponsors = {p.sponsor_id for p in projects}
    assert 7 <= len(sponsors) <= 9
    assert all(p.email and p.email.endswith("@example.com") for p in people)
    assert len({p.tz for p in people}) >= 5
    assert {(i.person_id, i.platform, i.external_id) for i in identities} == {
        (p.id, "local", p.email) for p in people
    }
    tastes = [c for c in checkins if c.kind == KIND_TASTE]
    prompts = [c for c in checkins if c.kind == KIND_PAINPOINT]
    assert 120 <= len(tastes) <= 260
    assert 20 <= len(prompts) <= 80
    assert 12 <= len(points) <= 18
    assert 18 <= len(outcomes) <= 22
    assert all(c.sponsor_id == next(p.sponsor_id for p in projects if p.id == c.project_id) for c in checkins)


async def test_check_ins_answers_and_ledger(db: Database) -> None:
    org_id, _ = await load(db, today=PAST_DAY)
    async with db.transaction() as session:
        checkins = await rows(session, Checkin, org_id)
        answers = await rows(session, Answer, org_id)
        deliveries = await rows(session, Delivery, org_id)
    tastes = [c for c in checkins if c.kind == KIND_TASTE]
    history = [c for c in tastes if c.status != "open"]
    answered = [c for c in history if c.status == "answered"]
    by_checkin: dict[int, list[Answer]] = {}
    for answer in answers:
        by_checkin.setdefault(answer.checkin_id, []).append(answer)
    for checkin in answered:
        assert checkin.rating in (1, 2, 3, 4, 5)
        assert checkin.answered_at is not None
        assert dt.timedelta(0) < checkin.answered_at - checkin.sent_at <= dt.timedelta(days=3)
        history_rows = sorted(by_checkin[checkin.id], key=lambda a: a.answered_at)
        assert history_rows[0].answered_at == checkin.answered_at
        assert (history_rows[-1].rating, history_rows[-1].comment) == (checkin.rating, checkin.comment)
    for checkin in (c for c in history if c.status == "closed"):
        assert checkin.answered_at is None and checkin.rating is None and checkin.id not in by_checkin
        assert checkin.closed_at == checkin.sent_at + dt.timedelta(days=7)
    assert 0.78 <= len(answered) / len(history) <= 0.88
    assert sum(1 for c in answered if c.comment) >= 30
    assert set(by_checkin) == {c.id for c in answered}

    assert len(deliveries) == len(checkins)
    assert {d.checkin_id for d in deliveries} == {c.id for c in checkins}
    assert all(d.status == "sent" and d.sent_at is not None for d in deliveries)
    keys = {(d.kind, d.project_id, d.sponsor_id, d.occurrence) for d in deliveries}
    assert len(keys) == len(deliveries)
    checkin_of = {c.id: c for c in checkins}
    assert all(d.occurrence == checkin_of[d.checkin_id].occurrence for d in deliveries)


async def test_check_ins_follow_the_project_schedule(db: Database) -> None:
    from zoneinfo import ZoneInfo

    org_id, _ = await load(db, today=PAST_DAY)
    async with db.transaction() as session:
        projects = {p.id: p for p in await rows(session, Project, org_id)}
        people = {p.id: p for p in await rows(session, Person, org_id)}
        checkins = await rows(session, Checkin, org_id)
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    scheduled = [c for c in checkins if c.status != "open"]
    for checkin in scheduled:
        project = projects[checkin.project_id]
        assert checkin.occurrence is not None
        local = checkin.occurrence.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(people[project.sponsor_id].tz))
        assert days[local.weekday()] == project.day
        assert local.strftime("%H:%M") == project.time
        assert dt.timedelta(0) <= checkin.sent_at - checkin.occurrence < dt.timedelta(minutes=1)
    weekly = next(p for p in projects.values() if p.cadence == "weekly")
    sent = sorted(c.sent_at for c in scheduled if c.project_id == weekly.id and c.kind == KIND_TASTE)
    assert 24 <= len(sent) <= 27
    assert sent[-1] - sent[0] >= dt.timedelta(days=170)


async def test_no_time_is_in_the_future(db: Database) -> None:
    org_id, _ = await load(db)
    now = utcnow()
    async with db.transaction() as session:
        found = 0
        for model in (
            Person,
            Identity,
            Project,
            Checkin,
            Answer,
            Delivery,
            PainPoint,
            Measurement,
            LocalMessage,
        ):
            for row in await rows(session, model, org_id):
                for column in model.__table__.columns:
                    value = getattr(row, column.key)
                    if isinstance(value, dt.datetime):
                        found += 1
                        assert value <= now, (model.__name__, column.key, value)
        for outcome in await rows(session, Outcome, org_id):
            assert outcome.added_on < now.date()
    assert found > 1000


async def test_one_question_waits_in_the_console(db: Database) -> None:
    org_id, _ = await load(db)
    now = utcnow()
    async with db.transaction() as session:
        waiting = [c for c in await rows(session, Checkin, org_id) if c.status == "open"]
        assert len(waiting) == 1
        checkin = waiting[0]
        assert checkin.kind == KIND_TASTE and checkin.answered_at is None
        assert now - dt.timedelta(days=1) <= checkin.sent_at <= now
        message = await session.get(LocalMessage, checkin.message_refs["local"]["message"])
        project = await session.get(Project, checkin.project_id)
    assert message is not None and project is not None
    assert (message.person_id, message.channel) == (checkin.sponsor_id, None)
    assert project.name in message.view["title"]
    payloads = [choice["payload"] for choice in message.view["choices"]]
    assert sorted(p["rating"] for p in payloads) == [1, 2, 3, 4, 5]
    assert {p["checkin"] for p in payloads} == {checkin.id}


async def test_outcomes_achieved_on_track_and_at_risk(db: Database) -> None:
    for today in (None, PAST_DAY):
        key = "live" if today is None else "past"
        org_id, _ = await load(db, key, today=today)
        day = today or utcnow().date()
        async with db.transaction() as session:
            outcomes = await rows(session, Outcome, org_id)
            measurements = await rows(session, Measurement, org_id)
            org = await session.get(Organisation, org_id)
        states = [outcome_state(o, day) for o in outcomes]
        assert states.count("achieved") >= 1
        assert 2 <= states.count("at_risk") <= 3
        assert states.count("on_track") >= 10
        assert any(
            o.due is not None and o.due < day and s == "at_risk"
            for o, s in zip(outcomes, states, strict=True)
        )
        assert any(
            o.due is not None and o.due >= day and s == "at_risk"
            for o, s in zip(outcomes, states, strict=True)
        )
        assert all(o.unit and o.benefit and o.benefit > 0 and o.due and o.added_on < day for o in outcomes)
        for outcome in outcomes:
            history = sorted(
                (m for m in measurements if m.outcome_id == outcome.id), key=lambda m: m.measured_at
            )
            assert len(history) >= 2
            assert history[-1].value == outcome.current
            assert history[0].measured_at.date() > outcome.added_on
        assert org is not None and org.pmo_cost == 450000


async def test_pain_points_with_measured_fixes(db: Database) -> None:
    org_id, _ = await load(db)
    async with db.transaction() as session:
        points = await rows(session, PainPoint, org_id)
        prompts = {c.id: c for c in await rows(session, Checkin, org_id) if c.kind == KIND_PAINPOINT}
        projects = {p.id: p for p in await rows(session, Project, org_id)}
    resolved = [p for p in points if p.status == "resolved"]
    still_open = [p for p in points if p.status in ("open", "in_progress")]
    assert len(resolved) + len(still_open) == len(points)
    assert all((p.status == "in_progress") == (p.owner_id is not None) for p in still_open)
    assert 6 <= len(resolved) <= 10 and len(still_open) >= 4
    assert all(p.resolved_at is None for p in still_open)
    assert all(p.resolved_at is not None and p.resolved_at > p.reported_at for p in resolved)
    measured = [p for p in resolved if p.metric and p.baseline and p.after is not None]
    assert len(measured) >= 4
    for point in measured:
        assert point.baseline is not None and point.after is not None
        change = point.baseline - point.after if point.better == "lower" else point.after - point.baseline
        assert change > 0, point.metric
    assert {p.better for p in measured} == {"lower", "higher"}
    assert any("Key-user availability" in p.text for p in points)
    for point in points:
        assert 1 <= point.impact <= 5
        assert point.checkin_id is not None
        prompt = prompts[point.checkin_id]
        assert prompt.status == "answered" and prompt.project_id == point.project_id
        assert prompt.answered_at == point.reported_at
        assert point.reported_by == projects[point.project_id].sponsor_id
    answered = {p.checkin_id for p in points}
    for prompt in prompts.values():
        assert (prompt.status == "answered") == (prompt.id in answered)


async def test_moods_move_and_every_report_has_something_to_show(db: Database) -> None:
    org_id, _ = await load(db, today=PAST_DAY)
    async with db.transaction() as session:
        projects = {p.name: p.id for p in await rows(session, Project, org_id)}
        tastes = [c for c in await rows(session, Checkin, org_id) if c.kind == KIND_TASTE and c.rating]
        report = await compute_value(session, org_id, today=PAST_DAY)
    middle = dt.datetime.combine(PAST_DAY, dt.time()) - dt.timedelta(days=91)

    def mean(name: str, late: bool) -> float:
        ratings = [
            c.rating for c in tastes if c.project_id == projects[name] and (c.sent_at >= middle) == late
        ]
        return sum(ratings) / len(ratings)

    assert mean("ERP Upgrade", late=True) < mean("ERP Upgrade", late=False) - 0.8
    assert mean("Warehouse Automation", late=True) > mean("Warehouse Automation", late=False) + 0.8
    trend = report["trend"]
    assert all(month["responses"] > 0 for month in trend)
    assert trend[-1]["mean"] != trend[0]["mean"]
    assert report["satisfaction"]["responses"] > 40
    assert report["pain_points"]["measured_fixes"] >= 1
    assert report["outcomes"]["achieved"] >= 1 and report["outcomes"]["at_risk"] >= 1
    assert report["benefits"]["roi_pct"] is not None


DAYS_OF_THE_YEAR = [dt.date(2025, 1, 1) + dt.timedelta(days=n) for n in range(0, 365, 61)]


@pytest.mark.parametrize("today", [*DAYS_OF_THE_YEAR, None], ids=str)
async def test_the_demo_report_tells_the_story_on_any_day(db: Database, today: dt.date | None) -> None:
    """Whatever the day it is loaded: a headline, wins (one confirmed), a souring project, an outcome
    at risk and an open high-impact pain point with its owner, in the report and in its rendering."""
    from handlers.value.view import value_text

    org_id, _ = await load(db, today=today)
    async with db.transaction() as session:
        report = await compute_value(session, org_id, today=today, currency="EUR")
    headline = report["headline"]
    assert headline.startswith("Sponsors' satisfaction ") and "pain points fixed" in headline, headline
    assert "benefits realized" in headline and "ROI +" in headline, headline
    assert len(report["wins"]) >= 3
    assert any(win["confirmed"] is True for win in report["wins"])
    assert report["pain_points"]["confirmed_fixes"] >= 1
    assert "ERP Upgrade" in [row["project"] for row in report["attention"]["souring"]]
    assert report["attention"]["at_risk"]
    assert any(row["owner"] == "Lena Hoffmann" for row in report["attention"]["open_high_impact"])
    assert report["breakdown"]["by"] == "segment" and [r["name"] for r in report["breakdown"]["rows"]] == [
        "Digital",
        "Finance",
        "Operations",
        "People",
    ]
    text = value_text(report)
    assert "✅ " in text and "📉 ERP Upgrade is souring" in text and "⚠️ Outcome at risk" in text
    assert "so far" in text and "€" in text


async def test_second_load_adds_nothing(db: Database) -> None:
    org_id, first = await load(db)
    before = await counts(db)
    async with db.transaction() as session:
        again = await load_demo(session, org_id)
    assert first.projects > 0
    assert again == DemoSummary(0, 0, 0, 0, 0)
    assert str(again) == "0 projects, 0 people, 0 check-ins, 0 pain points, 0 outcomes"
    assert await counts(db) == before


async def test_same_seed_same_data_other_seed_other_data(db: Database) -> None:
    _, a = await load(db, "a", today=PAST_DAY, seed=11)
    _, b = await load(db, "b", today=PAST_DAY, seed=11)
    await load(db, "c", today=PAST_DAY, seed=12)
    async with db.transaction() as session:
        snapshots = {key: await snapshot(session, key) for key in ("a", "b", "c")}
    assert a == b
    assert snapshots["a"] == snapshots["b"]
    assert snapshots["a"] != snapshots["c"]


async def snapshot(session: AsyncSession, key: str) -> dict[str, list[tuple[Any, ...]]]:
    """Everything the demo wrote, with database ids replaced by names so two organisations compare."""
    org = await get_or_create_org(session, key)
    people = {p.id: p.email for p in await rows(session, Person, org.id)}
    projects = {p.id: p.name for p in await rows(session, Project, org.id)}
    checkins = await rows(session, Checkin, org.id)
    checkin_key = {c.id: (projects[c.project_id], c.kind, c.occurrence) for c in checkins}
    outcomes = await rows(session, Outcome, org.id)
    outcome_key = {o.id: (projects[o.project_id], o.metric) for o in outcomes}
    return {
        "people": sorted(
            (p.email, p.name, p.role, p.tz, p.created_at) for p in await rows(session, Person, org.id)
        ),
        "projects": sorted(
            (p.name, p.segment, people[p.sponsor_id], p.cadence, p.day, p.time, p.ask)
            for p in await rows(session, Project, org.id)
        ),
        "checkins": sorted(
            (
                *checkin_key[c.id],
                c.status,
                c.sent_at,
                c.answered_at,
                c.rating,
                c.comment,
                c.reminded_at,
                c.closed_at,
            )
            for c in checkins
        ),
        "answers": sorted(
            (checkin_key[a.checkin_id], people[a.person_id], a.rating, a.comment or "", a.answered_at)
            for a in await rows(session, Answer, org.id)
        ),
        "painpoints": sorted(
            (
                projects[p.project_id],
                p.text,
                p.impact,
                p.status,
                p.reported_at,
                p.resolved_at or p.reported_at,
            )
            for p in await rows(session, PainPoint, org.id)
        ),
        "outcomes": sorted(
            (*outcome_key[o.id], o.baseline, o.target, o.current, o.benefit, o.due, o.added_on)
            for o in outcomes
        ),
        "measurements": sorted(
            (outcome_key[m.outcome_id], m.value, m.measured_at)
            for m in await rows(session, Measurement, org.id)
        ),
    }


async def test_refusals_change_nothing(db: Database) -> None:
    async with db.transaction() as session:
        org = await get_or_create_org(session)
        session.add(
            Project(
                org_id=org.id,
                name="Customer  Portal",
                name_key=name_key("Customer  Portal"),
                sponsor_id=(await add_person(session, org.id, "Someone", email="someone@example.org")).id,
                created_at=utcnow(),
            )
        )
    before = await counts(db)
    async with db.transaction() as session:
        with pytest.raises(DemoError, match="already has a project called 'Customer Portal'"):
            await load_demo(session, org.id)
        with pytest.raises(DemoError, match="after the current UTC date"):
            await load_demo(session, org.id, today=utcnow().date() + dt.timedelta(days=1))
        with pytest.raises(DemoError, match="no organisation #999999"):
            await load_demo(session, 999999)
    assert await counts(db) == before


async def test_existing_people_and_cost_are_kept(db: Database) -> None:
    async with db.transaction() as session:
        org = await get_or_create_org(session)
        org.pmo_cost = 123000.0
        ana = await add_person(session, org.id, "Ana F.", email="Ana.Fischer@example.com", role="staff")
    org_id, summary = await load(db)
    async with db.transaction() as session:
        people = await rows(session, Person, org_id)
        org_after = await session.get(Organisation, org_id)
        identities = await rows(session, Identity, org_id)
    assert summary.people == len(people) - 1
    assert [p.email for p in people].count("ana.fischer@example.com") == 1
    assert next(p for p in people if p.id == ana.id).role == "staff"
    assert any(i.person_id == ana.id and i.external_id == "ana.fischer@example.com" for i in identities)
    assert org_after is not None and org_after.pmo_cost == 123000.0


@pytest.mark.sqlite_only
async def test_loads_well_under_two_seconds_on_sqlite(db: Database) -> None:
    started = time.perf_counter()
    _, summary = await load(db)
    assert summary.checkins > 150
    assert time.perf_counter() - started < 1.5
