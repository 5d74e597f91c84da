"""Fan-out: 10,000 sponsors due at the same minute, against a rate-limited fake Slack Web API.

    python bench/fanout.py [--sponsors 10000] [--limit 20] [--database-url URL]

The clock is the real `python app.py clock` (default tick and lease), in its own process, with
PMO_SEND_RATE set to the fake's limit; the fake (tests/fakes/slack_history.py) answers 429 with
Retry-After beyond `--limit` chat.postMessage calls a second per workspace, like Slack.

Two runs, each on a fresh database:

1. steady: all sponsors due at the next whole minute; the sustained rate of accepted posts,
   how many 429s it cost, duplicates and losses, the clock's peak memory (VmHWM);
2. crash: the same, but the clock is killed with SIGKILL when half the posts are in, and started
   again at once; duplicates and losses over both processes, and the time lost to the crash.

Prints a Markdown section for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.fresh import fresh_schema
from storage.db import Database
from tests.clockkit import ClockProcess, clock_env, ledger, seed
from tests.fakes.slack_api import dm_channel
from tests.fakes.slack_history import FakeSlackWithHistory


@dataclass
class Outcome:
    name: str
    sponsors: int
    limit: float
    accepted: int
    rejected_429: int
    first_after_due: float
    span: float
    duplicates: int
    lost: int
    peak_rss_mb: float
    ledger: dict[str, int]
    restart_gap: float | None = None
    rate_before: float | None = None
    rate_after: float | None = None

    @property
    def rate(self) -> float:
        return (self.accepted - 1) / self.span if self.span > 0 else 0.0


def next_minute(margin: float = 20.0) -> dt.datetime:
    """The next whole minute at least `margin` seconds away (time to start the clock)."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    due = now.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    if (due - now).total_seconds() < margin:
        due += dt.timedelta(minutes=1)
    return due


def wall_to_monotonic(moment: dt.datetime) -> float:
    """A naive UTC moment on the monotonic clock the fake stamps its calls with."""
    return time.monotonic() + (moment.replace(tzinfo=dt.UTC).timestamp() - time.time())


async def prepare(database_url: str | None, workdir: Path, name: str, count: int) -> tuple[str, dt.datetime]:
    url = f"sqlite:///{workdir / (name + '.db')}" if database_url is None else database_url
    db = Database(url)
    try:
        await fresh_schema(db)
        await db.migrate()
        due = next_minute()
        await seed(db, count, due)
    finally:
        await db.dispose()
    return url, due


def accepted_calls(slack: FakeSlackWithHistory) -> list[float]:
    return sorted(
        c.at for c in slack.called("chat.postMessage") if c.status == 200 and (c.response or {}).get("ok")
    )


def tally(slack: FakeSlackWithHistory, users: list[str]) -> tuple[int, int]:
    """(duplicates, lost) over every sponsor's DM."""
    per_channel = Counter(m.channel for m in slack.messages.values())
    counts = [per_channel.get(dm_channel(user), 0) for user in users]
    return sum(max(c - 1, 0) for c in counts), sum(1 for c in counts if c == 0)


async def wait_for_posts(
    slack: FakeSlackWithHistory, count: int, clocks: list[ClockProcess], within: float
) -> None:
    """Until `count` posts are accepted (the fake notifies on every call)."""
    async with asyncio.timeout(within):
        async with slack._changed:
            await slack._changed.wait_for(lambda: slack.posted >= count)


async def settled(url: str, count: int, within: float = 600.0) -> dict[str, int]:
    db = Database(url)
    try:
        async with asyncio.timeout(within):
            while True:
                statuses = await ledger(db)
                if statuses.get("sent", 0) >= count and not statuses.get("claimed"):
                    return statuses
                await asyncio.sleep(1.0)
    finally:
        await db.dispose()


