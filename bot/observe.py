"""Watching the web server: a request id and a count (and for acknowledgements a time) for every
request, and GET /metrics behind its bearer token.

The middleware is the one place that sees every HTTP request of every channel, so the channels
need no instrumentation of their own; Socket Mode, which does not come over HTTP, is timed where
Bolt dispatches it (bot/slack/app.py) with the same `Metrics.handling`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from aiohttp import web
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from bot.bearer import bearer_refusal
from bot.config import Secret
from bot.logs import ACCESS_LOGGER, new_request_id, requesting
from bot.metrics import Metrics, Seen

access = logging.getLogger(ACCESS_LOGGER)
if access.level == logging.NOTSET:
    access.setLevel(logging.WARNING)  # on with LOG_FORMAT=json (bot.logs.configure_logging)

METRICS = web.AppKey("metrics", Metrics)
REQUEST_ID = "X-Request-Id"

# Which platform a path belongs to; the first prefix that matches wins.
_PLATFORMS = (
    ("/slack/", "slack"),
    ("/api/messages", "teams"),
    ("/console/", "console"),
    ("/api/v1/", "api"),
)


def platform_of(path: str) -> str:
    if path == "/":
        return "console"
    return next((name for prefix, name in _PLATFORMS if path.startswith(prefix)), "server")


def _route(request: web.Request) -> str:
    """The route's registered path (bounded: never the raw path), or `unmatched`."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def observed(request: web.Request, handler: web.RequestHandler) -> web.StreamResponse:
    """A request id for the whole request (the caller's X-Request-Id when sane, echoed back), and
    the request counted; a platform's POST (a click, a command, an activity) timed as an ack."""
    rid = new_request_id(request.headers.get(REQUEST_ID))
    metrics = request.app.get(METRICS)
    platform, route, started = platform_of(request.path), _route(request), time.perf_counter()
    ack = request.method == "POST" and platform in ("slack", "teams", "console")
    with (
        requesting(rid),
        metrics.handling(platform, "http", route, ack=ack) if metrics else nullcontext(Seen()) as seen,
        _access_line(request, platform, route, started) as line,
    ):
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # aiohttp's own 404, 405, 413 …
            seen.status = line.status = exc.status
            exc.headers[REQUEST_ID] = rid
            raise
        except asyncio.CancelledError:  # the caller went away (nginx's 499)
            seen.status = line.status = 499
            raise
        seen.status = line.status = response.status
    if not response.prepared:
        response.headers[REQUEST_ID] = rid
    return response


@contextmanager
def _access_line(request: web.Request, platform: str, route: str, started: float) -> Iterator[Seen]:
    """One line per request, with the request id (JSON logs only: see bot.logs.configure_logging).
    The path is written without its query (an OAuth code, say) and cut at 200 characters."""
    seen = Seen()
    try:
        yield seen
    finally:
        if access.isEnabledFor(logging.INFO):
            ms = (time.perf_counter() - started) * 1000
            access.info(
                "%s %s %d in %.1f ms",
                request.method,
                request.path[:200],
                seen.status,
                ms,
                extra={
                    "method": request.method,
                    "path": request.path[:200],
                    "route": route,
                    "platform": platform,
                    "status": seen.status,
                    "duration_ms": round(ms, 1),
                },
            )


async def serve_metrics(token: Secret | None, metrics: Metrics, request: web.Request) -> web.Response:
    """GET /metrics: 404 while PMO_METRICS_TOKEN is unset, 401 without its bearer token, else 200
    with the text format (even when the database is down: then pmo_database_up is 0)."""
    refusal = bearer_refusal(token, request, "metrics are off: PMO_METRICS_TOKEN is not set")
    if refusal is not None:
        return refusal
    return web.Response(body=await metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})
