"""`python app.py import responses` of a million rows, on SQLite and PostgreSQL.

    python bench/csv_import.py [--database-url postgresql://postgres@127.0.0.1:5432/pgscale] [--rows N]

Why: issue 13 asks for a 1,000,000-row responses file imported in under 60 s on PostgreSQL (it
took 116 s with the SQLite path's batched INSERTs), with the same all-or-nothing rule. The file is
`bench/value_report.py`'s (1,000 projects, 300 sponsors, two years, 72 % answered, the form export
writes). Into a fresh database: `import projects` (1,000 rows), then timed, each in its own
`python app.py` process (wall time from start to exit; peak = the process's VmHWM):

1. `import responses` into the empty table (the first load of years of history; on PostgreSQL the
   load mode of `storage.bulk_copy.loading` applies);
2. the same file again: every row matched and unchanged, nothing written;
3. the same file with its last row broken: every row read, checked and staged, then refused with
   its line number; nothing changes (the check-ins are counted before and after).

SQLite by default (a file in a temporary directory). With --database-url the run is on
PostgreSQL, in the database the URL names, which the bench creates (dropping it first) and drops
at the end; `test`, `postgres` and the templates are refused. Prints a Markdown section for
bench/RESULTS.md, with the load average before and after (the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import text
from value_report import (  # the million-row organisation, and how a step is run and measured
    APP,
    PEAK_WRAPPER,
    Shape,
    Step,
    bench_database,
    recreate,
    run_app,
    server_version,
    write_projects,
    write_responses,
)

from storage.db import Database

TARGET_S = 60.0


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


async def checkins(url: str) -> int:
    db = Database(url)
    try:
        async with db.transaction() as session:
            return int(await session.scalar(text("SELECT count(*) FROM checkins")) or 0)
    finally:
        await db.dispose()


async def engine_version(url: str) -> str:
    db = Database(url)
    try:
        return await server_version(db)
    finally:
        await db.dispose()


def broken_copy(source: Path, target: Path) -> int:
    """The file with its last row's rating made 6; returns that row's line (no row spans lines here)."""
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    cells = lines[-1].rstrip("\n").split(",")
    cells[3:5] = ["2026-01-01T00:00:00Z", "6"]
    lines[-1] = ",".join(cells) + "\n"
    target.write_text("".join(lines), encoding="utf-8")
    return len(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a dedicated PostgreSQL database (dropped and created)")
    parser.add_argument("--rows", type=int, default=Shape.responses)
    args = parser.parse_args()
    shape = Shape(responses=args.rows)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    with tempfile.TemporaryDirectory(prefix="pmo-csv-import-") as tmp:
        work = Path(tmp)
        if args.database_url:
            pg = bench_database(args.database_url)
            asyncio.run(recreate(pg))
            url = pg.render_as_string(hide_password=False)
        else:
            url = f"sqlite:///{work / 'pmo.db'}"
        try:
            run(work, url, shape, now)
        finally:
            if args.database_url:
                asyncio.run(recreate(bench_database(args.database_url), drop_only=True))


def run(work: Path, url: str, shape: Shape, now: dt.datetime) -> None:
    loads = [load_average()]
    projects, responses, broken = work / "projects.csv", work / "responses.csv", work / "broken.csv"
    write_projects(projects, shape)
    rows = write_responses(responses, shape, now)
    bad_line = broken_copy(responses, broken)
    size_mb = responses.stat().st_size / 1e6
    print(f"[bench] wrote {rows:,} responses ({size_mb:.0f} MB); load {loads[0]}", flush=True)
    setup = run_app(work, url, "import projects", shape.projects, "import", "projects", str(projects))
    steps: list[tuple[Step, str]] = []
    first = run_app(work, url, "import responses (empty table)", rows, "import", "responses", str(responses))
    steps.append((first, first.said))
    print(f"[bench] {first.said} {first.seconds:.1f} s, peak {first.peak_mb:.0f} MB", flush=True)
    again = run_app(work, url, "the same file again", rows, "import", "responses", str(responses))
    steps.append((again, again.said))
    print(f"[bench] {again.said} {again.seconds:.1f} s, peak {again.peak_mb:.0f} MB", flush=True)
    before = asyncio.run(checkins(url))
    refused = timed_refusal(work, url, rows, broken, bad_line)
    after = asyncio.run(checkins(url))
    steps.append((refused, f"{refused.said}; check-ins {before:,} before, {after:,} after"))
    loads.append(load_average())
    engine = asyncio.run(engine_version(url))
    print()
    print(f"### {engine}: {rows:,} responses ({now:%Y-%m-%d %H:%M} UTC)")
    print()
    print(
        f"`python bench/csv_import.py{'' if url.startswith('sqlite') else ' --database-url …'}` — "
        f"{platform.machine()} {os.cpu_count()} cores (shared), Python {platform.python_version()}, {engine}; "
        f"load average (1, 5, 15 min) {loads[0]} before, {loads[1]} after. "
        f"`import projects` ({shape.projects:,} rows) first: {setup.seconds:.1f} s."
    )
    print()
    print("| step | wall time | peak memory | what it said |")
    print("|---|---:|---:|---|")
    for step, said in steps:
        print(f"| {step.what} | {step.seconds:.1f} s | {step.peak_mb:.0f} MB | {said} |")
    print()
    verdict = "met" if first.seconds < TARGET_S else "**not met**"
    print(f"Target: {rows:,} responses in under {TARGET_S:.0f} s: {first.seconds:.1f} s, {verdict}.")
    if before != after:
        raise SystemExit(f"the refused import changed the check-ins: {before} → {after}")


def timed_refusal(work: Path, url: str, rows: int, broken: Path, bad_line: int) -> Step:
    """Measured as run_app measures, but this import must exit 1 and name the broken line."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PEAK_WRAPPER, str(APP), "import", "responses", str(broken)],
        cwd=work,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    peaks = [int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("VMHWM_KB ")]
    said = [line for line in done.stderr.splitlines() if line.startswith(str(broken))]
    assert done.returncode == 1 and said and f"line {bad_line}:" in said[0], done.stderr
    return Step(
        "the same file, last row broken", rows, seconds, peaks[-1] / 1024, f"exit 1, `…{said[0][-40:]}`"
    )


if __name__ == "__main__":
    main()
