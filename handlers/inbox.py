"""The durable inbox: work a platform was told had succeeded, kept in the database until done.

CONTRACT section 8: an acknowledged click, form or command survives a `kill -9`. So a channel
records the request here before it acknowledges it, and the work runs afterwards from the row.
Rows are written in groups (one transaction for every request that arrived during the previous
commit), so a burst costs a commit per group, not per request; `record` returns only once its row
is committed, and refuses (`Unrecorded`) when it cannot be, so nothing is acknowledged that the
database did not take.

Each row carries a lease like the clock's delivery ledger: the process that recorded it holds it
(until the request is answered, even a row meant for any process: a refused request's row that
commits late is deleted, never taken) and renews it while the work waits; a process that dies stops renewing, and any process whose
sweep finds the lease expired takes the row over (on PostgreSQL `FOR UPDATE SKIP LOCKED`, so
several web processes share the inbox). A row is deleted when its work is done.

Resuming must not repeat what was done before the crash. The use case's own transaction marks
the row `applied` and stores its reply and outbox (`applied()`, called by handlers.outbox.perform
while a job is running, see `running`); a resumed job then skips the use case and only sends.
Once the outbox's new posts are out the row says `sent`, so a resumed job does not post them
again; updates of earlier messages are repeated harmlessly.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import _
from handlers.ports import Outgoing, Reply
from handlers.views import View, view_from_dict
from storage.db import Database, utcnow
from storage.models import InboxJob
from storage.sqlite_writes import urgent

log = logging.getLogger(__name__)

LEASE = 10.0  # seconds a process holds a job it has not finished; renewed every LEASE / 3
BATCH = 500  # rows written in one transaction at most
DELETE_DELAY = 0.02  # seconds done jobs' deletes wait for company (a new row, or more deletes)
MAX_ATTEMPTS = 5  # a job taken over this often is kept as `failed` for operators, not tried again
RESUMABLE = ("new", "applied", "sent")
NOT_RECORDED = _("Sorry, I could not record that just now; nothing was done. Please try again in a minute.")


class Unrecorded(Exception):
    """The request could not be recorded, so it must not be acknowledged as a success."""


class Retry(Exception):
    """The job met a passing failure (the database is busy or away): run it again later."""


@dataclass
class Job:
    """One row of the inbox as the worker runs it; `done` is the reply of a use case that committed."""

    id: str
    platform: str
    kind: str
    body: dict[str, Any]
    state: str = "new"
    result: dict[str, Any] | None = None
    attempts: int = 0

    @property
    def done(self) -> View | None:
        return view_from_dict(self.result["views"][self.result["view"]]) if self.result else None

    def outbox(self) -> list[Outgoing]:
        if not self.result:
            return []
        views = [view_from_dict(v) for v in self.result["views"]]
        return [outgoing_from_dict(item, views) for item in self.result["outbox"]]

    @property
    def org_id(self) -> int | None:
        return (self.result or {}).get("org_id")


# ---- the mark a running job leaves in its use case's transaction ----------------------------


@dataclass
class _Running:
    job_id: str
    posts: bool = False  # its use case queued new posts (not only updates of earlier messages)


_RUNNING: ContextVar[_Running | None] = ContextVar("pmo_inbox_job", default=None)


@contextmanager
def running(job_id: str) -> Iterator[None]:
    """Around a job's work: the use cases it runs record their outcome on its row."""
    token = _RUNNING.set(_Running(job_id))
    try:
        yield
    finally:
        _RUNNING.reset(token)


@contextmanager
def outside() -> Iterator[None]:
    """Work that records nothing of its own (a report in the slow lane's thread) marks no job."""
    token = _RUNNING.set(None)
    try:
        yield
    finally:
        _RUNNING.reset(token)


def in_job() -> bool:
    return _RUNNING.get() is not None


