"""CSV import (CONTRACT.md section 6): all rows or none, in two streaming passes.

The first pass reads every row, checks it, and keeps only what the second pass and the
all-or-nothing promise need: the distinct projects and people named, and the keys that find
rows repeated within the file. Nothing is written unless the whole file is good. The second
pass reads the file again and writes it in batches (`handlers.csv.store`). A million-row file
therefore never sits in memory as a million Python objects.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import tempfile
from array import array
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.csv import store
from handlers.csv.formats import COLUMNS, KINDS, shown
from handlers.csv.refs import Refs, existing_projects
from handlers.csv.rows import PARSERS, OutcomeRow, PainpointRow, ProjectRow, ResponseRow, Row
from storage.queries import name_key

MAX_LISTED = 1000  # problems kept with their reason; a file of garbage must not exhaust memory


@dataclass(frozen=True)
class RowError:
    """One bad row: the physical line it starts on (the header is line 1) and what is wrong."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportResult:
    """What an import did; with errors, it did nothing at all."""

    kind: str
    created: int
    updated: int
    skipped: int
    errors: list[RowError]
    projects_created: int = 0
    people_created: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        if not self.ok:
            return f"Nothing was imported: {len(self.errors)} problem(s)."
        text = (
            f"Imported {self.kind}: {self.created} created, {self.updated} updated, {self.skipped} unchanged"
        )
        extra = [f"{n} {what}" for n, what in ((self.projects_created, "new projects"),
                                               (self.people_created, "new people")) if n]  # fmt: skip
        return text + (f" ({', '.join(extra)})." if extra else ".")


class Problems:
    """The bad rows found so far, in the order found."""

    def __init__(self) -> None:
        self.listed: list[RowError] = []
        self.unlisted = 0
        self.first_unlisted = 0
        self.fatal = False  # the file could not be read to the end, or its header is wrong

    def add(self, line: int, reason: str) -> None:
        if len(self.listed) < MAX_LISTED:
            self.listed.append(RowError(line, reason))
            return
        if not self.unlisted or line < self.first_unlisted:
            self.first_unlisted = line
        self.unlisted += 1

    def __bool__(self) -> bool:
        return bool(self.listed)

    def as_list(self) -> list[RowError]:
        errors = sorted(self.listed, key=lambda e: e.line)
        if self.unlisted:
            errors.append(RowError(self.first_unlisted, f"and {self.unlisted} more problems, not listed"))
        return errors


def _header_problem(found: list[str], kind: str) -> str | None:
    names = [cell.strip() for cell in found]
    if names and names[0].startswith("\ufeff"):
        names[0] = names[0][1:].strip()
    if tuple(names) == COLUMNS[kind]:
        return None
    reason = f"the header must be exactly {','.join(COLUMNS[kind])}"
    if not _is_unicode("".join(names)):
        return f"{reason}; found text that is not UTF-8"
    other = [k for k in KINDS if tuple(names) == COLUMNS[k]]
    if other:
        return f"{reason} (this looks like a {other[0]} file)"
    return f"{reason}; found {shown(','.join(names), 120)}"


def _records(stream: TextIO, kind: str, problems: Problems) -> Iterator[tuple[int, list[str]]]:
    """(first physical line, cells) of each non-blank data row, after checking the header."""
    width = len(COLUMNS[kind])
    reader = csv.reader(stream, strict=True)
    last = 0  # the physical line the previous record ended on
    header = True
    try:
        for fields in reader:
            line, last = last + 1, reader.line_num
            if header:
                header = False
                reason = _header_problem(fields, kind)
                if reason:
                    problems.add(line, reason)
                    problems.fatal = True
                    return
                continue
            joined = "".join(fields)
            if not joined.isascii() and not _is_unicode(joined):
                problems.add(line, "is not UTF-8 text")
                continue
            if len(fields) != width:
                if joined.strip():
                    problems.add(
                        line, f"has {len(fields)} fields, expected {width} ({','.join(COLUMNS[kind])})"
                    )
                continue
            if not fields[0] and not joined.strip():
                continue
            yield line, fields
    except csv.Error as exc:
        problems.add(last + 1, f"is not valid CSV ({exc}); nothing after it was read")
        problems.fatal = True
    except UnicodeDecodeError:
        problems.add(last + 1, "is not UTF-8 text; nothing after it was read")
        problems.fatal = True
    if header:
        problems.add(1, f"the file is empty; the header must be exactly {','.join(COLUMNS[kind])}")
        problems.fatal = True


