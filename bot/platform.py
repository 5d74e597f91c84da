"""The contract a chat platform plugs into: what it must offer, and the narrow context it is given.

A platform (`bot/slack`, `bot/teams`) is built from a `PlatformContext`, never from the whole
runtime: the database, its organisation, the core's services, the durable work behind its
acknowledgements, the event ledger that tells a new event from a repeat, and the slow lane for
reports. It gives back a `Channel` and a `Directory` (handlers/ports.py), its HTTP routes, and a
start and a stop that the runtime's lifespan calls (bot/runtime.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web

from bot.config import Settings
from bot.lane import SlowLane
from bot.metrics import Metrics
from bot.work import DurableWork
from handlers.events import EventLedger
from handlers.ports import Channel, Directory, Policy, Services
from storage.db import Database


@dataclass(frozen=True)
class PlatformContext:
    """What a platform may use; each part is whole when the platform is built."""

    settings: Settings
    db: Database
    org_id: int  # the deployment's organisation (a single Slack workspace, the home Teams tenant)
    services: Services
    work: DurableWork  # record before acknowledging (bot/work.py)
    events: EventLedger  # each platform event handled once (handlers/events.py)
    lane: SlowLane  # reports off the event loop (bot/lane.py)
    metrics: Metrics = field(default_factory=Metrics)  # what GET /metrics says (bot/metrics.py)

    @property
    def policy(self) -> Policy:
        return self.services.policy


class Platform(Protocol):
    """A chat platform plugged into the bot: Slack or Teams."""

    name: str
    channel: Channel
    directory: Directory

    def add_routes(self, app: web.Application) -> None:
        """Mount its HTTP routes on the shared server."""

    async def start(self) -> None:
        """Open long-lived connections (Socket Mode, HTTP sessions)."""

    async def stop(self) -> None:
        """Close them; the work behind acknowledgements has finished by then."""


PlatformFactory = Callable[[PlatformContext], Platform]
