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
    await rt.aclose()


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
        await runtime.aclose()
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
        await rt.aclose()


async def raw_get(client: TestClient, target: str, *header_lines: bytes) -> tuple[int, bytes]:
    """GET with header bytes exactly as given (an HTTP client library would re-encode them)."""
    import asyncio

    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    try:
        request = b"GET " + target.encode() + b" HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
        writer.write(request + b"".join(line + b"\r\n" for line in header_lines) + b"\r\n")
        await writer.drain()
        response = await reader.read()
    finally:
        writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.parametrize(
    "header", [b"Authorization: Bearer \xe9", b"Authorization: Bearer \xff\xfe", b"Authorization: \xc3("]
)
async def test_value_api_answers_401_to_a_token_that_is_not_ascii(client: TestClient, header: bytes) -> None:
    status, body = await raw_get(client, "/api/v1/value", header)
    assert status == 401
    assert b"bearer token" in body


@pytest.mark.parametrize(
    "query",
    ["days=%C2%B2", "days=%D9%A3", "days=%EF%BC%93", "days=-1", "days=1.5", "days=%201", "days=" + "9" * 400],
)
async def test_value_api_refuses_days_that_are_not_ascii_digits(client: TestClient, query: str) -> None:
    response = await client.get(f"/api/v1/value?{query}", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status == 400
    assert "days must be a whole number" in (await response.json())["error"]


@pytest.mark.parametrize(
    "query",
    [
        "project=%00",
        "project=a%00b",
        "project=%FF%FE",
        "project=%ED%A0%80",
        "project=" + "x" * 5000,
        "project=%20%20",
        "project=%27%3B%20DROP%20TABLE%20projects%3B--",
        "segment=%00",
        "segment=%FF",
        "project=Nope&project=Other",
    ],
)
async def test_value_api_answers_odd_project_and_segment_names_without_a_500(
    client: TestClient, query: str
) -> None:
    response = await client.get(f"/api/v1/value?{query}", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status in (200, 400, 404), await response.text()
    assert "error" in await response.json() or response.status == 200


async def test_value_api_answers_503_when_the_database_does_not_answer(
    runtime: Runtime, client: TestClient
) -> None:
    healthy = runtime.db
    runtime.db = Database("postgresql://postgres:not-shown@127.0.0.1:1/nowhere")
    try:
        response = await client.get("/api/v1/value", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status == 503
        body = await response.json()
        assert body == {"error": "the database is unavailable; try again later"}
        assert response.headers["Retry-After"] == "30"
    finally:
        await runtime.aclose()
        runtime.db = healthy
    assert (await client.get("/api/v1/value", headers={"Authorization": f"Bearer {TOKEN}"})).status == 200


@pytest.mark.postgres
async def test_value_api_answers_503_when_the_postgresql_database_is_gone(
    runtime: Runtime, client: TestClient
) -> None:
    """A real outage of a real server: the database is dropped under the running app."""
    if runtime.db.is_sqlite:
        pytest.skip("a PostgreSQL database is dropped here")
    from tests.conftest import _pg_admin

    healthy = await client.get("/api/v1/value", headers={"Authorization": f"Bearer {TOKEN}"})
    assert healthy.status == 200
    await _pg_admin(f"DROP DATABASE {runtime.db.url.database} WITH (FORCE)")
    response = await client.get("/api/v1/value", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status == 503
    assert "database is unavailable" in (await response.json())["error"]
    assert (await client.get("/healthz")).status == 503
