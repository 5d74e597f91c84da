"""storage.db: which failures mean "the database cannot be used", and URLs shown without secrets."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from storage.db import async_url, shown_url, unavailable_reason


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("postgresql://pmo:s3cret@db:5432/pmo", "postgresql://pmo:***@db:5432/pmo"),
        ("postgres://pmo:s3cret@db/pmo", "postgres://pmo:***@db/pmo"),
        (
            "postgresql://pmo@db/pmo?password=s3cret&sslmode=require",
            "postgresql://pmo@db/pmo?password=***&sslmode=require",
        ),
        ("sqlite:///pmo.db", "sqlite:///pmo.db"),
    ],
)
def test_shown_url_hides_every_password(raw: str, shown: str) -> None:
    assert shown_url(raw) == shown


def sqlite_error(cls: type[Exception], message: str, name: str) -> Exception:
    orig = sqlite3.OperationalError(message)
    orig.sqlite_errorname = name  # type: ignore[attr-defined]
    return cls("SELECT 1", {}, orig)


def test_a_constraint_or_a_missing_table_is_a_bug_not_an_outage(tmp_path: Path) -> None:
    url = async_url(f"sqlite:///{tmp_path / 'pmo.db'}")
    assert (
        unavailable_reason(sqlite_error(IntegrityError, "UNIQUE failed", "SQLITE_CONSTRAINT_UNIQUE"), url)
        is None
    )
    assert unavailable_reason(sqlite_error(OperationalError, "no such table: x", "SQLITE_ERROR"), url) is None
    assert unavailable_reason(BrokenPipeError(32, "Broken pipe"), async_url("postgresql://u@h/d")) is None
    assert unavailable_reason(ValueError("x"), url) is None


def test_sqlite_reasons_name_the_file(tmp_path: Path) -> None:
    url = async_url(f"sqlite:///{tmp_path / 'pmo.db'}")
    locked = sqlite_error(OperationalError, "database is locked", "SQLITE_BUSY")
    assert unavailable_reason(locked, url) == f"{tmp_path / 'pmo.db'} is locked by another process"
