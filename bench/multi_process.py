"""Two web processes and two clocks on one PostgreSQL database: 5,000 sponsors in 20 Slack workspaces.

    python bench/multi_process.py --database-url postgresql://postgres@127.0.0.1:5432/pgscale_multi
        [--sponsors 5000] [--workspaces 20] [--limit 10] [--slow-workspaces 2 --slow-limit 5]

CONTRACT.md section 8 in production's shape, measured: `python app.py serve --no-scheduler` twice
(two ports, as behind a load balancer) and `python app.py clock` twice, all four real processes on
one PostgreSQL database, Slack over OAuth (SLACK_CLIENT_ID/SECRET: every workspace installed through
the real /slack/install → /slack/oauth_redirect round trip, alternating between the two web
processes), SLACK_API_URL at the fake Web API (tests/fakes/slack_history.py), which limits
chat.postMessage per workspace (`--limit` a second, `--slow-limit` for `--slow-workspaces` of them:
free-plan workspaces, say) and answers 429 with Retry-After beyond it.

1. Fan-out: every sponsor has a weekly project due at the same minute. One clock leads (the other
   waits on the advisory lock), sends each check-in, and paces each workspace (PMO_SEND_RATE is left
   unset: Slack's default pacing). Measured: every sponsor's DM holds exactly one check-in (no
   duplicate, none lost), the ledger, per workspace the posts accepted, the 429s and the busiest
   second against its limit, the first post after the minute and the fan-out's span.
2. Clicks: each sponsor clicks a rating on the check-in just received: the real block_actions
   payload (the button's own value), signed with the signing secret, posted over HTTP 50 at a time,
   alternating between the two web processes. Measured: acknowledgement latency and status, then
   every answer stored (each check-in answered once, one `answers` row each, the rating clicked), and
   every message updated (chat.update on it).
3. Each process's peak memory (VmHWM) and CPU time.

The database the URL names is created (dropped first) and dropped at the end; `test`, `postgres`
and the templates are refused. Prints a Markdown section for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from slack_interactions import cpu_seconds, free_port, wait_healthy
from sqlalchemy import func, insert, select
from value_report import bench_database, recreate

from storage.db import Database
from storage.models import Answer, Checkin, Delivery, Identity, Organisation, Person, Project
from tests.clockkit import ClockProcess
from tests.fakes.slack_api import Message
from tests.fakes.slack_history import FakeSlackWithHistory
from tests.fakes.slack_signing import block_action, interaction_body, signed_headers

SECRET = "bench-signing-secret-0123456789abcdef"
CLIENT_ID, CLIENT_SECRET = "111.222", "bench-client-secret"
CHUNK = 1000
CONCURRENCY = 50


def team(n: int) -> str:
    return f"TW{n:04d}"


def token(n: int) -> str:
    return f"xoxb-bench-{n:04d}"


def sponsor(n: int, i: int) -> str:
    return f"U{n:02d}S{i:05d}"


@dataclass
class Proc:
    name: str
    process: ClockProcess
    cpu: float = 0.0


@dataclass
class Clicks:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    per_web: Counter[str] = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)  # answers other than 200, and what they said
    seconds: float = 0.0
    done_after: float = 0.0  # from the first click until every answer was stored and shown


def next_minute(margin: float) -> dt.datetime:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    due = now.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    while (due - now).total_seconds() < margin:
        due += dt.timedelta(minutes=1)
    return due


def environment(url: str, slack_url: str, port: int | None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("SLACK_", "MICROSOFT_", "PMO_", "DATABASE_URL", "LOCAL_CONSOLE", "PORT", "HOST")
        )
    }
    env.update(
        DATABASE_URL=url,
        SLACK_CLIENT_ID=CLIENT_ID,
        SLACK_CLIENT_SECRET=CLIENT_SECRET,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=slack_url,
        PYTHONUNBUFFERED="1",
    )
    if port is not None:
        env.update(HOST="127.0.0.1", PORT=str(port))
    return env


async def install(http: aiohttp.ClientSession, web: str, slack: FakeSlackWithHistory, n: int) -> None:
    """The browser's round trip through the install page and Slack's consent (faked) back to the bot."""
    code = f"code-{n}"
    slack.add_oauth_code(
        code, team_id=team(n), bot_token=token(n), team_name=f"Workspace {n}", client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )  # fmt: skip
    async with http.get(web + "/slack/install") as page:
        html = await page.text()
        cookie = page.headers["Set-Cookie"].split(";")[0]
    link = re.search(r'href="([^"]+oauth/v2/authorize[^"]+)"', html)
    assert link is not None, html
    state = parse_qs(urlparse(link.group(1).replace("&amp;", "&")).query)["state"][0]
    async with http.get(
        web + "/slack/oauth_redirect", params={"code": code, "state": state}, headers={"Cookie": cookie}
    ) as done:
        assert done.status == 200, await done.text()


async def seed(db: Database, workspaces: int, per_workspace: int, due: dt.datetime) -> None:
    """In each installed workspace's organisation: its sponsors, each with a weekly project due at `due`."""
    made = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=1)
    async with db.transaction() as session:
        orgs = dict((await session.execute(select(Organisation.key, Organisation.id))).all())
        start = int(await session.scalar(select(func.coalesce(func.max(Person.id), 0))) or 0) + 1
        people, identities, projects = [], [], []
        for n in range(workspaces):
            org_id = orgs[f"slack:{team(n)}"]
            for i in range(per_workspace):
                pid = start + len(people)
                people.append({"id": pid, "org_id": org_id, "name": f"Sponsor {n}-{i}", "role": "member",
                               "tz": "UTC", "unreachable": False, "created_at": made})  # fmt: skip
                identities.append({"org_id": org_id, "person_id": pid, "platform": "slack",
                                   "external_id": sponsor(n, i)})  # fmt: skip
                projects.append({"org_id": org_id, "name": f"Project {n}-{i}", "name_key": f"project {n}-{i}",
                                 "sponsor_id": pid, "cadence": "weekly", "day": due.strftime("%a").lower(),
                                 "time": due.strftime("%H:%M"), "ask": "off", "archived": False,
                                 "created_at": made})  # fmt: skip
        for model, rows in ((Person, people), (Identity, identities), (Project, projects)):
            for offset in range(0, len(rows), CHUNK):
                await session.execute(insert(model), rows[offset : offset + CHUNK])
    async with db.transaction() as session:
        await session.execute(
            select(func.setval("people_id_seq", select(func.max(Person.id)).scalar_subquery()))
        )


