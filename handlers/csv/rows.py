"""One CSV row of each kind, checked and typed, without touching the database.

Each parser returns the typed row, or None and every problem found in it, so that a bad file
is reported in full in one go rather than one error per attempt.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, NamedTuple

from handlers.csv import formats as cf
from handlers.i18n import _
from handlers.text import text_control


class ProjectRow(NamedTuple):
    name: str
    sponsor: str
    segment: str | None
    cadence: str | None  # None keeps the current value (a new project gets the default)
    day: str | None
    time: str | None


class ResponseRow(NamedTuple):
    project: str
    sponsor: str
    sent_at: dt.datetime
    answered_at: dt.datetime | None
    rating: int | None
    comment: str | None


class OutcomeRow(NamedTuple):
    project: str
    metric: str
    unit: str | None
    baseline: float
    target: float
    current: float | None
    benefit: float | None
    due: dt.date | None


class PainpointRow(NamedTuple):
    project: str
    reported_by: str
    reported_at: dt.datetime
    text: str
    impact: int
    status: str
    resolved_at: dt.datetime | None
    metric: str | None
    baseline: float | None
    after: float | None
    better: str
    owner: str | None  # an e-mail or platform user id of PMO staff
    fix: str | None
    confirmed: bool | None  # the reporter's answer to "Is it fixed?"; None: not answered


class OlderPainpointRow(PainpointRow):
    """A row of a file with only the first eleven columns: owner, fix and confirmed stay as stored."""

    __slots__ = ()


OLDER_PAINPOINT_COLUMNS = PainpointRow._fields[:11]  # the columns before the loop's (CONTRACT.md section 6)
CONFIRMED = {"yes": True, "no": False}

Row = ProjectRow | ResponseRow | OutcomeRow | PainpointRow
Parsed = tuple[Row | None, list[str]]  # the row's problems: lazy texts (`handlers.i18n`), English as str


def _cell(problems: list[str], read: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return read(*args, **kwargs)
    except cf.CellError as exc:
        problems.append(exc.reason)
        return None


def _project(f: list[str]) -> tuple[str | None, list[str]]:
    """The first cell of every kind but projects, the project's name; and the row's problems, begun with it."""
    problems: list[str] = []
    return _cell(problems, cf.text, f[0], "project", 200, required=True), problems


def parse_project(f: list[str]) -> Parsed:
    p: list[str] = []
    name = _cell(p, cf.text, f[0], "name", 200, required=True)
    sponsor = _cell(p, cf.person, f[1], "sponsor")
    segment = _cell(p, cf.text, f[2], "segment", 200)
    cadence = _cell(p, cf.cadence, f[3])
    day = _cell(p, cf.weekday, f[4])
    time = _cell(p, cf.time_of_day, f[5])
    if p:
        return None, p
    return ProjectRow(name, sponsor, segment, cadence, day, time), p


def parse_response(f: list[str]) -> Parsed:
    project, p = _project(f)
    sponsor = _cell(p, cf.person, f[1], "sponsor")
    sent_at = _cell(p, cf.timestamp, f[2], "sent_at", required=True)
    answered_at = _cell(p, cf.timestamp, f[3], "answered_at")
    rating = _cell(p, cf.one_to_five, f[4], "rating")
    comment = _cell(p, cf.free_text, f[5], "comment")
    if answered_at is not None and rating is None and f[4].strip() == "":
        p.append(
            _("answered_at is set but rating is empty (give both, or neither for an unanswered check-in)")
        )
    if rating is not None and answered_at is None and f[3].strip() == "":
        p.append(
            _("rating is set but answered_at is empty (give both, or neither for an unanswered check-in)")
        )
    if comment is not None and not f[3].strip() and not f[4].strip():
        p.append(_("comment is set but the check-in is unanswered (answered_at and rating are empty)"))
    if answered_at is not None and sent_at is not None and answered_at < sent_at:
        p.append(_("answered_at is before sent_at"))
    if p:
        return None, p
    return ResponseRow(project, sponsor, sent_at, answered_at, rating, comment), p


def parse_outcome(f: list[str]) -> Parsed:
    project, p = _project(f)
    metric = _cell(p, cf.text, f[1], "metric", 200, required=True)
    unit = _cell(p, cf.text, f[2], "unit", 40)
    baseline = _cell(p, cf.number, f[3], "baseline", required=True)
    target = _cell(p, cf.number, f[4], "target", required=True)
    current = _cell(p, cf.number, f[5], "current")
    benefit = _cell(p, cf.number, f[6], "benefit")
    due = _cell(p, cf.day_date, f[7], "due")
    if baseline is not None and target is not None and baseline == target:
        p.append(_("target equals baseline, so progress could never be measured"))
    if p:
        return None, p
    return OutcomeRow(project, metric, unit, baseline, target, current, benefit, due), p


def parse_painpoint(f: list[str]) -> Parsed:
    """A row of either width: all fourteen columns, or only the first eleven (owner, fix, confirmed kept)."""
    project, p = _project(f)
    reported_by = _cell(p, cf.person, f[1], "reported_by")
    reported_at = _cell(p, cf.timestamp, f[2], "reported_at", required=True)
    text = _cell(p, cf.free_text, f[3], "text", required=True)
    impact = _cell(p, cf.one_to_five, f[4], "impact", required=True)
    status = _cell(p, cf.choice, f[5], "status", cf.STATUSES)
    resolved_at = _cell(p, cf.timestamp, f[6], "resolved_at")
    metric = _cell(p, cf.text, f[7], "metric", 200)
    baseline = _cell(p, cf.number, f[8], "baseline")
    after = _cell(p, cf.number, f[9], "after")
    better = _cell(p, cf.choice, f[10], "better", cf.BETTER) or "lower"
    older = len(f) == len(OLDER_PAINPOINT_COLUMNS)
    owner = fix = confirmed = None
    if not older:
        owner = _cell(p, cf.person, f[11], "owner") if f[11].strip() else None
        fix = _cell(p, cf.free_text, f[12], "fix")
        answer = _cell(p, cf.choice, f[13], "confirmed", tuple(CONFIRMED))
        confirmed = None if answer is None else CONFIRMED[answer]
    reopened = confirmed is False  # ❌ Not yet put it back to open; its resolved_at is kept
    if not f[5].strip():
        p.append(_("status is required (open, in_progress or resolved)"))
    elif status == "resolved" and resolved_at is None and not f[6].strip():
        p.append(_("status is resolved but resolved_at is empty"))
    elif status in ("open", "in_progress") and resolved_at is not None and not reopened:
        p.append(_("resolved_at is set but status is %(status)s", status=status))
    elif status == "in_progress" and not older and owner is None and not f[11].strip():
        p.append(_("status is in_progress but owner is empty"))
    if resolved_at is not None and reported_at is not None and resolved_at < reported_at:
        p.append(_("resolved_at is before reported_at"))
    if p:
        return None, p
    fields = (
        project,
        reported_by,
        reported_at,
        text,
        impact,
        status,
        resolved_at,
        metric,
        baseline,
        after,
        better,
    )
    if older:
        return OlderPainpointRow(*fields, None, None, None), p
    return PainpointRow(*fields, owner, fix, confirmed), p


class _Unusual(Exception):
    """The quick path met something it does not handle; the full parser decides."""


class ResponseParser:
    """`parse_response` with a quick path for the ordinary row, for million-row files.

    A project or person cell already seen in a good row is not checked again, and a row of the
    usual shape is read with a handful of C calls (a comment is only checked to be printable). Anything else, good or bad, goes through
    `parse_response`, so both paths accept and produce exactly the same rows.
    """

    CACHE_LIMIT = 100_000

    def __init__(self) -> None:
        self.projects: dict[str, str] = {}
        self.people: dict[str, str] = {}

    def __call__(self, f: list[str]) -> Parsed:
        try:
            project = self.projects[f[0]]
            sponsor = self.people[f[1]]
            sent_at = _quick_time(f[2])
            if f[3]:
                answered_at: dt.datetime | None = _quick_time(f[3])
                rating: int | None = cf.ONE_TO_FIVE[f[4]]
                if answered_at < sent_at:  # type: ignore[operator]
                    raise _Unusual
                comment = f[5] if f[5] and not f[5].isspace() else None
                if comment is not None and (comment[0] == "'" or text_control(comment)):
                    raise _Unusual  # a spreadsheet-safety quote or a control character
            elif f[4] or f[5]:
                raise _Unusual
            else:
                answered_at = rating = comment = None
        except (_Unusual, KeyError, ValueError, OverflowError):
            return self._full(f)
        return ResponseRow(project, sponsor, sent_at, answered_at, rating, comment), []

    def _full(self, f: list[str]) -> Parsed:
        row, problems = parse_response(f)
        if isinstance(row, ResponseRow) and len(self.projects) + len(self.people) < self.CACHE_LIMIT:
            self.projects[f[0]] = row.project
            self.people[f[1]] = row.sponsor
        return row, problems


_FROM_ISO = dt.datetime.fromisoformat


def _quick_time(value: str) -> dt.datetime:
    if len(value) == 20 and value[10] == "T" and value[19] == "Z":  # what export writes
        moment = _FROM_ISO(value[:19])
        if moment.tzinfo is None:
            return moment
    return cf.as_utc(_FROM_ISO(value))
