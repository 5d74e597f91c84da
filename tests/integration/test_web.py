"""The HTTP routes of CONTRACT section 3 that the core serves: health and the JSON value API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import load_settings
from bot.runtime import Runtime, start
from bot.web import build_app
from storage.db import Database

TOKEN = "test-api-token-0123456789"


@pytest.fixture
async def runtime(database_url: str) -> AsyncIterator[Runtime]:
    settings = load_settings(environ={"DATABASE_URL": database_url, "PMO_API_TOKEN": TOKEN}, env_file=None)
    rt = await start(settings)
    yield rt
    await rt.db.dispose()


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_app(runtime))) as c:
        yield c


async def test_healthz_ok(client: TestClient) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok"}


async def test_healthz_503_when_the_database_does_not_answer(runtime: Runtime, client: TestClient) -> None:
    healthy = runtime.db
    runtime.db = Database("postgresql://postgres@127.0.0.1:1/nowhere")
    try:
        response = await client.get("/healthz")
        assert response.status == 503
    finally:
        await runtime.db.dispose()
        runtime.db = healthy


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", TOKEN, "Bearer "])
async def test_value_api_needs_the_bearer_token(client: TestClient, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = await client.get("/api/v1/value", headers=headers)
    assert response.status == 401
    assert TOKEN not in await response.text()


async def test_value_api_returns_the_report(client: TestClient) -> None:
    response = await client.get("/api/v1/value?days=30", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status == 200
    report = await response.json()
    assert report["window"]["days"] == 30
    assert report["scope"] == {"project": None, "segment": None}
    assert report["satisfaction"]["responses"] == 0
    assert report["satisfaction"]["mean"] is None
    assert len(report["trend"]) == 6


@pytest.mark.parametrize(
    ("query", "status"),
    [("days=abc", 400), ("days=0", 400), ("days=99999", 400), ("project=Nope", 404)],
)
async def test_value_api_refuses_bad_queries(client: TestClient, query: str, status: int) -> None:
    response = await client.get(f"/api/v1/value?{query}", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status == status
    assert "error" in await response.json()


async def test_value_api_is_off_without_a_token(database_url: str) -> None:
    rt = await start(load_settings(environ={"DATABASE_URL": database_url}, env_file=None))
    try:
        async with TestClient(TestServer(build_app(rt))) as c:
            response = await c.get("/api/v1/value", headers={"Authorization": "Bearer anything"})
            assert response.status == 404
    finally:
        await rt.db.dispose()