# A Core statement on the table, not the ORM entity: the ORM's bulk UPDATE would first flush the
# use case's objects and then look for the row among them to keep it in step (it is never loaded),
# about a fifth of a millisecond per job of work nobody needs; the flush happens at commit anyway.
_INBOX = InboxJob.__table__
_APPLIED = (
    update(_INBOX)
    .where(_INBOX.c.id == bindparam("job_id"))
    .values(state="applied", result=bindparam("result", type_=_INBOX.c.result.type))
)


async def applied(session: AsyncSession, org_id: int, reply: Reply) -> None:
    """Inside a use case's transaction: if a job runs it, its row says so, with what to send."""
    mark = _RUNNING.get()
    if mark is None:
        return
    views: dict[int, int] = {}  # a view shown twice (the answer, and the message it updates) is stored once
    stored: list[dict[str, Any]] = []

    def index(view: View) -> int:
        if id(view) not in views:
            views[id(view)] = len(stored)
            stored.append(view.to_dict())
        return views[id(view)]

    result = {
        "org_id": org_id,
        "view": index(reply.view),
        "outbox": [outgoing_to_dict(item, index(item.view)) for item in reply.outbox],
        "views": stored,
    }
    await session.execute(_APPLIED, {"job_id": mark.job_id, "result": result})
    mark.posts = any(item.update_ref is None for item in reply.outbox)


async def sent(db: Database) -> None:
    """After a job's use case delivered its outbox: new posts are not sent again on resume."""
    mark = _RUNNING.get()
    if mark is None or not mark.posts:
        return  # updates of earlier messages are safe to repeat; saving the write keeps bursts fast
    async with db.transaction() as session:
        await session.execute(update(InboxJob).where(InboxJob.id == mark.job_id).values(state="sent"))


def outgoing_to_dict(item: Outgoing, view: int) -> dict[str, Any]:
    """The message to send, its view by its index among the result's views."""
    return {
        "view": view,
        "person_id": item.person_id,
        "channel": item.channel,
        "platform": item.platform,
        "checkin_id": item.checkin_id,
        "update_ref": item.update_ref,
        "alert": item.alert,
        "painpoint_id": item.painpoint_id,
        "language": item.language,
    }


def outgoing_from_dict(data: dict[str, Any], views: list[View]) -> Outgoing:
    return Outgoing(
        view=views[data["view"]],
        person_id=data.get("person_id"),
        channel=data.get("channel"),
        platform=data.get("platform"),
        checkin_id=data.get("checkin_id"),
        update_ref=data.get("update_ref"),
        alert=bool(data.get("alert")),
        painpoint_id=data.get("painpoint_id"),
        language=data.get("language"),
    )


# ---- the table ----------------------------------------------------------------------------


@dataclass
class _Pending:
    values: dict[str, Any]
    future: asyncio.Future[None]
    taken: bool = False
    abandoned: bool = False


_COLUMNS = ("id", "platform", "kind", "body", "state", "owner", "lease_until", "attempts", "received_at")


def _sqlite_group(
    processors: list[Any], rows: list[dict[str, Any]], deletes: list[str], releases: list[str]
) -> Any:
    """The group as plain sqlite3 statements, each value stored exactly as the column's own type
    stores it (`processors`: the columns' bind processors, JSON text and the datetime's text form)."""
    values = [
        tuple(
            value if proc is None else proc(value)
            for value, proc in zip((row[c] for c in _COLUMNS), processors, strict=True)
        )
        for row in rows
    ]

    def write(conn: Any) -> None:
        if values:
            conn.executemany(_INSERT, values)
        if deletes:
            conn.execute(f"DELETE FROM inbox WHERE id IN ({', '.join('?' for _ in deletes)})", deletes)
        if releases:
            marks = ", ".join("?" for _ in releases)
            conn.execute(f"UPDATE inbox SET owner = NULL, lease_until = NULL WHERE id IN ({marks})", releases)

    return write


_INSERT = f"INSERT INTO inbox ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"


