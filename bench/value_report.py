"""The value report over one million taste answers, next to a hand-written SQL floor.

    python bench/value_report.py [--database-url postgresql://postgres@127.0.0.1:5432/pmo_bench_value]

Why: the value report must stay fast when an organisation has years of check-ins, and "fast"
means something only next to the least work a database can do to get the same figures.

1. Load: CSV files for 1,000 projects in 3 segments, 1,000,000 taste check-ins (answered and
   not, over two years), 20,000 pain points (some resolved, some with before/after measures) and
   5,000 outcomes (each with a measurement when it has a current value) are written to a temporary
   directory and imported with `python app.py import KIND FILE`, one process per file, exactly as
   a PMO would; the PMO's cost is set with `python app.py pmo cost AMOUNT`. Each import's wall
   time and peak resident memory (the process's own VmHWM, read as it exits) are recorded.
2. Report against floor: `handlers.value.report.compute_value` (what `/pmo value`, `app.py value --json`
   and the API call) for the organisation, one segment and one project, each call in its own
   transaction, alternated with the floor: a few raw SQL statements (`text()`) that compute only
   the headline figures (satisfaction over the window, response rate, pain points fixed and
   their median days, outcomes achieved, benefit and ROI). Medians after a warm-up. Every
   headline figure of the report must equal the floor's (rounded as METRICS.md says), so that
   the floor is known to compute the same figures and not less.

SQLite by default (a file in the temporary directory). With --database-url the run is on
PostgreSQL, in the database the URL names, which the bench creates (dropping it first) and drops
at the end; `test`, `postgres` and the templates are refused. After the load PostgreSQL gets the
VACUUM ANALYZE its autovacuum would give a table this size; SQLite gets nothing the app does not do.

Prints a Markdown section for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import DateTime, bindparam, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.sql.elements import TextClause

from handlers.csv.kinds import COLUMNS
from handlers.value.report import compute_value
from storage.db import Database, async_url
from storage.models import Project
from storage.queries import DEFAULT_ORG_KEY, find_project

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
SEGMENTS = ("Retail", "Operations", "Digital Platform")
OUTCOME_METRICS = (
    ("Order cycle time", "days"),
    ("Cost per order", "EUR"),
    ("Customer NPS", "points"),
    ("Self-service adoption", "%"),
    ("Defects per release", "defects"),
)
PAIN_METRICS = ("Approval wait (days)", "Manual hours per week", "Failed deployments", "Open tickets")
PMO_COST = 2_500_000
TWO_YEARS = dt.timedelta(days=730)
REFUSED_DATABASES = {"test", "postgres", "template0", "template1"}
TARGET_IMPORT_S = 60.0
TARGET_IMPORT_MB = 200.0
TARGET_RATIO = 2.0
TARGET_ORG_S = 0.5
TARGET_STORY_RATIO = 1.5  # issue 12: wins, attention, breakdown and headline within 1.5x of the figures alone

# Runs app.py as `python app.py …` would, then writes the process's peak RSS (VmHWM) to stderr
# as it exits. VmHWM belongs to the memory map exec() created, so unlike getrusage's ru_maxrss
# (which a vfork()ed child inherits from its parent: the bench itself) it is the import's own.
PEAK_WRAPPER = """
import atexit, runpy, sys
def _peak():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                sys.stderr.write("VMHWM_KB " + line.split()[1] + "\\n")
atexit.register(_peak)
sys.argv = sys.argv[1:]
sys.path.insert(0, sys.argv[0].rsplit("/", 1)[0])
runpy.run_path(sys.argv[0], run_name="__main__")
"""


# ---------------------------------------------------------------- the dataset, as CSV files


@dataclass(frozen=True)
class Shape:
    """How big the organisation is; the defaults are the issue's."""

    projects: int = 1_000
    responses: int = 1_000_000
    painpoints: int = 20_000
    outcomes_per_project: int = 5
    sponsors: int = 300
    seed: int = 2026


def project_name(i: int) -> str:
    return f"Project {i:04d}"


