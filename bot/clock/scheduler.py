"""The clock: sends every project's check-ins on time, once, from one leading process.

APScheduler 3.11 (`AsyncIOScheduler`) is only the metronome here: one interval job, aligned to
the minute, runs `tick()` every few seconds. The database holds the schedules, so a
`project add`, `project archive`, `pause` or `resume` reaches the clock at its next tick, and
nothing depends on APScheduler's job stores (which must never be shared between processes).

Each tick, in the leading process only:

1. plan: read the active schedules and work out (bot/clock/occurrences.py) what fell due within the
   catch-up window and is not in the ledger yet; queue it per (organisation, platform). Right after
   becoming the leader the window reaches back `lookback` (8 days), so occurrences missed during
   a longer downtime are recorded as `missed` rather than silently forgotten;
2. recover: take over claims whose lease ran out without a recorded send (a crashed clock);
3. remind: queue the one reminder of taste check-ins unanswered after two days;
4. close: close check-ins unanswered after seven days and show them closed;
5. overdue: remind the owner of a pain point past its due date, once (handlers/painpoints/loop.py);
6. digest: queue the value digest's copies that fell due (bot/clock/digests.py), through the same
   ledger and queues.

Delivery workers (bot/clock/delivery.py) drain the queues, a few per queue, paced per workspace.

Leadership: on PostgreSQL a session advisory lock held on a connection of its own; the others
try it every tick and take over as soon as the leader's connection is gone. On SQLite a lock
file beside the database (`pmo.db.clock-lock`, removed when the clock stops cleanly; one left by
a killed clock is taken over by the next): a second clock refuses to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.channels import Router
from bot.clock.delivery import Deliverer, DeliveryPolicy, Job
from bot.clock.digests import DigestClock
from bot.clock.occurrences import Schedule, occurrences, zone
from bot.clock.pacing import Pacing
from handlers.checkins.lifecycle import close_stale
from handlers.clock.ledger import (
    ScheduleRow,
    expired_claims,
    extend_lease,
    release_orphans,
    reminders_due,
    schedules,
    settled_slots,
    stale_checkins,
)
from handlers.outbox import deliver
from handlers.painpoints.loop import due_reminders, reminder_failed
from handlers.ports import Services
from storage.db import Database

log = logging.getLogger("pmo.clock")

LOCK_KEY = 0x504D4F5F434C4B  # "PMO_CLK": the advisory lock the leading clock holds
LOOKBACK = dt.timedelta(days=8)  # after an election: how far back missed occurrences are recorded
GRACE = dt.timedelta(minutes=2)  # a tick's own lateness never counts as downtime


class ClockRefused(Exception):
    """This clock may not run (another one already does, on SQLite); the message says what to do."""


class Now(Protocol):
    def __call__(self) -> dt.datetime: ...


def system_now() -> dt.datetime:
    """Naive UTC now, the form every stored time takes."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class ClockConfig:
    """How the clock runs. `tick` and `lease` are seconds."""

    tick: float = 15.0
    lease: float = 60.0
    catchup_hours: float = 6.0
    timezone: str = "UTC"
    send_rate: float | None = None
    workers: int = 16  # per (organisation, platform) queue: enough to keep the bucket busy through 429 waits
    lookback: dt.timedelta = LOOKBACK

    @property
    def catchup(self) -> dt.timedelta:
        return dt.timedelta(hours=self.catchup_hours)

    def policy(self) -> DeliveryPolicy:
        return DeliveryPolicy(lease=dt.timedelta(seconds=self.lease), catchup=self.catchup + GRACE)


# ---- leadership ---------------------------------------------------------------------------------


class Leadership(Protocol):
    async def acquire(self) -> bool:
        """Become the leader if nobody is; True when this process leads."""
        ...

    async def holds(self) -> bool:
        """Whether this process still leads (its lock is still there)."""
        ...

    async def release(self) -> None: ...