def _give_up(pending: _Pending) -> None:
    """The person is told to try again, so the job must not run: a row not yet written never will
    be, and one being written now is deleted with the next group once it lands."""
    if not pending.future.done():
        pending.abandoned = True
        pending.future.set_exception(Unrecorded("the database did not answer in time"))


@dataclass
class Inbox:
    """The inbox table of one process: group-committed writes, leases, take-over of expired rows."""

    db: Database
    owner: str = field(default_factory=lambda: f"web-{uuid.uuid4().hex[:12]}")
    lease: float = LEASE
    _writes: list[_Pending] = field(default_factory=list)
    _deletes: list[str] = field(default_factory=list)
    _releases: list[str] = field(default_factory=list)
    _wake: asyncio.Event | None = None
    _writer: asyncio.Task[None] | None = None
    _processors: list[Any] | None = None

    def _lease_end(self, seconds: float | None = None) -> dt.datetime:
        return utcnow() + dt.timedelta(seconds=self.lease if seconds is None else seconds)

    async def record(
        self, platform: str, kind: str, body: dict[str, Any], *, hold: bool = True, within: float = 2.0
    ) -> Job:
        """Write the job and wait for its commit; `hold` keeps its lease here (this process runs it).

        Raises `Unrecorded` when the database refuses or does not commit `within` seconds: the
        caller then tells the person to try again instead of acknowledging."""
        job = Job(id=uuid.uuid4().hex, platform=platform, kind=kind, body=body)
        values = {
            "id": job.id,
            "platform": platform,
            "kind": kind,
            "body": body,
            "state": "new",
            # Held here even when not `hold`: until the caller has its answer nobody else may take
            # the row (a refused request's row, committed late, is deleted, never run); a row for
            # anyone is let go (`_releases`) once its request is acknowledged.
            "owner": self.owner,
            "lease_until": self._lease_end(),
            "attempts": 1 if hold else 0,
            "received_at": utcnow(),
        }
        loop = asyncio.get_running_loop()
        pending = _Pending(values, loop.create_future())
        self._writes.append(pending)
        self._kick()
        timer = loop.call_later(within, _give_up, pending)  # cheaper than wait_for in every request
        try:
            await pending.future
        finally:
            timer.cancel()
        job.attempts = values["attempts"]
        if not hold:
            self._releases.append(job.id)
            self._kick(arrived=False)
        return job

    def finish(self, job_id: str) -> None:
        """The job is done: its row goes with the next group commit (not awaited, see module doc)."""
        self._deletes.append(job_id)
        self._kick(arrived=False)

    def _kick(self, *, arrived: bool = True) -> None:
        if self._wake is None:
            self._wake = asyncio.Event()
        if arrived:
            self._wake.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_groups(self._wake))

    async def _write_groups(self, wake: asyncio.Event) -> None:
        """Commit what waits: new rows at once, ahead of other writers (acknowledgements wait for
        them); deletes of done jobs ride along, or go after `DELETE_DELAY` in a group of their own,
        so that a job finished is not a transaction of its own."""
        while self._writes or self._deletes or self._releases:
            if not self._writes:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), DELETE_DELAY)
            wake.clear()
            batch = [p for p in self._writes[:BATCH] if not p.abandoned]
            del self._writes[: min(BATCH, len(self._writes))]
            deletes, self._deletes = self._deletes[:BATCH], self._deletes[BATCH:]
            releases, self._releases = self._releases[:BATCH], self._releases[BATCH:]
            for p in batch:
                p.taken = True
                p.values["lease_until"] = self._lease_end()  # from the write on, however long it waited
            try:
                await self._write([p.values for p in batch], deletes, releases)
            except Exception as exc:  # noqa: BLE001 - every waiter hears of it; the log keeps one line
                log.warning("the inbox could not record %d requests: %s", len(batch), type(exc).__name__)
                for p in batch:
                    if not p.future.done():
                        p.future.set_exception(Unrecorded(str(exc)))
                self._deletes[:0] = deletes  # done jobs: try their deletes again with the next group
                self._releases[:0] = releases
                if not batch:
                    await asyncio.sleep(1.0)
                continue
            for p in batch:
                if p.abandoned:
                    self._deletes.append(p.values["id"])  # its request was refused meanwhile
                elif not p.future.done():
                    p.future.set_result(None)

    async def _write(self, rows: list[dict[str, Any]], deletes: list[str], releases: list[str]) -> None:
        """One transaction: new rows (ahead of other writers: acknowledgements wait for them) and
        the deletes of done jobs. On SQLite through the one-hop writer (storage/sqlite_writes.py)."""
        if self.db.direct is not None:
            if self._processors is None:
                dialect, table = self.db.engine.dialect, InboxJob.__table__
                self._processors = [
                    table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in _COLUMNS
                ]
            await self.db.direct.run(
                _sqlite_group(self._processors, rows, deletes, releases), first=bool(rows)
            )
            return
        with urgent() if rows else contextlib.nullcontext():
            async with self.db.transaction() as session:
                if rows:  # Core statements on the table: the ORM's bulk paths only add work here
                    await session.execute(insert(_INBOX), rows)
                if deletes:
                    await session.execute(delete(_INBOX).where(_INBOX.c.id.in_(deletes)))
                if releases:
                    await session.execute(
                        update(_INBOX).where(_INBOX.c.id.in_(releases)).values(owner=None, lease_until=None)
                    )

    async def flush(self) -> None:
        """Wait until every write and delete asked for so far is committed (shutdown, tests)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    async def take(self, limit: int) -> list[Job]:
        """Take over up to `limit` jobs whose lease expired or that nobody holds, oldest first.

        The update repeats the lease condition and says which rows it changed: on SQLite two
        processes may read the same free row before either writes, and only one may get it."""
        if limit <= 0:
            return []
        now = utcnow()
        free = (
            InboxJob.state.in_(RESUMABLE),
            or_(InboxJob.lease_until.is_(None), InboxJob.lease_until < now),
        )
        async with self.db.transaction() as session:
            query = select(InboxJob).where(*free).order_by(InboxJob.received_at, InboxJob.id).limit(limit)
            if not self.db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = list(await session.scalars(query))
            if not rows:
                return []
            taken = set(
                await session.scalars(
                    update(InboxJob)
                    .where(InboxJob.id.in_([row.id for row in rows]), *free)
                    .values(owner=self.owner, lease_until=self._lease_end(), attempts=InboxJob.attempts + 1)
                    .returning(InboxJob.id)
                    .execution_options(synchronize_session=False)  # the rows above keep what they read
                )
            )
            jobs = [
                Job(row.id, row.platform, row.kind, row.body, row.state, row.result, row.attempts + 1)
                for row in rows
                if row.id in taken
            ]
        return jobs

    async def renew(self) -> None:
        """Extend the leases of every job this process holds."""
        async with self.db.transaction() as session:
            await session.execute(
                update(InboxJob)
                .where(InboxJob.owner == self.owner, InboxJob.state.in_(RESUMABLE))
                .values(lease_until=self._lease_end())
            )

    async def put_back(self, job_id: str, after: float) -> None:
        """Let go of a job that met a passing failure: any process may take it in `after` seconds."""
        async with self.db.transaction() as session:
            await session.execute(
                update(InboxJob)
                .where(InboxJob.id == job_id)
                .values(owner=None, lease_until=self._lease_end(after))
            )

    async def fail(self, job_id: str, reason: str) -> None:
        """Keep a job that cannot be done for operators to see; it is not tried again."""
        async with self.db.transaction() as session:
            await session.execute(
                update(InboxJob).where(InboxJob.id == job_id).values(state="failed", error=reason[:2000])
            )

    async def release_all(self) -> None:
        """On a clean stop: whatever this process still holds is free for the next one at once."""
        async with self.db.transaction() as session:
            await session.execute(
                update(InboxJob)
                .where(InboxJob.owner == self.owner, InboxJob.state.in_(RESUMABLE))
                .values(owner=None, lease_until=None)
            )