def sponsor_of(i: int, shape: Shape) -> str:
    return f"sponsor{i % shape.sponsors:04d}@example.com"


def stamp(moment: dt.datetime) -> str:
    """The form export writes (and import reads on its quick path)."""
    return moment.isoformat() + "Z"


def write_projects(path: Path, shape: Shape) -> int:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS["projects"])
        for i in range(shape.projects):
            writer.writerow(
                (project_name(i), sponsor_of(i, shape), SEGMENTS[i % 3], "biweekly", "tue", "10:00")
            )
    return shape.projects


def write_responses(path: Path, shape: Shape, now: dt.datetime) -> int:
    """Every project's check-ins spread over two years, each in its own slot so keys never repeat.

    Rows go out slot by slot (all projects' first check-in, then their second …), close to the
    time order in which an export writes them. About 72 % are answered within three days; an
    answer that would lie in the future is left unanswered. Each project has its own mood.
    """
    rng = random.Random(shape.seed)
    per_project = shape.responses // shape.projects
    extra = shape.responses % shape.projects
    first = now.replace(hour=0, minute=0, second=0) - TWO_YEARS
    slot = int(TWO_YEARS.total_seconds()) // (per_project + 1)
    moods = [_rating_thresholds(rng) for _ in range(shape.projects)]
    names = [project_name(i) for i in range(shape.projects)]
    sponsors = [sponsor_of(i, shape) for i in range(shape.projects)]
    second = dt.timedelta(seconds=1)
    written = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS["responses"])
        for j in range(per_project + 1):
            for p in range(shape.projects if j < per_project else extra):
                sent = first + (j * slot + rng.randrange(slot)) * second
                answered = sent + rng.randrange(300, 3 * 86400) * second
                if rng.random() < 0.72 and answered < now:
                    rating = _rating(rng.random(), moods[p])
                    comment = f"Week {j}: steady, on track" if rng.random() < 0.12 else ""
                    writer.writerow((names[p], sponsors[p], stamp(sent), stamp(answered), rating, comment))
                else:
                    writer.writerow((names[p], sponsors[p], stamp(sent), "", "", ""))
                written += 1
    return written


def _rating_thresholds(rng: random.Random) -> tuple[float, float, float, float]:
    """Cumulative chances of ratings 1–4 (5 takes the rest) for one project's mood."""
    weights = [0.06, 0.10, 0.22, 0.34, 0.28]
    shift = rng.uniform(-0.05, 0.05)
    weights[0] += shift
    weights[4] -= shift
    total = 0.0
    cumulative = []
    for weight in weights[:4]:
        total += weight
        cumulative.append(total)
    return cumulative[0], cumulative[1], cumulative[2], cumulative[3]


def _rating(draw: float, thresholds: tuple[float, float, float, float]) -> int:
    for rating, limit in enumerate(thresholds, start=1):
        if draw < limit:
            return rating
    return 5


def write_painpoints(path: Path, shape: Shape, now: dt.datetime) -> int:
    """Pain points over two years; ~60 % resolved when that is already past, half of those measured."""
    rng = random.Random(shape.seed + 1)
    span = int(TWO_YEARS.total_seconds())
    second = dt.timedelta(seconds=1)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS["painpoints"])
        for n in range(shape.painpoints):
            p = rng.randrange(shape.projects)
            reported = now - rng.randrange(3600, span) * second
            resolved = reported + rng.randrange(3600, 90 * 86400) * second
            row: list[Any] = [project_name(p), sponsor_of(p, shape), stamp(reported),
                              f"Pain {n}: approvals wait on the steering committee", rng.randint(1, 5)]  # fmt: skip
            if rng.random() < 0.6 and resolved < now:
                row += ["resolved", stamp(resolved)]
                if rng.random() < 0.5:
                    baseline = 0.0 if rng.random() < 0.03 else round(rng.uniform(5, 200), 1)
                    after = round(baseline * rng.uniform(0.3, 1.4), 1)
                    better = "higher" if rng.random() < 0.3 else "lower"
                    row += [rng.choice(PAIN_METRICS), baseline, after, better]
                else:
                    row += ["", "", "", ""]
                # owner (none: the bench has no staff), what was done, the sponsor's answer
                row += ["", "Approvals moved to the weekly stand-up", rng.choice(("yes", "yes", ""))]
            else:
                row += ["open", "", "", "", "", "", "", "", ""]
            writer.writerow(row)
    return shape.painpoints


