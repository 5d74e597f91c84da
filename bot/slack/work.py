"""Work done after Slack has been acknowledged: a few jobs at a time, and acknowledgements first.

Slack wants every request acknowledged within three seconds; the work behind it (a database
transaction, a chat.update, a respond()) may take longer under a burst. Jobs go into a queue
served by a few workers: the event loop keeps answering new requests promptly, the database is
never asked for more connections than its pool has (an unbounded burst would wait on the pool
and time out after 30 s), and memory stays bounded. Two workers are enough: SQLite writes one
transaction at a time, and the process has one core's worth of Python for acknowledgements and
work together (bench/RESULTS.md). A job that finds the queue full runs at once instead, which
slows the burst down rather than dropping anything.

The work shares that one core with the acknowledgements, and a rating click's work costs about
ten times its acknowledgement. So a worker starts its next job only while no Slack request is
being acknowledged (`Acknowledgements`), or once the job has been queued for `DEFER_LIMIT`
seconds: in a burst the acknowledgements go first and no job waits more than a second for them;
at ordinary traffic nothing is being acknowledged at a given moment, so nothing waits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]
WORKERS = 2
LIMIT = 10_000
DEFER_LIMIT = 1.0  # seconds a job may wait for acknowledgements under way


class Acknowledgements:
    """How many Slack requests are being handled up to their acknowledgement, right now."""

    def __init__(self) -> None:
        self.open = 0
        self._quiet = asyncio.Event()
        self._quiet.set()

    @contextmanager
    def handling(self) -> Iterator[None]:
        """Around one request, from its arrival until its acknowledgement is ready."""
        self.open += 1
        self._quiet.clear()
        try:
            yield
        finally:
            self.open -= 1
            if self.open == 0:
                self._quiet.set()

    async def quiet(self, deadline: float) -> None:
        """Return once no request is being acknowledged, or at `deadline` (loop time) at the latest."""
        loop = asyncio.get_running_loop()
        while self.open and (left := deadline - loop.time()) > 0:
            try:
                await asyncio.wait_for(self._quiet.wait(), left)
            except TimeoutError:
                return


class WorkQueue:
    def __init__(
        self,
        workers: int = WORKERS,
        limit: int = LIMIT,
        *,
        acks: Acknowledgements | None = None,
        defer_limit: float = DEFER_LIMIT,
    ) -> None:
        self.workers = workers
        self.limit = limit
        self.acks = acks
        self.defer_limit = defer_limit
        self._queue: asyncio.Queue[tuple[Job, float]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._overflow: set[asyncio.Task[None]] = set()

    def _ensure_started(self) -> asyncio.Queue[tuple[Job, float]]:
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
        queue.put_nowait((job, asyncio.get_running_loop().time()))

    @property
    def pending(self) -> int:
        return (self._queue.qsize() if self._queue else 0) + len(self._overflow)

    async def _work(self, queue: asyncio.Queue[tuple[Job, float]]) -> None:
        while True:
            job, submitted = await queue.get()
            try:
                if self.acks is not None:
                    await self.acks.quiet(submitted + self.defer_limit)
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