async def until(check: Any, within: float, what: str, every: float = 1.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {within:.0f} s")
        await asyncio.sleep(every)


def checkin_messages(slack: FakeSlackWithHistory) -> dict[str, list[Message]]:
    """Each DM channel's messages that carry rating buttons."""
    found: dict[str, list[Message]] = {}
    for message in list(slack.messages.values()):
        if message.channel.startswith("D") and _buttons(message):
            found.setdefault(message.channel, []).append(message)
    return found


def _buttons(message: Message) -> list[dict[str, Any]]:
    buttons = []
    for block in message.blocks or []:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if str(element.get("action_id", "")).startswith("taste_"):
                buttons.append(element)
    return buttons


def clicks_for(slack: FakeSlackWithHistory, messages: dict[str, list[Message]], webs: list[str]) -> list[Any]:
    """One signed click per sponsor on their check-in, alternating web processes; the rating clicked."""
    made = []
    for k, (channel, [message, *_]) in enumerate(sorted(messages.items())):
        buttons = _buttons(message)
        button = buttons[k % len(buttons)]
        user = "U" + channel[1:]
        payload = block_action(
            button["action_id"], button["value"], user_id=user, team_id=message.team_id or "",
            channel_id=channel, message_ts=message.ts, response_url=slack.response_url(f"click-{k}"),
        )  # fmt: skip
        body = interaction_body(payload)
        value = json.loads(button["value"])
        made.append((webs[k % len(webs)], body, value, (channel, message.ts)))
    return made


async def click_all(made: list[Any], webs: list[str]) -> Clicks:
    """Every click posted until acknowledged: one refused (the bot could not record it and said so)
    is clicked again a second later, as the sponsor told to try again would; refusals are counted."""
    result = Clicks()
    queue = iter(made)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as http:

        async def worker() -> None:
            for web, body, _value, _target in queue:
                for attempt in range(1, 6):
                    headers = signed_headers(SECRET, body)  # signed as sent: the timestamp must be fresh
                    started = time.perf_counter()
                    async with http.post(
                        web + "/slack/events", data=body.encode(), headers=headers
                    ) as response:
                        said = await response.read()
                    result.latencies.append(time.perf_counter() - started)
                    result.statuses[response.status] += 1
                    result.per_web[web] += 1
                    if response.status == 200:
                        break
                    result.refused.append(f"{response.status} (attempt {attempt}): {said[:120]!r}")
                    await asyncio.sleep(1.0)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        result.seconds = time.perf_counter() - started
    return result


async def stored(db: Database) -> dict[str, int]:
    async with db.sessions() as session:
        answered = await session.scalar(select(func.count()).where(Checkin.answered_at.is_not(None)))
        answers = await session.scalar(select(func.count()).select_from(Answer))
        repeated = await session.scalar(
            select(func.count()).select_from(
                select(Answer.checkin_id).group_by(Answer.checkin_id).having(func.count() > 1).subquery()
            )
        )
        ledger = dict(
            (await session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))).all()
        )
        checkins = await session.scalar(select(func.count()).select_from(Checkin))
    return {"checkins": checkins or 0, "answered": answered or 0, "answers": answers or 0,
            "answered twice": repeated or 0, **{f"ledger {k}": v for k, v in ledger.items()}}  # fmt: skip


