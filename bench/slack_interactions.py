"""Slack interactions under load: the bot against a bare Bolt app, in the same run, on the same stack.

What it measures (issue 3): signed `/pmo help`, `/pmo value PROJECT` and rating clicks, 50 requests in
flight, posted over real HTTP to

- the bot, started exactly as in production (`python app.py serve --no-scheduler`, Slack over HTTP,
  SQLite unless --database-url is given), with SLACK_API_URL pointing at the fake Slack Web API;
- a bare Bolt `AsyncApp` on the same aiohttp stack (`slack_bolt.adapter.aiohttp`), with the same
  request verification, whose listeners only acknowledge: the floor.

Both servers run in their own processes; the load generator and the fake Slack (which receives the
bot's response_url posts and chat.update calls) share this process. Rounds alternate bare/bot so that
a noisy neighbour hits both alike; each bot round waits until all its work has reached Slack before
the next round starts. It reports acknowledged requests per second (median of the rounds), the
bot/bare ratio as the median of the rounds' paired ratios (each bot round against the bare round
just before it), acknowledgement latency over all requests (p50, p99, max), the bot's completed
work per second (its answer arrived at the fake), each server's CPU time per request (user + system,
all threads, from the first request until the last answer reached Slack: steadier than throughput on
a shared machine), and each server's peak memory (VmHWM).

    python bench/slack_interactions.py                         # the numbers of bench/RESULTS.md
    python bench/slack_interactions.py --requests 300 --rounds 1   # quicker
    python bench/slack_interactions.py --scenarios clicks --requests 10000 --rounds 2   # a long burst

After the rounds, a steady run (the bot alone): rating clicks at `--steady-rate` a second for
`--steady-seconds`, each click's time until its message was updated (the fake's chat.update on that
message after the click), as p50/p99/max. `--steady-seconds 0` leaves it out.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fresh import fresh_schema  # noqa: E402
from tests.fakes.slack_api import FakeSlack, Message, dm_channel  # noqa: E402
from tests.fakes.slack_signing import block_action, command_body, interaction_body, signed_headers  # noqa: E402

SECRET = "bench-signing-secret-0123456789abcdef"
TOKEN = "xoxb-test"
ADMIN = "UBENCHADM"
CHECKINS = 200  # distinct sponsors' check-ins the clicks go to
SCENARIOS = ("help", "value", "clicks")


# ---------------------------------------------------------------- the bare Bolt app (a subprocess)


def serve_bare(port: int, api_url: str) -> None:
    """A Bolt AsyncApp whose listeners only acknowledge, mounted like the bot's (the floor)."""
    from aiohttp import web
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.app.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    async def serve() -> None:
        bolt = AsyncApp(signing_secret=SECRET, client=AsyncWebClient(token=TOKEN, base_url=api_url))

        @bolt.command("/pmo")
        async def command(ack: Any) -> None:
            await ack()

        @bolt.action(re.compile(".*"))
        async def action(ack: Any) -> None:
            await ack()

        async def events(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

        async def healthz(request: web.Request) -> web.Response:
            return web.json_response({"status": "ok"})

        app = web.Application()
        app.router.add_post("/slack/events", events)
        app.router.add_get("/healthz", healthz)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await runner.cleanup()

    asyncio.run(serve())


# ---------------------------------------------------------------- the bot's data


async def seed(database_url: str, slack: FakeSlack) -> list[dict[str, Any]]:
    """An admin, CHECKINS projects each with its own sponsor, and an open check-in in each sponsor's DM."""
    from handlers.checkins.lifecycle import open_checkin
    from handlers.checkins.views import taste_question
    from storage.db import Database
    from storage.models import Project
    from storage.queries import add_identity, add_person, get_or_create_org, name_key

    db = Database(database_url)
    await fresh_schema(db)  # a second run against the same PostgreSQL database starts empty too
    await db.migrate()
    targets = []
    async with db.transaction() as session:
        org = await get_or_create_org(session)
        admin = await add_person(session, org.id, "Bench Admin", email="admin@bench.example", role="admin")
        await add_identity(session, admin, "slack", ADMIN)
        for i in range(CHECKINS):
            user = f"USPON{i:04d}"
            sponsor = await add_person(session, org.id, f"Sponsor {i}", email=f"s{i}@bench.example")
            await add_identity(session, sponsor, "slack", user)
            project = Project(
                org_id=org.id,
                name=f"Project {i}",
                name_key=name_key(f"Project {i}"),
                sponsor_id=sponsor.id,
                archived=False,
                created_at=dt.datetime(2026, 1, 1),
            )
            session.add(project)
            await session.flush()
            checkin = await open_checkin(session, project, "taste")
            assert checkin is not None
            ts = f"1600000000.{i:06d}"
            channel = dm_channel(user)
            view = taste_question(checkin.id, project.name)
            slack.messages[(channel, ts)] = Message(channel, ts, view.as_text(), None, "T0001")
            checkin.message_refs = {"slack": {"platform": "slack", "channel": channel, "ts": ts}}
            targets.append({"user": user, "checkin": checkin.id, "channel": channel, "ts": ts})
    await db.dispose()
    return targets


# ---------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_healthy(url: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} did not become healthy")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) in MB, from /proc."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


# ---------------------------------------------------------------- load


@dataclass
class Result:
    target: str
    scenario: str
    requests: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]
    completed_seconds: float | None = None
    cpu_seconds: float = 0.0  # the server's CPU from the first request until its work was done

    @property
    def cpu_ms(self) -> float:
        return self.cpu_seconds / self.requests * 1000

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def requests_for(
    scenario: str, count: int, slack: FakeSlack, targets: list[dict[str, Any]], tag: str
) -> list[tuple[str, dict[str, str]]]:
    """Signed bodies, made before the clock starts (signing is the client's cost, not the server's)."""
    made = []
    for i in range(count):
        if scenario == "help":
            body = command_body("help", user_id=ADMIN, response_url=slack.response_url(f"{tag}-{i}"))
        elif scenario == "value":
            body = command_body(
                "value Project 1", user_id=ADMIN, response_url=slack.response_url(f"{tag}-{i}")
            )
        else:
            t = targets[i % len(targets)]
            rating = 3 + (i // len(targets)) % 3
            payload = block_action(
                f"taste_{rating}",
                {"checkin": t["checkin"], "rating": rating},
                user_id=t["user"],
                channel_id=t["channel"],
                message_ts=t["ts"],
                response_url=slack.response_url(f"{tag}-{i}"),
            )
            body = interaction_body(payload)
        made.append((body, signed_headers(SECRET, body)))
    return made


async def load(
    url: str, made: list[tuple[str, dict[str, str]]], concurrency: int
) -> tuple[float, list[float], dict[int, int]]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = iter(made)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

        async def worker() -> None:
            for body, headers in queue:
                started = time.perf_counter()
                async with http.post(url + "/slack/events", data=body.encode(), headers=headers) as response:
                    await response.read()
                latencies.append(time.perf_counter() - started)
                statuses[response.status] = statuses.get(response.status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return elapsed, latencies, statuses


async def run_scenario(
    target: str,
    url: str,
    pid: int,
    scenario: str,
    count: int,
    concurrency: int,
    slack: FakeSlack,
    targets: list[dict[str, Any]],
) -> Result:
    tag = f"{target}-{scenario}-{time.monotonic_ns()}"
    made = requests_for(scenario, count, slack, targets, tag)
    before_updates = len(slack.called("chat.update"))
    # The fake keeps every call it received, so this process's heap grows round by round; a full
    # collection during a round would pause the load (and the fake) for ~100 ms, in whichever round.
    gc.collect()
    gc.disable()
    cpu_before = cpu_seconds(pid)
    started = time.perf_counter()
    try:
        elapsed, latencies, statuses = await load(url, made, concurrency)
    finally:
        gc.enable()
    result = Result(target, scenario, count, elapsed, latencies, statuses)
    if target == "bot":  # when did the last answer reach Slack?
        if scenario == "clicks":
            await slack.wait_for("chat.update", count=before_updates + count, timeout=900)
        else:
            for i in range(count):
                await slack.wait_for_response(f"{tag}-{i}", timeout=900)
        result.completed_seconds = time.perf_counter() - started
    result.cpu_seconds = cpu_seconds(pid) - cpu_before
    return result


async def steady(
    url: str, slack: FakeSlack, targets: list[dict[str, Any]], rate: float, seconds: float
) -> dict[str, float]:
    """Clicks at a steady rate; each one's time from sending to the chat.update of its message."""
    count = int(rate * seconds)
    made = requests_for("clicks", count, slack, targets, f"steady-{time.monotonic_ns()}")
    before = {(t["channel"], t["ts"]): len(updates_of(slack, t)) for t in targets}
    sent: dict[tuple[str, str], list[float]] = {key: [] for key in before}
    statuses: dict[int, int] = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as http:

        async def click(i: int, body: str, headers: dict[str, str]) -> None:
            target = targets[i % len(targets)]
            sent[(target["channel"], target["ts"])].append(time.monotonic())
            async with http.post(url + "/slack/events", data=body.encode(), headers=headers) as response:
                await response.read()
            statuses[response.status] = statuses.get(response.status, 0) + 1

        started = time.monotonic()
        tasks = []
        for i, (body, headers) in enumerate(made):
            await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            tasks.append(asyncio.create_task(click(i, body, headers)))
        await asyncio.gather(*tasks)
    await slack.wait_for("chat.update", count=sum(before.values()) + count, timeout=600)
    delays = []
    for target in targets:
        key = (target["channel"], target["ts"])
        updates = updates_of(slack, target)[before[key] :]
        delays += [update - click for click, update in zip(sent[key], updates, strict=False)]
    delays.sort()
    return {
        "clicks": count,
        "rate": rate,
        "p50": delays[len(delays) // 2] * 1000,
        "p99": delays[min(len(delays) - 1, int(0.99 * len(delays)))] * 1000,
        "max": delays[-1] * 1000,
        "non_200": sum(n for status, n in statuses.items() if status != 200),
    }


def updates_of(slack: FakeSlack, target: dict[str, Any]) -> list[float]:
    """When each chat.update of the target's message arrived (the fake's monotonic clock)."""
    return [
        call.at
        for call in slack.called(
            "chat.update",
            lambda c: (c.args.get("channel"), c.args.get("ts")) == (target["channel"], target["ts"]),
        )
    ]


# ---------------------------------------------------------------- report


def pooled(results: list[Result], target: str, scenario: str) -> dict[str, float]:
    """Median throughput over the rounds; latency percentiles over every request of every round."""
    mine = [r for r in results if (r.target, r.scenario) == (target, scenario)]
    latencies = sorted(x for r in mine for x in r.latencies)
    done = [r.requests / r.completed_seconds for r in mine if r.completed_seconds]
    return {
        "per_second": statistics.median(r.per_second for r in mine),
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1000,
        "max": latencies[-1] * 1000,
        "completed": statistics.median(done) if done else float("nan"),
        "cpu_ms": statistics.median(r.cpu_ms for r in mine),
        "requests": sum(r.requests for r in mine),
        "errors": sum(n for r in mine for status, n in r.statuses.items() if status != 200),
    }


def paired_ratios(results: list[Result], scenario: str) -> list[float]:
    """Bot over bare, round by round: each pair ran back to back, so a noisy neighbour who slows
    one round slows both of its sides alike and cancels out of the ratio."""
    bare = [r.per_second for r in results if (r.target, r.scenario) == ("bare", scenario)]
    bot = [r.per_second for r in results if (r.target, r.scenario) == ("bot", scenario)]
    return [b / a for a, b in zip(bare, bot, strict=False)]


def summary(r: Result) -> str:
    ordered = sorted(r.latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000
    done = f", completed {r.requests / r.completed_seconds:7.1f}/s" if r.completed_seconds else ""
    return (
        f"{r.target:4} {r.scenario:6} {r.requests:5} req: {r.per_second:7.1f} acks/s, "
        f"p50 {ordered[len(ordered) // 2] * 1000:6.1f} ms, p99 {p99:6.1f} ms, max {ordered[-1] * 1000:6.1f} ms"
        f"{done}, CPU {r.cpu_ms:.2f} ms/req, statuses {r.statuses}"
    )


def markdown(
    results: list[Result],
    memory: dict[str, tuple[float, float]],
    args: argparse.Namespace,
    steady_run: dict[str, float] | None,
) -> str:
    lines = [
        f"Machine: {platform.node()} · {os.cpu_count()} CPUs · Python {platform.python_version()} · "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC · {args.concurrency} in flight · {args.rounds} rounds "
        f"alternating bare/bot · database {'PostgreSQL' if args.database_url else 'SQLite'}",
        "",
        "| scenario | requests per target | bare acks/s | bot acks/s | ratio (rounds' min–max) | bot p50 ms | "
        "bot p99 ms | bot max ms | bare p99 ms | bot completed/s | CPU ms/request bare, bot | non-200 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scenario in args.scenarios:
        bare, bot = pooled(results, "bare", scenario), pooled(results, "bot", scenario)
        ratios = paired_ratios(results, scenario)
        lines.append(
            f"| {scenario} | {bot['requests']:.0f} | {bare['per_second']:.0f} | {bot['per_second']:.0f} | "
            f"{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f}) | "
            f"{bot['p50']:.1f} | {bot['p99']:.1f} | "
            f"{bot['max']:.0f} | {bare['p99']:.1f} | {bot['completed']:.0f} | "
            f"{bare['cpu_ms']:.2f}, {bot['cpu_ms']:.2f} | {bot['errors'] + bare['errors']:.0f} |"
        )
    lines += [
        "",
        f"Peak memory (VmHWM): bot {memory['bot'][1]:.0f} MB, bare Bolt app {memory['bare'][1]:.0f} MB.",
    ]
    if steady_run:
        lines += [
            "",
            f"Steady clicks, bot alone: {steady_run['clicks']:.0f} at {steady_run['rate']:.0f}/s; click to updated "
            f"message p50 {steady_run['p50']:.0f} ms, p99 {steady_run['p99']:.0f} ms, max {steady_run['max']:.0f} ms; "
            f"non-200: {steady_run['non_200']:.0f}.",
        ]
    return "\n".join(lines)


# ---------------------------------------------------------------- main


async def bench(args: argparse.Namespace) -> None:
    results: list[Result] = []
    async with FakeSlack() as slack:
        slack.add_user(ADMIN, name="Bench Admin", email="admin@bench.example")
        tmp = tempfile.mkdtemp(prefix="pmo-bench-")
        database_url = args.database_url or f"sqlite:///{tmp}/bench.db"
        targets = await seed(database_url, slack)
        bot_port, bare_port = free_port(), free_port()
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "HOST": "127.0.0.1",
            "PORT": str(bot_port),
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.url,
            "PMO_ADMINS": ADMIN,
        }
        # Starting the servers blocks briefly, before anything is measured.
        with open(Path(tmp) / "bot.log", "w") as log:  # noqa: ASYNC230
            bot = subprocess.Popen(  # noqa: ASYNC220
                [sys.executable, str(ROOT / "app.py"), "serve", "--no-scheduler"],
                env=env,
                cwd=tmp,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
            bare = subprocess.Popen(  # noqa: ASYNC220
                [sys.executable, __file__, "--serve-bare", str(bare_port), "--api-url", slack.url]
            )
            try:
                urls = {"bare": f"http://127.0.0.1:{bare_port}", "bot": f"http://127.0.0.1:{bot_port}"}
                pids = {"bare": bare.pid, "bot": bot.pid}
                for url in urls.values():
                    await wait_healthy(url)
                for name, url in urls.items():  # warm up: imports, the first chart, connection pools
                    for scenario in args.scenarios:
                        await run_scenario(name, url, pids[name], scenario, 20, 5, slack, targets)
                sizes = {"help": args.requests, "value": args.value_requests, "clicks": args.requests}
                plan = [(scenario, sizes[scenario]) for scenario in args.scenarios]
                for scenario, count in plan:
                    for _ in range(args.rounds):
                        for name in ("bare", "bot"):
                            result = await run_scenario(
                                name,
                                urls[name],
                                pids[name],
                                scenario,
                                count,
                                args.concurrency,
                                slack,
                                targets,
                            )
                            results.append(result)
                            print(summary(result), flush=True)
                steady_run = None
                if args.steady_seconds > 0:
                    steady_run = await steady(
                        urls["bot"], slack, targets, args.steady_rate, args.steady_seconds
                    )
                    print(
                        f"steady: {steady_run['clicks']:.0f} clicks at {steady_run['rate']:.0f}/s, click to updated "
                        f"message p50 {steady_run['p50']:.0f} ms, p99 {steady_run['p99']:.0f} ms, "
                        f"max {steady_run['max']:.0f} ms",
                        flush=True,
                    )
                memory = {"bot": rss_mb(bot.pid), "bare": rss_mb(bare.pid)}
            finally:
                for proc in (bot, bare):
                    proc.send_signal(signal.SIGTERM)
                for proc in (bot, bare):
                    try:
                        proc.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        proc.kill()
    print()
    print(markdown(results, memory, args, steady_run))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "--requests", type=int, default=1000, help="help requests and rating clicks per round"
    )
    parser.add_argument("--value-requests", type=int, default=200, help="value requests per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating bare/bot rounds per scenario")
    parser.add_argument(
        "--scenarios",
        type=lambda text: [s for s in text.split(",") if s],
        default=list(SCENARIOS),
        help="comma-separated, from help,value,clicks (default: all three)",
    )
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--steady-rate", type=float, default=100.0, help="clicks a second in the steady run")
    parser.add_argument(
        "--steady-seconds", type=float, default=20.0, help="length of the steady run (0: none)"
    )
    parser.add_argument(
        "--database-url",
        help="the bot's database (PostgreSQL: its public schema is dropped!); default SQLite",
    )
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if unknown := set(args.scenarios) - set(SCENARIOS):
        parser.error(f"unknown scenario {', '.join(sorted(unknown))}; choose from {','.join(SCENARIOS)}")
    if args.serve_bare:
        serve_bare(args.serve_bare, args.api_url)
        return
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