class PostgresLeadership:
    """A session-level advisory lock on a connection kept out of the pool while it is held.

    PostgreSQL drops the lock the moment the holder's connection ends, which a killed process's
    does at once; the next clock to try takes over.
    """

    sole = False  # a leader cut off from the database may still be finishing a send: wait for leases

    def __init__(self, db: Database) -> None:
        self.db = db
        self.conn: AsyncConnection | None = None

    async def acquire(self) -> bool:
        if self.conn is not None:
            return await self.holds()
        conn = await self.db.engine.connect()
        try:
            got = bool(
                (await conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY})).scalar()
            )
            await conn.commit()
        except Exception:
            await conn.invalidate()
            raise
        if not got:
            await conn.close()
            return False
        self.conn = conn
        return True

    async def holds(self) -> bool:
        if self.conn is None:
            return False
        try:
            await self.conn.execute(text("SELECT 1"))
            await self.conn.commit()
            return True
        except Exception:
            log.warning("the clock's lock connection failed; stepping down", exc_info=True)
            await self._drop()
            return False

    async def _drop(self) -> None:
        if self.conn is not None:
            conn, self.conn = self.conn, None
            try:
                await conn.invalidate()  # never back to the pool: it may still hold the lock
            except Exception:
                log.debug("invalidating the lock connection failed", exc_info=True)

    async def release(self) -> None:
        if self.conn is None:
            return
        try:
            await self.conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
            await self.conn.commit()
        except Exception:
            log.debug("unlocking failed; closing the connection drops the lock", exc_info=True)
        await self._drop()


class SqliteLeadership:
    """A lock file beside the database file, held with flock for the life of the process.

    `sole`: while it is held no other clock can be alive (the kernel drops a dead process's lock),
    so claims leased by an earlier clock are orphans and are taken over at once.
    """

    sole = True

    def __init__(self, db: Database) -> None:
        database = db.url.database
        self.path = Path(f"{database}.clock-lock") if database and database != ":memory:" else None
        self.fd: int | None = None

    async def acquire(self) -> bool:
        if self.path is None or self.fd is not None:
            return True
        import fcntl

        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise ClockRefused(
                    f"another clock (process {holder}) is already running against this SQLite database "
                    f"({self.path.with_suffix('')}); on SQLite only one may run. Stop it, or start this "
                    "one with --no-scheduler. Several clocks need PostgreSQL."
                ) from None
            if self._still_there(fd):
                break
            os.close(fd)  # a clock that stopped removed this file after we opened it: open anew
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self.fd = fd
        return True

    async def holds(self) -> bool:
        return True

    def _still_there(self, fd: int) -> bool:
        """Whether the locked file is still the one at the path (a stopping clock unlinks it)."""
        assert self.path is not None
        try:
            return os.path.samestat(os.fstat(fd), os.stat(self.path))
        except FileNotFoundError:
            return False

    async def release(self) -> None:
        """A clean stop removes the lock file, still holding the lock, so that none is left
        beside the database; a killed clock's file stays and the next clock takes it over."""
        if self.fd is not None:
            import fcntl

            if self.path is not None:
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def leadership_for(db: Database) -> Leadership:
    return SqliteLeadership(db) if db.is_sqlite else PostgresLeadership(db)


# ---- the queues ---------------------------------------------------------------------------------