async def ratings_match(db: Database, made: list[Any]) -> int:
    """How many check-ins hold the rating their sponsor clicked."""
    wanted = {value["checkin"]: value["rating"] for _web, _body, value, _target in made}
    async with db.sessions() as session:
        rows = await session.execute(select(Checkin.id, Checkin.rating).where(Checkin.id.in_(list(wanted))))
        return sum(1 for cid, rating in rows if wanted[cid] == rating)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def bench(args: argparse.Namespace) -> str:
    url = bench_database(args.database_url)
    await recreate(url)
    raw_url = url.render_as_string(hide_password=False)
    db = Database(raw_url)
    await db.migrate()
    loads = [os.getloadavg()]
    per_workspace = args.sponsors // args.workspaces
    sponsors = per_workspace * args.workspaces
    procs: list[Proc] = []
    workdir = Path(tempfile.mkdtemp(prefix="pmo-multi-"))
    try:
        async with FakeSlackWithHistory() as slack:
            slack.limit_rate("chat.postMessage", args.limit)
            limits = {team(n): args.limit for n in range(args.workspaces)}
            for n in range(args.slow_workspaces):
                slack.limit_rate("chat.postMessage", args.slow_limit, team=team(n))
                limits[team(n)] = args.slow_limit
            ports = [free_port(), free_port()]
            webs = [f"http://127.0.0.1:{port}" for port in ports]
            for k, port in enumerate(ports):
                env = environment(raw_url, slack.url, port)
                procs.append(
                    Proc(
                        f"web {k + 1}",
                        await ClockProcess(env, workdir, "--no-scheduler", command="serve").start(),
                    )
                )
            for web in webs:
                await wait_healthy(web)
            for k in range(2):
                procs.append(
                    Proc(
                        f"clock {k + 1}",
                        await ClockProcess(environment(raw_url, slack.url, None), workdir).start(),
                    )
                )
            async with aiohttp.ClientSession() as http:
                for n in range(args.workspaces):
                    await install(http, webs[n % 2], slack, n)
            due = next_minute(margin=25)
            await seed(db, args.workspaces, per_workspace, due)
            for n in range(args.workspaces):  # users.info finds them, as Slack would
                for i in range(per_workspace):
                    slack.add_user(sponsor(n, i), name=f"Sponsor {n}-{i}", tz="UTC", team_id=team(n))
            print(
                f"[bench] {sponsors} sponsors in {args.workspaces} workspaces due at {due:%H:%M} UTC",
                flush=True,
            )
            started_wall = time.time()
            due_mono = time.monotonic() + (due.replace(tzinfo=dt.UTC).timestamp() - started_wall)
            await until(lambda: _settled(db, sponsors), 900, "the fan-out")
            messages = checkin_messages(slack)
            posts = slack.rate_stats("chat.postMessage")
            accepted = sorted(c.at for c in slack.called("chat.postMessage") if c.status == 200)
            print(f"[bench] fan-out done: {len(accepted)} posts", flush=True)
            made = clicks_for(slack, messages, webs)
            updates_before = {key: m.updates for key, m in slack.messages.items()}
            clicked_at = time.perf_counter()
            clicks = await click_all(made, webs)
            targets = [target for *_rest, target in made]
            try:
                await until(lambda: _answered(db, len(made)), 300, "storing every answer", every=0.5)
                await until(
                    lambda: _updated(slack, targets, updates_before), 300, "updating every message", every=0.5
                )
            except TimeoutError as exc:  # reported, not raised: the counts below say what is missing
                print(f"[bench] {exc}", flush=True)
            clicks.done_after = time.perf_counter() - clicked_at
            print(f"[bench] clicks done in {clicks.done_after:.1f} s", flush=True)
            counts = await stored(db)
            matching = await ratings_match(db, made)
            for proc in procs:
                proc.cpu = cpu_seconds(proc.process.pid)
            own = os.times()
            procs.append(
                Proc("this bench (fake Slack, clicks)", ClockProcess({}, workdir), own.user + own.system)
            )
            leaders = [p.name for p in procs if p.process.saw("this clock leads")]
            for proc in procs:
                for line in proc.process.lines:
                    if any(word in line for word in ("ERROR", "WARNING", "Traceback", "refus", "failed")):
                        print(f"[{proc.name}] {line}", flush=True)
            loads.append(os.getloadavg())
            per_dm = Counter(len(v) for v in messages.values())
            duplicates = sum(len(v) - 1 for v in messages.values() if len(v) > 1)
            lost = sponsors - len(messages)
            return report(args, sponsors, due_mono, accepted, posts, limits, duplicates, lost, per_dm, clicks,
                          counts, matching, len(made), procs, leaders, loads)  # fmt: skip
    finally:
        for proc in procs:
            if proc.process.process is not None:
                await proc.process.stop()
        await db.dispose()
        await recreate(url, drop_only=True)


