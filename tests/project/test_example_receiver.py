"""docs/examples/webhook_receiver.py works: the bot's real sender → the example → a fake Jira on 127.0.0.1.

The example runs as its own process, as a user would run it; the events come from real use cases
(a sponsor reports, staff take notes and resolve, the sponsor says "not yet").
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from bot.clock.webhooks import WebhookPolicy, WebhookSender, sign
from handlers.webhooks.events import turn_on
from handlers.webhooks.queue import webhook_backlog
from storage.db import Database
from storage.models import Checkin, PainPoint, WebhookEvent
from tests.helpers import World, make_world
from tests.slackkit import free_port

pytestmark = pytest.mark.sqlite_only

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "webhook_receiver.py"
SECRET = "whsec-example"
QUICK = WebhookPolicy(timeout=5.0, first_retry=0.05, max_retry=0.2, poll=0.05)


class FakeJira:
    """Enough of Jira's REST API v2: create an issue, comment, list and apply transitions."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any, str]] = []
        self.fail_next_comment = 0
        self.url = ""

    async def __aenter__(self) -> FakeJira:
        app = web.Application()
        app.router.add_post("/rest/api/2/issue", self._create)
        app.router.add_post("/rest/api/2/issue/{key}/comment", self._comment)
        app.router.add_get("/rest/api/2/issue/{key}/transitions", self._transitions)
        app.router.add_post("/rest/api/2/issue/{key}/transitions", self._transition)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._runner.cleanup()

    async def _keep(self, request: web.Request) -> Any:
        body = await request.json() if request.can_read_body else None
        self.calls.append((request.method, request.path, body, request.headers.get("Authorization", "")))
        return body

    async def _create(self, request: web.Request) -> web.Response:
        await self._keep(request)
        issues = sum(
            1 for method, path, _, _ in self.calls if method == "POST" and path == "/rest/api/2/issue"
        )
        return web.json_response({"id": str(10000 + issues), "key": f"PMO-{issues}"}, status=201)

    async def _comment(self, request: web.Request) -> web.Response:
        if self.fail_next_comment:
            self.fail_next_comment -= 1
            return web.json_response({"errorMessages": ["busy"]}, status=503)
        await self._keep(request)
        return web.json_response({"id": "1"}, status=201)

    async def _transitions(self, request: web.Request) -> web.Response:
        await self._keep(request)
        return web.json_response(
            {"transitions": [{"id": "31", "name": "Done"}, {"id": "41", "name": "Reopen"}]}
        )

    async def _transition(self, request: web.Request) -> web.Response:
        await self._keep(request)
        return web.Response(status=204)

    def made(self, method: str, suffix: str) -> list[Any]:
        return [body for m, path, body, _ in self.calls if m == method and path.endswith(suffix)]


@pytest.fixture
async def jira() -> AsyncIterator[FakeJira]:
    async with FakeJira() as fake:
        yield fake


@pytest.fixture
async def receiver(jira: FakeJira, tmp_path: Path) -> AsyncIterator[str]:
    port = free_port()
    env = {
        "PMO_WEBHOOK_SECRET": SECRET,
        "LISTEN": f"127.0.0.1:{port}",
        "STATE_FILE": str(tmp_path / "state.json"),
        "TRACKER": "jira",
        "JIRA_URL": jira.url,
        "JIRA_USER": "pmo-bot@example.com",
        "JIRA_TOKEN": "jira-api-token",
        "JIRA_PROJECT": "PMO",
        "PYTHONUNBUFFERED": "1",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLE),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 30)
    assert b"listening on" in line, line
    yield f"http://127.0.0.1:{port}/pmo"
    process.terminate()
    await process.wait()


@pytest.fixture
async def world(db: Database) -> World:
    world = await make_world(db)
    turn_on(db)
    return world


async def delivered(world: World, within: float = 30.0) -> None:
    async with asyncio.timeout(within):
        while True:
            if not await webhook_backlog(world.db):
                return
            await asyncio.sleep(0.05)


async def test_a_pain_point_becomes_a_jira_issue_that_follows_it(
    world: World, jira: FakeJira, receiver: str
) -> None:
    sender = WebhookSender(world.db, receiver, SECRET, QUICK)
    await sender.start()
    try:
        assert (await world.run(world.staff, "ask Apollo")).ok
        prompt = (await world.rows(Checkin))[-1]
        form = {"text": "No test data before Friday", "impact": "5"}
        assert (await world.act(world.sponsor, "painpoint", {"checkin": prompt.id}, form)).ok
        [point] = await world.rows(PainPoint)
        jira.fail_next_comment = 1  # Jira is busy once: the receiver says 502 and the bot tries again
        assert (await world.run(world.staff, f'painpoint {point.id} note:"Asked the data team"')).ok
        assert (
            await world.run(world.staff, f'painpoint {point.id} metric:"Days without data" baseline:4')
        ).ok
        assert (await world.run(world.staff, f'painpoint resolve {point.id} after:0 fix:"Nightly copy"')).ok
        assert (await world.act(world.sponsor, "fix_no", {"painpoint": point.id, "fixed": False})).ok
        await delivered(world)
    finally:
        await sender.stop()

    [issue] = jira.made("POST", "/rest/api/2/issue")
    fields = issue["fields"]
    assert fields["project"] == {"key": "PMO"} and fields["issuetype"] == {"name": "Task"}
    assert fields["summary"] == f"Pain point #{point.id} on Apollo: No test data before Friday"
    assert "Sam Sponsor" in fields["description"] and "impact 5 of 5" in fields["description"]
    comments = [body["body"] for body in jira.made("POST", "/PMO-1/comment")]
    assert comments == [
        "Stan Staff: Asked the data team",
        "Stan Staff recorded a measure.\nDays without data: 4.0 (lower is better)",
        "Stan Staff resolved it.\nFix: Nightly copy\nDays without data: 4.0 -> 0.0 (lower is better)",
        "Sam Sponsor says it is not fixed yet; the pain point is open again.",
    ]
    assert [body["transition"]["id"] for body in jira.made("POST", "/PMO-1/transitions")] == ["31", "41"]
    expected = "Basic " + base64.b64encode(b"pmo-bot@example.com:jira-api-token").decode()
    assert {auth for _, _, _, auth in jira.calls} == {expected}
    async with world.db.sessions() as session:
        events = list(await session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)))
    assert {e.state for e in events} == {"delivered"}
    assert events[1].attempts == 2 and events[1].last_status == 200  # the note, after Jira's 503

    # a repeat of an event already handled changes nothing in Jira; a forged one is refused
    first = events[0]
    body = json.dumps({"id": first.event_id, "type": first.type, "at": "x", "data": first.data}).encode()
    now = int(time.time())
    headers = {"X-PMO-Event-Id": first.event_id, "X-PMO-Timestamp": str(now)}
    async with aiohttp.ClientSession() as http:
        repeat = await http.post(
            receiver, data=body, headers={**headers, "X-PMO-Signature": sign(SECRET, now, body)}
        )
        assert (repeat.status, await repeat.text()) == (200, "duplicate")
        forged = await http.post(
            receiver, data=body, headers={**headers, "X-PMO-Signature": sign("guess", now, body)}
        )
        assert forged.status == 401
        stale = await http.post(
            receiver,
            data=body,
            headers={
                **headers,
                "X-PMO-Timestamp": str(now - 600),
                "X-PMO-Signature": sign(SECRET, now - 600, body),
            },
        )
        assert stale.status == 401
    assert len(jira.made("POST", "/rest/api/2/issue")) == 1
