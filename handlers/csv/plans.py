"""The first pass of an import, kind by kind: what must be noted of each good row, and checked once all are read.

A plan refuses rows repeated within the file and, where a kind needs it, checks the database
(read-only) before anything is written. It keeps only what the check and the write pass need.
"""

from __future__ import annotations

import datetime as dt
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.csv.formats import shown
from handlers.csv.problems import Problems
from handlers.csv.refs import Refs, existing_projects, existing_staff
from handlers.csv.rows import OutcomeRow, PainpointRow, ProjectRow, ResponseRow, Row
from handlers.i18n import _
from storage.queries import name_key

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

    def earlier(self, key: object, line: int) -> int | None:
        """The line that first had `key`, when it is not this one."""
        first = self.seen.setdefault(key, line)
        return None if first == line else first


@dataclass
class ProjectsPlan(_KeyedPlan):
    def note(self, line: int, row: Row, problems: Problems) -> None:
        assert isinstance(row, ProjectRow)
        self.refs.note(None, row.sponsor)
        first = self.earlier(name_key(row.name), line)
        if first is not None:
            problems.add(line, _("same project name as line %(line)s", line=first))


@dataclass
class OutcomesPlan(_KeyedPlan):
    lines: dict[str, list[int]] = field(default_factory=dict)

    def note(self, line: int, row: Row, problems: Problems) -> None:
        assert isinstance(row, OutcomeRow)
        self.refs.note(row.project, None)
        project = name_key(row.project)
        self.lines.setdefault(project, []).append(line)
        first = self.earlier((project, name_key(row.metric)), line)
        if first is not None:
            problems.add(line, _("same project and metric as line %(line)s", line=first))

    async def check(self, session: AsyncSession, org_id: int, problems: Problems) -> None:
        known = await existing_projects(session, org_id, self.refs.projects)
        for key, (name, _person) in self.refs.projects.items():
            if key not in known:
                for line in self.lines[key]:
                    problems.add(
                        line,
                        _("project %(project)s does not exist (import projects first)", project=shown(name)),
                    )


@dataclass
class PainpointsPlan(_KeyedPlan):
    owners: dict[str, list[int]] = field(default_factory=dict)  # owner token → the lines naming them

    def note(self, line: int, row: Row, problems: Problems) -> None:
        assert isinstance(row, PainpointRow)
        self.refs.note(row.project, row.reported_by)
        if row.owner is not None:
            self.owners.setdefault(row.owner, []).append(line)
        first = self.earlier((name_key(row.project), row.reported_at, row.text), line)
        if first is not None:
            problems.add(line, _("same project, reported_at and text as line %(line)s", line=first))

    async def check(self, session: AsyncSession, org_id: int, problems: Problems) -> None:
        """An owner must already be PMO staff, as for `painpoint ID owner:` (CONTRACT.md section 4)."""
        self.refs.staff = await existing_staff(session, org_id, self.owners)
        for token, lines in self.owners.items():
            if token not in self.refs.staff:
                for line in lines:
                    problems.add(
                        line,
                        _(
                            "owner %(owner)s is not PMO staff (an admin can run 'staff add' first)",
                            owner=shown(token),
                        ),
                    )


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
            problems.add(
                line,
                _("more than %(limit)s project/sponsor pairs in one file; split the file", limit=_MAX_PAIRS),
            )
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
                    problems.add(line, _("same project, sponsor and sent_at as line %(line)s", line=earlier))