def write_outcomes(path: Path, shape: Shape, today: dt.date) -> int:
    """Five outcomes a project: most measured (progress −20 % … 130 %), most with a benefit and a due date."""
    rng = random.Random(shape.seed + 2)
    written = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS["outcomes"])
        for p in range(shape.projects):
            for metric, unit in OUTCOME_METRICS[: shape.outcomes_per_project]:
                baseline = round(rng.uniform(10, 500), 1)
                target = round(baseline * rng.choice((rng.uniform(0.4, 0.9), rng.uniform(1.1, 2.5))), 1)
                if target == baseline:
                    target = baseline + 1
                current = (
                    round(baseline + rng.uniform(-0.2, 1.3) * (target - baseline), 2)
                    if rng.random() < 0.9
                    else ""
                )
                benefit = round(rng.uniform(10_000, 500_000), -2) if rng.random() < 0.85 else ""
                due = (
                    (today + dt.timedelta(days=rng.randint(-180, 540))).isoformat()
                    if rng.random() < 0.8
                    else ""
                )
                writer.writerow((project_name(p), metric, unit, baseline, target, current, benefit, due))
                written += 1
    return written


# ---------------------------------------------------------------- loading through app.py


@dataclass
class Step:
    """One `python app.py …` process: what it did, how long it took, its peak memory."""

    what: str
    rows: int
    seconds: float
    peak_mb: float
    said: str


