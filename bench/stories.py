"""The track record (`app.py stories`) over 20,000 resolved pain points.

    python bench/stories.py [--database-url postgresql://postgres@127.0.0.1:5432/pmo_bench_stories]

Why: `stories` lists every pain point resolved in the window, each with its project's CSAT before
the report and since the fix (METRICS.md `stories`), its notes and its sponsor's answers; an
organisation that has used the bot for years must still get it in seconds (issue 12: under 10 s
for 20,000 pain points).

1. Load (Core executemany, not timed): 1,000 projects with their sponsors, 200,000 taste
   check-ins over two years (80 % answered), 20,000 pain points all resolved within the last
   365 days (the worst case: every one is in the track record), 60 % measured, 30 % confirmed;
   a note on half of them and the sponsor's ✅ Fixed on the confirmed ones.
2. `handlers.stories.compute.track_record` (days 365) in its own transaction: median of 3 runs
   after one warm-up; then the Markdown and the HTML page rendered from it (the HTML draws the
   chart); then `python app.py stories --out FILE` and `--format html`, as a user runs them
   (wall time from process start to exit, including Python's start and the imports).

SQLite by default (a file in a temporary directory). With --database-url the run is on
PostgreSQL, in the database the URL names, which is created (dropped first) and dropped at the
end; `test`, `postgres` and the templates are refused. Prints a Markdown section for RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select
from sqlalchemy.engine import make_url

from handlers.stories.compute import track_record
from handlers.stories.html import record_html
from handlers.stories.markdown import record_markdown
from storage.db import Database, utcnow
from storage.models import KIND_TASTE, Checkin, PainPoint, PainPointEvent, Person, Project
from storage.queries import get_or_create_org, name_key

ROOT = Path(__file__).resolve().parents[1]
REFUSED = {"test", "postgres", "template0", "template1"}
PROJECTS, CHECKINS, PAINPOINTS = 1_000, 200_000, 20_000
BATCH = 5_000


async def load(db: Database, now: dt.datetime) -> int:
    rng = random.Random(12)
    async with db.transaction() as session:
        org = await get_or_create_org(session)
        org_id = org.id
        await session.execute(
            insert(Person),
            [
                {"org_id": org_id, "name": f"Sponsor {i:04d}", "role": "member", "created_at": now}
                for i in range(PROJECTS)
            ],
        )
        sponsors = list(
            await session.scalars(select(Person.id).where(Person.org_id == org_id).order_by(Person.id))
        )
        await session.execute(
            insert(Project),
            [
                {"org_id": org_id, "name": f"Project {i:04d}", "name_key": name_key(f"Project {i:04d}"),
                 "sponsor_id": sponsors[i], "segment": ("Retail", "Finance", "Ops")[i % 3], "archived": False,
                 "created_at": now - dt.timedelta(days=800)}
                for i in range(PROJECTS)
            ],
        )  # fmt: skip
        projects = list(
            await session.scalars(select(Project.id).where(Project.org_id == org_id).order_by(Project.id))
        )
    two_years = 730 * 86400
    rows = []
    for n in range(CHECKINS):
        p = n % PROJECTS
        sent = now - dt.timedelta(seconds=rng.randrange(two_years))
        answered = rng.random() < 0.8
        rows.append(
            {"org_id": org_id, "project_id": projects[p], "sponsor_id": sponsors[p], "kind": KIND_TASTE,
             "status": "answered" if answered else "closed", "sent_at": sent,
             "answered_at": sent + dt.timedelta(hours=rng.randrange(1, 48)) if answered else None,
             "rating": rng.choices((1, 2, 3, 4, 5), (6, 10, 22, 34, 28))[0] if answered else None,
             "message_refs": {}}
        )  # fmt: skip
    for start in range(0, len(rows), BATCH):
        async with db.transaction() as session:
            await session.execute(insert(Checkin), rows[start : start + BATCH])
    points = []
    for n in range(PAINPOINTS):
        p = rng.randrange(PROJECTS)
        resolved = now - dt.timedelta(seconds=rng.randrange(364 * 86400))
        reported = resolved - dt.timedelta(seconds=rng.randrange(1, 120 * 86400))
        measured, confirmed = rng.random() < 0.6, rng.random() < 0.3
        points.append(
            {"org_id": org_id, "project_id": projects[p], "reported_by": sponsors[p], "reported_at": reported,
             "text": f"Pain point {n}: approvals wait for a signature", "impact": rng.randint(1, 5),
             "status": "resolved", "resolved_at": resolved, "better": "lower",
             "metric": "Days" if measured else None, "baseline": 10.0 if measured else None,
             "after": float(rng.randint(2, 12)) if measured else None, "fix": "A second approver",
             "confirmed": True if confirmed else None, "confirmed_at": resolved if confirmed else None,
             "message_refs": {}}
        )  # fmt: skip
    async with db.transaction() as session:
        for start in range(0, len(points), BATCH):
            await session.execute(insert(PainPoint), points[start : start + BATCH])
        ids = list(await session.execute(select(PainPoint.id, PainPoint.reported_by, PainPoint.resolved_at,
                                                PainPoint.confirmed).where(PainPoint.org_id == org_id)))  # fmt: skip
        events = []
        for i, (point_id, sponsor, resolved, confirmed) in enumerate(ids):
            if i % 2 == 0:
                events.append({"org_id": org_id, "painpoint_id": point_id, "person_id": None, "kind": "note",
                               "text": "Called the approvers", "at": resolved - dt.timedelta(days=1)})  # fmt: skip
            if confirmed:
                events.append({"org_id": org_id, "painpoint_id": point_id, "person_id": sponsor, "kind": "fixed",
                               "text": None, "at": resolved})  # fmt: skip
        for start in range(0, len(events), BATCH):
            await session.execute(insert(PainPointEvent), events[start : start + BATCH])
    return org_id


def app(database_url: str, *args: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_", "PMO_"))}
    env["DATABASE_URL"] = database_url
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"app.py {' '.join(args)} failed: {done.stderr.strip()}")
    return time.perf_counter() - began


async def admin(url: str, statement: str) -> None:
    import asyncpg

    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, password=parsed.password,
        database="postgres",
    )  # fmt: skip
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL database to create, use and drop")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-stories-"))
    url = args.database_url or f"sqlite:///{workdir / 'pmo.db'}"
    if args.database_url:
        name = make_url(url).database
        if not name or name in REFUSED or name.startswith("pmo_test"):
            raise SystemExit(f"refusing to use the database {name!r}: name one of the bench's own")
        await admin(url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin(url, f"CREATE DATABASE {name}")
    db = Database(url)
    try:
        await db.migrate()
        now = utcnow()
        began = time.perf_counter()
        org_id = await load(db, now)
        loaded = time.perf_counter() - began
        if db.url.get_backend_name() == "postgresql":
            async with db.engine.connect() as conn:
                await (await conn.execution_options(isolation_level="AUTOCOMMIT")).exec_driver_sql(
                    "VACUUM ANALYZE"
                )
        times, record = [], None
        for round_ in range(4):
            async with db.transaction() as session:
                start = time.perf_counter()
                record = await track_record(session, org_id, days=365)
                if round_:
                    times.append(time.perf_counter() - start)
        assert record is not None and record["totals"]["fixes"] == PAINPOINTS, record["totals"]
        start = time.perf_counter()
        markdown = record_markdown(record)
        md_s = time.perf_counter() - start
        start = time.perf_counter()
        page = record_html(record)
        html_s = time.perf_counter() - start
    finally:
        await db.dispose()
    cli_md = app(url, "stories", "--out", str(workdir / "stories.md"))
    cli_html = app(url, "stories", "--format", "html", "--out", str(workdir / "stories.html"))
    if args.database_url:
        await admin(url, f"DROP DATABASE IF EXISTS {make_url(url).database} WITH (FORCE)")
    backend = "PostgreSQL" if args.database_url else "SQLite"
    load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    t = record["totals"]
    print(f"### {backend}\n")
    print(
        f"`python bench/stories.py{' --database-url …' if args.database_url else ''}` — "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average at the end {load_avg}. Loaded in {loaded:.1f} s: "
        f"{PROJECTS:,} projects, {CHECKINS:,} taste check-ins, {PAINPOINTS:,} pain points resolved in the "
        f"last 365 days ({t['measured']:,} measured, {t['confirmed']:,} confirmed).\n"
    )
    print("| step | time | target |\n|---|---:|---|")
    print(f"| `track_record` (median of 3 after a warm-up; runs {', '.join(f'{x:.2f}' for x in times)} s) | "
          f"{statistics.median(times):.2f} s | |")  # fmt: skip
    print(f"| Markdown from it ({len(markdown) / 1e6:.1f} MB) | {md_s:.2f} s | |")
    print(f"| HTML from it, chart included ({len(page) / 1e6:.1f} MB) | {html_s:.2f} s | |")
    print(f"| `python app.py stories --out FILE` (process start to exit) | {cli_md:.2f} s | < 10 s: "
          f"{'met' if cli_md < 10 else '**not met**'} |")  # fmt: skip
    print(f"| `python app.py stories --format html --out FILE` | {cli_html:.2f} s | < 10 s: "
          f"{'met' if cli_html < 10 else '**not met**'} |")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
