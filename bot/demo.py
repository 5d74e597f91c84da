"""The demo organisation: six months in the life of a mid-size company's PMO.

`python app.py demo` loads it so that every report, chart and list has something real to show
before anyone has connected Slack or Teams. Everything is drawn from `random.Random(seed)` and
`today`, so the same seed and day give the same data, and loading twice adds nothing the second
time. The history ends at 00:00 UTC of `today`; only the one question left waiting in the local
console is dated later (but never after now).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.checkins.lifecycle import CLOSE_AFTER, REMIND_AFTER, history_entry, new_checkin
from handlers.checkins.views import taste_question
from handlers.i18n import Cat, _, ngettext
from storage.db import utcnow
from storage.models import (
    DAYS,
    KIND_PAINPOINT,
    KIND_TASTE,
    Answer,
    Checkin,
    Delivery,
    LocalMessage,
    Measurement,
    Organisation,
    Outcome,
    PainPoint,
    Person,
    Project,
)
from storage.queries import (
    add_identity,
    add_person,
    find_person_by_email,
    find_person_by_identity,
    find_project,
    name_key,
)

HISTORY = dt.timedelta(days=183)  # about six months of check-ins
PMO_COST = 450_000.0
ANSWER_WINDOW = dt.timedelta(days=3)  # answers come within three days; a missed one closes after CLOSE_AFTER
LOCAL = "local"
BIWEEKLY_EPOCH = dt.date(2024, 1, 1)  # a Monday: even weeks since then are biweekly weeks
QUARTER_MONTHS = (1, 4, 7, 10)


class DemoError(ValueError):
    """The demo cannot be loaded here; the message says why, and nothing was changed."""


@dataclass(frozen=True)
class DemoSummary:
    """What was added; all zero when the demo was already there."""

    projects: int = 0
    people: int = 0
    checkins: int = 0
    painpoints: int = 0
    outcomes: int = 0

    def __str__(self) -> str:
        return str(self.text())

    def text(self) -> str:
        """What was added, as a lazy text (`python app.py demo` says it in PMO_LANGUAGE)."""
        return Cat(
            ngettext("%(n)s project", "%(n)s projects", self.projects),
            ngettext("%(n)s person", "%(n)s people", self.people),
            ngettext("%(n)s check-in", "%(n)s check-ins", self.checkins),
            ngettext("%(n)s pain point", "%(n)s pain points", self.painpoints),
            ngettext("%(n)s outcome", "%(n)s outcomes", self.outcomes),
            sep=", ",
        )


# ---- the cast ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PersonSpec:
    name: str
    role: str
    tz: str

    @property
    def email(self) -> str:
        return self.name.lower().replace(" ", ".") + "@example.com"


SPONSORS = (
    _PersonSpec("Ana Fischer", "member", "Europe/Berlin"),
    _PersonSpec("Marcus Webb", "member", "America/New_York"),
    _PersonSpec("Priya Raman", "member", "Asia/Kolkata"),
    _PersonSpec("Sofia Lindqvist", "member", "Europe/Stockholm"),
    _PersonSpec("David Okafor", "member", "Europe/London"),
    _PersonSpec("Carlos Mendes", "member", "America/Sao_Paulo"),
    _PersonSpec("Hannah Brooks", "member", "America/Chicago"),
    _PersonSpec("Mei Tanaka", "member", "Asia/Singapore"),
)
PMO_TEAM = (
    _PersonSpec("Lena Hoffmann", "staff", "Europe/Berlin"),
    _PersonSpec("Jonas Weber", "staff", "Europe/Berlin"),
    _PersonSpec("Ruth Alvarez", "admin", "Europe/Berlin"),
)


@dataclass(frozen=True)
class _ProjectSpec:
    name: str
    segment: str
    sponsor: int  # index into SPONSORS
    cadence: str
    day: str
    time: str
    ask: str
    mood: tuple[float, float]  # mean rating six months ago → now
    answer_rate: float


# The first project marks the demo as loaded. ERP Upgrade is going sour, Warehouse Automation is
# recovering from a rough start, most others are steady and slowly getting tastier.
PROJECTS = (
    _ProjectSpec("ERP Upgrade", "Finance", 1, "weekly", "mon", "09:00", "monthly", (4.6, 1.6), 0.80),
    _ProjectSpec("Customer Portal", "Digital", 0, "biweekly", "tue", "10:00", "monthly", (4.0, 4.5), 0.90),
    _ProjectSpec(
        "Warehouse Automation", "Operations", 2, "weekly", "wed", "11:30", "monthly", (1.4, 4.8), 0.85
    ),
    _ProjectSpec("Mobile Field App", "Digital", 2, "biweekly", "thu", "14:00", "monthly", (3.6, 4.0), 0.78),
    _ProjectSpec("Data Platform", "Digital", 0, "monthly", "mon", "09:30", "quarterly", (3.3, 4.1), 0.85),
    _ProjectSpec(
        "Fleet Telematics", "Operations", 4, "biweekly", "fri", "10:00", "monthly", (3.4, 3.3), 0.75
    ),
    _ProjectSpec(
        "Order-to-Cash Redesign", "Operations", 5, "weekly", "tue", "15:00", "monthly", (3.7, 4.4), 0.82
    ),
    _ProjectSpec(
        "e-Invoicing Rollout", "Finance", 1, "biweekly", "wed", "08:30", "monthly", (4.1, 4.4), 0.86
    ),
    _ProjectSpec(
        "Treasury Cash Forecasting", "Finance", 7, "quarterly", "thu", "08:00", "quarterly", (3.8, 4.3), 0.90
    ),
    _ProjectSpec("HR Self-Service", "People", 3, "biweekly", "mon", "13:00", "monthly", (3.9, 4.3), 0.84),
    _ProjectSpec("Learning Platform", "People", 3, "biweekly", "thu", "16:15", "monthly", (3.5, 3.8), 0.80),
    _ProjectSpec("Hybrid Workplace", "People", 6, "monthly", "fri", "11:00", "quarterly", (3.6, 4.0), 0.83),
)
WAITING_PROJECT = 1  # Customer Portal: its sponsor finds a question waiting in the console

COMMENTS: dict[int, tuple[str, ...]] = {
    1: (
        "Go-live slipped again and nobody told us",
        "Testing is blocked, we cannot sign off",
        "Budget overrun and no plan to recover it",
        "Key users have no time and it shows",
    ),
    2: (
        "Too many open defects before UAT",
        "Scope keeps changing without a decision",
        "Status says green but the work is late",
        "Training dates moved for the third time",
    ),
    3: (
        "Progress, but the timeline still feels optimistic",
        "OK so far, the next release will tell",
        "Communication could be more regular",
        "Fine, though the training material is late",
    ),
    4: (
        "Steady progress, good steering meeting",
        "The team listens to our feedback",
        "Good to see the pilot users on board",
        "Risks are raised early now",
    ),
    5: (
        "Great demo last sprint",
        "Pilot users love the new workflow",
        "Delivered ahead of plan",
        "Best-run project in my area this year",
    ),
}
PROJECT_COMMENTS: dict[str, dict[int, tuple[str, ...]]] = {
    "ERP Upgrade": {
        1: (
            "Cut-over date is gone and there is no new one",
            "Finance cannot close the month in the test system",
        ),
        2: ("Vendor keeps slipping the data migration", "Test environment was down again this week"),
    },
    "Warehouse Automation": {
        1: ("Robots idle half the day, the WMS interface keeps failing",),
        2: ("Pickers are back on paper lists for the late shift",),
        5: ("Pick rates are finally above the old process", "Peak week without a single stoppage"),
    },
}
COMMENT_CHANCE = {1: 0.75, 2: 0.65, 3: 0.4, 4: 0.3, 5: 0.4}  # unhappy sponsors explain more


@dataclass(frozen=True)
class _PainSpec:
    project: int
    text: str
    impact: int
    resolved: bool = False
    metric: str | None = None
    baseline: float | None = None
    after: float | None = None
    better: str = "lower"
    owner: int | None = None  # index into PMO_TEAM; an open pain point with an owner is in progress
    fix: str | None = None  # what was done (`resolve ID fix:`)
    confirmed: bool | None = None  # the sponsor's ✅ Fixed


# A measured fix is reported in the last RECENT days, so that it is resolved inside the value
# report's 90-day window whatever the day the demo is loaded: the wins always have something.
# 85 days hold one monthly prompt whatever the calendar (they come 28 to 35 days apart), and the
# latest such prompt is resolved at least 9 days later, still inside the window.
RECENT = dt.timedelta(days=85)


PAIN_POINTS = (
    _PainSpec(
        6,
        "Orders wait days for manual credit checks",
        4,
        True,
        "Order cycle time (days)",
        12,
        7,
        owner=0,
        fix="Credit checks automated for orders under the customer's limit",
        confirmed=True,
    ),
    _PainSpec(
        1,
        "Support agents cannot see a customer's order history",
        4,
        True,
        "First-call resolution %",
        61,
        74,
        "higher",
        owner=1,
        fix="Order history shown beside the ticket",
    ),
    _PainSpec(
        7,
        "Supplier invoices are keyed in by hand, errors every week",
        3,
        True,
        "Invoice error rate %",
        4.8,
        1.9,
    ),
    _PainSpec(
        2,
        "Pickers walk the whole warehouse for a single order",
        5,
        True,
        "Picks per hour",
        85,
        118,
        "higher",
        owner=0,
        fix="Batch picking by zone, routes from the WMS",
        confirmed=True,
    ),
    _PainSpec(
        8, "Cash forecast built from spreadsheets e-mailed around", 3, True, "Cash forecast error %", 18, 9
    ),
    _PainSpec(0, "Key-user availability for testing", 4, True),
    _PainSpec(4, "No single owner for customer master data", 3, True),
    _PainSpec(9, "Onboarding checklist lives in e-mail threads", 2, True),
    _PainSpec(0, "Vendor keeps slipping the data migration", 5, owner=0),
    _PainSpec(0, "Test environment is down two days a week", 4),
    _PainSpec(5, "Drivers resist the new in-cab tablets", 3),
    _PainSpec(10, "Licence costs higher than the business case assumed", 3),
    _PainSpec(3, "App loses unsaved work offline in the yard", 4),
    _PainSpec(7, "Unclear who approves scope changes", 2),
    _PainSpec(11, "Facilities do not trust the desk-booking data", 2),
)


@dataclass(frozen=True)
class _OutcomeSpec:
    project: int
    metric: str
    unit: str
    baseline: float
    target: float
    benefit: float
    added_days_ago: int
    due_in_days: int  # negative: already past due
    progress: float  # p as METRICS.md defines it, for today
    decimals: int = 0


# Progress is chosen against METRICS.md: achieved p ≥ 1; at risk when past due, or p < f − 0.25
# with f the share of the time from added to due that has passed. The margins survive rounding.
OUTCOMES = (
    _OutcomeSpec(0, "Days to close the month", "days", 9, 5, 180_000, 170, 120, 0.10),  # behind
    _OutcomeSpec(0, "Legacy systems retired", "systems", 0, 6, 120_000, 160, -15, 0.67),  # past due
    _OutcomeSpec(1, "Self-service share of orders", "%", 22, 45, 160_000, 175, 60, 0.70, 1),
    _OutcomeSpec(1, "Support calls per week", "calls/week", 1400, 900, 110_000, 150, -10, 1.04),
    _OutcomeSpec(2, "Picks per hour", "picks/h", 85, 130, 220_000, 180, 90, 0.62),
    _OutcomeSpec(2, "Order accuracy", "%", 97.1, 99.5, 60_000, 150, 120, 0.55, 1),
    _OutcomeSpec(3, "Jobs per technician per day", "jobs", 4.2, 5.5, 130_000, 140, 150, 0.46, 1),
    _OutcomeSpec(4, "Reports built by business users", "reports/month", 5, 40, 45_000, 165, 30, 1.06),
    _OutcomeSpec(4, "Data quality score", "%", 78, 95, 35_000, 120, 180, 0.36, 1),
    _OutcomeSpec(5, "Fuel cost per 100 km", "EUR", 14.8, 12.5, 120_000, 130, 100, 0.20, 2),  # behind
    _OutcomeSpec(5, "Unplanned breakdowns per month", "breakdowns", 18, 10, 50_000, 110, 200, 0.38),
    _OutcomeSpec(6, "Order cycle time", "days", 12, 7, 150_000, 175, 20, 1.0),
    _OutcomeSpec(6, "Days sales outstanding", "days", 54, 45, 170_000, 160, 80, 0.56),
    _OutcomeSpec(7, "Invoices received electronically", "%", 35, 85, 80_000, 170, 40, 0.78),
    _OutcomeSpec(7, "Cost per invoice", "EUR", 9.5, 4.0, 110_000, 140, 120, 0.50, 2),
    _OutcomeSpec(8, "Cash forecast accuracy", "%", 72, 90, 75_000, 150, 30, 0.80, 1),
    _OutcomeSpec(9, "HR tickets per month", "tickets", 900, 600, 60_000, 160, 60, 0.66),
    _OutcomeSpec(9, "Days to onboard a new hire", "days", 10, 5, 40_000, 120, 90, 1.10, 1),
    _OutcomeSpec(10, "Staff completing compliance training", "%", 64, 95, 40_000, 100, 130, 0.40),
    _OutcomeSpec(11, "Office space cost", "EUR k/year", 2400, 1900, 260_000, 180, 180, 0.46),
)


# ---- the schedule ------------------------------------------------------------------------------


def _first_of_month(day: dt.date) -> bool:
    return day.day <= 7


def _taste_day(cadence: str, weekday: int, day: dt.date) -> bool:
    """The project's cadence, as the local date on which the sponsor is asked."""
    if day.weekday() != weekday:
        return False
    if cadence == "weekly":
        return True
    if cadence == "biweekly":
        return (day - BIWEEKLY_EPOCH).days // 7 % 2 == 0
    if cadence == "monthly":
        return _first_of_month(day)
    if cadence == "quarterly":
        return _first_of_month(day) and day.month in QUARTER_MONTHS
    return False