def run_app(workdir: Path, database_url: str, what: str, rows: int, *args: str) -> Step:
    """`python app.py ARGS` in its own process (cwd: the temporary directory, so no stray .env)."""
    env = {**os.environ, "DATABASE_URL": database_url}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PEAK_WRAPPER, str(APP), *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    peaks = [int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("VMHWM_KB ")]
    if done.returncode != 0 or not peaks:
        raise RuntimeError(
            f"app.py {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    return Step(what, rows, seconds, peaks[-1] / 1024, done.stdout.strip())


def load(workdir: Path, database_url: str, shape: Shape, now: dt.datetime) -> list[Step]:
    """Write each CSV file, import it with app.py, delete it; then set the PMO's cost."""
    files: list[tuple[str, Callable[[Path], int]]] = [
        ("projects", lambda path: write_projects(path, shape)),
        ("responses", lambda path: write_responses(path, shape, now)),
        ("painpoints", lambda path: write_painpoints(path, shape, now)),
        ("outcomes", lambda path: write_outcomes(path, shape, now.date())),
    ]
    steps = []
    for kind, write in files:
        path = workdir / f"{kind}.csv"
        started = time.perf_counter()
        rows = write(path)
        size = path.stat().st_size / 1e6
        print(
            f"[load] wrote {rows:,} {kind} ({size:.0f} MB) in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        step = run_app(workdir, database_url, f"import {kind}", rows, "import", kind, str(path))
        print(f"[load] {step.said} — {step.seconds:.1f} s, peak {step.peak_mb:.0f} MB", flush=True)
        steps.append(step)
        path.unlink()
    steps.append(run_app(workdir, database_url, "pmo cost", 1, "pmo", "cost", str(PMO_COST)))
    print(f"[load] {steps[-1].said}", flush=True)
    return steps


# ---------------------------------------------------------------- the floor: hand-written SQL


@dataclass(frozen=True)
class Scope:
    """What a report covers: the organisation, a segment, or a project."""

    label: str
    project: Project | None = None
    segment: str | None = None

    def where(self) -> str:
        """The floor's filter for a table with org_id and project_id (each has an index to serve it)."""
        if self.project is not None:
            return "project_id = :project"
        if self.segment is not None:
            return "project_id IN (SELECT id FROM projects WHERE org_id = :org AND segment = :segment)"
        return "org_id = :org"

    def params(self, org_id: int) -> dict[str, Any]:
        values: dict[str, Any] = {"org": org_id}
        if self.project is not None:
            values["project"] = self.project.id
        elif self.segment is not None:
            values["segment"] = self.segment
        return values


def _sql(statement: str) -> TextClause:
    """Raw SQL with the window's bounds typed as DateTime, so each driver gets them as it stores them."""
    return text(statement).bindparams(
        bindparam("start", type_=DateTime()), bindparam("end", type_=DateTime())
    )


def floor_statements(scope: Scope, dialect: str) -> dict[str, TextClause]:
    """The least SQL that yields the headline figures: one scan per table, nothing more."""
    where = scope.where()
    if dialect == "sqlite":
        median = f"""
            WITH d AS (SELECT julianday(resolved_at) - julianday(reported_at) AS days FROM painpoints
                       WHERE {where} AND resolved_at >= :start AND resolved_at < :end)
            SELECT (SELECT count(*) FROM d) AS resolved,
                   (SELECT avg(days) FROM (SELECT days FROM d ORDER BY days
                        LIMIT 2 - (SELECT count(*) FROM d) % 2
                        OFFSET ((SELECT count(*) FROM d) - 1) / 2)) AS median_days"""
    else:
        median = f"""
            SELECT count(*) AS resolved,
                   percentile_cont(0.5) WITHIN GROUP (
                       ORDER BY EXTRACT(EPOCH FROM resolved_at - reported_at) / 86400.0) AS median_days
            FROM painpoints WHERE {where} AND resolved_at >= :start AND resolved_at < :end"""
    return {
        "satisfaction": _sql(f"""
            SELECT count(rating) AS n, avg(rating) AS mean,
                   count(*) FILTER (WHERE rating >= 4) AS good,
                   count(*) FILTER (WHERE rating = 5) AS delicious,
                   count(*) FILTER (WHERE rating <= 2) AS sour
            FROM checkins
            WHERE {where} AND kind = 'taste' AND answered_at >= :start AND answered_at < :end"""),
        "response_rate": _sql(f"""
            SELECT count(*) AS sent, count(answered_at) AS answered FROM checkins
            WHERE {where} AND kind = 'taste' AND sent_at >= :start AND sent_at < :end"""),
        "pain_points": _sql(median),
        "outcomes": text(f"""
            SELECT count(*) AS total,
                   count(*) FILTER (WHERE p >= 1) AS achieved,
                   sum(benefit) AS planned,
                   sum(benefit * CASE WHEN p < 0 THEN 0.0 WHEN p > 1 THEN 1.0 ELSE p END) AS realized
            FROM (SELECT coalesce((current - baseline) / nullif(target - baseline, 0), 0) AS p,
                         coalesce(benefit, 0) AS benefit
                  FROM outcomes WHERE {where}) o"""),
        "cost": text("SELECT pmo_cost FROM organisations WHERE id = :org"),
    }


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


async def floor_figures(
    session: AsyncSession, statements: dict[str, TextClause], scope: Scope, org_id: int, today: dt.date
) -> dict[str, Any]:
    """The headline figures from raw SQL, unrounded (the check allows the report's rounding)."""
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time())  # METRICS.md: [end - 90 days, end)
    start = end - dt.timedelta(days=90)
    params = scope.params(org_id)
    windowed = {**params, "start": start, "end": end}
    sat = (await session.execute(statements["satisfaction"], windowed)).one()
    rate = (await session.execute(statements["response_rate"], windowed)).one()
    pain = (await session.execute(statements["pain_points"], windowed)).one()
    out = (await session.execute(statements["outcomes"], params)).one()
    cost = None
    if scope.project is None and scope.segment is None:
        cost = _num((await session.execute(statements["cost"], {"org": org_id})).scalar())
    n = sat.n
    realized = _num(out.realized) if out.total else None
    return {
        "responses": n,
        "mean": _num(sat.mean),
        "csat_pct": 100.0 * sat.good / n if n else None,
        "net_taste_pct": 100.0 * (sat.delicious - sat.sour) / n if n else None,
        "response_rate_pct": 100.0 * rate.answered / rate.sent if rate.sent else None,
        "pain_points_resolved": pain.resolved,
        "median_days_to_resolve": _num(pain.median_days),
        "outcomes": out.total,
        "outcomes_achieved": out.achieved,
        "planned": _num(out.planned) if out.total else None,
        "realized": realized,
        "pmo_cost": cost,
        "roi_pct": 100.0 * (realized - cost) / cost if cost and realized is not None else None,
    }


def headline(report: dict[str, Any]) -> dict[str, Any]:
    """The report's figures that the floor computes too."""
    sat, pain, out, money = (
        report["satisfaction"],
        report["pain_points"],
        report["outcomes"],
        report["benefits"],
    )
    return {
        "responses": sat["responses"],
        "mean": sat["mean"],
        "csat_pct": sat["csat_pct"],
        "net_taste_pct": sat["net_taste_pct"],
        "response_rate_pct": report["response_rate_pct"],
        "pain_points_resolved": pain["resolved"],
        "median_days_to_resolve": pain["median_days_to_resolve"],
        "outcomes": out["total"],
        "outcomes_achieved": out["achieved"],
        "planned": money["planned"],
        "realized": money["realized"],
        "pmo_cost": money["pmo_cost"],
        "roi_pct": money["roi_pct"],
    }


PLACES = {"mean": 2, "planned": 2, "realized": 2, "pmo_cost": 2}  # the rest: counts, or 1 decimal


def mismatches(report: dict[str, Any], floor: dict[str, Any]) -> list[str]:
    """Figures where the report is not the floor's value rounded (half a unit of the last place, no more)."""
    wrong = []
    for key, got in report.items():
        want = floor[key]
        if got is None or want is None or isinstance(want, int):
            same = got == want
        else:
            same = abs(got - want) <= 0.5 * 10 ** -PLACES.get(key, 1) + 1e-9
        if not same:
            wrong.append(f"{key}: report {got!r}, floor {want!r}")
    return wrong


# ---------------------------------------------------------------- timing


@dataclass
class Timing:
    """One scope's report and floor times, taken in pairs in the same run (the machine is shared)."""

    scope: str
    report_s: list[float] = field(default_factory=list)
    floor_s: list[float] = field(default_factory=list)
    bare_s: list[float] = field(default_factory=list)  # the report without its highlights
    figures: dict[str, Any] = field(default_factory=dict)
    wrong: list[str] = field(default_factory=list)

    @property
    def report(self) -> float:
        return statistics.median(self.report_s)

    @property
    def floor(self) -> float:
        return statistics.median(self.floor_s)

    @property
    def ratio(self) -> float:
        """The median of the rounds' ratios: a burst of someone else's load hits both halves of a round."""
        return statistics.median(self.pair_ratios)

    @property
    def bare(self) -> float:
        return statistics.median(self.bare_s)

    @property
    def story_ratio(self) -> float:
        """The report with its highlights over the report without, median of the rounds' ratios."""
        return statistics.median(self.story_ratios)

    @property
    def story_ratios(self) -> list[float]:
        return sorted(r / b for r, b in zip(self.report_s, self.bare_s, strict=True))

    @property
    def pair_ratios(self) -> list[float]:
        """Report over floor within each round: how much the ratio moves with the machine's load."""
        return sorted(r / f for r, f in zip(self.report_s, self.floor_s, strict=True))


async def timed(db: Database, work: Callable[[AsyncSession], Awaitable[Any]]) -> tuple[float, Any]:
    """One use case: a session, a transaction, the work; wall time from opening to commit."""
    started = time.perf_counter()
    async with db.transaction() as session:
        result = await work(session)
    return time.perf_counter() - started, result


async def measure(db: Database, today: dt.date, runs: int, warmup: int) -> list[Timing]:
    """Report and floor for each scope, alternating which goes first, after `warmup` rounds.

    Every round's figures are checked, not only the last one's.
    """
    async with db.transaction() as session:
        org_id = (
            await session.execute(text("SELECT id FROM organisations WHERE key = :k"), {"k": DEFAULT_ORG_KEY})
        ).scalar_one()
        project = await find_project(session, org_id, project_name(42))
    assert project is not None
    scopes = [Scope("organisation"), Scope(f"segment '{SEGMENTS[0]}'", segment=SEGMENTS[0]),
              Scope(f"project '{project.name}'", project=project)]  # fmt: skip
    timings = []
    for scope in scopes:
        statements = floor_statements(scope, db.engine.dialect.name)

        async def report(session: AsyncSession, scope: Scope = scope) -> dict[str, Any]:
            return await compute_value(
                session, org_id, project=scope.project, segment=scope.segment, today=today
            )

        async def bare(session: AsyncSession, scope: Scope = scope) -> dict[str, Any]:
            return await compute_value(
                session, org_id, project=scope.project, segment=scope.segment, today=today, highlights=False
            )

        async def floor(
            session: AsyncSession, scope: Scope = scope, statements: dict[str, TextClause] = statements
        ) -> dict[str, Any]:
            return await floor_figures(session, statements, scope, org_id, today)

        timing = Timing(scope.label)
        for round_ in range(warmup + runs):
            # report, report without highlights, floor: each goes first, second and third in turn
            order = ("report", "bare", "floor")[round_ % 3 :] + ("report", "bare", "floor")[: round_ % 3]
            took: dict[str, float] = {}
            results: dict[str, Any] = {}
            for what in order:
                work = {"report": report, "bare": bare, "floor": floor}[what]
                took[what], results[what] = await timed(db, work)
            got, want = results["report"], results["floor"]
            timing.figures = headline(got)
            timing.wrong = timing.wrong or mismatches(timing.figures, want)
            timing.wrong = timing.wrong or mismatches(headline(results["bare"]), want)
            if round_ >= warmup:
                timing.report_s.append(took["report"])
                timing.bare_s.append(took["bare"])
                timing.floor_s.append(took["floor"])
        timings.append(timing)
        print(
            f"[time] {scope.label}: report {timing.report * 1000:.1f} ms, without highlights "
            f"{timing.bare * 1000:.1f} ms (×{timing.story_ratio:.2f}), floor {timing.floor * 1000:.1f} ms, "
            f"×{timing.ratio:.2f}; figures {'equal' if not timing.wrong else timing.wrong}",
            flush=True,
        )
    return timings


async def table_counts(db: Database) -> dict[str, int]:
    """What the load left in the database, to show the dataset is the one described."""
    queries = {
        "projects": "SELECT count(*) FROM projects",
        "segments": "SELECT count(DISTINCT segment) FROM projects",
        "taste check-ins": "SELECT count(*) FROM checkins WHERE kind = 'taste'",
        "answered": "SELECT count(answered_at) FROM checkins WHERE kind = 'taste'",
        "answers (history)": "SELECT count(*) FROM answers",
        "pain points": "SELECT count(*) FROM painpoints",
        "resolved": "SELECT count(*) FROM painpoints WHERE resolved_at IS NOT NULL",
        "with before/after": "SELECT count(*) FROM painpoints WHERE after IS NOT NULL",
        "outcomes": "SELECT count(*) FROM outcomes",
        "measurements": "SELECT count(*) FROM measurements",
    }
    async with db.transaction() as session:
        return {label: (await session.execute(text(sql))).scalar_one() for label, sql in queries.items()}


# ---------------------------------------------------------------- PostgreSQL's dedicated database


def bench_database(raw: str) -> URL:
    url = async_url(raw)
    if url.get_backend_name() != "postgresql":
        raise SystemExit("--database-url must be a postgresql:// URL (SQLite is the default)")
    if url.database in REFUSED_DATABASES:
        raise SystemExit(f"refusing to create and drop database '{url.database}'; name a dedicated one")
    return url


async def recreate(url: URL, *, drop_only: bool = False) -> None:
    """Drop the bench's database (and create it again) through the server's `postgres` database."""
    admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = admin.dialect.identifier_preparer.quote(url.database or "")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            if not drop_only:
                await conn.execute(text(f"CREATE DATABASE {name}"))
    finally:
        await admin.dispose()


async def vacuum_analyze(db: Database) -> float:
    started = time.perf_counter()
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))
    return time.perf_counter() - started


