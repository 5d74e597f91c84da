"""CSV import (CONTRACT.md section 6): all rows or none, in two streaming passes.

The first pass reads every row, checks it, and keeps only what the second pass and the
all-or-nothing promise need: the distinct projects and people named, and the keys that find
rows repeated within the file. Nothing is written unless the whole file is good. The second
pass reads the file again and writes it in batches (`handlers.csv.store`). A million-row file
therefore never sits in memory as a million Python objects.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.csv.formats import shown
from handlers.csv.kinds import KINDS, CsvKind, kind_named
from handlers.csv.problems import Problems, RowError
from handlers.csv.rows import Row
from handlers.csv.store import Counts
from handlers.i18n import _, ngettext
from storage.bulk_copy import can_copy


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


def _header(found: list[str], kind: CsvKind) -> tuple[tuple[str, ...] | None, str | None]:
    """The file's columns when its header is one the kind accepts, else the problem with it."""
    names = [cell.strip() for cell in found]
    if names and names[0].startswith("\ufeff"):
        names[0] = names[0][1:].strip()
    if tuple(names) in kind.headers():
        return tuple(names), None
    return None, _header_problem(names, kind)


def _header_problem(names: list[str], kind: CsvKind) -> str:
    """What is wrong with a header, one whole sentence for each case (a kind with an older header
    says that its first columns are enough)."""
    columns = ",".join(kind.columns)
    older = None if kind.older_columns is None else len(kind.older_columns)
    if not _is_unicode("".join(names)):
        if older is None:
            return _("the header must be exactly %(columns)s; found text that is not UTF-8", columns=columns)
        return _(
            "the header must be exactly %(columns)s (or its first %(n)s columns); found text that is not UTF-8",
            columns=columns,
            n=older,
        )
    other = [other.name for other in KINDS.values() if tuple(names) == other.columns]
    if other:
        if older is None:
            return _(
                "the header must be exactly %(columns)s (this looks like a %(kind)s file)",
                columns=columns,
                kind=other[0],
            )
        return _(
            "the header must be exactly %(columns)s (or its first %(n)s columns) (this looks like a %(kind)s file)",
            columns=columns,
            n=older,
            kind=other[0],
        )
    found = shown(",".join(names), 120)
    if older is None:
        return _("the header must be exactly %(columns)s; found %(found)s", columns=columns, found=found)
    return _(
        "the header must be exactly %(columns)s (or its first %(n)s columns); found %(found)s",
        columns=columns,
        n=older,
        found=found,
    )


def _records(stream: TextIO, kind: CsvKind, problems: Problems) -> Iterator[tuple[int, list[str]]]:
    """(first physical line, cells) of each non-blank data row, after checking the header."""
    columns = kind.columns
    reader = csv.reader(stream, strict=True)
    last = 0  # the physical line the previous record ended on
    header = True
    try:
        for fields in reader:
            line, last = last + 1, reader.line_num
            if header:
                header = False
                found, reason = _header(fields, kind)
                if found is None:
                    assert reason is not None
                    problems.add(line, reason)
                    problems.fatal = True
                    return
                columns = found
                continue
            joined = "".join(fields)
            if not joined.isascii() and not _is_unicode(joined):
                problems.add(line, _("is not UTF-8 text"))
                continue
            if len(fields) != len(columns):
                if joined.strip():
                    problems.add(line, _fields_problem(len(fields), columns))
                continue
            if not fields[0] and not joined.strip():
                continue
            yield line, fields
    except csv.Error as exc:
        problems.add(last + 1, _("is not valid CSV (%(error)s); nothing after it was read", error=str(exc)))
        problems.fatal = True
    except UnicodeDecodeError:
        problems.add(last + 1, _("is not UTF-8 text; nothing after it was read"))
        problems.fatal = True
    if header:
        problems.add(
            1, _("the file is empty; the header must be exactly %(columns)s", columns=",".join(kind.columns))
        )
        problems.fatal = True


