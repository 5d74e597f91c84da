"""Slack as a platform of the bot (bot/platform.py's `Platform`): channel, directory, routes, lifecycle."""

from __future__ import annotations

import logging

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError

from bot.platform import PlatformContext
from bot.slack.app import add_bolt_routes, build_bolt_app
from bot.slack.channel import SlackChannel
from bot.slack.clients import ClientPool
from bot.slack.directory import SlackDirectory
from bot.slack.listeners import SlackListeners
from bot.slack.people import SlackPeople
from bot.slack.workspaces import Workspaces

log = logging.getLogger(__name__)


class SlackPlatform:
    """One Bolt app over HTTP, Socket Mode or OAuth, as the settings say (Settings.slack_mode)."""

    name = "slack"

    def __init__(self, context: PlatformContext) -> None:
        settings = context.settings
        self.mode = settings.slack_mode
        if self.mode is None:
            raise ValueError("Slack is not configured (SLACK_BOT_TOKEN or SLACK_CLIENT_ID)")
        self.settings = settings
        self.pool = ClientPool(settings.slack_api_url)
        self.workspaces = Workspaces(
            context.db,
            self.pool,
            context.org_id,
            bot_token=settings.slack_bot_token.reveal() if settings.slack_bot_token else None,
            client_id=settings.slack_client_id if self.mode == "oauth" else None,
        )
        self.people = SlackPeople(context.db, settings.pmo_admins)
        self.channel = SlackChannel(self.workspaces)
        self.directory = SlackDirectory(self.workspaces, settings.pmo_admins)
        self.bolt = build_bolt_app(settings, self.pool, self.workspaces, context.work.acks)
        self.bolt.metrics = context.metrics
        self.listeners = SlackListeners(context, self.workspaces, self.people, self.channel)
        self.listeners.register(self.bolt)
        self.socket: AsyncSocketModeHandler | None = None

    def add_routes(self, app: web.Application) -> None:
        over_http = self.mode != "socket" or bool(self.settings.slack_signing_secret)
        add_bolt_routes(app, self.bolt, events=over_http)

    async def start(self) -> None:
        await self.pool.start()
        self.pool.adopt(self.bolt.client)
        if self.mode in ("http", "socket"):
            await self._check_token()
        if self.mode == "socket":
            token = self.settings.slack_app_token
            assert token is not None
            self.socket = AsyncSocketModeHandler(self.bolt, token.reveal(), web_client=self.pool.client(None))
            await self.socket.connect_async()
            log.info("Slack Socket Mode connected")

    async def _check_token(self) -> None:
        """A working bot token lifts a suspension left by an earlier uninstall (a reinstall)."""
        try:
            await self.pool.client(self.workspaces.bot_token).auth_test()
        except (TimeoutError, SlackApiError, aiohttp.ClientError, OSError) as exc:
            log.warning("Slack auth.test failed; is SLACK_BOT_TOKEN right? (%s)", type(exc).__name__)
            return
        await self.workspaces.reinstate_default()

    async def stop(self) -> None:
        if self.socket is not None:
            await self.socket.close_async()
            self.socket = None
        await self.pool.close()
