"""The SQLite clock's lock file, in one process: two leaderships are two open files, as two clocks'."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.clock.scheduler import ClockRefused, SqliteLeadership
from storage.db import Database


@pytest.fixture
async def database(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'pmo.db'}")
    yield db  # type: ignore[misc]
    await db.dispose()


async def test_a_clean_release_removes_the_lock_file_and_the_next_clock_makes_its_own(
    database: Database, tmp_path: Path
) -> None:
    lock = tmp_path / "pmo.db.clock-lock"
    first, second = SqliteLeadership(database), SqliteLeadership(database)
    assert await first.acquire()
    assert lock.read_text() == str(os.getpid())
    with pytest.raises(ClockRefused):
        await second.acquire()
    await first.release()
    assert not lock.exists()
    assert await second.acquire()
    assert lock.exists()
    await second.release()
    assert not lock.exists()


class RacedLeadership(SqliteLeadership):
    """Between this clock's open and its lock, the old leader stops and removes the file."""

    raced = False

    def _still_there(self, fd: int) -> bool:
        if not self.raced:
            self.raced = True
            assert self.path is not None
            self.path.unlink()
        return super()._still_there(fd)


async def test_a_lock_on_a_file_removed_meanwhile_is_let_go_and_taken_on_the_new_file(
    database: Database, tmp_path: Path
) -> None:
    """Else the late clock would lead on the removed file while a third leads on a new one."""
    lock = tmp_path / "pmo.db.clock-lock"
    lock.write_text("4242")  # the old leader's file
    late = RacedLeadership(database)
    assert await late.acquire()
    assert late.raced
    assert lock.read_text() == str(os.getpid())
    assert late.fd is not None and os.path.samestat(os.fstat(late.fd), lock.stat())
    with pytest.raises(ClockRefused):
        await SqliteLeadership(database).acquire()
    await late.release()
    assert not lock.exists()