class Dispatcher:
    """Queues of delivery jobs per (organisation, platform), each drained by up to `workers` tasks."""

    def __init__(self, deliverer: Deliverer, workers: int, done: Callable[[Job, str | None], None]) -> None:
        self.deliverer = deliverer
        self.workers = workers
        self.done = done
        self.pending: set[tuple[Any, ...]] = set()
        self.in_flight: set[int] = set()  # ledger rows a worker of this process is on
        self._queues: dict[tuple[int, str | None], deque[Job]] = {}
        self._active: dict[tuple[int, str | None], int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self.counts: dict[str, int] = {}

    def submit(self, job: Job) -> bool:
        """Queue a job unless the same work is queued or running already."""
        if job.key in self.pending:
            return False
        self.pending.add(job.key)
        self._idle.clear()
        queue_key = (job.org_id, job.platform if job.what != "resume" else "resume")
        self._queues.setdefault(queue_key, deque()).append(job)
        if self._active.get(queue_key, 0) < self.workers:
            self._active[queue_key] = self._active.get(queue_key, 0) + 1
            task = asyncio.create_task(self._work(queue_key), name=f"delivery-{queue_key}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return True

    async def _work(self, queue_key: tuple[int, str | None]) -> None:
        queue = self._queues[queue_key]
        try:
            while queue:
                job = queue.popleft()
                if job.delivery_id is not None:
                    self.in_flight.add(job.delivery_id)
                outcome: str | None = None
                try:
                    outcome = await self.deliverer.run(job)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("delivery job %s failed; it is tried again later", job.key)
                finally:
                    self.pending.discard(job.key)
                    if job.delivery_id is not None:
                        self.in_flight.discard(job.delivery_id)
                self.counts[outcome or "error"] = self.counts.get(outcome or "error", 0) + 1
                self.done(job, outcome)
        finally:
            self._active[queue_key] -= 1
            if not self._active[queue_key]:
                del self._active[queue_key]
                if not queue:
                    self._queues.pop(queue_key, None)
            if not self.pending:
                self._idle.set()

    def drop_queued(self) -> None:
        """Forget what is queued but not started (after losing the leadership)."""
        for queue in self._queues.values():
            while queue:
                self.pending.discard(queue.popleft().key)
        if not self.pending:
            self._idle.set()

    async def idle(self, seconds: float | None = None) -> None:
        """Wait until every queued job is done."""
        await asyncio.wait_for(self._idle.wait(), seconds)

    async def stop(self) -> None:
        self.drop_queued()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# ---- the clock ----------------------------------------------------------------------------------


class Clock:
    """One process's clock: leads or waits, and when leading keeps every schedule."""

    def __init__(
        self,
        services: Services,
        router: Router,
        config: ClockConfig,
        *,
        now: Now = system_now,
        leadership: Leadership | None = None,
    ) -> None:
        self.services = services
        self.db = services.db
        self.config = config
        self.now = now
        self.leadership = leadership or leadership_for(services.db)
        self.pacing = Pacing(config.send_rate)
        self.deliverer = Deliverer(services, router, self.pacing, config.policy(), now)
        self.dispatcher = Dispatcher(self.deliverer, config.workers, self._done)
        self.digests = DigestClock(
            self.deliverer,
            self.dispatcher.submit,
            timezone=config.timezone,
            catchup=config.catchup + GRACE,
            lookback=config.lookback,
        )
        self.leading = False
        self.scheduler: AsyncIOScheduler | None = None
        self._settled: dict[tuple[str, int, str], dt.datetime] = {}
        self._elected = False
        self._tick_lock = asyncio.Lock()
        self._bad_schedules: set[int] = set()
        self._started_sending: float | None = None
        self.ticks = 0  # ticks completed while leading (for the log and for tests)
        self._ticked = asyncio.Condition()

    # ---- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Take the lead if possible (ClockRefused on SQLite when another clock runs), then tick."""
        await self._lead()
        if not self.leading:
            log.info("another clock leads; this one waits and takes over if it stops")
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not a line per tick
        self.scheduler = AsyncIOScheduler(timezone=dt.UTC)
        started = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
        # Ticks on a grid from the start of the minute (:00, :15, …), so a 10:00 check-in leaves
        # at 10:00; and one tick right away, for what fell due while no clock ran.
        self.scheduler.add_job(
            self.tick,
            IntervalTrigger(seconds=self.config.tick, start_date=started, timezone=dt.UTC),
            id="clock-tick",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        self.scheduler.add_job(self.tick, DateTrigger(timezone=dt.UTC), id="clock-first-tick")
        self.scheduler.start()
        log.info(
            "clock started: a tick every %g s, leases of %g s, catch-up %g h (database %s)",
            self.config.tick,
            self.config.lease,
            self.config.catchup_hours,
            self.db.safe_url,
        )

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        try:
            async with asyncio.timeout(10), self._tick_lock:  # let a running tick finish
                pass
        except TimeoutError:
            log.warning("a tick was still running when the clock stopped")
        await self.dispatcher.stop()
        await self.leadership.release()
        self.leading = False

    # ---- one tick ---------------------------------------------------------------------------

    async def tick(self) -> None:
        """Everything the clock does, once; safe to call at any time (tests call it directly)."""
        async with self._tick_lock:
            try:
                if not await self._lead():
                    return
                now = self.now()
                if self._elected and getattr(self.leadership, "sole", False):
                    async with self.db.transaction() as session:
                        orphans = await release_orphans(session, now)
                    if orphans:
                        log.info("%d sends claimed by a clock that died are taken over now", orphans)
                elected = self._elected
                planned = await self.plan(now)
                planned += await self.digests.plan(now, elected)
                recovered = await self.recover(now)
                reminded = await self.remind(now)
                closed = await self.close(now)
                overdue = await self.overdue(now)
            except ClockRefused:
                raise
            except Exception:
                log.exception("the clock's tick failed; trying again at the next")
                return
            async with self._ticked:
                self.ticks += 1
                self._ticked.notify_all()
            if planned or recovered or reminded or closed or overdue:
                log.info(
                    "due now: %d occurrences, %d claims taken over, %d reminders, %d check-ins closed, "
                    "%d overdue pain points",
                    planned,
                    recovered,
                    reminded,
                    closed,
                    overdue,
                )

    async def _lead(self) -> bool:
        if self.leading:
            if await self.leadership.holds():
                return True
            self.leading = False
            self.dispatcher.drop_queued()
            log.warning("this clock no longer leads; it waits and tries again")
            return False
        try:
            acquired = await self.leadership.acquire()
        except ClockRefused:
            raise
        except Exception:
            log.warning("the clock cannot reach the database to take the lead", exc_info=True)
            return False
        if acquired:
            self.leading = True
            self._elected = True
            log.info("this clock leads (process %d)", os.getpid())
        return acquired

    async def plan(self, now: dt.datetime) -> int:
        """Queue what fell due and is neither in the ledger nor queued; how many were queued."""
        catchup = self.config.catchup + GRACE
        since = now - (self.config.lookback if self._elected else catchup)
        async with self.db.sessions() as session:
            rows = await schedules(session)
            if self._elected:
                known = await settled_slots(session, since - dt.timedelta(days=2))
                self._settled = {key: now for key in known}
        self._elected = False
        late_before = now - catchup
        queued = 0
        for index, row in enumerate(rows):
            for job in self._due(row, since, now, late_before):
                if self.dispatcher.submit(job):
                    queued += 1
            if index % 500 == 499:
                await asyncio.sleep(0)  # let the first deliveries start while the rest is planned
        self._forget_settled(now)
        return queued

    def _due(
        self, row: ScheduleRow, since: dt.datetime, now: dt.datetime, late_before: dt.datetime
    ) -> list[Job]:
        try:
            schedule = Schedule(row.cadence, row.day, row.time, row.ask)
        except ValueError as exc:
            if row.project_id not in self._bad_schedules:
                self._bad_schedules.add(row.project_id)
                log.warning("project %d has a schedule the clock cannot read: %s", row.project_id, exc)
            return []
        tz = zone(row.tz, self.config.timezone)
        jobs = []
        for occurrence in occurrences(schedule, tz, max(since, row.created_at), now):
            slot = occurrence.slot.isoformat()
            key = (occurrence.kind, row.project_id, slot)
            if key in self._settled:
                continue
            jobs.append(
                Job(
                    "occurrence",
                    row.org_id,
                    self.deliverer.platform_for(row.platforms),
                    project_id=row.project_id,
                    kind=occurrence.kind,
                    occurrence=occurrence.at,
                    slot=occurrence.slot,
                    late_before=late_before,
                    key=key,
                )
            )
        return jobs

    def _done(self, job: Job, outcome: str | None) -> None:
        if job.what == "occurrence" and outcome is not None and job.occurrence is not None:
            self._settled[job.key] = job.occurrence  # type: ignore[index]
        if outcome in ("sent", "found") and self._started_sending is None:
            self._started_sending = time.monotonic()
        if not self.dispatcher.pending and self._started_sending is not None:
            took = time.monotonic() - self._started_sending
            sent = self.dispatcher.counts.get("sent", 0) + self.dispatcher.counts.get("found", 0)
            log.info("all caught up: %s in %.1f s", _summary(self.dispatcher.counts), took)
            if sent >= 100:
                log.info("sending rate: %.1f messages a second", sent / max(took, 1e-9))
            self.dispatcher.counts.clear()
            self._started_sending = None

    def _forget_settled(self, now: dt.datetime) -> None:
        horizon = now - self.config.lookback - dt.timedelta(days=2)
        if len(self._settled) > 1000:
            self._settled = {key: at for key, at in self._settled.items() if at > horizon}

    async def recover(self, now: dt.datetime) -> int:
        """Take over expired claims (a clock died between claim and record) and queue them."""
        lease = dt.timedelta(seconds=self.config.lease)
        jobs: list[Job] = []
        async with self.db.transaction() as session:
            for row in await expired_claims(session, now, lease):
                if row.id in self.dispatcher.in_flight or ("resume", row.id) in self.dispatcher.pending:
                    continue
                new_lease = now + lease
                if await extend_lease(session, row.id, row.lease_until, new_lease, take_over=True):
                    log.info(
                        "delivery %d was claimed at %s and never recorded: taking it over",
                        row.id,
                        row.claimed_at,
                    )
                    jobs.append(
                        Job(
                            "resume",
                            row.org_id,
                            delivery_id=row.id,
                            lease_until=new_lease,
                            key=("resume", row.id),
                        )
                    )
        for job in jobs:  # after the commit, so that the worker sees the new lease
            self.dispatcher.submit(job)
        return len(jobs)

    async def remind(self, now: dt.datetime) -> int:
        async with self.db.sessions() as session:
            due = await reminders_due(session, now)
        return sum(
            self.dispatcher.submit(
                Job("reminder", org_id, key=("reminder", checkin_id), checkin_id=checkin_id)
            )
            for org_id, checkin_id in due
        )

    async def close(self, now: dt.datetime) -> int:
        async with self.db.transaction() as session:
            stale = await stale_checkins(session, now)
            if not stale:
                return 0
            await close_stale(session, now)
        for org_id, checkin_id, _ in stale:
            self.dispatcher.submit(Job("update", org_id, key=("update", checkin_id), checkin_id=checkin_id))
        return len(stale)

    async def overdue(self, now: dt.datetime) -> int:
        """Remind owners of pain points past their due date: claimed and committed, then sent."""
        async with self.db.transaction() as session:
            outbox = await due_reminders(session, now)
        for org_id, point_id, reminder in outbox:
            for problem in await deliver(self.services, org_id, [reminder]):
                async with self.db.transaction() as session:
                    again = await reminder_failed(session, point_id, problem, now)
                log.warning(
                    "the reminder of overdue pain point #%d was not delivered (%s)%s",
                    point_id,
                    problem,
                    "; it will be tried again" if again else "; no more tries",
                )
        return len(outbox)

    async def wait_ticks(self, count: int, within: float = 30.0) -> None:
        """Wait until `count` ticks have completed while leading."""
        async with asyncio.timeout(within), self._ticked:
            await self._ticked.wait_for(lambda: self.ticks >= count)

    async def idle(self, seconds: float | None = 30.0) -> None:
        """Wait until every queued delivery is done (for tests and a graceful stop)."""
        await self.dispatcher.idle(seconds)


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {outcome}" for outcome, count in sorted(counts.items())) or "nothing"


def clock_for(services: Services, settings: Any, **overrides: Any) -> Clock:
    """The clock of a running bot, configured from its Settings (overrides: ClockConfig fields)."""
    router = services.messenger
    if not isinstance(router, Router):
        raise TypeError("the clock sends through bot.channels.Router")
    config = ClockConfig(
        catchup_hours=settings.pmo_catchup_hours,
        timezone=settings.pmo_timezone,
        send_rate=settings.pmo_send_rate,
        **{name: value for name, value in overrides.items() if value is not None},
    )
    return Clock(services, router, config)


async def start_clock(
    services: Services, settings: Any, *, required: bool = True, **overrides: Any
) -> Clock | None:
    """Start the clock of a running bot (bot/runtime.py's lifespan).

    `required=False` is for `serve`: when another clock already runs against the SQLite database,
    the web server runs on without one and says why; `clock` itself refuses (ClockRefused).
    """
    clock = clock_for(services, settings, **overrides)
    try:
        await clock.start()
    except ClockRefused as exc:
        if required:
            raise
        log.error("this process runs without the scheduler: %s", exc)
        return None
    return clock