async def _settled(db: Database, count: int) -> bool:
    async with db.sessions() as session:
        rows = dict(
            (await session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))).all()
        )
    return rows.get("sent", 0) >= count and not rows.get("claimed")


async def _answered(db: Database, count: int) -> bool:
    async with db.sessions() as session:
        return (
            await session.scalar(select(func.count()).where(Checkin.answered_at.is_not(None))) or 0
        ) >= count


async def _updated(
    slack: FakeSlackWithHistory, targets: list[tuple[str, str]], before: dict[Any, int]
) -> bool:
    """Every clicked message updated since the clicks began (cheap: the fake runs in this process)."""
    return all(slack.messages[key].updates > before.get(key, 0) for key in targets)


def report(
    args: argparse.Namespace, sponsors: int, due_mono: float, accepted: list[float], posts: dict[str, Any],
    limits: dict[str, float], duplicates: int, lost: int, per_dm: Counter[int], clicks: Clicks,
    counts: dict[str, int], matching: int, clicked: int, procs: list[Proc], leaders: list[str],
    loads: list[tuple[float, float, float]],
) -> str:  # fmt: skip
    span = accepted[-1] - accepted[0]
    limited = sum(s.limited for s in posts.values())
    over = [t for t, s in posts.items() if s.busiest > limits[t]]
    lines = [
        f"### {sponsors:,} sponsors in {args.workspaces} workspaces, two web processes and two clocks "
        f"({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        f"`python bench/multi_process.py --sponsors {args.sponsors} --workspaces {args.workspaces} --limit {args.limit:g}"
        f" --slow-workspaces {args.slow_workspaces} --slow-limit {args.slow_limit:g}` — {platform.machine()} "
        f"{os.cpu_count()} cores (shared), Python {platform.python_version()}, PostgreSQL; load average "
        f"(1, 5, 15 min) {' '.join(f'{v:.2f}' for v in loads[0])} before, {' '.join(f'{v:.2f}' for v in loads[1])} after. "
        f"Leading clock: {', '.join(leaders) or 'none seen'}.",
        "",
        "| fan-out | |",
        "|---|---|",
        f"| check-ins posted (accepted chat.postMessage) | {len(accepted):,} |",
        f"| sponsors with exactly one check-in / duplicates / lost | {per_dm.get(1, 0):,} / {duplicates} / {lost} |",
        f"| first post after the minute; span first → last | {accepted[0] - due_mono:.1f} s; {span:.1f} s |",
        f"| sustained rate, all workspaces | {(len(accepted) - 1) / span:.1f}/s |",
        f"| 429s (all workspaces) | {limited} |",
        f"| workspaces whose busiest second exceeded their limit | {len(over)} |",
        f"| ledger | {', '.join(f'{k[7:]} {v:,}' for k, v in counts.items() if k.startswith('ledger '))} |",
        "",
        "| workspace | limit | accepted | 429s | busiest second |",
        "|---|---:|---:|---:|---:|",
    ]
    for t in sorted(posts):
        s = posts[t]
        lines.append(f"| {t} | {limits.get(t, 0):g}/s | {s.accepted} | {s.limited} | {s.busiest} |")
    lat = clicks.latencies
    spread = ", ".join(f"{n:,} to port {web.rsplit(':', 1)[1]}" for web, n in sorted(clicks.per_web.items()))
    lines += [
        "",
        "| clicks | |",
        "|---|---|",
        f"| clicks sent (signed block_actions, {CONCURRENCY} in flight) | {clicked:,} ({spread}) |",
        f"| statuses of every attempt | {dict(clicks.statuses)} |",
        f"| refused and clicked again | {len(clicks.refused)}{': ' + clicks.refused[0] if clicks.refused else ''} |",
        f"| acknowledged per second | {clicked / clicks.seconds:.0f}/s |",
        f"| acknowledgement p50 / p99 / max | {statistics.median(lat) * 1000:.0f} / "
        f"{percentile(lat, 0.99) * 1000:.0f} / {max(lat) * 1000:.0f} ms |",
        f"| all acknowledged after; every answer stored and every message updated after | {clicks.seconds:.1f} s; "
        f"{clicks.done_after:.1f} s |",
        f"| answers stored per second (clicks to last answer) | {clicked / clicks.done_after:.1f}/s |",
        f"| check-ins answered / answers rows / answered twice | {counts['answered']:,} / {counts['answers']:,} / "
        f"{counts['answered twice']} |",
        f"| check-ins holding the rating clicked | {matching:,} |",
        "",
        "| process | peak RSS (VmHWM) | CPU time |",
        "|---|---:|---:|",
    ]
    for proc in procs:
        if proc.process.process is None:  # this process: no VmHWM of its own worth reporting
            lines.append(f"| {proc.name} | | {proc.cpu:.1f} s |")
            continue
        lines.append(
            f"| {proc.name} (pid {proc.process.pid}) | {proc.process.peak_rss_kb / 1024:.0f} MB | {proc.cpu:.1f} s |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a dedicated PostgreSQL database (dropped!)")
    parser.add_argument("--sponsors", type=int, default=5_000)
    parser.add_argument("--workspaces", type=int, default=20)
    parser.add_argument("--limit", type=float, default=10.0, help="chat.postMessage a second per workspace")
    parser.add_argument("--slow-workspaces", type=int, default=2)
    parser.add_argument("--slow-limit", type=float, default=5.0)
    args = parser.parse_args()
    print(asyncio.run(bench(args)))


if __name__ == "__main__":
    main()
