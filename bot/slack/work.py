"""Work done after Slack has been acknowledged: a few jobs at a time, so acknowledgements stay fast.

Slack wants every request acknowledged within three seconds; the work behind it (a database
transaction, a chat.update, a respond()) may take longer under a burst. Jobs go into a queue
served by a few workers: the event loop keeps answering new requests promptly, the database is
never asked for more connections than its pool has (an unbounded burst would wait on the pool
and time out after 30 s), and memory stays bounded. Two workers are enough: SQLite writes one
transaction at a time, and the process has one core's worth of Python for acknowledgements and
work together (bench/RESULTS.md). A job that finds the queue full runs at once instead, which
slows the burst down rather than dropping anything.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]
WORKERS = 2
LIMIT = 10_000


class WorkQueue:
    def __init__(self, workers: int = WORKERS, limit: int = LIMIT) -> None:
        self.workers = workers
        self.limit = limit
        self._queue: asyncio.Queue[Job] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._overflow: set[asyncio.Task[None]] = set()

    def _ensure_started(self) -> asyncio.Queue[Job]:
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._tasks = [asyncio.create_task(self._work(self._queue)) for _ in range(self.workers)]
        return self._queue

    def submit(self, job: Job) -> None:
        """Run `job` soon; never raises, never blocks the caller."""
        queue = self._ensure_started()
        if queue.qsize() >= self.limit:
            task = asyncio.create_task(self._run(job))
            self._overflow.add(task)
            task.add_done_callback(self._overflow.discard)
            return
        queue.put_nowait(job)

    @property
    def pending(self) -> int:
        return (self._queue.qsize() if self._queue else 0) + len(self._overflow)

    async def _work(self, queue: asyncio.Queue[Job]) -> None:
        while True:
            job = await queue.get()
            try:
                await self._run(job)
            finally:
                queue.task_done()

    @staticmethod
    async def _run(job: Job) -> None:
        try:
            await job()
        except Exception:
            log.exception("Slack work after the acknowledgement failed")

    async def join(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109 - a bounded drain
        """Wait until everything submitted so far is done (tests, shutdown)."""
        if self._queue is not None:
            await asyncio.wait_for(self._queue.join(), timeout)
        if self._overflow:
            await asyncio.wait_for(asyncio.gather(*self._overflow, return_exceptions=True), timeout)

    async def stop(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - a bounded drain
        """Finish what is queued (within `timeout`), then stop the workers."""
        try:
            await self.join(timeout)
        except TimeoutError:
            log.warning("stopping with %d Slack jobs unfinished", self.pending)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self._queue = None
