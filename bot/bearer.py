"""The one door of the bearer-token routes (`/api/v1/…`, `/metrics`): off, refused, or let in."""

from __future__ import annotations

import hmac

from aiohttp import web

from bot.config import Secret


def bearer_refusal(token: Secret | None, request: web.Request, off: str) -> web.Response | None:
    """404 with `off` while the route's token is unset, 401 without it (compared in constant time),
    None when the request may go on."""
    if token is None:
        return web.json_response({"error": off}, status=404)
    # aiohttp keeps undecodable header bytes as surrogates: encode them back, never fail on them
    given = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(given, f"Bearer {token.reveal()}".encode()):
        return web.json_response(
            {"error": "missing or wrong bearer token"}, status=401, headers={"WWW-Authenticate": "Bearer"}
        )
    return None
