"""The one aiohttp application: health, the JSON API, and each channel's routes."""

from __future__ import annotations

import hmac
import logging

from aiohttp import web

from bot.runtime import Runtime
from handlers.value import compute_value
from storage.queries import find_project

log = logging.getLogger(__name__)

RUNTIME = web.AppKey("runtime", Runtime)


async def healthz(request: web.Request) -> web.Response:
    ok = await request.app[RUNTIME].db.ping()
    return web.json_response({"status": "ok" if ok else "unavailable"}, status=200 if ok else 503)


def _bad_request(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


async def api_value(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    token = runtime.settings.pmo_api_token
    if token is None:
        return web.json_response({"error": "the JSON API is off: PMO_API_TOKEN is not set"}, status=404)
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token.reveal()}".encode()):
        return web.json_response(
            {"error": "missing or wrong bearer token"}, status=401, headers={"WWW-Authenticate": "Bearer"}
        )
    days_text = request.query.get("days") or "90"
    if not days_text.isdigit() or not 1 <= int(days_text) <= 3660:
        return _bad_request(f"days must be a whole number from 1 to 3660, not '{days_text}'")
    segment = (request.query.get("segment") or "").strip() or None
    async with runtime.db.transaction() as session:
        project = None
        if name := request.query.get("project"):
            project = await find_project(session, runtime.org_id, name)
            if project is None:
                return web.json_response({"error": f"no project named '{name}'"}, status=404)
        report = await compute_value(
            session, runtime.org_id, project=project, segment=segment, days=int(days_text)
        )
    return web.json_response(report)


@web.middleware
async def no_tracebacks(request: web.Request, handler: web.RequestHandler) -> web.StreamResponse:
    """Whatever goes wrong inside, a caller gets a short JSON error, never a traceback."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("request %s %s failed", request.method, request.path)
        return web.json_response({"error": "internal error; see the server log"}, status=500)


def build_app(runtime: Runtime, *, console: bool | None = None) -> web.Application:
    app = web.Application(middlewares=[no_tracebacks], client_max_size=5 * 1024 * 1024)
    app[RUNTIME] = runtime
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/v1/value", api_value)
    for platform in runtime.platforms:
        platform.add_routes(app)
    if console if console is not None else runtime.settings.local_console:
        from bot.local.console import add_console_routes

        add_console_routes(app, runtime)
    return app
