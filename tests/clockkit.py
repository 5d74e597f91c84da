"""Running the real `python app.py clock` against the fake Slack, for crash tests and bench/fanout.py.

`seed()` fills a database with sponsors due at one minute; `ClockProcess` starts the clock as its
own process (so that SIGKILL is a real crash), follows its log, and reads its peak memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import signal
import sys
from pathlib import Path

from sqlalchemy import func, insert, select

from storage.db import Database
from storage.models import Delivery, Identity, Person, Project
from storage.queries import get_or_create_org

APP = Path(__file__).resolve().parents[1] / "app.py"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
ADMIN = "UADMIN001"
CHUNK = 1000


def user_id(index: int) -> str:
    return f"U{index:08d}"


async def seed(db: Database, count: int, due: dt.datetime) -> list[str]:
    """An admin and `count` sponsors on Slack, each with a weekly project due at `due` (UTC)."""
    made = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=1)
    async with db.transaction() as session:
        org = await get_or_create_org(session)
        org_id = org.id
        start = int(await session.scalar(select(func.coalesce(func.max(Person.id), 0))) or 0) + 1
        admin = {"id": start, "org_id": org_id, "name": "Ada Admin", "role": "admin", "unreachable": False}
        people = [admin] + [
            {"id": start + 1 + i, "org_id": org_id, "name": f"Sponsor {i}", "role": "member", "tz": "UTC",
             "unreachable": False}
            for i in range(count)
        ]  # fmt: skip
        for row in people:
            row.setdefault("tz", None)
            row["created_at"] = made
        for offset in range(0, len(people), CHUNK):
            await session.execute(insert(Person), people[offset : offset + CHUNK])
        identities = [{"org_id": org_id, "person_id": start, "platform": "slack", "external_id": ADMIN}] + [
            {"org_id": org_id, "person_id": start + 1 + i, "platform": "slack", "external_id": user_id(i)}
            for i in range(count)
        ]
        for offset in range(0, len(identities), CHUNK):
            await session.execute(insert(Identity), identities[offset : offset + CHUNK])
        projects = [
            {
                "org_id": org_id,
                "name": f"Project {i}",
                "name_key": f"project {i}",
                "sponsor_id": start + 1 + i,
                "cadence": "weekly",
                "day": due.strftime("%a").lower(),
                "time": due.strftime("%H:%M"),
                "ask": "off",
                "archived": False,
                "created_at": made,
            }
            for i in range(count)
        ]
        for offset in range(0, len(projects), CHUNK):
            await session.execute(insert(Project), projects[offset : offset + CHUNK])
    if not db.is_sqlite:  # explicit ids: move the sequence past them
        async with db.transaction() as session:
            await session.execute(
                select(func.setval("people_id_seq", select(func.max(Person.id)).scalar_subquery()))
            )
    return [user_id(i) for i in range(count)]


async def ledger(db: Database) -> dict[str, int]:
    """How many ledger rows have each status."""
    async with db.sessions() as session:
        rows = await session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
        return {status: count for status, count in rows}


def clock_env(database_url: str, slack_url: str, rate: float | None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "MICROSOFT_", "PMO_", "DATABASE_URL", "LOCAL_CONSOLE"))
    }
    env.update(
        DATABASE_URL=database_url,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_url,
        PMO_ADMINS=ADMIN,
        PYTHONUNBUFFERED="1",
    )
    if rate is not None:
        env["PMO_SEND_RATE"] = str(rate)
    return env


class ClockProcess:
    """`python app.py clock` as a child process, its log lines kept as they come."""

    def __init__(self, env: dict[str, str], cwd: Path, *args: str, command: str = "clock") -> None:
        self.command = command
        self.env = env
        self.cwd = cwd
        self.args = args
        self.process: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []
        self._changed = asyncio.Condition()
        self._reader: asyncio.Task[None] | None = None
        self.peak_rss_kb = 0
        self._sampler: asyncio.Task[None] | None = None

    async def start(self) -> ClockProcess:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, str(APP), self.command, *self.args,
            cwd=self.cwd, env=self.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        self._reader = asyncio.create_task(self._read())
        self._sampler = asyncio.create_task(self._sample())
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        async for raw in self.process.stdout:
            async with self._changed:
                self.lines.append(raw.decode(errors="replace").rstrip())
                self._changed.notify_all()
        async with self._changed:
            self._changed.notify_all()

    async def _sample(self) -> None:
        """The peak resident memory (VmHWM) of the process, as long as it lives."""
        status = Path(f"/proc/{self.pid}/status")
        while self.process is not None and self.process.returncode is None:
            with contextlib.suppress(OSError):
                for line in (await asyncio.to_thread(status.read_text)).splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_rss_kb = max(self.peak_rss_kb, int(line.split()[1]))
            await asyncio.sleep(0.5)

    def saw(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    async def wait_for_line(self, text: str, within: float = 30.0) -> str:
        async def found() -> str:
            async with self._changed:
                await self._changed.wait_for(
                    lambda: self.saw(text) or (self.process is not None and self.process.returncode is not None
                                               and self._reader is not None and self._reader.done())
                )  # fmt: skip
            match = next((line for line in self.lines if text in line), None)
            if match is None:
                raise AssertionError(
                    f"the clock ended without saying {text!r}:\n" + "\n".join(self.lines[-30:])
                )
            return match

        try:
            return await asyncio.wait_for(found(), within)
        except TimeoutError:
            raise AssertionError(f"no {text!r} within {within}s:\n" + "\n".join(self.lines[-30:])) from None

    async def exited(self, within: float = 30.0) -> int:
        """Wait for the process to end by itself; its exit status."""
        assert self.process is not None
        code = await asyncio.wait_for(self.process.wait(), within)
        if self._reader is not None:
            await self._reader
        return code

    def kill(self) -> None:
        """SIGKILL: no cleanup, no last words, exactly like a crash."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)

    async def stop(self, within: float = 20.0) -> int:
        """SIGTERM (a graceful stop), or SIGKILL when it does not stop in time; the exit status."""
        assert self.process is not None
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), within)
            except TimeoutError:
                self.kill()
        code = await self.process.wait()
        if self._reader is not None:
            await self._reader
        if self._sampler is not None:
            self._sampler.cancel()
        return code