def _ask_day(ask: str, weekday: int, day: dt.date) -> bool:
    """Pain-point prompts come on the first cadence day of each month (or quarter)."""
    if day.weekday() != weekday or not _first_of_month(day):
        return False
    return ask == "monthly" or (ask == "quarterly" and day.month in QUARTER_MONTHS)


def _local_times(
    spec: _ProjectSpec, tz: ZoneInfo, start: dt.datetime, end: dt.datetime, ask: bool
) -> Iterator[dt.datetime]:
    """Naive UTC times in [start, end) at which the project's time falls in the sponsor's zone."""
    weekday = DAYS.index(spec.day)
    clock = dt.time.fromisoformat(spec.time)
    day = start.date() - dt.timedelta(days=1)
    while day <= end.date() + dt.timedelta(days=1):
        due = _ask_day(spec.ask, weekday, day) if ask else _taste_day(spec.cadence, weekday, day)
        if due:
            moment = dt.datetime.combine(day, clock, tzinfo=tz).astimezone(dt.UTC).replace(tzinfo=None)
            if start <= moment < end:
                yield moment
        day += dt.timedelta(days=1)


def _zone(name: str | None, fallback: str) -> ZoneInfo:
    """A sponsor who was already known keeps their own time zone, if it is a real one."""
    try:
        return ZoneInfo(name or fallback)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


