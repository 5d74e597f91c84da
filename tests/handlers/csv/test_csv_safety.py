"""CSV files that are safe to open and to import again (CONTRACT.md section 6, docs/csv.md).

- Spreadsheet safety: a text cell a spreadsheet would run as a formula gets a leading `'` on
  export, which import removes again, so the round trip stays exact.
- Control characters (NUL, ESC, BEL, bidirectional overrides, C1 controls) are refused in every
  text cell, line by line and all rows or none; line breaks and tabs stay fine in free text.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select

from handlers.csv import formats as cf
from handlers.csv.rows import ResponseParser, parse_response
from storage.db import Database
from storage.models import (
    KIND_TASTE,
    Answer,
    Checkin,
    Identity,
    Measurement,
    Outcome,
    PainPoint,
    Person,
    Project,
)
from storage.queries import add_person, find_project
from tests.handlers.csv import test_csv
from tests.handlers.csv.test_csv import HEADER, count, csv_text, messages, org_of, run_export, run_import

second_url, db2 = test_csv.second_url, test_csv.db2  # the second database of the round-trip tests

TABLES = (Project, Person, Identity, Checkin, Answer, Outcome, Measurement, PainPoint)

DANGEROUS = [
    '=HYPERLINK("http://x"&A1,"Click")',
    "-2+3+cmd|' /C calc'!A0",
    "=1+1",
    "@SUM(A1)",
    "+1",
    "\tTabbed",
    "\rReturn",
]


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


async def snapshot(db: Database) -> dict[type, int]:
    return {model: await count(db, model) for model in TABLES}


# ---------------------------------------------------------------- spreadsheet safety


@pytest.mark.parametrize("value", DANGEROUS)
def test_a_cell_a_spreadsheet_would_run_gets_a_quote(value: str) -> None:
    assert cf.write_text(value) == "'" + value


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("'=1+1", "''=1+1"),  # a quote already there, then a formula: one more
        ("''@x", "'''@x"),
        ("'plain", "'plain"),  # a quote before ordinary text stays as it is
        ("'", "'"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        (" =1+1", " =1+1"),
        ("", ""),
        (None, ""),
    ],
)
def test_quotes_and_ordinary_text(value: str | None, written: str) -> None:
    assert cf.write_text(value) == written


ROUND_TRIP = [*DANGEROUS, "'=1+1", "''=1+1", "'''-x", "'plain", "'", "''", "plain", "ok = fine", "ünï ✓"]


@pytest.mark.parametrize("value", ROUND_TRIP)
def test_import_removes_exactly_the_quote_export_added(value: str) -> None:
    written = cf.write_text(value)
    assert cf.free_text(written, "comment") == value
    if value.strip() == value and value[:1] not in ("\t", "\r"):  # names hold no tab or line break
        assert cf.text(written, "name", 200) == value
        if "@" not in value:  # else it is read as an e-mail address
            assert cf.person(written, "sponsor") == value


def test_the_quick_response_parser_removes_the_quote_too() -> None:
    quick = ResponseParser()
    for comment in ("'=1+1", "''=1+1", "'plain", "=1+1"):
        cells_ = ["Apollo", "ana@example.com", "2026-01-06T09:30:00Z", "2026-01-06T10:00:00Z", "5", comment]
        for _ in range(2):  # the second time with the caches warm
            row, problems = quick(list(cells_))
            assert (row, problems) == parse_response(list(cells_)), comment
            assert row is not None and row.comment == cf.unquote(comment)


def test_numbers_and_dates_are_never_quoted() -> None:
    assert cf.write_number(-12.0) == "-12"
    assert cf.write_number(-1e20) == "-1e+20"
    assert cf.write_timestamp(dt.datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"
    assert cf.number("-12", "baseline") == -12


async def _dangerous_database(db: Database) -> int:
    """Every text column of every kind holding something a spreadsheet would run."""
    org = await org_of(db)
    projects = csv_text(
        "projects",
        '"=HYPERLINK(""http://x""&A1,""Click"")",ana@example.com,+Segment,weekly,mon,09:30',
        "@Apollo,ana@example.com,''=quoted,,,",  # the cell says '=quoted: a quote, then a formula
    )
    assert (await run_import(db, org, "projects", projects)).ok
    async with db.transaction() as session:
        pat = await add_person(session, org, "-Pat")  # no e-mail, no platform id: written by name
        apollo = await find_project(session, org, "@Apollo")
        assert apollo is not None
        session.add(Checkin(org_id=org, project_id=apollo.id, sponsor_id=pat.id, kind=KIND_TASTE,
                            status="answered", sent_at=dt.datetime(2026, 2, 1, 9, 0),
                            answered_at=dt.datetime(2026, 2, 1, 10, 0), rating=2,
                            comment="-2+3+cmd|' /C calc'!A0", message_refs={}))  # fmt: skip
        session.add(Checkin(org_id=org, project_id=apollo.id, sponsor_id=pat.id, kind=KIND_TASTE,
                            status="answered", sent_at=dt.datetime(2026, 2, 2, 9, 0),
                            answered_at=dt.datetime(2026, 2, 2, 10, 0), rating=4,
                            comment="\tTabbed\r\nand two lines", message_refs={}))  # fmt: skip
        session.add(Outcome(org_id=org, project_id=apollo.id, metric="@SUM(A1)", unit="+%", baseline=-12,
                            target=-3, current=None, benefit=None, due=None, added_on=dt.date(2026, 1, 1)))  # fmt: skip
        session.add(PainPoint(org_id=org, project_id=apollo.id, reported_by=pat.id,
                              reported_at=dt.datetime(2026, 2, 3, 8, 0), text="=1+1", impact=3, status="open",
                              metric="-metric", better="lower"))  # fmt: skip
    return org


async def test_exports_quote_every_dangerous_text_cell(db: Database) -> None:
    org = await _dangerous_database(db)
    projects = cells(await run_export(db, org, "projects"))
    assert projects[1:] == [
        ['\'=HYPERLINK("http://x"&A1,"Click")', "ana@example.com", "'+Segment", "weekly", "mon", "09:30"],
        ["'@Apollo", "ana@example.com", "''=quoted", "biweekly", "tue", "10:00"],
    ]
    responses = cells(await run_export(db, org, "responses"))
    assert [r[1] for r in responses[1:]] == ["'-Pat", "'-Pat"]
    assert [r[5] for r in responses[1:]] == ["'-2+3+cmd|' /C calc'!A0", "'\tTabbed\r\nand two lines"]
    assert cells(await run_export(db, org, "outcomes"))[1] == [
        "'@Apollo",
        "'@SUM(A1)",
        "'+%",
        "-12",
        "-3",
        "",
        "",
        "",
    ]
    point = cells(await run_export(db, org, "painpoints"))[1]
    assert (point[0], point[1], point[3], point[7]) == ("'@Apollo", "'-Pat", "'=1+1", "'-metric")
    for kind in ("projects", "responses", "outcomes", "painpoints"):
        for row in cells(await run_export(db, org, kind))[1:]:
            assert not any(cell.startswith(cf.FORMULA_START) for cell in row if not _is_number(cell)), row


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("kind", ["projects", "responses", "outcomes", "painpoints"])
async def test_quoted_exports_import_back_exactly(db: Database, db2: Database, kind: str) -> None:
    org = await _dangerous_database(db)
    first = await run_export(db, org, kind)
    org2 = await org_of(db2)
    if kind == "outcomes":
        assert (await run_import(db2, org2, "projects", await run_export(db, org, "projects"))).ok
    result = await run_import(db2, org2, kind, first)
    assert result.ok, messages(result)
    assert await run_export(db2, org2, kind) == first
    async with db2.transaction() as session:
        names = set(await session.scalars(select(Project.name)))
        assert {'=HYPERLINK("http://x"&A1,"Click")', "@Apollo"} <= names or kind != "projects"
        assert "@Apollo" in names
        if kind == "responses":
            comments = set(await session.scalars(select(Checkin.comment)))
            assert comments == {"-2+3+cmd|' /C calc'!A0", "\tTabbed\r\nand two lines"}
            assert "-Pat" in set(await session.scalars(select(Person.name)))
        if kind == "painpoints":
            assert set(await session.scalars(select(PainPoint.text))) == {"=1+1"}
        if kind == "outcomes":
            assert set(await session.scalars(select(Outcome.metric))) == {"@SUM(A1)"}
    assert (await run_import(db2, org2, kind, first)).created == 0


# ---------------------------------------------------------------- control characters


async def test_a_nul_anywhere_is_a_bad_row_and_nothing_is_imported(db: Database) -> None:
    org = await org_of(db)
    text = csv_text(
        "responses",
        "Apollo,ana@example.com,2026-01-06T09:30:00Z,2026-01-06T10:00:00Z,5,fine",
        "Apollo,ana@example.com,2026-01-07T09:30:00Z,2026-01-07T10:00:00Z,5,Go\x00od",
        "Apol\x00lo,ana@example.com,2026-01-08T09:30:00Z,,,",
        "Apollo,an\x00a@example.com,2026-01-09T09:30:00Z,,,",
    )
    assert messages(await run_import(db, org, "responses", text)) == [
        "line 3: comment contains a control character (U+0000)",
        "line 4: project contains a control character (U+0000)",
        "line 5: sponsor contains a control character (U+0000)",
    ]
    painpoints = csv_text(
        "painpoints",
        "Apollo,ana@example.com,2026-01-10T08:00:00Z,Slow\x00,4,open,,,,,",
        "Apollo,ana@example.com,2026-01-10T08:00:00Z,Slow,4,open,,m\x00,,,",
    )
    assert messages(await run_import(db, org, "painpoints", painpoints)) == [
        "line 2: text contains a control character (U+0000)",
        "line 3: metric contains a control character (U+0000)",
    ]
    assert all(n == 0 for n in (await snapshot(db)).values())


CONTROLS = {"\x1b": "U+001B", "\x07": "U+0007", "\u202e": "U+202E", "\u2066": "U+2066", "\x85": "U+0085",
            "\x7f": "U+007F", "\u2028": "U+2028", "\n": "U+000A"}  # fmt: skip


@pytest.mark.parametrize("char", list(CONTROLS))
async def test_names_with_control_characters_are_refused(db: Database, char: str) -> None:
    org = await org_of(db)
    assert (await run_import(db, org, "projects", csv_text("projects", "Apollo,ana@example.com,,,,"))).ok
    before = await snapshot(db)
    bad, email, user = f'"Red{char}Team"', f'"red{char}@x.io"', f'"U024{char}BE7LH"'
    code = CONTROLS[char]
    cases = {
        "projects": ([f"{bad},ana@example.com,,,,", f"Ok,ana@example.com,{bad},,,", f"Ok2,{email},,,,"],
                     ["name", "segment", "sponsor"]),
        "outcomes": ([f"Apollo,{bad},,1,2,,,", f"Apollo,m,{bad},1,2,,,"], ["metric", "unit"]),
        "responses": ([f"{bad},ana@example.com,2026-01-06T09:30:00Z,,,", f"Apollo,{user},2026-01-06T09:30:00Z,,,"],
                      ["project", "sponsor"]),
    }  # fmt: skip
    for kind, (rows, columns) in cases.items():
        result = await run_import(db, org, kind, csv_text(kind, *rows))
        assert messages(result) == [
            f"line {2 + i + sum(r.count(chr(10)) for r in rows[:i])}: {column} contains a control character ({code})"
            for i, column in enumerate(columns)
        ], kind
    assert await snapshot(db) == before


@pytest.mark.parametrize("char", ["\x1b", "\x07", "\u202e", "\u2067", "\x9b", "\x0b", "\x00"])
async def test_free_text_with_control_characters_is_refused(db: Database, char: str) -> None:
    org = await org_of(db)
    rows = [
        f'Apollo,ana@example.com,2026-01-06T09:30:00Z,2026-01-06T10:00:00Z,2,"Slow{char}[31m"',
        "Apollo,ana@example.com,2026-01-07T09:30:00Z,2026-01-07T10:00:00Z,4,fine",
    ]
    result = await run_import(db, org, "responses", csv_text("responses", *rows))
    assert messages(result) == [f"line 2: comment contains a control character (U+{ord(char):04X})"]
    point = f'Apollo,ana@example.com,2026-01-10T08:00:00Z,"Slow{char}",4,open,,,,,'
    assert messages(await run_import(db, org, "painpoints", csv_text("painpoints", point))) == [
        f"line 2: text contains a control character (U+{ord(char):04X})"
    ]
    assert all(n == 0 for n in (await snapshot(db)).values())


async def test_free_text_keeps_line_breaks_and_tabs(db: Database) -> None:
    org = await org_of(db)
    comment = "Slow,\r\nand\tthe UI\nconfuses\u200dpeople 👩‍💻"  # a zero-width joiner is text, not a control
    row = f'Apollo,ana@example.com,2026-01-06T09:30:00Z,2026-01-06T10:00:00Z,2,"{comment}"'
    result = await run_import(db, org, "responses", csv_text("responses", row))
    assert result.ok, messages(result)
    async with db.transaction() as session:
        assert await session.scalar(select(Checkin.comment)) == comment


def test_the_quick_response_parser_refuses_what_the_full_one_refuses() -> None:
    quick = ResponseParser()
    for comment in ("fine", "Go\x00od", "red\x1b[31m", "\u202eevil", "two\nlines", "tab\there", "\x85"):
        cells_ = ["Apollo", "ana@example.com", "2026-01-06T09:30:00Z", "2026-01-06T10:00:00Z", "5", comment]
        for _ in range(2):
            assert quick(list(cells_)) == parse_response(list(cells_)), comment


async def test_error_messages_show_control_characters_as_escapes(db: Database) -> None:
    org = await org_of(db)
    row = "Apollo,ana@example.com,2026-01-06T09:30:00Z,2026-01-06T10:00:00Z,\x1b[2J\u202e,"
    assert messages(await run_import(db, org, "responses", csv_text("responses", row))) == [
        "line 2: rating '\\x1b[2J\\u202e' is not 1–5"
    ]


async def test_a_nul_in_a_header_or_an_enum_is_an_ordinary_error(db: Database) -> None:
    org = await org_of(db)
    header = HEADER["projects"].replace("name", "na\x00me")
    [error] = messages(await run_import(db, org, "projects", f"{header}\nApollo,ana@example.com,,,,\n"))
    assert error.startswith("line 1: the header must be exactly") and "\x00" not in error
    [error] = messages(
        await run_import(db, org, "projects", csv_text("projects", "A,ana@example.com,,week\x00ly,,"))
    )
    assert error == "line 2: cadence 'week\\x00ly' is not one of weekly, biweekly, monthly, quarterly, off"
