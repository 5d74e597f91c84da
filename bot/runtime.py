"""Composition: from settings to a database, platforms, channels and the core's services, and the
lifespan that starts them and closes them again.

The lifespan (`async with runtime:`) is an `AsyncExitStack`: the database is opened first, then
the platforms start, then the durable work, the web server and the clock; whatever fails, what
was started is stopped in reverse order and the database disposed of last.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from types import TracebackType

from aiohttp import web

from bot.channels import FirstDirectory, Router
from bot.clock.leaders import clock_leaders
from bot.clock.scheduler import Clock, start_clock
from bot.clock.webhooks import WebhookPolicy, WebhookSender
from bot.config import Settings
from bot.lane import SlowLane
from bot.local.channel import LocalChannel, LocalDirectory
from bot.metrics import Metrics, leaders_source
from bot.platform import Platform, PlatformContext, PlatformFactory
from bot.web import build_app
from bot.work import DurableWork
from handlers.events import EventLedger
from handlers.inbox import Inbox
from handlers.people import bootstrap_admins
from handlers.ports import Policy, Services
from handlers.webhooks.events import turn_on as record_webhook_events
from storage.db import Database
from storage.queries import DEFAULT_ORG_KEY, get_or_create_org

# The chat platforms, in the order a person's channel is chosen: where the class lives, and
# whether the settings configure it. A new channel is one folder under bot/ and one line here.
PLATFORMS: tuple[tuple[str, Callable[[Settings], bool]], ...] = (
    ("bot.slack.platform:SlackPlatform", lambda s: s.slack_mode is not None),
    ("bot.teams.platform:TeamsPlatform", lambda s: s.teams_enabled or s.teams_local_unauthenticated),
)


def platform_factories(settings: Settings) -> list[PlatformFactory]:
    """The platforms the settings configure, imported only when configured (no SDK otherwise)."""
    factories: list[PlatformFactory] = []
    for where, configured in PLATFORMS:
        if configured(settings):
            module, name = where.split(":")
            factories.append(getattr(importlib.import_module(module), name))
    return factories


@dataclass
class Runtime:
    """Everything a process needs, built once at start; `async with` it for its lifespan."""

    settings: Settings
    db: Database
    org_id: int
    services: Services
    context: PlatformContext
    platforms: list[Platform] = field(default_factory=list)
    _stack: AsyncExitStack = field(default_factory=AsyncExitStack, repr=False)

    @property
    def work(self) -> DurableWork:
        """What channels acknowledge, kept until done (bot/work.py)."""
        return self.context.work

    @property
    def lane(self) -> SlowLane:
        return self.context.lane

    async def __aenter__(self) -> Runtime:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop what was started, newest first, and dispose of the database."""
        await self._stack.aclose()

    async def start_platforms(self) -> None:
        for platform in self.platforms:
            self._stack.push_async_callback(platform.stop)  # a start that fails half-way is closed too
            await platform.start()

    def start_work(self) -> None:
        """The durable work on its own (the clock process); `serve` runs it with the web server."""
        self._stack.push_async_callback(self.work.stop)
        self.work.start()

    async def serve(self, host: str, port: int) -> None:
        """The web server (and with it the durable work: the app's startup and cleanup)."""
        runner = web.AppRunner(build_app(self), access_log=None)
        self._stack.push_async_callback(runner.cleanup)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()

    async def start_clock(self, *, required: bool = True, **overrides: object) -> Clock | None:
        clock = await start_clock(self.services, self.settings, required=required, **overrides)
        if clock is not None:
            self._stack.push_async_callback(clock.stop)
            self.context.metrics.watch_clock(clock)
            await self._start_webhooks(clock)
        return clock

    async def _start_webhooks(self, clock: Clock) -> None:
        """The webhook sender beside the clock (PMO_WEBHOOK_URL): it posts while the clock leads."""
        settings = self.settings
        if not settings.webhooks:
            return
        assert settings.pmo_webhook_url is not None and settings.pmo_webhook_secret is not None
        sender = WebhookSender(
            self.db,
            settings.pmo_webhook_url.reveal(),
            settings.pmo_webhook_secret.reveal(),
            WebhookPolicy(timeout=settings.pmo_webhook_timeout),
            leading=lambda: clock.leading,
            sole=bool(getattr(clock.leadership, "sole", False)),
        )
        self._stack.push_async_callback(sender.stop)  # stopped before the clock: it asks the clock
        await sender.start()


async def start(
    settings: Settings, *, migrate: bool = True, factories: list[PlatformFactory] | None = None
) -> Runtime:
    """Open the database, bring its schema up to date, make sure the organisation exists, and
    plug in the configured platforms. The runtime owns the database from here: close it with
    `async with` (or `aclose()`); a failure on the way disposes of it at once."""
    db = Database(settings.database_url)
    try:
        if migrate:
            await db.migrate()
        async with db.transaction() as session:
            org = await get_or_create_org(session, DEFAULT_ORG_KEY)
            await bootstrap_admins(session, org.id, settings.pmo_admins)
            org_id = org.id
        made = platform_factories(settings) if factories is None else factories
        runtime = _compose(settings, db, org_id, made)
    except BaseException:
        await db.dispose()
        raise
    runtime._stack.push_async_callback(db.dispose)
    runtime._stack.push_async_callback(runtime.lane.stop)
    return runtime


def _metrics(db: Database) -> Metrics:
    """What GET /metrics reads: this process's pool and work, the database's counts and clocks."""
    metrics = Metrics()
    metrics.watch_database(db)
    metrics.add_source("clock_leaders", leaders_source(lambda: clock_leaders(db)))
    return metrics


def _compose(settings: Settings, db: Database, org_id: int, factories: list[PlatformFactory]) -> Runtime:
    """The services first, then the platforms that plug their channels and directories into them;
    the console is the channel of last resort when it is served (or nothing else is)."""
    if settings.webhooks:
        record_webhook_events(db)  # every use case's session writes its events to the outbox
    router, directory = Router(db), FirstDirectory()
    policy = Policy(
        admins=settings.pmo_admins,
        timezone=settings.pmo_timezone,
        alert_channel=settings.pmo_alert_channel,
        language=settings.pmo_language,
        currency=settings.pmo_currency,
    )
    services = Services(db=db, messenger=router, directory=directory, policy=policy)
    context = PlatformContext(
        settings=settings,
        db=db,
        org_id=org_id,
        services=services,
        work=DurableWork(Inbox(db), services),
        events=EventLedger(db),
        lane=SlowLane(services),
        metrics=_metrics(db),
    )
    context.metrics.watch_work(context.work)
    platforms = [make(context) for make in factories]
    for platform in platforms:
        router.plug(platform.channel)
        directory.plug(platform.directory)
    if settings.local_console or not platforms:
        router.plug(LocalChannel(db))
        directory.plug(LocalDirectory())
    return Runtime(settings, db, org_id, services, context, platforms)