# ---- small draws -------------------------------------------------------------------------------


def _answer_delay(rng: random.Random) -> dt.timedelta:
    """Most sponsors answer the same day, some the next, a few only after the reminder."""
    roll = rng.random()
    if roll < 0.55:
        return dt.timedelta(minutes=rng.randint(2, 8 * 60))
    if roll < 0.85:
        return dt.timedelta(minutes=rng.randint(16 * 60, 36 * 60))
    return dt.timedelta(minutes=rng.randint(49 * 60, 71 * 60))


def _answered_at(rng: random.Random, sent: dt.datetime, latest: dt.datetime) -> dt.datetime:
    """An answer time within three days of sending and never after `latest`."""
    moment = sent + _answer_delay(rng)
    if moment > latest:
        room = max(int((latest - sent).total_seconds()), 60)
        moment = sent + dt.timedelta(seconds=rng.randint(60, room))
    return min(moment, latest)


def _rating(rng: random.Random, mood: tuple[float, float], share: float) -> int:
    mean = mood[0] + (mood[1] - mood[0]) * share
    return max(1, min(5, round(rng.gauss(mean, 0.55))))


def _comment(rng: random.Random, project: str, rating: int) -> str | None:
    if rng.random() >= COMMENT_CHANCE[rating]:
        return None
    pool = COMMENTS[rating] + PROJECT_COMMENTS.get(project, {}).get(rating, ())
    return rng.choice(pool)


