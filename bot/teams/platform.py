"""Microsoft Teams plugged into the bot: `/api/messages` on the shared server, the channel, the directory.

Served when MICROSOFT_APP_ID is set, where every activity must carry a valid Bot Framework token,
and in local mode (no platform configured), where the Bot Framework Emulator's unauthenticated
activities are accepted (CONTRACT section 3).
"""

from __future__ import annotations

import json
import logging

from aiohttp import web
from botbuilder.integration.aiohttp import CloudAdapter

from bot.platform import PlatformContext
from bot.teams.auth import BotFrameworkEndpoints, build_authentication
from bot.teams.bot import RESUME_KIND, TeamsBot
from bot.teams.channel import TeamsChannel
from bot.teams.directory import TeamsDirectory
from bot.teams.pacing import Pacer
from bot.teams.retry import RetryPolicy
from bot.teams.sender import Sender

log = logging.getLogger(__name__)

ROUTE = "/api/messages"


class TeamsPlatform:
    name = "teams"

    def __init__(
        self,
        context: PlatformContext,
        *,
        endpoints: BotFrameworkEndpoints | None = None,
        pacer: Pacer | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        settings = context.settings
        self.authenticated = settings.teams_enabled
        if not self.authenticated and not settings.teams_local_unauthenticated:
            raise ValueError("Teams needs MICROSOFT_APP_ID, or local mode (no platform configured)")
        self.adapter = CloudAdapter(build_authentication(settings, endpoints))
        self.sender = Sender(
            self.adapter, settings.microsoft_app_id, pacer or Pacer(), retry or RetryPolicy()
        )
        self.channel = TeamsChannel(context, self.sender)
        self.directory = TeamsDirectory(context, self.sender)
        self.bot = TeamsBot(context, self.sender, self.channel)
        context.work.register(RESUME_KIND, self.bot.resume)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(ROUTE, self.messages)

    async def messages(self, request: web.Request) -> web.StreamResponse:
        """One Bot Framework activity: checked (token, shape), then handled before answering."""
        if "application/json" not in request.headers.get("Content-Type", ""):
            return web.json_response(
                {"error": "an activity is JSON (Content-Type: application/json)"}, status=415
            )
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.json_response({"error": "the body is not JSON"}, status=400)
        if not isinstance(body, dict) or not isinstance(body.get("type"), str) or not body["type"]:
            return web.json_response(
                {"error": "the body is not a Bot Framework activity (no type)"}, status=400
            )
        if not isinstance(body.get("conversation"), dict) or not body.get("serviceUrl"):
            return web.json_response({"error": "the activity has no conversation or serviceUrl"}, status=400)
        try:
            response = await self.adapter.process(request, self.bot)
        except web.HTTPUnauthorized:
            log.info("refused an activity to %s: missing or invalid token", ROUTE)
            return web.json_response({"error": "missing or invalid Bot Framework token"}, status=401)
        return response or web.Response(status=201)

    async def start(self) -> None:
        if not self.authenticated:
            log.info("Teams: %s accepts the Bot Framework Emulator without a token (local mode)", ROUTE)

    async def stop(self) -> None:
        return None
