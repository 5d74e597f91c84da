"""The one table of CSV kinds: for each, its columns and the code that reads, checks, writes and exports it.

Everything that names the kinds reads this table: import and export, the `/pmo export` command
and `app.py import|export`. Adding a kind is adding its pieces (a row type and parser in `rows`,
a plan in `plans`, a writer in `store`, a stream in `streams`, optionally a PostgreSQL staging
writer in `staged`) and one entry here.

A file's columns are its row type's fields, in order, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.csv import plans, rows, staged, store, streams
from handlers.csv.refs import Refs

RowParser = Callable[[list[str]], rows.Parsed]
Writer = Callable[[AsyncSession, int, Refs, store.Rows], Awaitable[store.Counts]]


@dataclass(frozen=True)
class CsvKind:
    """One kind of CSV file (CONTRACT.md section 6)."""

    name: str
    columns: tuple[str, ...]
    parser: Callable[[], RowParser]  # a fresh parser for each import: the responses one learns as it reads
    plan: Callable[[], plans.Plan]  # the first pass's bookkeeping
    write: Writer  # the second pass
    rows: streams.Stream  # export
    older_columns: tuple[str, ...] | None = None  # an earlier header whose files still import
    # PostgreSQL: one pass COPYing the rows into a staging table, then set-based writes (None: `write`)
    staged: Callable[[AsyncSession, int], staged.ResponsesStaging] | None = None

    def headers(self) -> tuple[tuple[str, ...], ...]:
        """The headers a file of this kind may have: its columns, then the older ones."""
        return (self.columns,) if self.older_columns is None else (self.columns, self.older_columns)


# fmt: off
KINDS: Mapping[str, CsvKind] = {kind.name: kind for kind in (
    #       name          columns                    parser                        plan                  write                   rows
    CsvKind("projects",   rows.ProjectRow._fields,   lambda: rows.parse_project,   plans.ProjectsPlan,   store.write_projects,   streams.projects),
    CsvKind("responses",  rows.ResponseRow._fields,  rows.ResponseParser,          plans.ResponsesPlan,  store.write_responses,  streams.responses,
            staged=staged.ResponsesStaging),
    CsvKind("outcomes",   rows.OutcomeRow._fields,   lambda: rows.parse_outcome,   plans.OutcomesPlan,   store.write_outcomes,   streams.outcomes),
    CsvKind("painpoints", rows.PainpointRow._fields, lambda: rows.parse_painpoint, plans.PainpointsPlan, store.write_painpoints, streams.painpoints,
            older_columns=rows.OLDER_PAINPOINT_COLUMNS),
)}
# fmt: on

COLUMNS: Mapping[str, tuple[str, ...]] = {name: kind.columns for name, kind in KINDS.items()}


def kind_named(name: str) -> CsvKind:
    """The kind called `name`, or ValueError naming the kinds there are."""
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown CSV kind {name!r}: expected one of {', '.join(KINDS)}") from None