async def one_run(args: argparse.Namespace, workdir: Path, *, crash: bool) -> Outcome:
    name = "crash" if crash else "steady"
    url, due = await prepare(args.database_url, workdir, name, args.sponsors)
    users = [f"U{i:08d}" for i in range(args.sponsors)]
    async with FakeSlackWithHistory() as slack:
        slack.limit_rate("chat.postMessage", args.limit)
        env = clock_env(url, slack.url, args.limit)
        clocks = [await ClockProcess(env, workdir).start()]
        print(
            f"[{name}] {args.sponsors} sponsors due at {due:%H:%M:%S} UTC; clock pid {clocks[0].pid}",
            flush=True,
        )
        budget = args.sponsors / args.limit * 3 + 180
        restart_gap = rate_before = rate_after = None
        if crash:
            await wait_for_posts(slack, args.sponsors // 2, clocks, budget)
            clocks[0].kill()
            killed = time.monotonic()
            await clocks[0].stop()
            before = accepted_calls(slack)
            rate_before = (len(before) - 1) / (before[-1] - before[0])
            print(f"[{name}] SIGKILL after {len(before)} posts; restarting", flush=True)
            clocks.append(await ClockProcess(env, workdir).start())
            await wait_for_posts(slack, len(before) + 1, clocks, budget)
            restart_gap = accepted_calls(slack)[len(before)] - killed
        statuses = await settled(url, args.sponsors, budget)
        for clock in clocks:
            await clock.stop()
            for line in clock.lines:
                if any(
                    word in line for word in ("leads", "due now", "caught up", "rate", "taking", "taken over")
                ):
                    print(f"[{name}] clock {clock.pid}: {line}", flush=True)
        calls = accepted_calls(slack)
        if crash:
            after = [at for at in calls if at > killed]
            rate_after = (len(after) - 1) / (after[-1] - after[0]) if len(after) > 1 else None
        duplicates, lost = tally(slack, users)
        rejected = sum(1 for c in slack.called("chat.postMessage") if c.status == 429)
        return Outcome(
            name=name,
            sponsors=args.sponsors,
            limit=args.limit,
            accepted=len(calls),
            rejected_429=rejected,
            first_after_due=calls[0] - wall_to_monotonic(due),
            span=calls[-1] - calls[0],
            duplicates=duplicates,
            lost=lost,
            peak_rss_mb=max(c.peak_rss_kb for c in clocks) / 1024,
            ledger=statuses,
            restart_gap=restart_gap,
            rate_before=rate_before,
            rate_after=rate_after,
        )


def report(args: argparse.Namespace, runs: list[Outcome]) -> str:
    backend = "PostgreSQL" if args.database_url else "SQLite"
    lines = [
        "## The clock (issue 5): 10,000 sponsors due at one minute",
        "",
        f"`python bench/fanout.py --sponsors {args.sponsors} --limit {args.limit:g}` — {dt.date.today()}, "
        f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, {backend}; "
        f"`python app.py clock` (tick 15 s, lease 60 s) with `PMO_SEND_RATE={args.limit:g}` against the fake "
        f"Slack Web API (tests/fakes/slack_history.py) limiting chat.postMessage to {args.limit:g}/s per "
        "workspace (429 + Retry-After beyond).",
        "",
        "| run | accepted | sustained rate | × limit | 429s | first post after the minute | duplicates | lost "
        "| clock peak RSS |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        lines.append(
            f"| {run.name} | {run.accepted} | {run.rate:.2f}/s | {run.rate / run.limit:.3f} | {run.rejected_429} "
            f"| {run.first_after_due:.2f} s | {run.duplicates} | {run.lost} | {run.peak_rss_mb:.0f} MB |"
        )
    for run in runs:
        if run.restart_gap is not None:
            lines += [
                "",
                f"Crash run: SIGKILL after half the posts; the next accepted post came {run.restart_gap:.1f} s "
                f"after the kill (process start, election, catch-up scan); rate before the kill "
                f"{run.rate_before:.2f}/s, after the restart {run.rate_after or 0:.2f}/s; ledger at the end "
                f"{run.ledger}.",
            ]
    return "\n".join(lines)


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sponsors", type=int, default=10_000)
    parser.add_argument(
        "--limit", type=float, default=20.0, help="the fake's chat.postMessage limit per second"
    )
    parser.add_argument(
        "--database-url", help="PostgreSQL URL (its public schema is dropped!); default SQLite"
    )
    parser.add_argument("--only", choices=("steady", "crash"), help="one run instead of both")
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory(prefix="pmo-fanout-") as tmp:
        for crash in (False, True):
            if args.only and args.only != ("crash" if crash else "steady"):
                continue
            outcome = await one_run(args, Path(tmp), crash=crash)
            print(f"[{outcome.name}] {outcome}", flush=True)
            runs.append(outcome)
    print()
    print(report(args, runs))
    return 0 if all(r.duplicates == 0 and r.lost == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
