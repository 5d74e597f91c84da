"""CSV import and export (CONTRACT.md section 6) against real databases.

Also holds the generator of the million-row responses file used to measure the import:
`python tests/handlers/csv/test_csv.py 1000000` writes it to /tmp, imports it into a fresh SQLite
database and prints the time taken and the peak memory of the process.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import random
import re
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

if __name__ == "__main__":  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from handlers.csv import formats as cf
from handlers.csv.api import COLUMNS, KINDS, ImportResult, RowError, export_csv, import_csv, import_csv_file
from handlers.csv.problems import MAX_LISTED
from handlers.csv.rows import ResponseParser, parse_response
from handlers.csv.store import BATCH
from handlers.i18n import LANGUAGES, say
from handlers.platform_ids import platform_of
from storage.db import Database, utcnow
from storage.models import (
    Answer,
    Checkin,
    Identity,
    Measurement,
    Outcome,
    PainPoint,
    Person,
    Project,
)
from storage.queries import add_identity, add_person, find_project, get_or_create_org

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
HEADER = {kind: ",".join(columns) for kind, columns in COLUMNS.items()}


# ---------------------------------------------------------------- helpers


async def org_of(db: Database, key: str = "default") -> int:
    async with db.transaction() as session:
        return (await get_or_create_org(session, key)).id


async def run_import(db: Database, org_id: int, kind: str, source: str | Path) -> ImportResult:
    async with db.transaction() as session:
        if isinstance(source, Path):
            return await import_csv_file(session, org_id, kind, source)
        return await import_csv(session, org_id, kind, source)


async def run_export(db: Database, org_id: int, kind: str) -> str:
    out = io.StringIO()
    async with db.transaction() as session:
        written = await export_csv(session, org_id, kind, out)
    text = out.getvalue()
    assert written == len(list(csv.reader(io.StringIO(text, newline="")))) - 1
    return text


async def count(db: Database, model: type, *where: object) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def load_fixtures(db: Database, org_id: int) -> None:
    for kind in KINDS:
        result = await run_import(db, org_id, kind, FIXTURES / f"csv_{kind}.csv")
        assert result.ok, result.errors


def csv_text(kind: str, *rows: str) -> str:
    """A file of `kind` with these rows, under the header of their width (a kind's older header too)."""
    width = len(next(csv.reader([rows[0]]))) if rows else len(COLUMNS[kind])
    header = next((columns for columns in KINDS[kind].headers() if len(columns) == width), COLUMNS[kind])
    return "\n".join((",".join(header), *rows)) + "\n"


def messages(result: ImportResult) -> list[str]:
    return [str(error) for error in result.errors]


@pytest.fixture
def second_url(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """Another fresh, migrated database of the same backend, for export → import round trips."""
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'second.db'}"

        async def migrate() -> None:
            db = Database(url)
            await db.migrate()
            await db.dispose()

        asyncio.run(migrate())
        yield url
        return
    from tests.conftest import _pg_admin, _pg_url

    name = f"pmo_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f"CREATE DATABASE {name} TEMPLATE {request.getfixturevalue('pg_template')}"))
    yield _pg_url(name)
    asyncio.run(_pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
async def db2(second_url: str) -> AsyncIterator[Database]:
    database = Database(second_url)
    yield database
    await database.dispose()


def write_responses_csv(path: Path, rows: int, projects: int = 200, seed: int = 7) -> Path:
    """A responses file like years of check-ins: 85% answered, some comments with commas, quotes, newlines."""
    rng = random.Random(seed)
    names = [f"Project {i:03d}" for i in range(projects)]
    sponsors = [f"sponsor{i}@example.com" if i % 3 else f"U{i:07d}X" for i in range(projects // 2 + 1)]
    start = dt.datetime(2020, 1, 1, 9, 0)
    comments = ["", "", "", "", "", "", "", 'Great, "really" tasty', "Slow builds", "line one\nline two"]
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS["responses"])
        for i in range(rows):
            sent = start + dt.timedelta(minutes=i)
            cells = [names[i % projects], sponsors[(i % projects) // 2], sent.isoformat() + "Z", "", "", ""]
            if rng.random() < 0.85:
                answered = sent + dt.timedelta(seconds=rng.randrange(60, 86_400))
                cells[3:] = [answered.isoformat() + "Z", str(rng.randint(1, 5)), rng.choice(comments)]
            writer.writerow(cells)
    return path


# ---------------------------------------------------------------- header and file shape


async def test_wrong_header_is_one_error_on_line_1(db: Database) -> None:
    org = await org_of(db)
    result = await run_import(
        db, org, "responses", "project,sponsor,sent,answered_at,rating,comment\nA,a@x.io,,,,\n"
    )
    assert messages(result) == [
        "line 1: the header must be exactly project,sponsor,sent_at,answered_at,rating,comment; "
        "found 'project,sponsor,sent,answered_at,rating,comment'"
    ]
    assert (result.created, result.updated, result.skipped) == (0, 0, 0)
    swapped = await run_import(db, org, "outcomes", (FIXTURES / "csv_projects.csv").read_text())
    assert messages(swapped) == [
        "line 1: the header must be exactly project,metric,unit,baseline,target,current,benefit,due "
        "(this looks like a projects file)"
    ]
    assert await count(db, Project) == 0


async def test_empty_file_and_header_only(db: Database) -> None:
    org = await org_of(db)
    assert messages(await run_import(db, org, "projects", ""))[0].startswith("line 1: the file is empty")
    result = await run_import(db, org, "projects", HEADER["projects"] + "\n")
    assert result.ok and (result.created, result.updated, result.skipped) == (0, 0, 0)


async def test_unknown_kind_is_refused(db: Database) -> None:
    org = await org_of(db)
    with pytest.raises(ValueError, match="unknown CSV kind 'people'"):
        await run_import(db, org, "people", "x\n")
    async with db.transaction() as session:
        with pytest.raises(ValueError, match="unknown CSV kind"):
            await export_csv(session, org, "people", io.StringIO())


async def test_a_file_with_bad_rows_imports_nothing_and_names_each_bad_line(db: Database) -> None:
    org = await org_of(db)
    result = await run_import(db, org, "responses", FIXTURES / "csv_responses_bad.csv")
    assert not result.ok
    assert messages(result) == [
        "line 4: rating 'x' is not 1–5",
        "line 5: project is required",
        "line 6: sent_at 'yesterday' is not an ISO-8601 date and time (e.g. 2026-01-31T09:30:00Z)",
        "line 8: answered_at is set but rating is empty (give both, or neither for an unanswered check-in)",
        "line 9: answered_at is before sent_at",
        "line 11: same project, sponsor and sent_at as line 2",
    ]
    assert (result.created, result.updated, result.skipped) == (0, 0, 0)
    for model in (Project, Person, Identity, Checkin, Answer):
        assert await count(db, model) == 0, model


async def test_wrong_field_count_and_blank_lines(db: Database) -> None:
    org = await org_of(db)
    text = csv_text(
        "projects", "Apollo,ana@example.com,,weekly,mon", "", ",,,,,", "Borealis,bo@example.com,,,,,x"
    )
    assert messages(await run_import(db, org, "projects", text)) == [
        "line 2: has 5 fields, expected 6 (name,sponsor,segment,cadence,day,time)",
        "line 5: has 7 fields, expected 6 (name,sponsor,segment,cadence,day,time)",
    ]


async def test_unterminated_quote_is_reported_where_the_row_starts(db: Database) -> None:
    org = await org_of(db)
    text = csv_text(
        "responses", "A,a@x.io,2026-01-01T00:00:00Z,,,", 'A,a@x.io,2026-01-02T00:00:00Z,,,"open', "more"
    )
    errors = messages(await run_import(db, org, "responses", text))
    assert len(errors) == 1 and errors[0].startswith("line 3: is not valid CSV (unexpected end of data)")


async def test_problems_beyond_the_limit_are_counted_not_listed(db: Database) -> None:
    org = await org_of(db)
    bad = [f"P,p@x.io,2026-01-01T00:00:{i % 60:02d}Z,,{i},x" for i in range(MAX_LISTED + 40)]
    result = await run_import(db, org, "responses", csv_text("responses", *bad))
    assert len(result.errors) == MAX_LISTED + 1  # one problem a row: its rating
    assert result.errors[-1] == RowError(
        MAX_LISTED + 2, f"and {len(bad) - MAX_LISTED} more problems, not listed"
    )


# ---------------------------------------------------------------- every validation rule

RULES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "projects": (
        "Apollo,ana@example.com,Digital,weekly,mon,09:30",
        [
            (",ana@example.com,,,,", "name is required"),
            ("Bad1,,,,,", "sponsor is required (an e-mail address or a platform user id)"),
            ("Bad2,ana@,,,,", "sponsor 'ana@' is not an e-mail address"),
            ("Bad3,ana@example.com,,daily,,", "cadence 'daily' is not one of weekly, biweekly, monthly, quarterly, off"),
            ("Bad4,ana@example.com,,,monday,", "day 'monday' is not one of mon, tue, wed, thu, fri, sat, sun"),
            ("Bad5,ana@example.com,,,,25:00", "time '25:00' is not HH:MM (00:00–23:59)"),
            ("Bad6,ana@example.com,,,,9.30", "time '9.30' is not HH:MM (00:00–23:59)"),
            ("N" * 201 + ",ana@example.com,,,,", "name is longer than 200 characters"),
            ("apollo ,bo@example.com,,,,", "same project name as line 2"),
        ],
    ),
    "responses": (
        "Apollo,ana@example.com,2026-01-06T09:30:00Z,2026-01-06T10:00:00Z,5,Nice",
        [
            ("Apollo,ana@example.com,2026-01-07T09:30:00Z,2026-01-07T10:00:00Z,x,", "rating 'x' is not 1–5"),
            ("Apollo,ana@example.com,2026-01-08T09:30:00Z,2026-01-08T10:00:00Z,6,", "rating '6' is not 1–5"),
            ("Apollo,ana@example.com,2026-01-09T09:30:00Z,2026-01-09T10:00:00Z,4.0,", "rating '4.0' is not 1–5"),
            (
                "Apollo,ana@example.com,2026-01-10T09:30:00Z,2026-01-10T10:00:00Z,,",
                "answered_at is set but rating is empty (give both, or neither for an unanswered check-in)",
            ),
            (
                "Apollo,ana@example.com,2026-01-11T09:30:00Z,,3,",
                "rating is set but answered_at is empty (give both, or neither for an unanswered check-in)",
            ),
            (
                "Apollo,ana@example.com,2026-01-12T09:30:00Z,,,Hello",
                "comment is set but the check-in is unanswered (answered_at and rating are empty)",
            ),
            ("Apollo,ana@example.com,,,,", "sent_at is required"),
            (
                "Apollo,ana@example.com,13/01/2026,,,",
                "sent_at '13/01/2026' is not an ISO-8601 date and time (e.g. 2026-01-31T09:30:00Z)",
            ),
            ("Apollo,ana@example.com,2026-01-14T09:30:00Z,2026-01-14T09:29:59Z,4,", "answered_at is before sent_at"),
            ("Apollo,,2026-01-15T09:30:00Z,,,", "sponsor is required (an e-mail address or a platform user id)"),
            ("apollo,ANA@example.com,2026-01-06T10:30:00+01:00,,,", "same project, sponsor and sent_at as line 2"),
        ],
    ),
    "outcomes": (
        "Apollo,Order cycle time,days,12,5,8.5,250000,2026-12-31",
        [
            ("Apollo,Lead time,,,5,,,", "baseline is required"),
            ("Apollo,Lead time 2,,12,ten,,,", "target 'ten' is not a number"),
            ("Apollo,Lead time 3,,12,12,,,", "target equals baseline, so progress could never be measured"),
            ("Apollo,Lead time 4,,12,5,nan,,", "current 'nan' is not a number"),
            ("Apollo,Lead time 5,,12,5,,1e999,", "benefit '1e999' is not a number"),
            ("Apollo,Lead time 6,,12,5,,,2026-02-30", "due '2026-02-30' is not a date (YYYY-MM-DD)"),
            ("Apollo,Lead time 7,,12,5,,,9999-12-31", "due '9999-12-31' is too far away (the latest is 2999-12-31)"),
            ("Apollo,,,12,5,,,", "metric is required"),
            ("Nowhere,Lead time,,12,5,,,", "project 'Nowhere' does not exist (import projects first)"),
            ("Apollo,order  CYCLE time,,1,2,,,", "same project and metric as line 2"),
        ],
    ),
    "painpoints": (
        "Apollo,ana@example.com,2026-01-10T08:00:00Z,Slow approvals,4,open,,,,,",
        [
            ("Apollo,ana@example.com,2026-01-11T08:00:00Z,A,0,open,,,,,", "impact '0' is not 1–5"),
            ("Apollo,ana@example.com,2026-01-11T08:00:00Z,B,,open,,,,,", "impact is required (1–5)"),
            ("Apollo,ana@example.com,2026-01-11T08:00:00Z,C,3,closed,,,,,", "status 'closed' is not one of open, in_progress, resolved"),
            ("Apollo,ana@example.com,2026-01-11T08:00:00Z,D,3,,,,,,", "status is required (open, in_progress or resolved)"),
            ("Apollo,ana@example.com,2026-01-11T08:00:00Z,E,3,resolved,,,,,", "status is resolved but resolved_at is empty"),
            (
                "Apollo,ana@example.com,2026-01-11T08:00:00Z,F,3,open,2026-01-12T08:00:00Z,,,,",
                "resolved_at is set but status is open",
            ),
            (
                "Apollo,ana@example.com,2026-01-11T08:00:00Z,G,3,resolved,2026-01-10T08:00:00Z,,,,",
                "resolved_at is before reported_at",
            ),
            ("Apollo,ana@example.com,2026-01-11T08:00:00Z,H,3,open,,m,1,,smaller", "better 'smaller' is not one of lower, higher"),
            ("Apollo,ana@example.com,2026-01-11T08:00:00Z, ,3,open,,,,,", "text is required"),
            ("Apollo,ana@example.com,2026-01-11T08:00:00Z,I,3,open,,m,abc,,", "baseline 'abc' is not a number"),
            ("Apollo,ana@example.com,,J,3,open,,,,,", "reported_at is required"),
            ("Apollo,ana@example.com,2026-01-10T09:00:00+01:00,Slow approvals,2,open,,,,,", "same project, reported_at and text as line 2"),
        ],
    ),
}  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
async def test_every_validation_rule(db: Database, kind: str) -> None:
    org = await org_of(db)
    assert (await run_import(db, org, "projects", csv_text("projects", "Apollo,ana@example.com,,,,"))).ok
    before = {model: await count(db, model) for model in (Project, Person, Checkin, Outcome, PainPoint)}
    good, cases = RULES[kind]
    result = await run_import(db, org, kind, csv_text(kind, good, *(row for row, _ in cases)))
    assert messages(result) == [f"line {line}: {reason}" for line, (_, reason) in enumerate(cases, start=3)]
    assert {model: await count(db, model) for model in before} == before


@pytest.mark.parametrize("kind", KINDS)
async def test_every_reason_is_said_in_each_language_with_what_was_typed_kept(
    db: Database, kind: str
) -> None:
    """Each rule's reason is a catalog message: said again in every language, never left English,
    and a cell quoted in the English (what the person typed) is quoted the same in each language."""
    org = await org_of(db)
    assert (await run_import(db, org, "projects", csv_text("projects", "Apollo,ana@example.com,,,,"))).ok
    good, cases = RULES[kind]
    result = await run_import(db, org, kind, csv_text(kind, good, *(row for row, _ in cases)))
    assert [str(error.reason) for error in result.errors] == [reason for _, reason in cases]
    for language in LANGUAGES[1:]:
        for error in result.errors:
            said = say(error.reason, language)
            assert said != error.reason, (language, error.reason)
            for typed in re.findall(r"'[^']*'", error.reason):
                assert typed in said, (language, said)


async def test_the_header_and_the_unlisted_count_are_said_in_german(db: Database) -> None:
    org = await org_of(db)
    swapped = await run_import(db, org, "outcomes", (FIXTURES / "csv_projects.csv").read_text())
    assert [say(error.reason, "de") for error in swapped.errors] == [
        "die Kopfzeile muss genau project,metric,unit,baseline,target,current,benefit,due lauten "
        "(das sieht nach einer projects-Datei aus)"
    ]
    bad = [f"P,p@x.io,2026-01-01T00:00:{i % 60:02d}Z,,{i},x" for i in range(MAX_LISTED + 1)]
    result = await run_import(db, org, "responses", csv_text("responses", *bad))
    assert say(result.errors[-1].reason, "de") == "und 1 weiteres Problem, nicht aufgeführt"
    assert str(result.errors[-1]) == f"line {MAX_LISTED + 2}: and 1 more problems, not listed"


def test_row_with_several_problems_lists_them_all() -> None:
    row, problems = parse_response(["", "not an id", "x", "", "", ""])
    assert row is None
    assert problems == [
        "project is required",
        "sent_at 'x' is not an ISO-8601 date and time (e.g. 2026-01-31T09:30:00Z)",
    ]


QUICK_CASES = [
    ["Apollo", "ana@example.com", "2026-01-06T09:30:00Z", "2026-01-06T10:00:00Z", "5", ""],
    ["Apollo", "ana@example.com", "2026-01-06T09:30:00Z", "2026-01-06T10:00:00Z", "5", "  "],
    ["Apollo", "ana@example.com", "2026-01-06T09:30:00Z", "2026-01-06T10:00:00Z", "5", " ok, "],
    ["Apollo", "ana@example.com", "2026-01-06T09:30:00.700Z", "2026-01-06T11:00:00+01:00", "1", "x"],
    ["Apollo", "ana@example.com", "2026-01-06T09:30:00Z", "2026-01-06T09:29:00Z", "5", ""],
    ["Apollo", "ana@example.com", "2026-01-06T09:30:00Z", "", "", ""],
    ["Apollo", "ana@example.com", "2026-01-06T09:30:00Z", " ", " ", ""],
    ["Apollo", "ana@example.com", "2026-01-06T09:30:00Z", "", "3", ""],
    ["Apollo", "ana@example.com", "2026-01-06T09:30:00Z", "", "", "note"],
    ["Apollo", "ana@example.com", "2026-01-06T09:30+01Z", "", "", ""],
    ["Apollo", "ana@example.com", " 2026-01-06T09:30:00Z ", "2026-01-06T10:00:00Z", " 4 ", ""],
    ["Apollo", "ana@example.com", "2026-01-06", "2026-01-06T00:00:00-00:30", "4", ""],
    ["Apollo", "ana@example.com", "2026-01-06T09:30:00Z", "2026-01-06T10:00:00Z", "0", ""],
    ["Apollo", "ana@example.com", "2026-13-06T09:30:00Z", "", "", ""],
    ["Apollo", "ana@example.com", "0001-01-01T00:30:00+01:00", "", "", ""],
    [" Apollo ", " ANA@example.com ", "2026-01-06T09:30:00Z", "", "", ""],
]


def test_quick_response_parser_agrees_with_the_full_one() -> None:
    """The quick path (for million-row files) must accept and produce exactly what the full parser does."""
    quick = ResponseParser()
    for _ in range(2):  # the second round runs with the caches warm
        for cells in QUICK_CASES:
            assert quick(list(cells)) == parse_response(list(cells)), cells


# ---------------------------------------------------------------- what each kind creates


async def test_projects_import_creates_sponsors_with_their_platform(db: Database) -> None:
    org = await org_of(db)
    result = await run_import(db, org, "projects", FIXTURES / "csv_projects.csv")
    assert (result.created, result.updated, result.skipped, result.people_created) == (4, 0, 0, 4)
    async with db.transaction() as session:
        apollo = await find_project(session, org, "apollo")
        assert apollo is not None
        assert (apollo.segment, apollo.cadence, apollo.day, apollo.time, apollo.ask) == (
            "Digital", "weekly", "mon", "09:30", "monthly"
        )  # fmt: skip
        ana = await session.get(Person, apollo.sponsor_id)
        assert ana is not None and (ana.name, ana.email) == ("ana", "ana@example.com")
        identities = (await session.execute(select(Identity.platform, Identity.external_id, Person.name)
                                            .join(Person).order_by(Identity.external_id))).all()  # fmt: skip
        assert [tuple(i) for i in identities] == [
            ("teams", "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "3f2504e0-4f89-11d3-9a0c-0305e82c3301"),
            ("slack", "U024BE7LH", "U024BE7LH"),
            ("local", "sam.local", "sam.local"),
        ]
        borealis = await find_project(session, org, "Borealis")
        assert borealis is not None and borealis.segment is None


async def test_responses_create_projects_people_checkins_and_answers(db: Database) -> None:
    org = await org_of(db)
    assert (await run_import(db, org, "projects", FIXTURES / "csv_projects.csv")).ok
    result = await run_import(db, org, "responses", FIXTURES / "csv_responses.csv")
    assert (result.created, result.projects_created, result.people_created) == (4, 1, 1)
    async with db.transaction() as session:
        zephyr = await find_project(session, org, "Zephyr")
        assert zephyr is not None
        sponsor = await session.get(Person, zephyr.sponsor_id)
        assert sponsor is not None and sponsor.email == "zoe@example.com"
        assert (zephyr.segment, zephyr.cadence, zephyr.day, zephyr.time, zephyr.ask, zephyr.archived) == (
            None, "biweekly", "tue", "10:00", "monthly", False
        )  # fmt: skip
        checkins = list(await session.scalars(select(Checkin).order_by(Checkin.sent_at)))
        assert [(c.kind, c.status, c.rating) for c in checkins] == [
            ("taste", "answered", 5), ("taste", "closed", None), ("taste", "answered", 4), ("taste", "answered", 2)
        ]  # fmt: skip
        closed = checkins[1]
        assert closed.closed_at == closed.sent_at + dt.timedelta(days=7) and closed.answered_at is None
        # offsets are converted to UTC and stored naive
        assert checkins[2].sent_at == dt.datetime(2026, 1, 8, 9, 0)
        assert checkins[2].answered_at == dt.datetime(2026, 1, 8, 9, 30)
        assert checkins[3].answered_at == dt.datetime(2026, 1, 13, 10, 15)
        assert checkins[3].comment == 'Slow, and the "new" UI\nconfuses people'
        answers = (await session.execute(select(Answer.checkin_id, Answer.person_id, Answer.rating,
                                                Answer.answered_at).order_by(Answer.answered_at))).all()  # fmt: skip
        assert [tuple(a) for a in answers] == [
            (c.id, c.sponsor_id, c.rating, c.answered_at) for c in checkins if c.answered_at is not None
        ]


async def test_recent_unanswered_checkin_stays_open(db: Database) -> None:
    org = await org_of(db)
    sent = (utcnow() - dt.timedelta(days=1)).isoformat() + "Z"
    assert (await run_import(db, org, "responses", csv_text("responses", f"New,U0NEW1,{sent},,,"))).ok
    async with db.transaction() as session:
        checkin = await session.scalar(select(Checkin))
        assert checkin is not None and (checkin.status, checkin.closed_at) == ("open", None)
        identity = await session.scalar(select(Identity))
        assert identity is not None and (identity.platform, identity.external_id) == ("slack", "U0NEW1")


async def test_outcomes_need_existing_projects_and_record_measurements(db: Database) -> None:
    org = await org_of(db)
    assert (await run_import(db, org, "projects", FIXTURES / "csv_projects.csv")).ok
    result = await run_import(db, org, "outcomes", FIXTURES / "csv_outcomes.csv")
    assert (result.created, result.updated, result.skipped) == (3, 0, 0)
    async with db.transaction() as session:
        outcomes = list(await session.scalars(select(Outcome).order_by(Outcome.id)))
        assert [(o.metric, o.unit, o.baseline, o.target, o.current, o.benefit, o.due) for o in outcomes] == [
            ("Order cycle time", "days", 12, 5, 8.5, 250000, dt.date(2026, 12, 31)),
            ("NPS", None, 20, 45, None, None, None),
            ("Manual steps", "steps", 40, 10, 40, 1200000.5, dt.date(2027, 3, 31)),
        ]
        assert {o.added_on for o in outcomes} == {utcnow().date()}
        measured = (await session.execute(select(Measurement.outcome_id, Measurement.value))).all()
        assert sorted(tuple(m) for m in measured) == [(outcomes[0].id, 8.5), (outcomes[2].id, 40)]


async def test_painpoints_create_projects_and_people(db: Database) -> None:
    org = await org_of(db)
    result = await run_import(db, org, "painpoints", FIXTURES / "csv_painpoints.csv")
    assert (result.created, result.projects_created, result.people_created) == (3, 3, 3)
    async with db.transaction() as session:
        points = list(await session.scalars(select(PainPoint).order_by(PainPoint.reported_at)))
        assert [(p.impact, p.status, p.better, p.baseline, p.after) for p in points] == [
            (4, "resolved", "lower", 48, 6), (3, "open", "lower", None, None), (5, "open", "higher", 1, None)
        ]  # fmt: skip
        assert points[0].text == 'Approvals wait on one person, "always"'
        assert points[0].resolved_at == dt.datetime(2026, 1, 20, 8, 0)
        assert points[1].reported_at == dt.datetime(2026, 1, 11, 17, 0)  # -05:00 converted
        nimbus = await find_project(session, org, "Nimbus")
        assert nimbus is not None and nimbus.sponsor_id == points[2].reported_by


# ---------------------------------------------------------------- re-import


async def test_reimport_does_not_duplicate(db: Database) -> None:
    org = await org_of(db)
    await load_fixtures(db, org)
    before = {
        m: await count(db, m)
        for m in (Project, Person, Identity, Checkin, Answer, Outcome, Measurement, PainPoint)
    }
    for kind in KINDS:
        result = await run_import(db, org, kind, FIXTURES / f"csv_{kind}.csv")
        assert result.ok and result.created == result.updated == 0 and result.skipped > 0, result
    assert {m: await count(db, m) for m in before} == before


async def test_reimport_updates_what_changed(db: Database) -> None:
    org = await org_of(db)
    await load_fixtures(db, org)
    projects = csv_text(
        "projects", "APOLLO,bo@example.com,,quarterly,,", "Borealis,U024BE7LH,,biweekly,tue,10:00"
    )
    result = await run_import(db, org, "projects", projects)
    assert (result.created, result.updated, result.skipped, result.people_created) == (0, 1, 1, 1)
    responses = csv_text(
        "responses",
        "Apollo,ana@example.com,2026-01-06T09:30:00Z,2026-01-07T08:00:00Z,3,Changed my mind",
        "Apollo,ana@example.com,2026-01-13T09:30:00Z,,,",  # unanswered: never erases the answer
        "Borealis,U024BE7LH,2026-01-07T10:00:00Z,2026-01-08T10:00:00Z,4,Late but fine",
    )
    result = await run_import(db, org, "responses", responses)
    assert (result.created, result.updated, result.skipped) == (0, 2, 1)
    outcomes = csv_text(
        "outcomes", "Apollo,order cycle time,days,12,5,7,250000,2026-12-31", "Apollo,NPS,pts,20,45,,,"
    )
    result = await run_import(db, org, "outcomes", outcomes)
    assert (result.created, result.updated, result.skipped) == (0, 2, 0)
    painpoints = csv_text(
        "painpoints",
        "Borealis,U024BE7LH,2026-01-11T17:00:00Z,Test data is stale,2,resolved,2026-01-15T00:00:00Z,,,,",
    )
    result = await run_import(db, org, "painpoints", painpoints)
    assert (result.created, result.updated, result.skipped) == (0, 1, 0)
    async with db.transaction() as session:
        apollo = await find_project(session, org, "Apollo")
        assert apollo is not None
        sponsor = await session.get(Person, apollo.sponsor_id)
        assert sponsor is not None and sponsor.email == "bo@example.com"
        assert (apollo.segment, apollo.cadence, apollo.day, apollo.time) == (
            None,
            "quarterly",
            "mon",
            "09:30",
        )
        first = await session.scalar(
            select(Checkin).where(Checkin.project_id == apollo.id).order_by(Checkin.sent_at)
        )
        assert first is not None and (first.rating, first.comment) == (3, "Changed my mind")
        history = list(
            await session.scalars(
                select(Answer.rating).where(Answer.checkin_id == first.id).order_by(Answer.id)
            )
        )
        assert history == [5, 3]
        kept = await session.scalar(select(Checkin).where(Checkin.sent_at == dt.datetime(2026, 1, 13, 9, 30)))
        assert kept is not None and kept.rating == 2
        late = await session.scalar(select(Checkin).where(Checkin.sent_at == dt.datetime(2026, 1, 7, 10, 0)))
        assert late is not None and (late.status, late.rating) == ("answered", 4)
        cycle = await session.scalar(select(Outcome).where(Outcome.metric == "order cycle time"))
        assert cycle is not None and cycle.current == 7
        values = list(
            await session.scalars(select(Measurement.value).where(Measurement.outcome_id == cycle.id))
        )
        assert sorted(values) == [7, 8.5]
        nps = await session.scalar(select(Outcome).where(Outcome.metric == "NPS"))
        assert nps is not None and (nps.unit, nps.current) == ("pts", None)
        stale = await session.scalar(select(PainPoint).where(PainPoint.text == "Test data is stale"))
        assert stale is not None and (stale.status, stale.impact) == ("resolved", 2)
    # an empty `current` leaves the last measurement in place
    assert (
        await run_import(
            db, org, "outcomes", csv_text("outcomes", "Apollo,order cycle time,days,12,5,,250000,2026-12-31")
        )
    ).skipped == 1


async def test_many_rows_across_batches_then_reimported(db: Database, tmp_path: Path) -> None:
    org = await org_of(db)
    rows = BATCH * 2 + 345
    path = write_responses_csv(tmp_path / "responses.csv", rows, projects=30)
    result = await run_import(db, org, "responses", path)
    assert (result.created, result.projects_created, result.people_created) == (rows, 30, 15)
    answered = await count(db, Checkin, Checkin.answered_at.is_not(None))
    assert await count(db, Answer) == answered and 0.8 * rows < answered < 0.9 * rows
    again = await run_import(db, org, "responses", path)
    assert (again.created, again.updated, again.skipped) == (0, 0, rows)
    assert await count(db, Checkin) == rows


# ---------------------------------------------------------------- export and round trips


async def _rich_database(db: Database) -> int:
    """The fixtures plus the awkward cases: people known only by an id or only by a name, odd numbers, CRLF."""
    org = await org_of(db)
    await load_fixtures(db, org)
    async with db.transaction() as session:
        sponsor_of_teams = await add_person(session, org, "Teams Person")
        await add_identity(session, sponsor_of_teams, "teams", "29:1teamsuser")
        nameless = await add_person(session, org, "Pat Doe")
        apollo = await find_project(session, org, "Apollo")
        assert apollo is not None
        for sponsor, minute in ((sponsor_of_teams, 1), (nameless, 2)):
            sent = dt.datetime(2026, 2, 1, 9, minute)
            session.add(Checkin(org_id=org, project_id=apollo.id, sponsor_id=sponsor.id, kind="taste", status="answered",
                                sent_at=sent, answered_at=sent + dt.timedelta(hours=1), rating=1,
                                comment="Windows line\r\nend, ünïcödé ✓", message_refs={}))  # fmt: skip
        session.add(Outcome(org_id=org, project_id=apollo.id, metric="Odd numbers", unit="%", baseline=0.1 + 0.2,
                            target=-1e20, current=1e-7, benefit=-12.0, due=None, added_on=dt.date(2026, 1, 1)))  # fmt: skip
    return org


@pytest.mark.parametrize("kind", KINDS)
async def test_export_import_export_is_byte_identical(db: Database, db2: Database, kind: str) -> None:
    org = await _rich_database(db)
    first = await run_export(db, org, kind)
    org2 = await org_of(db2)
    for prerequisite in ("projects",) if kind == "outcomes" else ():
        assert (await run_import(db2, org2, prerequisite, await run_export(db, org, prerequisite))).ok
    result = await run_import(db2, org2, kind, first)
    assert result.ok and result.created == len(list(csv.reader(io.StringIO(first, newline="")))) - 1
    assert await run_export(db2, org2, kind) == first
    assert (await run_import(db2, org2, kind, first)).created == 0


async def test_export_formats(db: Database) -> None:
    org = await _rich_database(db)
    outcomes = (await run_export(db, org, "outcomes")).splitlines()
    assert outcomes[0] == HEADER["outcomes"]
    assert "Apollo,Order cycle time,days,12,5,8.5,250000,2026-12-31" in outcomes
    assert "Apollo,NPS,,20,45,,," in outcomes
    assert "Apollo,Odd numbers,%,0.30000000000000004,-1e+20,1e-07,-12," in outcomes
    responses = await run_export(db, org, "responses")
    assert "Zephyr,zoe@example.com,2026-01-08T09:00:00Z,2026-01-08T09:30:00Z,4,\n" in responses
    assert "Borealis,U024BE7LH,2026-01-07T10:00:00Z,,,\n" in responses
    assert '29:1teamsuser,2026-02-01T09:01:00Z,2026-02-01T10:01:00Z,1,"Windows line\r\nend' in responses
    assert "Apollo,Pat Doe,2026-02-01T09:02:00Z" in responses
    painpoints = (await run_export(db, org, "painpoints")).splitlines()
    assert painpoints[2] == "Borealis,U024BE7LH,2026-01-11T17:00:00Z,Test data is stale,3,open,,,,,lower,,,"


def test_cell_formats() -> None:
    assert [cf.write_number(v) for v in (12.0, 12.5, -0.0, None, 1e15, 2400000.0)] == [
        "12", "12.5", "0", "", "1000000000000000", "2400000"
    ]  # fmt: skip
    assert cf.write_timestamp(dt.datetime(2026, 1, 2, 3, 4, 5, 600)) == "2026-01-02T03:04:05Z"
    assert cf.write_timestamp(None) == cf.write_date(None) == ""
    assert cf.write_date(dt.date(2026, 1, 2)) == "2026-01-02"
    assert cf.timestamp("2026-01-02T03:04:05+05:30", "t") == dt.datetime(2026, 1, 1, 21, 34, 5)
    assert cf.timestamp("2026-01-02 03:04", "t") == dt.datetime(2026, 1, 2, 3, 4)
    assert cf.time_of_day("9:05") == "09:05"
    assert [platform_of(i) for i in ("U024BE7LH", "W0ABC", "3F2504E0-4F89-11D3-9A0C-0305E82C3301", "u123", "x")] == [
        "slack", "slack", "teams", "local", "local"
    ]  # fmt: skip


# ---------------------------------------------------------------- sources


async def test_sources_string_stream_unseekable_stream_and_file(db: Database, tmp_path: Path) -> None:
    text = (FIXTURES / "csv_projects.csv").read_text(encoding="utf-8")

    class OneWay(io.StringIO):
        def seekable(self) -> bool:
            return False

    for source_org, source in (
        ("a", text),
        ("b", io.StringIO(text, newline="")),
        ("c", OneWay(text, newline="")),
    ):
        org = await org_of(db, source_org)
        async with db.transaction() as session:
            result = await import_csv(session, org, "projects", source)  # type: ignore[arg-type]
        assert (result.created, result.people_created) == (4, 4), source_org
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert (await run_import(db, await org_of(db, "d"), "projects", bom)).created == 4


async def test_bytes_that_are_not_utf8_name_their_line(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        csv_text("projects", "Apollo,ana@example.com,,,,", "Caf\xe9,bo@example.com,,,,").encode("latin-1")
    )
    assert messages(await run_import(db, await org_of(db), "projects", path)) == ["line 3: is not UTF-8 text"]
    path.write_bytes("Name,Sponsör\n".encode("latin-1"))
    assert messages(await run_import(db, await org_of(db), "projects", path)) == [
        "line 1: the header must be exactly name,sponsor,segment,cadence,day,time; found text that is not UTF-8"
    ]


async def test_organisations_are_kept_apart(db: Database) -> None:
    first, second = await org_of(db, "one"), await org_of(db, "two")
    assert (await run_import(db, first, "projects", FIXTURES / "csv_projects.csv")).ok
    assert messages(await run_import(db, second, "outcomes", FIXTURES / "csv_outcomes.csv"))[0] == (
        "line 2: project 'Apollo' does not exist (import projects first)"
    )
    assert await run_export(db, second, "projects") == HEADER["projects"] + "\n"


# ---------------------------------------------------------------- measurement script


async def _measure(path: Path, database: Path) -> tuple[ImportResult, float]:
    import time

    db = Database(f"sqlite:///{database}")
    await db.migrate()
    org = await org_of(db)
    started = time.perf_counter()
    result = await run_import(db, org, "responses", path)
    took = time.perf_counter() - started
    await db.dispose()
    return result, took


def main(rows: int) -> None:
    """Generate (once) a responses file of `rows` rows in /tmp and time its import into a fresh SQLite file."""
    import resource

    path = Path("/tmp") / f"pmo-responses-{rows}.csv"
    if not path.exists():
        write_responses_csv(path, rows)
    database = Path("/tmp") / f"pmo-bench-{uuid.uuid4().hex[:8]}.db"
    try:
        result, took = asyncio.run(_measure(path, database))
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{result.summary()} {rows} rows in {took:.1f} s; peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
