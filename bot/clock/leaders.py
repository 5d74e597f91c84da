"""How many clocks lead against this database, seen from any process (for GET /metrics).

A web process runs no clock of its own in production (`serve --no-scheduler` beside `clock`), and
the clock process serves no HTTP; so "is some clock leading?" is asked of what the leader holds:
on PostgreSQL its advisory lock (pg_locks), on SQLite its flock on the lock file (/proc/locks, or
else whether the process named in the file is alive). Nothing here takes or touches the lock.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import text

from bot.clock.scheduler import LOCK_KEY, SqliteLeadership
from storage.db import Database

# pg_try_advisory_lock(bigint) shows in pg_locks as classid (high 32 bits), objid (low), objsubid 1
_PG_LEADERS = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
    " AND classid = :high AND objid = :low"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


async def clock_leaders(db: Database) -> int:
    """0 or 1 (2 would be a bug the alerts should show); raises when the database cannot say."""
    if not db.is_sqlite:
        async with db.engine.connect() as conn:
            found = await conn.execute(_PG_LEADERS, {"high": LOCK_KEY >> 32, "low": LOCK_KEY & 0xFFFFFFFF})
            return int(found.scalar() or 0)
    path = SqliteLeadership(db).path
    return int(path is not None and _flock_held(path))


def _flock_held(path: Path) -> bool:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return False  # a clock that stops cleanly removes its file
    try:
        locks = Path("/proc/locks").read_text()
    except OSError:
        return _holder_alive(path)
    for line in locks.splitlines():  # "1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234567 0 EOF"
        fields = line.split()
        if len(fields) > 5 and fields[1] == "FLOCK" and fields[5].count(":") == 2:
            major, minor, inode = fields[5].split(":")
            if (int(major, 16), int(minor, 16), int(inode)) == (
                os.major(stat.st_dev),
                os.minor(stat.st_dev),
                stat.st_ino,
            ):
                return True
    return False


def _holder_alive(path: Path) -> bool:
    """Where /proc/locks cannot be read: whether the process the lock file names still runs."""
    try:
        pid = int(path.read_text().strip() or 0)
        os.kill(pid, 0)
    except (ValueError, OSError):
        return False
    return pid > 0
