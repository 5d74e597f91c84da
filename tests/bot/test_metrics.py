"""GET /metrics (CONTRACT section 3): off while PMO_METRICS_TOKEN is unset, 401 without it, and the
text format Prometheus reads, whose figures move as the bot works: a console command, a signed
Slack request, a Socket Mode request, a clock that leads, a webhook backlog, a database that is down."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from bot import metrics as metrics_module
from bot.clock.leaders import clock_leaders
from bot.clock.scheduler import PostgresLeadership, SqliteLeadership
from bot.config import load_settings
from bot.metrics import Metrics
from bot.runtime import Runtime, start
from bot.web import build_app
from storage.db import Database, utcnow
from storage.models import Organisation, WebhookEvent
from tests.bot.slack.harness import ADMIN, SPONSOR, STAFF, add_people, prepare, running_bot, send_checkin
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import command_body

TOKEN = "metrics-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(exposition: str) -> tuple[set[str], Samples]:
    """Family names and every sample (name, sorted labels) -> value, as Prometheus reads them."""
    names: set[str] = set()
    samples: Samples = {}
    for family in text_string_to_metric_families(exposition):
        names.add(family.name)
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return names, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels` (0 when there is none)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


async def scrape(client: Any, url: str = "/metrics") -> tuple[set[str], Samples]:
    response = await client.get(url, headers=AUTH)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse(await response.text())


@pytest.fixture
async def runtime(database_url: str) -> AsyncIterator[Runtime]:
    env = {"DATABASE_URL": database_url, "PMO_METRICS_TOKEN": TOKEN}
    rt = await start(load_settings(environ=env, env_file=None))
    yield rt
    await rt.aclose()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        add_people(fake)
        yield fake


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_app(runtime), host="127.0.0.1")) as c:
        yield c


# ---- the route -----------------------------------------------------------------------------------


@pytest.mark.sqlite_only
async def test_metrics_are_off_without_a_token(database_url: str) -> None:
    rt = await start(load_settings(environ={"DATABASE_URL": database_url}, env_file=None))
    try:
        async with TestClient(TestServer(build_app(rt))) as c:
            response = await c.get("/metrics", headers=AUTH)
            assert response.status == 404
            assert "PMO_METRICS_TOKEN" in (await response.json())["error"]
    finally:
        await rt.aclose()


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    "header", [None, "Bearer wrong", f"Basic {TOKEN}", TOKEN, "Bearer ", f"Bearer {TOKEN}x", "Bearer \udcff"]
)
async def test_metrics_need_the_bearer_token(client: TestClient, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = await client.get("/metrics", headers=headers)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    body = await response.text()
    assert TOKEN not in body and "pmo_" not in body


async def test_the_scrape_has_every_family(client: TestClient) -> None:
    names, samples = await scrape(client)
    assert {
        "pmo_requests",
        "pmo_ack_seconds",
        "pmo_checkins_24h",
        "pmo_deliveries_pending",
        "pmo_deliveries_lease_expired",
        "pmo_deliveries_oldest_pending_seconds",
        "pmo_inbox_jobs",
        "pmo_inbox_oldest_seconds",
        "pmo_clock_leaders",
        "pmo_db_pool_size",
        "pmo_db_pool_checked_out",
        "pmo_db_pool_overflow",
        "pmo_db_pool_capacity",
        "pmo_work_in_memory",
        "pmo_database_up",
        "pmo_scrape_source_up",
        "process_resident_memory_bytes",
    } <= names
    assert "pmo_clock_leading" not in names  # no clock runs in this process
    assert {"pmo_webhook_events", "pmo_webhook_oldest_due_seconds"} <= names  # the webhook outbox
    assert value(samples, "pmo_database_up") == 1
    assert value(samples, "pmo_scrape_source_up", source="database") == 1
    assert value(samples, "pmo_scrape_source_up", source="clock_leaders") == 1
    assert value(samples, "pmo_clock_leaders") == 0
    assert value(samples, "pmo_db_pool_capacity") >= value(samples, "pmo_db_pool_size") > 0
    for kind in ("taste", "painpoint"):
        for state in ("sent", "answered", "failed"):
            assert (("pmo_checkins_24h", (("kind", kind), ("state", state)))) in samples


async def test_a_console_command_moves_the_figures(client: TestClient) -> None:
    _, before = await scrape(client)
    people = (await (await client.get("/console/api/people")).json())["people"]
    [admin] = [p["id"] for p in people if p["name"] == "Console admin"]
    for words in ("project add Apollo sponsor:sam@example.com", "checkin Apollo"):
        response = await client.post("/console/api/command", json={"person": admin, "text": words})
        assert response.status == 200, await response.text()
    _, after = await scrape(client)
    route = {"platform": "console", "transport": "http", "route": "/console/api/command", "status": "200"}
    assert value(after, "pmo_requests_total", **route) - value(before, "pmo_requests_total", **route) == 2
    acks = {"platform": "console", "transport": "http"}
    assert value(after, "pmo_ack_seconds_count", **acks) - value(before, "pmo_ack_seconds_count", **acks) == 2
    assert value(after, "pmo_ack_seconds_bucket", le="+Inf", **acks) == value(
        after, "pmo_ack_seconds_count", **acks
    )
    assert value(after, "pmo_checkins_24h", kind="taste", state="sent") == 1
    # the GET of the people is counted, not timed as an acknowledgement
    assert value(after, "pmo_requests_total", route="/console/api/people") == 1
    # the scrapes themselves are requests of the server
    assert value(after, "pmo_requests_total", platform="server", route="/metrics", status="200") >= 1


async def test_a_signed_slack_request_moves_the_figures(database_url: str, slack: FakeSlack) -> None:
    async with running_bot(database_url, slack, pmo_metrics_token=TOKEN) as bot:
        _, before = await scrape(bot.http, bot.url + "/metrics")
        await prepare(bot)  # two signed slash commands
        message = await send_checkin(bot)  # a third
        value5 = next(b["value"] for b in bot.buttons(message.blocks) if b["action_id"] == "taste_5")
        await bot.click("taste_5", value5, SPONSOR, channel=message.channel, ts=message.ts)
        await bot.slack.wait_for("chat.update")
        await bot.runtime.work.join()
        refused = await bot.post(
            "payload=%7B%7D", {"X-Slack-Signature": "v0=00", "X-Slack-Request-Timestamp": "1"}
        )
        assert refused.status == 401
        _, after = await scrape(bot.http, bot.url + "/metrics")
    slack_ok = {"platform": "slack", "transport": "http", "route": "/slack/events", "status": "200"}
    assert (
        value(after, "pmo_requests_total", **slack_ok) - value(before, "pmo_requests_total", **slack_ok) == 4
    )
    assert value(after, "pmo_requests_total", platform="slack", status="401") == 1
    acks = {"platform": "slack", "transport": "http"}
    assert value(after, "pmo_ack_seconds_count", **acks) - value(before, "pmo_ack_seconds_count", **acks) == 5
    assert value(after, "pmo_ack_seconds_sum", **acks) > 0
    assert value(after, "pmo_checkins_24h", kind="taste", state="sent") == 1
    assert value(after, "pmo_checkins_24h", kind="taste", state="answered") == 1
    assert value(after, "pmo_inbox_jobs", state="new") == 0


async def test_socket_mode_requests_are_timed_too(database_url: str, slack: FakeSlack) -> None:
    async with running_bot(
        database_url, slack, slack_app_token="xapp-test", slack_signing_secret=None, pmo_metrics_token=TOKEN
    ) as bot:
        await slack.socket_connected()
        key = uuid.uuid4().hex
        body = command_body(f"staff add <@{STAFF}>", user_id=ADMIN, response_url=slack.response_url(key))
        envelope = await slack.socket_send("slash_commands", dict(parse_qsl(body, keep_blank_values=True)))
        await slack.wait_for_ack(envelope)
        await slack.wait_for_response(key)
        _, samples = await scrape(bot.http, bot.url + "/metrics")
    socket = {"platform": "slack", "transport": "socket"}
    assert value(samples, "pmo_ack_seconds_count", **socket) == 1
    assert value(samples, "pmo_requests_total", status="200", **socket) == 1


# ---- the database's figures --------------------------------------------------------------------


async def test_a_clock_that_leads_is_seen(runtime: Runtime, client: TestClient) -> None:
    clock = await runtime.start_clock(tick=30.0)
    assert clock is not None
    _, samples = await scrape(client)
    assert value(samples, "pmo_clock_leading") == 1
    assert value(samples, "pmo_clock_leaders") == 1
    await clock.stop()
    _, samples = await scrape(client)
    assert value(samples, "pmo_clock_leading") == 0
    assert value(samples, "pmo_clock_leaders") == 0


async def test_leaders_are_counted_from_what_the_leader_holds(db: Database) -> None:
    """From the database alone, as a web process beside a clock process sees it."""
    leadership = SqliteLeadership(db) if db.is_sqlite else PostgresLeadership(db)
    assert await clock_leaders(db) == 0
    assert await leadership.acquire()
    try:
        assert await clock_leaders(db) == 1
    finally:
        await leadership.release()
    assert await clock_leaders(db) == 0


async def test_the_webhook_backlog_is_counted_by_state(runtime: Runtime, client: TestClient) -> None:
    """The webhook outbox (CONTRACT section 11): what waits, what failed for good, the oldest due."""
    _, samples = await scrape(client)
    assert value(samples, "pmo_webhook_events", state="pending") == 0
    now = utcnow()
    async with runtime.db.transaction() as session:
        org_id = await session.scalar(select(Organisation.id))
        rows = [("pending", now - dt.timedelta(minutes=10)), ("pending", now), ("failed", now)]
        rows += [("delivered", now - dt.timedelta(days=1))]
        for n, (state, due) in enumerate(rows):
            session.add(
                WebhookEvent(
                    org_id=org_id, event_id=f"evt-{n}", type="painpoint.updated", at=now, data={},
                    key="painpoint:1", state=state, next_attempt_at=due,
                )
            )  # fmt: skip
    _, samples = await scrape(client)
    assert value(samples, "pmo_webhook_events", state="pending") == 2
    assert value(samples, "pmo_webhook_events", state="failed") == 1
    assert 590 <= value(samples, "pmo_webhook_oldest_due_seconds") <= 700


@pytest.mark.sqlite_only
async def test_a_database_that_is_down_does_not_fail_the_scrape(runtime: Runtime) -> None:
    """The process's own figures still come, the database's are left out and say so."""
    runtime.context.metrics.watch_database(Database("postgresql://postgres@127.0.0.1:1/nowhere"))
    async with TestClient(TestServer(build_app(runtime))) as c:
        names, samples = await scrape(c)
    assert value(samples, "pmo_database_up") == 0
    assert value(samples, "pmo_scrape_source_up", source="database") == 0
    assert "pmo_checkins_24h" not in names and "pmo_deliveries_pending" not in names
    assert "pmo_requests" in names and "process_resident_memory_bytes" in names


@pytest.mark.sqlite_only
async def test_a_source_that_hangs_is_left_out_in_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics_module, "SOURCE_BUDGET", 0.2)
    metrics = Metrics()

    async def hangs() -> list[Any]:
        await asyncio.sleep(30)
        return []

    metrics.add_source("slow", hangs)
    started = asyncio.get_running_loop().time()
    names, samples = parse((await metrics.exposition()).decode())
    assert asyncio.get_running_loop().time() - started < 2
    assert value(samples, "pmo_scrape_source_up", source="slow") == 0
    assert "pmo_database_up" not in names  # no database source in this registry


@pytest.mark.sqlite_only
async def test_each_runtime_counts_apart() -> None:
    """Registries of their own: one runtime's requests are not another's (nor the global registry's)."""
    first, second = Metrics(), Metrics()
    with first.handling("slack", "http", "/slack/events", ack=True) as seen:
        seen.status = 200
    _, one = parse((await first.exposition()).decode())
    _, two = parse((await second.exposition()).decode())
    assert value(one, "pmo_requests_total") == 1
    assert value(two, "pmo_requests_total") == 0


async def test_a_teams_activity_is_counted_and_timed(client: TestClient) -> None:
    """Local mode serves /api/messages for the Emulator: a request that is not an activity, refused."""
    response = await client.post("/api/messages", json={"hello": "world"})
    assert response.status == 400
    _, samples = await scrape(client)
    assert value(samples, "pmo_requests_total", platform="teams", route="/api/messages", status="400") == 1
    assert value(samples, "pmo_ack_seconds_count", platform="teams", transport="http") == 1
