"""Composition: from settings to a database, platforms, channels and the core's services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from bot.channels import Channel, FirstDirectory, Router
from bot.config import Settings
from bot.local.channel import LocalChannel, LocalDirectory
from bot.work import DurableWork
from handlers.inbox import Inbox
from handlers.people import bootstrap_admins
from handlers.ports import Directory, Policy, Services
from storage.db import Database
from storage.queries import DEFAULT_ORG_KEY, get_or_create_org


class Platform(Protocol):
    """A chat platform plugged into the bot: Slack or Teams (see bot/slack, bot/teams)."""

    name: str
    channel: Channel
    directory: Directory

    def add_routes(self, app: web.Application) -> None:
        """Mount its HTTP routes on the shared server."""

    async def start(self) -> None:
        """Open long-lived connections (Socket Mode, HTTP sessions)."""

    async def stop(self) -> None: ...


@dataclass
class Runtime:
    """Everything a process needs, built once at start."""

    settings: Settings
    db: Database
    org_id: int
    services: Services = field(init=False)
    platforms: list[Platform] = field(default_factory=list)
    work: DurableWork = field(init=False)  # what channels acknowledge, kept until done (bot/work.py)


PlatformFactory = Callable[[Runtime], Platform]


def platform_factories(settings: Settings) -> list[PlatformFactory]:
    """The platforms the settings configure, imported only when configured."""
    factories: list[PlatformFactory] = []
    if settings.slack_mode:
        from bot.slack.platform import SlackPlatform

        factories.append(SlackPlatform)
    if settings.teams_enabled or settings.teams_local_unauthenticated:  # local: the Bot Framework Emulator
        from bot.teams.platform import TeamsPlatform

        factories.append(TeamsPlatform)
    return factories


def build_services(
    settings: Settings,
    db: Database,
    channels: list[Channel] | None = None,
    directories: list[Any] | None = None,
) -> Services:
    """The core's services; the console is the channel of last resort when it is served."""
    channels = list(channels or [])
    directories = list(directories or [])
    if settings.local_console or not channels:
        channels.append(LocalChannel(db))
        directories.append(LocalDirectory())
    policy = Policy(
        admins=settings.pmo_admins, timezone=settings.pmo_timezone, alert_channel=settings.pmo_alert_channel
    )
    return Services(
        db=db, messenger=Router(db, channels), directory=FirstDirectory(directories), policy=policy
    )


async def start(
    settings: Settings, *, migrate: bool = True, factories: list[PlatformFactory] | None = None
) -> Runtime:
    """Open the database, bring its schema up to date, make sure the organisation exists, and
    plug in the configured platforms."""
    db = Database(settings.database_url)
    if migrate:
        await db.migrate()
    async with db.transaction() as session:
        org = await get_or_create_org(session, DEFAULT_ORG_KEY)
        await bootstrap_admins(session, org.id, settings.pmo_admins)
        org_id = org.id
    runtime = Runtime(settings=settings, db=db, org_id=org_id)
    runtime.work = DurableWork(Inbox(db), lambda: runtime.services)
    runtime.platforms = [
        make(runtime) for make in (platform_factories(settings) if factories is None else factories)
    ]
    runtime.services = build_services(
        settings, db, [p.channel for p in runtime.platforms], [p.directory for p in runtime.platforms]
    )
    return runtime
