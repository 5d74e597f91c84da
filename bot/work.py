"""The work behind acknowledgements, durable: recorded in the inbox first, run by a few workers.

A channel calls `accept()` before it acknowledges a request: the job is committed to the inbox
(handlers/inbox.py) or the request is refused. The workers then run it through the handler the
channel registered for its kind, and delete the row when it is done. Why this shape:

- Nothing acknowledged lives only in memory. A process killed with a queue full of jobs leaves
  their rows; the sweep of whichever process comes next takes them over once their lease ends.
- Bursts are bounded by the database, not by memory: at most `HELD` jobs wait in this process's
  queue (a few hundred bytes each); past that a job is recorded for anyone to take, and the
  sweep brings it in when there is room. Two workers, so the pool is never asked for more
  connections than it has (an unbounded burst waited on the pool and timed out after 30 s).
- Acknowledgements first: a rating click's work costs about ten times its acknowledgement, and
  both share one core's worth of Python. In a burst a worker starts its next job only once the
  burst's acknowledgements are out (`Acknowledgements`), or once the job has waited `DEFER_LIMIT`
  seconds.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from typing import Any

from bot.logs import request_id, requesting
from handlers import inbox
from handlers.inbox import MAX_ATTEMPTS, Inbox, Job, Retry, Unrecorded
from handlers.outbox import deliver
from handlers.ports import Services

log = logging.getLogger(__name__)

Handler = Callable[[Job], Awaitable[None]]
WORKERS = 2
HELD = 1_000  # jobs queued in memory at most; the rest wait in the inbox table
DEFER_LIMIT = 1.0  # seconds a job may wait for acknowledgements under way
BUSY_AT = 8  # requests being acknowledged at once that make a burst (see Acknowledgements)
SWEEP_EVERY = 1.0  # seconds between looks for jobs nobody holds (another process died, or overflow)
RETRY_AFTER = (1.0, 5.0, 15.0, 30.0, 60.0)  # after a passing failure, by attempt

__all__ = ["Acknowledgements", "DurableWork", "Unrecorded"]


class Acknowledgements:
    """How many requests are being handled up to their acknowledgement, right now.

    A burst is `busy_at` or more at once. Fewer is ordinary traffic, where work need not wait:
    an acknowledgement now includes its inbox commit (a few milliseconds), so at a steady hundred
    clicks a second one or two are nearly always under way, and waiting for none at all would
    hold every job for the whole `DEFER_LIMIT`."""

    def __init__(self, busy_at: int = BUSY_AT) -> None:
        self.open = 0
        self.busy_at = busy_at
        self._quiet = asyncio.Event()
        self._quiet.set()

    @contextmanager
    def handling(self) -> Iterator[None]:
        """Around one request, from its arrival until its acknowledgement is ready."""
        self.open += 1
        if self.open >= self.busy_at:
            self._quiet.clear()
        try:
            yield
        finally:
            self.open -= 1
            if self.open < self.busy_at:
                self._quiet.set()

    async def quiet(self, deadline: float) -> None:
        """Return once no burst is being acknowledged, or at `deadline` (loop time) at the latest."""
        loop = asyncio.get_running_loop()
        while self.open >= self.busy_at and (left := deadline - loop.time()) > 0:
            try:
                await asyncio.wait_for(self._quiet.wait(), left)
            except TimeoutError:
                return


class DurableWork:
    """One process's share of the inbox: accept jobs, run them, take over those left by others."""

    def __init__(
        self,
        box: Inbox,
        services: Services,
        *,
        acks: Acknowledgements | None = None,
        workers: int = WORKERS,
        held: int = HELD,
        defer_limit: float = DEFER_LIMIT,
        sweep_every: float = SWEEP_EVERY,
    ) -> None:
        self.inbox = box
        self.services = services
        self.acks = acks or Acknowledgements()
        self.workers = workers
        self.held = held
        self.defer_limit = defer_limit
        self.sweep_every = sweep_every
        self.handlers: dict[str, Handler] = {}
        self._queue: asyncio.Queue[tuple[Job, float, str | None]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = asyncio.Event()

    def register(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    # ---- accepting ----------------------------------------------------------------------------

    async def accept(self, platform: str, kind: str, body: dict[str, Any], *, run: bool = True) -> Job:
        """Record the job durably (raises `Unrecorded` if it cannot be); queue it unless `run` is False.

        With `run=False` the caller runs it now itself (`run_now`), e.g. a modal submission whose
        errors must be in the acknowledgement."""
        queue = self._ensure_started()
        hold = not run or queue.qsize() < self.held
        job = await self.inbox.record(platform, kind, body, hold=hold)
        if run and hold:
            self._busy += 1
            self._idle.clear()
            # the request's id goes with the job, so that its worker's log lines name the request
            queue.put_nowait((job, asyncio.get_running_loop().time(), request_id.get()))
        return job

    @asynccontextmanager
    async def inline(self, platform: str, kind: str, body: dict[str, Any]) -> AsyncIterator[Job]:
        """Work done inside its own request (Teams, the console answer when it is done): recorded
        first, marked by its use case as it goes, deleted when the request is answered. A crash in
        between leaves the row, and the kind's handler finishes what the use case had queued."""
        self._ensure_started()
        job = await self.inbox.record(platform, kind, body)
        try:
            with inbox.running(job.id):
                yield job
        finally:
            self.inbox.finish(job.id)

    async def run_now(self, job: Job) -> None:
        self._busy += 1
        self._idle.clear()
        try:
            await self._run(job)
        finally:
            self._done()

    # ---- running ------------------------------------------------------------------------------

    def _ensure_started(self) -> asyncio.Queue[tuple[Job, float, str | None]]:
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._tasks = [asyncio.create_task(self._work(self._queue)) for _ in range(self.workers)]
            self._tasks.append(asyncio.create_task(self._keep_leases()))
        return self._queue

    def start(self) -> None:
        """Start the workers and the sweep now (a process that resumes what another left)."""
        self._ensure_started()

    async def _work(self, queue: asyncio.Queue[tuple[Job, float, str | None]]) -> None:
        while True:
            job, queued, rid = await queue.get()
            try:
                await self.acks.quiet(queued + self.defer_limit)
                with requesting(rid):
                    await self._run(job)
            finally:
                self._done()
                queue.task_done()

    def _done(self) -> None:
        self._busy -= 1
        if self._busy == 0:
            self._idle.set()

    async def _run(self, job: Job) -> None:
        handler = self.handlers.get(job.kind)
        if handler is None:
            log.error(
                "inbox job %s has kind %r, which no channel here handles; left for another", job.id, job.kind
            )
            await self._quietly(self.inbox.put_back(job.id, RETRY_AFTER[-1]))
            return
        if job.attempts > MAX_ATTEMPTS:
            log.error(
                "inbox job %s (%s) was taken over %d times; kept as failed",
                job.id,
                job.kind,
                job.attempts - 1,
            )
            await self._quietly(self.inbox.fail(job.id, "taken over too often"))
            return
        try:
            with inbox.running(job.id):
                await self._resume_sends(job)
                await handler(job)
        except Retry as exc:
            delay = RETRY_AFTER[min(job.attempts, len(RETRY_AFTER)) - 1] * random.uniform(0.8, 1.2)
            log.warning("inbox job %s (%s) meets %s; again in %.0f s", job.id, job.kind, exc, delay)
            await self._quietly(self.inbox.put_back(job.id, delay))
            return
        except Exception:
            log.exception("inbox job %s (%s) failed", job.id, job.kind)
        self.inbox.finish(job.id)

    async def _resume_sends(self, job: Job) -> None:
        """A job whose use case committed before a crash: send what it queued, then the tail runs."""
        if job.state == "applied" and job.org_id is not None:
            await deliver(self.services, job.org_id, job.outbox())
            await inbox.sent(self.services.db)

    @staticmethod
    async def _quietly(step: Awaitable[None]) -> None:
        try:
            await step
        except Exception as exc:  # noqa: BLE001 - the lease runs out and the sweep retries anyway
            log.warning("inbox bookkeeping failed: %s", type(exc).__name__)

    async def _keep_leases(self) -> None:
        """Renew what this process holds; take what nobody holds while there is room.

        It ends when `stop()` says so, between two looks, never by cancellation: a transaction cut
        short by CancelledError leaves SQLAlchemy raising PendingRollbackError instead, which
        swallowed the cancellation and kept this loop (and so the shutdown) going for ever."""
        renew_every = self.inbox.lease / 3
        loop = asyncio.get_running_loop()
        renewed = loop.time()
        stopping = self._stopping
        while not stopping.is_set():
            try:
                if loop.time() - renewed >= renew_every:
                    await self.inbox.renew()
                    renewed = loop.time()
                queue = self._queue
                room = self.held - (queue.qsize() if queue else 0)
                if queue is not None and room > self.held // 2:
                    for job in await self.inbox.take(room):
                        self._busy += 1
                        self._idle.clear()
                        queue.put_nowait((job, loop.time(), None))  # its request was another process's
            except Exception as exc:  # noqa: BLE001 - the database is away; look again later
                log.warning("the inbox sweep failed: %s", type(exc).__name__)
            with suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.sweep_every)

    # ---- waiting and stopping -----------------------------------------------------------------

    @property
    def pending(self) -> int:
        return self._busy

    async def join(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109 - a bounded drain
        """Wait until every job accepted so far is done and its row deleted (tests, shutdown)."""
        await asyncio.wait_for(self._idle.wait(), timeout)
        await asyncio.wait_for(self.inbox.flush(), timeout)

    async def stop(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - a bounded drain
        """Finish what is queued (within `timeout`), then stop; what is left is free for the next process."""
        try:
            await self.join(timeout)
        except TimeoutError:
            log.warning("stopping with %d jobs unfinished; they stay in the inbox", self.pending)
        self._stopping.set()
        sweep, workers = self._tasks[-1:], self._tasks[:-1]
        for task in workers:  # waiting for a job, or cut short in one that stays in the inbox
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        with suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*sweep, return_exceptions=True), timeout)
        self._tasks = []
        self._queue = None
        self._busy = 0
        self._idle.set()
        self._stopping = asyncio.Event()
        try:
            await asyncio.wait_for(self.inbox.flush(), timeout)
            await asyncio.wait_for(self.inbox.release_all(), timeout)
        except Exception as exc:  # noqa: BLE001 - the leases run out and the next process takes over
            log.warning("the inbox could not be left tidy: %s", type(exc).__name__)