def _fields_problem(found: int, columns: tuple[str, ...]) -> str:
    """A row of the wrong width; the English says "fields" whatever the count, as it always has."""
    return ngettext(
        "has %(n)s fields, expected %(expected)s (%(columns)s)",
        "has %(n)s fields, expected %(expected)s (%(columns)s)",
        found,
        expected=len(columns),
        columns=",".join(columns),
    )


def _is_unicode(text: str) -> bool:
    """False when undecodable bytes were carried through as surrogates (see `import_csv_file`)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _scan(stream: TextIO, kind: CsvKind, problems: Problems) -> Iterator[tuple[int, Row]]:
    parse = kind.parser()
    for line, fields in _records(stream, kind, problems):
        row, reasons = parse(fields)
        if row is None:
            for reason in reasons:
                problems.add(line, reason)
        else:
            yield line, row


async def import_csv(session: AsyncSession, org_id: int, kind: str, text: str | TextIO) -> ImportResult:
    """Import CSV text, or a text stream (open files with newline=""), inside the caller's transaction.

    A stream that cannot seek is first copied to a temporary file, because the file is read twice.
    """
    table = kind_named(kind)
    with _rereadable(text) as stream:
        return await _import(session, org_id, table, stream)


async def import_csv_file(session: AsyncSession, org_id: int, kind: str, path: Path) -> ImportResult:
    """Import a CSV file by path: UTF-8 (a byte-order mark is fine), read twice, never held in memory."""
    table = kind_named(kind)
    with _open(Path(path)) as stream:
        return await _import(session, org_id, table, stream)


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


async def _import(session: AsyncSession, org_id: int, kind: CsvKind, stream: TextIO) -> ImportResult:
    if kind.staged is not None and can_copy(session):
        return await _import_staged(session, org_id, kind, stream)
    start = stream.tell()
    rescan = _rescanner(stream, kind)
    problems = Problems()
    plan = kind.plan()
    for line, row in _scan(stream, kind, problems):
        plan.note(line, row, problems)
    if not problems.fatal:
        plan.finish(rescan, problems)
    if not problems.fatal:
        await plan.check(session, org_id, problems)
    if problems:
        return ImportResult(kind.name, 0, 0, 0, problems.as_list())
    stream.seek(start)
    again = Problems()
    counts = await kind.write(session, org_id, plan.refs, _scan(stream, kind, again))
    if again:
        # Only possible if the file changed between the passes; the caller's transaction must not commit.
        raise RuntimeError(f"the CSV file changed while it was imported ({again.as_list()[0]})")
    return _done(kind, counts)


def _rescanner(stream: TextIO, kind: CsvKind) -> Callable[[], Iterator[tuple[int, Row]]]:
    """Reading the file again from here, for a plan that must name the lines of a repeat."""
    start = stream.tell()

    def rescan() -> Iterator[tuple[int, Row]]:
        stream.seek(start)
        return _scan(stream, kind, Problems())

    return rescan


async def _import_staged(session: AsyncSession, org_id: int, kind: CsvKind, stream: TextIO) -> ImportResult:
    """One pass: each good row is checked and COPYed into a staging table as it is read, until a
    row is bad (the rest is still checked, to report every problem); written by SQL when all are good."""
    assert kind.staged is not None
    rescan = _rescanner(stream, kind)
    problems = Problems()
    plan = kind.plan()

    def good() -> Iterator[tuple[int, Row]]:
        for line, row in _scan(stream, kind, problems):
            plan.note(line, row, problems)
            if not problems:
                yield line, row

    staging = kind.staged(session, org_id)
    await staging.load(good())
    if not problems.fatal:
        plan.finish(rescan, problems)
    if not problems.fatal:
        await plan.check(session, org_id, problems)
    if problems:
        return ImportResult(kind.name, 0, 0, 0, problems.as_list())
    return _done(kind, await staging.write(plan.refs))


def _done(kind: CsvKind, counts: Counts) -> ImportResult:
    return ImportResult(
        kind.name,
        counts.created,
        counts.updated,
        counts.skipped,
        [],
        projects_created=counts.projects_created,
        people_created=counts.people_created,
    )
