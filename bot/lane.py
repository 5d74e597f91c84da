"""The slow lane: `/pmo value` and `/pmo export` run in a thread of their own, off the event loop.

One lane per process, shared by every channel (Slack, Teams, the console). Drawing the value chart
(handlers/charts.py) takes matplotlib about a tenth of a second of CPU, and it is synchronous:
on the web server's event loop it would hold up every other request for that long, and a few value
reports at once would push acknowledgements past Slack's limits. In the lane's thread
(its own event loop, its own database engine) it costs the web loop only the GIL's short turns.
Commands that change something or send messages never come here: the lane has no messenger
and no directory, so it can only run read-only reports, and says so if asked for more.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from concurrent.futures import Future
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import inbox
from handlers.commands.parser import ParseError, parse
from handlers.commands.run import run_command
from handlers.i18n import _
from handlers.interactions import direct_message
from handlers.ports import Caller, DeliveryFailed, PersonRef, Services
from handlers.views import View
from storage.db import Database
from storage.models import Person

log = logging.getLogger(__name__)

SLOW_COMMANDS = frozenset({"value", "export", "story"})
AT_ONCE = 2  # reports running together in the lane: a chart at a time is drawn anyway (it holds the GIL)


def is_slow(text: str) -> bool:
    try:
        return parse(text).name in SLOW_COMMANDS
    except ParseError:
        return False


class _NoMessenger:
    """Reports send nothing; if one ever tries, it fails in words instead of crossing threads."""

    async def send_direct(self, org_id: int, person_id: int, view: View) -> dict[str, Any]:
        raise DeliveryFailed(_("reports cannot send messages"), permanent=True)

    async def send_to_channel(
        self, org_id: int, platform: str | None, channel: str, view: View
    ) -> dict[str, Any]:
        raise DeliveryFailed(_("reports cannot send messages"), permanent=True)

    async def update(self, org_id: int, ref: dict[str, Any], view: View) -> None:
        raise DeliveryFailed(_("reports cannot send messages"), permanent=True)


class _NoDirectory:
    async def resolve(self, session: AsyncSession, org_id: int, ref: PersonRef) -> Person | None:
        return None


class SlowLane:
    """A thread with its own event loop and database engine, for read-only reports."""

    def __init__(self, services: Services) -> None:
        self.main = services
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._services: Services | None = None
        self._lock = threading.Lock()
        self._turns: asyncio.Semaphore | None = None
        self._frozen = False

    def _ensure_started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._thread = threading.Thread(target=run, name="pmo-reports", daemon=True)
                self._thread.start()
                ready.wait(10)
                self._loop = loop
            return self._loop

    def _services_here(self) -> Services:
        """Built inside the lane's loop: the engine belongs to the loop that made it."""
        if self._services is None:
            self._services = Services(
                db=Database(self.main.db.url.render_as_string(hide_password=False)),
                messenger=_NoMessenger(),
                directory=_NoDirectory(),
                policy=self.main.policy,
                today=self.main.today,
            )
        return self._services

    async def command(self, caller: Caller, text: str) -> View:
        """A `/pmo` command: reports here in the lane, the rest on the caller's loop."""
        if is_slow(text):
            return await self.run_command(caller, text)
        return await run_command(self.main, caller, text)

    async def direct_message(self, caller: Caller, text: str) -> View:
        """A message to the bot (handlers.interactions.direct_message), a report in the lane.

        A report that fails changed nothing: the message is then read as the core reads any other
        (perhaps the answer to an open prompt), on the caller's loop."""
        if is_slow(text):
            view = await self.run_command(caller, text)
            if view.ok:
                return view
        return await direct_message(self.main, caller, text)

    async def run_command(self, caller: Caller, text: str) -> View:
        """Run a read-only command in the lane's thread."""
        loop = self._ensure_started()

        async def in_lane() -> View:
            if self._turns is None:
                self._turns = asyncio.Semaphore(AT_ONCE)
            async with self._turns:
                with inbox.outside():  # a read-only report: a crash simply runs it again
                    view = await run_command(self._services_here(), caller, text)
            if not self._frozen and view.chart is not None and gc.get_freeze_count():
                # The server froze its start-up objects (bot/cli.py serve) so that full collections stay
                # short; matplotlib, loaded by the first chart, joins them.
                self._frozen = True
                gc.freeze()
            return view

        future: Future[View] = asyncio.run_coroutine_threadsafe(in_lane(), loop)
        return await asyncio.wrap_future(future)

    async def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def close() -> None:
            if self._services is not None:
                await self._services.db.dispose()

        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(close(), loop))
        loop.call_soon_threadsafe(loop.stop)
        await asyncio.to_thread(thread.join, 10)
        loop.close()
        self._loop = self._thread = self._services = self._turns = None