def _is_unicode(text: str) -> bool:
    """False when undecodable bytes were carried through as surrogates (see `import_csv_file`)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _scan(stream: TextIO, kind: str, problems: Problems) -> Iterator[tuple[int, Row]]:
    parse = PARSERS[kind]()
    for line, fields in _records(stream, kind, problems):
        row, reasons = parse(fields)
        if row is None:
            for reason in reasons:
                problems.add(line, reason)
        else:
            yield line, row


Rescan = Callable[[], Iterator[tuple[int, Row]]]


@dataclass
class Plan:
    """First-pass bookkeeping for one kind of file."""

    refs: Refs = field(default_factory=Refs)

    def note(self, line: int, row: Row, problems: Problems) -> None:
        raise NotImplementedError

    def finish(self, rescan: Rescan, problems: Problems) -> None:
        """Called once every row has been noted."""

    async def check(self, session: AsyncSession, org_id: int, problems: Problems) -> None:
        """Read-only checks against the database, once the rows themselves are good."""


@dataclass
class _KeyedPlan(Plan):
    """Rows repeated within the file are refused; small files, so keys are kept exactly."""

    seen: dict[object, int] = field(default_factory=dict)

    def repeat(self, key: object, line: int, what: str, problems: Problems) -> None:
        first = self.seen.setdefault(key, line)
        if first != line:
            problems.add(line, f"same {what} as line {first}")


@dataclass
class ProjectsPlan(_KeyedPlan):
    def note(self, line: int, row: Row, problems: Problems) -> None:
        assert isinstance(row, ProjectRow)
        self.refs.note(None, row.sponsor)
        self.repeat(name_key(row.name), line, "project name", problems)


@dataclass
class OutcomesPlan(_KeyedPlan):
    lines: dict[str, list[int]] = field(default_factory=dict)

    def note(self, line: int, row: Row, problems: Problems) -> None:
        assert isinstance(row, OutcomeRow)
        self.refs.note(row.project, None)
        project = name_key(row.project)
        self.lines.setdefault(project, []).append(line)
        self.repeat((project, name_key(row.metric)), line, "project and metric", problems)

    async def check(self, session: AsyncSession, org_id: int, problems: Problems) -> None:
        known = await existing_projects(session, org_id, self.refs.projects)
        for key, (name, _person) in self.refs.projects.items():
            if key not in known:
                for line in self.lines[key]:
                    problems.add(line, f"project {shown(name)} does not exist (import projects first)")


@dataclass
class PainpointsPlan(_KeyedPlan):
    def note(self, line: int, row: Row, problems: Problems) -> None:
        assert isinstance(row, PainpointRow)
        self.refs.note(row.project, row.reported_by)
        key = (name_key(row.project), row.reported_at, row.text)
        self.repeat(key, line, "project, reported_at and text", problems)


_EPOCH = dt.datetime(1970, 1, 1)
_SECOND = dt.timedelta(seconds=1)
_TIME_BITS = 39  # seconds from year 1 to 9999, offset to be positive, fit in 39 bits
_TIME_OFFSET = 1 << 37
_MAX_PAIRS = 1 << 24  # so that pair << 39 still fits a signed 64-bit integer


@dataclass
class ResponsesPlan(Plan):
    """Finds repeated (project, sponsor, sent_at) among a million rows in 8 bytes a row.

    Each key is packed exactly into one 64-bit integer: the index of its (project, sponsor)
    pair, then sent_at in whole seconds. Sorting them finds repeats; only then is the file read
    once more to name the lines involved.
    """

    keys: array[int] = field(default_factory=lambda: array("q"))
    pairs: dict[tuple[str, str], int] = field(default_factory=dict)
    project_keys: dict[str, str] = field(default_factory=dict)

    def key(self, row: ResponseRow) -> int | None:
        project = self.project_keys.get(row.project)
        if project is None:
            project = self.project_keys[row.project] = name_key(row.project)
        pair = self.pairs.setdefault((project, row.sponsor), len(self.pairs))
        if pair >= _MAX_PAIRS:
            return None
        return (pair << _TIME_BITS) | ((row.sent_at - _EPOCH) // _SECOND + _TIME_OFFSET)

    def note(self, line: int, row: Row, problems: Problems) -> None:
        assert isinstance(row, ResponseRow)
        self.refs.note(row.project, row.sponsor)
        key = self.key(row)
        if key is None:
            problems.add(line, f"more than {_MAX_PAIRS} project/sponsor pairs in one file; split the file")
            return
        self.keys.append(key)

    def finish(self, rescan: Rescan, problems: Problems) -> None:
        ordered = sorted(self.keys)
        self.keys = array("q")
        repeated = {a for a, b in zip(ordered, islice(ordered, 1, None), strict=False) if a == b}
        del ordered
        if not repeated:
            return
        first: dict[int, int] = {}
        for line, row in rescan():
            assert isinstance(row, ResponseRow)
            key = self.key(row)
            if key in repeated:
                earlier = first.setdefault(key, line)
                if earlier != line:
                    problems.add(line, f"same project, sponsor and sent_at as line {earlier}")


PLANS: dict[str, Callable[[], Plan]] = {
    "projects": ProjectsPlan,
    "responses": ResponsesPlan,
    "outcomes": OutcomesPlan,
    "painpoints": PainpointsPlan,
}

Writer = Callable[[AsyncSession, int, Refs, Iterator[tuple[int, Row]]], Awaitable[store.Counts]]
WRITERS: dict[str, Writer] = {
    "projects": store.write_projects,
    "responses": store.write_responses,
    "outcomes": store.write_outcomes,
    "painpoints": store.write_painpoints,
}


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown CSV kind {kind!r}: expected one of {', '.join(KINDS)}")


async def import_csv(session: AsyncSession, org_id: int, kind: str, text: str | TextIO) -> ImportResult:
    """Import CSV text, or a text stream (open files with newline=""), inside the caller's transaction.

    A stream that cannot seek is first copied to a temporary file, because the file is read twice.
    """
    _check_kind(kind)
    with _rereadable(text) as stream:
        return await _import(session, org_id, kind, stream)


async def import_csv_file(session: AsyncSession, org_id: int, kind: str, path: Path) -> ImportResult:
    """Import a CSV file by path: UTF-8 (a byte-order mark is fine), read twice, never held in memory."""
    _check_kind(kind)
    with _open(Path(path)) as stream:
        return await _import(session, org_id, kind, stream)


@contextmanager
def _open(path: Path) -> Iterator[TextIO]:
    # surrogateescape carries undecodable bytes through, so the bad row is named by its own line.
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as stream:
        yield stream


@contextmanager
def _rereadable(text: str | TextIO) -> Iterator[TextIO]:
    if isinstance(text, str):
        yield io.StringIO(text, newline="")
    elif text.seekable():
        yield text
    else:
        with tempfile.TemporaryFile("w+", encoding="utf-8", errors="surrogateescape", newline="") as spool:
            shutil.copyfileobj(text, spool)
            spool.seek(0)
            yield spool


async def _import(session: AsyncSession, org_id: int, kind: str, stream: TextIO) -> ImportResult:
    start = stream.tell()

    def rescan() -> Iterator[tuple[int, Row]]:
        stream.seek(start)
        return _scan(stream, kind, Problems())

    problems = Problems()
    plan = PLANS[kind]()
    for line, row in _scan(stream, kind, problems):
        plan.note(line, row, problems)
    if not problems.fatal:
        plan.finish(rescan, problems)
    if not problems.fatal:
        await plan.check(session, org_id, problems)
    if problems:
        return ImportResult(kind, 0, 0, 0, problems.as_list())
    stream.seek(start)
    again = Problems()
    counts = await WRITERS[kind](session, org_id, plan.refs, _scan(stream, kind, again))
    if again:
        # Only possible if the file changed between the passes; the caller's transaction must not commit.
        raise RuntimeError(f"the CSV file changed while it was imported ({again.as_list()[0]})")
    return ImportResult(
        kind,
        counts.created,
        counts.updated,
        counts.skipped,
        [],
        projects_created=counts.projects_created,
        people_created=counts.people_created,
    )