def _seconds(rng: random.Random) -> dt.timedelta:
    """The few seconds between the scheduled time and the message going out."""
    return dt.timedelta(seconds=rng.randint(2, 45))


# ---- loading -----------------------------------------------------------------------------------


class _Loader:
    """One demo load: holds the clock, the random source and the rows made so far."""

    def __init__(
        self, session: AsyncSession, org_id: int, today: dt.date, now: dt.datetime, rng: random.Random
    ) -> None:
        self.session = session
        self.org_id = org_id
        self.today = today
        self.end = dt.datetime.combine(today, dt.time())  # the history stops at 00:00 UTC today
        self.start = self.end - HISTORY
        self.latest = self.end - dt.timedelta(minutes=10)  # last moment an answer may carry
        self.horizon = min(now, self.end + dt.timedelta(days=1) - dt.timedelta(seconds=1))
        self.rng = rng
        self.created = 0
        self.team: list[Person] = []  # the PMO's staff, owners of pain points

    async def people(self, specs: tuple[_PersonSpec, ...], joined: dt.datetime) -> list[Person]:
        """Each person with a local identity, so the console can act as them; existing ones are kept."""
        people = []
        for spec in specs:
            person = await find_person_by_identity(self.session, self.org_id, LOCAL, spec.email)
            if person is None:
                person = await find_person_by_email(self.session, self.org_id, spec.email)
                if person is None:
                    person = await add_person(
                        self.session, self.org_id, spec.name, email=spec.email, role=spec.role, tz=spec.tz
                    )
                    person.created_at = joined
                    self.created += 1
                identity = await add_identity(self.session, person, LOCAL, spec.email)
                identity.refreshed_at = joined
            people.append(person)
        return people

    async def projects(self, sponsors: list[Person]) -> list[Project]:
        created_at = self.start - dt.timedelta(days=14)
        projects = [
            Project(
                org_id=self.org_id,
                name=spec.name,
                name_key=name_key(spec.name),
                segment=spec.segment,
                sponsor_id=sponsors[spec.sponsor].id,
                cadence=spec.cadence,
                day=spec.day,
                time=spec.time,
                ask=spec.ask,
                archived=False,
                created_at=created_at + dt.timedelta(hours=index),
            )
            for index, spec in enumerate(PROJECTS)
        ]
        self.session.add_all(projects)
        await self.session.flush()
        return projects

    def _checkin(self, project: Project, kind: str, occurrence: dt.datetime) -> Checkin:
        return new_checkin(project, kind, occurrence, sent_at=occurrence + _seconds(self.rng))

    def _close(self, checkin: Checkin, remind: bool) -> None:
        checkin.status = "closed"
        checkin.closed_at = checkin.sent_at + CLOSE_AFTER
        if remind:
            checkin.reminded_at = checkin.sent_at + REMIND_AFTER

    def _answer(self, checkin: Checkin, answered_at: dt.datetime, remind: bool) -> None:
        checkin.status = "answered"
        checkin.answered_at = answered_at
        if remind and answered_at - checkin.sent_at > REMIND_AFTER:
            checkin.reminded_at = checkin.sent_at + REMIND_AFTER

    def tastes(self, projects: list[Project], zones: list[ZoneInfo]) -> list[Checkin]:
        """Taste check-ins on each project's cadence, rated by its sponsor's changing mood."""
        checkins = []
        last_send = self.end - dt.timedelta(hours=1)
        for spec, project, tz in zip(PROJECTS, projects, zones, strict=True):
            times = list(_local_times(spec, tz, self.start, last_send, ask=False))
            missed = set(self.rng.sample(range(len(times)), round(len(times) * (1 - spec.answer_rate))))
            for index, occurrence in enumerate(times):
                checkin = self._checkin(project, KIND_TASTE, occurrence)
                if index in missed and checkin.sent_at + CLOSE_AFTER <= self.end:
                    self._close(checkin, remind=True)
                else:  # a check-in too young to have closed has been answered already
                    self._answer(checkin, _answered_at(self.rng, checkin.sent_at, self.latest), remind=True)
                    share = (checkin.sent_at - self.start) / HISTORY
                    checkin.rating = _rating(self.rng, spec.mood, share)
                    checkin.comment = _comment(self.rng, spec.name, checkin.rating)
                checkins.append(checkin)
        return checkins

    def prompts(
        self, projects: list[Project], zones: list[ZoneInfo]
    ) -> tuple[list[Checkin], list[tuple[Checkin, PainPoint]]]:
        """Monthly (or quarterly) pain-point prompts; some answered with the catalogue's pain points."""
        last_send = self.end - dt.timedelta(hours=1)
        by_project: list[list[Checkin]] = [
            [
                self._checkin(project, KIND_PAINPOINT, moment)
                for moment in _local_times(spec, tz, self.start, last_send, ask=True)
            ]
            for spec, project, tz in zip(PROJECTS, projects, zones, strict=True)
        ]
        answered: set[int] = set()
        points = []
        for spec in PAIN_POINTS:
            project = projects[spec.project]
            prompts = by_project[spec.project]
            resolve_in = dt.timedelta(days=self.rng.randint(9, 45), hours=self.rng.randint(0, 8))
            reserve = ANSWER_WINDOW + (resolve_in + dt.timedelta(days=1) if spec.resolved else dt.timedelta())
            fits = [p for p in prompts if id(p) not in answered and p.sent_at + reserve <= self.end]
            if spec.resolved and spec.metric:  # a win: resolved inside the report's window (RECENT)
                fits = [p for p in fits if p.sent_at >= self.end - RECENT] or fits
            prompt = self.rng.choice(fits[-3:]) if fits else min(prompts, key=lambda p: p.sent_at)
            reported_at = prompt.answered_at or _answered_at(self.rng, prompt.sent_at, self.latest)
            self._answer(prompt, reported_at, remind=False)
            answered.add(id(prompt))
            resolved_at = (
                max(reported_at, min(reported_at + resolve_in, self.latest)) if spec.resolved else None
            )
            owner = self.team[spec.owner] if spec.owner is not None and self.team else None
            point = PainPoint(
                org_id=self.org_id,
                project_id=project.id,
                reported_by=project.sponsor_id,
                reported_at=reported_at,
                text=spec.text,
                impact=spec.impact,
                status="resolved" if spec.resolved else "in_progress" if owner else "open",
                resolved_at=resolved_at,
                metric=spec.metric,
                baseline=spec.baseline,
                after=spec.after,
                better=spec.better,
                owner_id=owner.id if owner else None,
                followed_up_by=owner.id if owner else None,
                followed_up_at=max(reported_at, min(reported_at + dt.timedelta(hours=2), self.latest))
                if owner
                else None,
                fix=spec.fix,
                confirmed=spec.confirmed,
                confirmed_at=max(resolved_at, min(resolved_at + dt.timedelta(days=2), self.latest))
                if spec.confirmed is not None and resolved_at is not None
                else None,
            )
            points.append((prompt, point))
        checkins = []
        for prompts in by_project:
            for prompt in prompts:
                if id(prompt) in answered:
                    checkins.append(prompt)
                elif prompt.sent_at + CLOSE_AFTER <= self.end:
                    self._close(prompt, remind=False)
                    checkins.append(prompt)
                # a prompt too young to have closed is left to the live scheduler
        return checkins, points

    async def store_checkins(self, checkins: list[Checkin]) -> None:
        """Check-ins in the order they were sent, each with its ledger row and answer history."""
        checkins.sort(key=lambda c: (c.sent_at, c.kind, c.project_id))
        self.session.add_all(checkins)
        await self.session.flush()
        rows: list[Delivery | Answer] = []
        for checkin in checkins:
            rows.append(self._delivery(checkin))
            if checkin.kind == KIND_TASTE and checkin.answered_at is not None:
                rows.extend(self._answers(checkin))
        self.session.add_all(rows)

    def _delivery(self, checkin: Checkin) -> Delivery:
        assert checkin.occurrence is not None
        return Delivery(
            org_id=self.org_id,
            kind=checkin.kind,
            project_id=checkin.project_id,
            sponsor_id=checkin.sponsor_id,
            occurrence=checkin.occurrence,
            status="sent",
            claimed_at=checkin.occurrence,
            attempts=1,
            sent_at=checkin.sent_at,
            checkin_id=checkin.id,
        )

    def _answers(self, checkin: Checkin) -> list[Answer]:
        """The rating, then (as in the product) the comment a few minutes later."""
        assert checkin.answered_at is not None
        rows = [history_entry(checkin, checkin.sponsor_id, None, checkin.answered_at)]
        if checkin.comment:
            later = checkin.answered_at + dt.timedelta(minutes=self.rng.randint(1, 6))
            rows.append(history_entry(checkin, checkin.sponsor_id, checkin.comment, later))
        return rows

    async def outcomes(self, projects: list[Project], staff: list[Person]) -> list[Outcome]:
        """Business-case outcomes, each with the measurements that brought it where it is."""
        outcomes = []
        for spec in OUTCOMES:
            current = round(spec.baseline + spec.progress * (spec.target - spec.baseline), spec.decimals)
            outcomes.append(
                Outcome(
                    org_id=self.org_id,
                    project_id=projects[spec.project].id,
                    metric=spec.metric,
                    unit=spec.unit,
                    baseline=float(spec.baseline),
                    target=float(spec.target),
                    current=float(current),
                    benefit=float(spec.benefit),
                    due=self.today + dt.timedelta(days=spec.due_in_days),
                    added_on=self.today - dt.timedelta(days=spec.added_days_ago),
                )
            )
        self.session.add_all(outcomes)
        await self.session.flush()
        measurements = []
        for spec, outcome in zip(OUTCOMES, outcomes, strict=True):
            measurements.extend(self._measurements(spec, outcome, staff))
        self.session.add_all(measurements)
        return outcomes

    def _measurements(self, spec: _OutcomeSpec, outcome: Outcome, staff: list[Person]) -> list[Measurement]:
        """Two to five readings from a month after adding until last week, ending at `current`."""
        assert outcome.current is not None
        first = dt.datetime.combine(outcome.added_on, dt.time(10)) + dt.timedelta(days=30)
        last = self.end - dt.timedelta(days=self.rng.randint(3, 12), hours=10)
        count = self.rng.randint(2, 5)
        step = (last - first) / max(count - 1, 1)
        rows = []
        for index in range(count):
            share = (index + 1) / count
            if index == count - 1:
                value = outcome.current
            else:
                wobble = self.rng.uniform(-0.06, 0.06)
                value = round(
                    spec.baseline + (share**0.8 + wobble) * (outcome.current - spec.baseline), spec.decimals
                )
            rows.append(
                Measurement(
                    org_id=self.org_id,
                    outcome_id=outcome.id,
                    value=float(value),
                    measured_at=first + step * index + dt.timedelta(minutes=self.rng.randint(0, 420)),
                    person_id=self.rng.choice(staff).id,
                )
            )
        return rows

    async def waiting_question(self, project: Project) -> Checkin:
        """One taste check-in sent in the last day and not yet answered, shown in the sponsor's inbox."""
        sent_at = self.horizon - dt.timedelta(hours=3)
        # like `checkin PROJECT`: sent now, outside the schedule
        checkin = new_checkin(project, KIND_TASTE, sent_at, sent_at=sent_at)
        self.session.add(checkin)
        await self.session.flush()
        message = LocalMessage(
            org_id=self.org_id,
            person_id=project.sponsor_id,
            channel=None,
            view=taste_question(checkin.id, project.name).to_dict(),
            created_at=sent_at,
            updated_at=sent_at,
        )
        self.session.add(message)
        await self.session.flush()
        checkin.message_refs = {LOCAL: {"platform": LOCAL, "message": message.id}}
        self.session.add(self._delivery(checkin))
        return checkin


