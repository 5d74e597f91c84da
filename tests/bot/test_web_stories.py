"""`GET /api/v1/stories/ID` (CONTRACT section 3): the story as JSON, Markdown or HTML, behind the API token."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import load_settings
from bot.runtime import Runtime, start
from bot.web import build_app
from handlers.stories.compute import story
from storage.db import utcnow
from tests.helpers import make_world

TOKEN = "test-api-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def runtime(database_url: str) -> AsyncIterator[Runtime]:
    settings = load_settings(environ={"DATABASE_URL": database_url, "PMO_API_TOKEN": TOKEN}, env_file=None)
    rt = await start(settings)
    yield rt
    await rt.aclose()


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_app(runtime))) as c:
        yield c


@pytest.fixture
async def point_id(runtime: Runtime) -> int:
    world = await make_world(runtime.db)
    point = await world.add_painpoint(
        reported_at=utcnow() - dt.timedelta(days=3),
        status="resolved",
        resolved_at=utcnow(),
        metric="Days late",
        baseline=10.0,
        after=4.0,
        fix="A <second> supplier",
    )
    return point.id


@pytest.mark.parametrize("header", [None, "Bearer wrong", TOKEN])
async def test_the_token_is_needed(client: TestClient, point_id: int, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    for query in ("", "?format=md", "?format=html"):
        response = await client.get(f"/api/v1/stories/{point_id}{query}", headers=headers)
        assert response.status == 401
        assert "Days late" not in await response.text()


async def test_json_holds_the_computed_story(client: TestClient, runtime: Runtime, point_id: int) -> None:
    response = await client.get(f"/api/v1/stories/{point_id}", headers=AUTH)
    assert response.status == 200 and response.content_type == "application/json"
    body = await response.json()
    async with runtime.db.sessions() as session:
        assert body == await story(session, runtime.org_id, point_id)
    assert body["measure"]["improvement_pct"] == 60.0 and body["fix"] == "A <second> supplier"


async def test_markdown_and_html(client: TestClient, point_id: int) -> None:
    md = await client.get(f"/api/v1/stories/{point_id}?format=md", headers=AUTH)
    assert md.status == 200 and md.content_type == "text/markdown" and md.charset == "utf-8"
    assert (await md.text()).startswith(f"# Story of pain point #{point_id}")
    html = await client.get(f"/api/v1/stories/{point_id}?format=html", headers=AUTH)
    assert html.status == 200 and html.content_type == "text/html"
    page = await html.text()
    assert "A &lt;second&gt; supplier" in page and "<second>" not in page


async def test_unknown_and_bad_ids_and_formats(client: TestClient, point_id: int) -> None:
    assert (await client.get("/api/v1/stories/999", headers=AUTH)).status == 404
    for bad in ("abc", "0", "-1", "1.5", "99999999999", "%D9%A3"):
        response = await client.get(f"/api/v1/stories/{bad}", headers=AUTH)
        assert response.status == 400, bad
        assert "error" in await response.json()
    for form in ("pdf", "", "JSON"):
        response = await client.get(f"/api/v1/stories/{point_id}?format={form}", headers=AUTH)
        assert response.status == 400, form


async def test_the_documents_follow_pmo_language_and_the_json_stays_data(database_url: str) -> None:
    environ = {"DATABASE_URL": database_url, "PMO_API_TOKEN": TOKEN, "PMO_LANGUAGE": "de"}
    rt = await start(load_settings(environ=environ, env_file=None))
    try:
        world = await make_world(rt.db)
        point = await world.add_painpoint(
            reported_at=utcnow() - dt.timedelta(days=3),
            status="resolved",
            resolved_at=utcnow(),
            fix="Mehr Prüfer",
        )
        async with TestClient(TestServer(build_app(rt))) as c:
            md = await (await c.get(f"/api/v1/stories/{point.id}?format=md", headers=AUTH)).text()
            assert md.startswith(f"# Geschichte von Pain Point #{point.id}: Apollo\n")
            assert "- **Was getan wurde:** Mehr Prüfer" in md and "## Unternommene Schritte" in md
            assert "Es wurden keine Schritte notiert." in md and "No steps" not in md
            page = await (await c.get(f"/api/v1/stories/{point.id}?format=html", headers=AUTH)).text()
            assert '<html lang="de">' in page and "<dt>Tage bis zur Lösung</dt>" in page
            body = await (await c.get(f"/api/v1/stories/{point.id}", headers=AUTH)).json()
        async with rt.db.sessions() as session:  # the JSON is the computed data, in every language
            assert body == await story(session, rt.org_id, point.id)
        assert body["status"] == "resolved" and body["fix"] == "Mehr Prüfer"
    finally:
        await rt.aclose()


async def test_the_api_is_off_without_a_token(database_url: str) -> None:
    rt = await start(load_settings(environ={"DATABASE_URL": database_url}, env_file=None))
    try:
        async with TestClient(TestServer(build_app(rt))) as c:
            assert (await c.get("/api/v1/stories/1", headers=AUTH)).status == 404
    finally:
        await rt.aclose()