async def server_version(db: Database) -> str:
    async with db.engine.connect() as conn:
        if db.is_sqlite:
            return "SQLite " + (await conn.execute(text("SELECT sqlite_version()"))).scalar_one()
        return "PostgreSQL " + (await conn.execute(text("SHOW server_version"))).scalar_one().split()[0]


# ---------------------------------------------------------------- the Markdown section


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def report_markdown(
    args: argparse.Namespace,
    shape: Shape,
    backend: str,
    steps: list[Step],
    counts: dict[str, int],
    timings: list[Timing],
    vacuum_s: float | None,
) -> str:
    responses = next((s for s in steps if s.what == "import responses"), None)
    org = timings[0]
    command = "python bench/value_report.py" + (
        f" --database-url postgresql://…/{bench_database(args.database_url).database}"
        if args.database_url
        else ""
    )
    if args.responses != Shape.responses:
        command += f" --responses {args.responses}"
    if args.reuse is not None:
        command += " --reuse DIR"
    load = os.getloadavg()
    lines = [
        "## Value report (issue 2): one million answers",
        "",
        f"### {backend.split()[0]}",
        "",
        f"`{command}` — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()} {os.cpu_count()} cores "
        f"(shared with other test runs; load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} at the end), "
        f"Python {platform.python_version()}, {backend}. "
        + (
            "Loaded with `python app.py import KIND FILE`, one process per file (wall time from process start "
            f"to exit; peak = that process's VmHWM), then `python app.py pmo cost {PMO_COST}`."
            if steps
            else "The database of an earlier `--keep` run, not loaded again."
        ),
    ]
    if steps:
        lines += ["", "| load step | rows | wall time | peak memory |", "|---|---:|---:|---:|"]
    lines += [f"| `{s.what}` | {s.rows:,} | {s.seconds:.1f} s | {s.peak_mb:.0f} MB |" for s in steps]
    lines += [
        "",
        "In the database afterwards: " + ", ".join(f"{v:,} {k}" for k, v in counts.items()) + "."
        + (f" Then `VACUUM ANALYZE` ({vacuum_s:.1f} s), as autovacuum would do." if vacuum_s is not None else ""),
        "",
        "`compute_value` (what `/pmo value` and `app.py value --json` call; 90-day window; each call in "
        "its own transaction) against the floor (raw SQL of the headline figures only: satisfaction over the "
        "window, response rate, pain points resolved and their median days, outcomes achieved, benefit, ROI), "
        "and against itself without the highlights of issue 12 (wins, attention, the breakdown, the headline: "
        "`highlights=False`), the three taking turns at going first, "
        f"{args.runs} rounds after {args.warmup} warm-up rounds; times are "
        "medians, the ratio is the median of the rounds' ratios:",
        "",
        "| scope | answers in window | report | without highlights | report / without (min–max) | floor | report / floor (min–max) | figures equal |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]  # fmt: skip
    for t in timings:
        pairs, story = t.pair_ratios, t.story_ratios
        lines.append(
            f"| {t.scope} | {t.figures['responses']:,} | {ms(t.report)} | {ms(t.bare)} "
            f"| **{t.story_ratio:.2f}×** ({story[0]:.2f}–{story[-1]:.2f}) | {ms(t.floor)} "
            f"| **{t.ratio:.2f}×** ({pairs[0]:.2f}–{pairs[-1]:.2f}) "
            f"| {'yes' if not t.wrong else 'NO: ' + '; '.join(t.wrong)} |"
        )
    targets = []
    if responses is not None:
        targets += [
            f"{shape.responses:,}-response import {responses.seconds:.1f} s (target < {TARGET_IMPORT_S:.0f} s): "
            f"{verdict(responses.seconds < TARGET_IMPORT_S)}",
            f"its peak memory {responses.peak_mb:.0f} MB (target < {TARGET_IMPORT_MB:.0f} MB): "
            f"{verdict(responses.peak_mb < TARGET_IMPORT_MB)}",
        ]
    targets += [
        f"organisation report {org.ratio:.2f}× the floor (target ≤ {TARGET_RATIO:g}×): "
        f"{verdict(org.ratio <= TARGET_RATIO)}",
        f"organisation report with its highlights {org.story_ratio:.2f}× the report without them "
        f"(target ≤ {TARGET_STORY_RATIO:g}×): {verdict(org.story_ratio <= TARGET_STORY_RATIO)}",
        f"organisation report {ms(org.report)} (target < {TARGET_ORG_S} s): {verdict(org.report < TARGET_ORG_S)}",
    ]
    targets.append(f"report figures equal to the floor's: {verdict(not any(t.wrong for t in timings))}")
    lines += ["", "Targets: " + "; ".join(targets) + "."]
    return "\n".join(lines)


# ---------------------------------------------------------------- main


async def after_load(database_url: str, args: argparse.Namespace, today: dt.date) -> tuple[Any, ...]:
    db = Database(database_url)
    try:
        vacuum_s = None if db.is_sqlite else await vacuum_analyze(db)
        backend = await server_version(db)
        counts = await table_counts(db)
        timings = await measure(db, today, args.runs, args.warmup)
    finally:
        await db.dispose()
    return backend, counts, timings, vacuum_s


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", help="postgresql://…/DBNAME: DBNAME is created and dropped; default SQLite"
    )
    parser.add_argument("--responses", type=int, default=Shape.responses, help="taste check-ins (1,000,000)")
    parser.add_argument("--runs", type=int, default=15, help="timed rounds per scope (median)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first")
    parser.add_argument(
        "--keep", action="store_true", help="keep the database (PostgreSQL) or its directory (SQLite)"
    )
    parser.add_argument(
        "--reuse",
        metavar="DIR",
        type=Path,
        help="time a database kept by an earlier --keep run, without loading: its SQLite directory, "
        "or (with --database-url) any directory; the load table is then left out",
    )
    args = parser.parse_args()
    shape = Shape(responses=args.responses)
    url = bench_database(args.database_url) if args.database_url else None
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    if args.reuse is not None:
        return reuse(args, shape, url, now)
    workdir = Path(tempfile.mkdtemp(prefix="pmo-value-"))
    if url is None:
        database_url = f"sqlite:///{workdir / 'value.db'}"
    else:
        database_url = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        if url is not None:
            asyncio.run(recreate(url))
        steps = load(workdir, database_url, shape, now)
        backend, counts, timings, vacuum_s = asyncio.run(after_load(database_url, args, now.date()))
    finally:
        if args.keep:
            print(f"[kept] {database_url}", flush=True)
        if url is not None and not args.keep:
            asyncio.run(recreate(url, drop_only=True))
        if url is not None or not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(report_markdown(args, shape, backend, steps, counts, timings, vacuum_s))
    return 0 if not any(t.wrong for t in timings) else 1


def reuse(args: argparse.Namespace, shape: Shape, url: URL | None, now: dt.datetime) -> int:
    """Time a kept database again (its data was placed relative to the day it was loaded)."""
    if url is None:
        database_url = f"sqlite:///{args.reuse / 'value.db'}"
        if not (args.reuse / "value.db").exists():
            raise SystemExit(f"{args.reuse} holds no value.db kept by --keep")
    else:
        database_url = url.set(drivername="postgresql").render_as_string(hide_password=False)
    backend, counts, timings, vacuum_s = asyncio.run(after_load(database_url, args, now.date()))
    print()
    print(report_markdown(args, shape, backend, [], counts, timings, vacuum_s))
    return 0 if not any(t.wrong for t in timings) else 1


if __name__ == "__main__":
    sys.exit(main())