async def load_demo(
    session: AsyncSession, org_id: int, *, today: dt.date | None = None, seed: int = 7
) -> DemoSummary:
    """Fill the organisation with the demo PMO; zero counts when its first project is already there.

    Raises DemoError, before changing anything, for a missing organisation, a `today` after the
    current UTC date, or a demo project name the organisation already uses for something else.
    """
    now = utcnow()
    today = today or now.date()
    if today > now.date():
        raise DemoError(
            f"today ({today.isoformat()}) is after the current UTC date; the demo never invents the future."
        )
    org = await session.get(Organisation, org_id)
    if org is None:
        raise DemoError(f"There is no organisation #{org_id}.")
    if await find_project(session, org_id, PROJECTS[0].name) is not None:
        return DemoSummary()
    for spec in PROJECTS[1:]:
        if await find_project(session, org_id, spec.name) is not None:
            raise DemoError(
                _(
                    "This organisation already has a project called '%(project)s', so the demo would "
                    "clash with it; load the demo into an empty database.",
                    project=spec.name,
                )
            )

    loader = _Loader(session, org_id, today, now, random.Random(seed))
    joined = loader.start - dt.timedelta(days=21)
    sponsors = await loader.people(SPONSORS, joined)
    team = await loader.people(PMO_TEAM, joined)
    loader.team = team
    projects = await loader.projects(sponsors)
    zones = [_zone(sponsors[spec.sponsor].tz, SPONSORS[spec.sponsor].tz) for spec in PROJECTS]
    tastes = loader.tastes(projects, zones)
    prompts, answers = loader.prompts(projects, zones)
    await loader.store_checkins(tastes + prompts)
    points = sorted((point for _, point in answers), key=lambda point: point.reported_at)
    for prompt, point in answers:
        point.checkin_id = prompt.id
    session.add_all(points)
    outcomes = await loader.outcomes(projects, [p for p in team if p.role == "staff"] or team)
    await loader.waiting_question(projects[WAITING_PROJECT])
    if org.pmo_cost is None:  # a cost the PMO set itself is kept
        org.pmo_cost = PMO_COST
    await session.flush()
    return DemoSummary(
        projects=len(projects),
        people=loader.created,
        checkins=len(tastes) + len(prompts) + 1,
        painpoints=len(points),
        outcomes=len(outcomes),
    )
