"""The one aiohttp application: health, the JSON API, and each channel's routes."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from aiohttp import web

from bot.bearer import bearer_refusal
from bot.config import Settings
from bot.observe import METRICS, observed, serve_metrics
from bot.platform import Platform, PlatformContext
from handlers.ids import parse_id
from handlers.stories.compute import story as compute_story
from handlers.stories.html import story_html
from handlers.stories.markdown import story_markdown
from handlers.value.report import compute_value
from storage.db import Database, unavailable_reason
from storage.queries import find_project

log = logging.getLogger(__name__)


class Served(Protocol):
    """What the server needs of the runtime (bot/runtime.py), which builds it."""

    settings: Settings
    db: Database
    org_id: int

    @property
    def context(self) -> PlatformContext: ...

    @property
    def platforms(self) -> list[Platform]: ...


RUNTIME = web.AppKey("runtime", Served)


async def healthz(request: web.Request) -> web.Response:
    ok = await request.app[RUNTIME].db.ping()
    return web.json_response({"status": "ok" if ok else "unavailable"}, status=200 if ok else 503)


def _bad_request(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


def _name(request: web.Request, key: str) -> str | web.Response | None:
    """A project or segment name from the query: None when absent or blank, a 400 when it holds
    what no name can (control characters such as NUL, bytes that are not UTF-8)."""
    value = (request.query.get(key) or "").strip()
    if any(ord(c) < 32 or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF or c == "\ufffd" for c in value):
        return _bad_request(
            f"{key} holds characters no name can hold (control characters or bytes that are not UTF-8)"
        )
    return value or None


def _api_refusal(request: web.Request) -> web.Response | None:
    """The JSON API's door: 404 while PMO_API_TOKEN is unset, 401 without its bearer token."""
    token = request.app[RUNTIME].settings.pmo_api_token
    return bearer_refusal(token, request, "the JSON API is off: PMO_API_TOKEN is not set")


async def api_value(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    refusal = _api_refusal(request)
    if refusal is not None:
        return refusal
    days_text = request.query.get("days") or "90"
    if not (days_text.isascii() and days_text.isdigit()) or not 1 <= int(days_text) <= 3660:
        return _bad_request(f"days must be a whole number from 1 to 3660, not '{days_text}'")
    name, segment = _name(request, "project"), _name(request, "segment")
    if isinstance(name, web.Response):
        return name
    if isinstance(segment, web.Response):
        return segment
    async with runtime.db.transaction() as session:
        project = None
        if name:
            project = await find_project(session, runtime.org_id, name)
            if project is None:
                return web.json_response({"error": f"no project named '{name}'"}, status=404)
        report = await compute_value(
            session,
            runtime.org_id,
            project=project,
            segment=segment,
            days=int(days_text),
            currency=runtime.settings.pmo_currency,
        )
    return web.json_response(report)


async def metrics(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    return await serve_metrics(runtime.settings.pmo_metrics_token, runtime.context.metrics, request)


STORY_TYPES = {"md": "text/markdown", "html": "text/html"}


async def api_story(request: web.Request) -> web.Response:
    """`GET /api/v1/stories/ID`: the story as JSON (data, in no language), or `?format=md|html` as
    the document in PMO_LANGUAGE."""
    refusal = _api_refusal(request)
    if refusal is not None:
        return refusal
    runtime = request.app[RUNTIME]
    written = request.match_info["id"]
    try:
        point_id = parse_id(written)
    except ValueError as exc:
        return _bad_request(f"a story's id is a pain point's id: {exc}")
    form = request.query.get("format", "json")
    if form not in ("json", *STORY_TYPES):
        return _bad_request(f"format must be json, md or html, not '{form}'")
    async with runtime.db.transaction() as session:
        found = await compute_story(session, runtime.org_id, point_id)
    if found is None:
        return web.json_response({"error": f"there is no pain point #{point_id}"}, status=404)
    if form == "json":
        return web.json_response(found)
    render = story_html if form == "html" else story_markdown
    language = runtime.services.policy.language  # the organisation's (PMO_LANGUAGE): no reader is known
    text = await asyncio.to_thread(render, found, language=language)  # the chart: off the event loop
    return web.Response(text=text, content_type=STORY_TYPES[form], charset="utf-8")


@web.middleware
async def no_tracebacks(request: web.Request, handler: web.RequestHandler) -> web.StreamResponse:
    """Whatever goes wrong inside, a caller gets a short JSON error, never a traceback."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as exc:
        reason = unavailable_reason(exc, request.app[RUNTIME].db.url)
        if reason is not None:  # an outage, not a bug: say so, and that trying later may work
            log.warning(
                "request %s %s: the database is unavailable: %s", request.method, request.path, reason
            )
            return web.json_response(
                {"error": "the database is unavailable; try again later"},
                status=503,
                headers={"Retry-After": "30"},
            )
        log.exception("request %s %s failed", request.method, request.path)
        return web.json_response({"error": "internal error; see the server log"}, status=500)


def build_app(runtime: Served, *, console: bool | None = None) -> web.Application:
    context = runtime.context
    app = web.Application(middlewares=[observed, no_tracebacks], client_max_size=5 * 1024 * 1024)
    app[RUNTIME], app[METRICS] = runtime, context.metrics

    async def start_work(_app: web.Application) -> None:
        context.work.start()  # also resumes what a process that died left in the inbox

    async def stop_work(_app: web.Application) -> None:
        await context.work.stop()

    app.on_startup.append(start_work)
    app.on_cleanup.append(stop_work)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/v1/value", api_value)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/api/v1/stories/{id}", api_story)
    for platform in runtime.platforms:
        platform.add_routes(app)
    if console if console is not None else context.settings.local_console:
        from bot.local.console import add_console_routes

        add_console_routes(app, context)
    return app
