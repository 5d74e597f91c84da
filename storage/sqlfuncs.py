"""SQL expressions that SQLite and PostgreSQL spell differently, compiled per dialect.

The value report computes durations inside the database (so that a million rows never reach
Python); SQLite has no interval type and PostgreSQL has no `julianday`, hence these constructs.
Both return days as a floating-point number.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal


class DaysBetween(FunctionElement[float]):
    """`later − earlier` for two datetimes, in days (seconds / 86400, fractions kept)."""

    type = Float()
    name = "days_between"
    inherit_cache = True


class DateDaysBetween(FunctionElement[float]):
    """`later − earlier` for two dates, in whole days (as a float, so division never truncates)."""

    type = Float()
    name = "date_days_between"
    inherit_cache = True


def _args(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> tuple[str, str]:
    later, earlier = list(element.clauses)
    return compiler.process(later, **kw), compiler.process(earlier, **kw)


@compiles(DaysBetween, "sqlite")
@compiles(DateDaysBetween, "sqlite")
def _julianday_difference(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = _args(element, compiler, **kw)
    return f"(julianday({later}) - julianday({earlier}))"


@compiles(DaysBetween, "postgresql")
def _epoch_difference(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = _args(element, compiler, **kw)
    return f"CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400.0 AS DOUBLE PRECISION)"


@compiles(DateDaysBetween, "postgresql")
def _date_difference(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = _args(element, compiler, **kw)
    return f"CAST(({later} - {earlier}) AS DOUBLE PRECISION)"


@compiles(DaysBetween)
@compiles(DateDaysBetween)
def _unsupported(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    raise NotImplementedError(f"{element.name} is defined for SQLite and PostgreSQL only")


class ShiftedDays(FunctionElement[Any]):
    """A datetime `days` whole days later (negative: earlier), comparable with the stored column.

    SQLite keeps times as text ('YYYY-MM-DD HH:MM:SS.ffffff', as SQLAlchemy writes them), so the
    shifted time is written the same way (the fraction kept) and a range on an indexed column stays
    an index range; PostgreSQL adds an interval. `days` is a whole number, written into the SQL.
    """

    name = "shifted_days"
    inherit_cache = True
    # `days` is written into the SQL, so it is part of the statement's cache key
    _traverse_internals: ClassVar[Any] = [
        *FunctionElement._traverse_internals,
        ("days", InternalTraversal.dp_plain_obj),
    ]

    def __init__(self, moment: Any, days: int) -> None:
        if isinstance(days, bool) or not isinstance(days, int):
            raise TypeError(f"days must be a whole number, not {days!r}")
        self.days = days
        super().__init__(moment)
        self.type = moment.type


def _shift(element: ShiftedDays, compiler: SQLCompiler, **kw: Any) -> tuple[str, int]:
    [moment] = list(element.clauses)
    return compiler.process(moment, **kw), element.days


@compiles(ShiftedDays, "sqlite")
def _sqlite_shift(element: ShiftedDays, compiler: SQLCompiler, **kw: Any) -> str:
    moment, days = _shift(element, compiler, **kw)
    return f"(strftime('%Y-%m-%d %H:%M:%S', {moment}, '{days:+d} days') || substr({moment}, 20))"


@compiles(ShiftedDays, "postgresql")
def _pg_shift(element: ShiftedDays, compiler: SQLCompiler, **kw: Any) -> str:
    moment, days = _shift(element, compiler, **kw)
    return f"({moment} + make_interval(days => {days:d}))"


@compiles(ShiftedDays)
def _unsupported_shift(element: ShiftedDays, compiler: SQLCompiler, **kw: Any) -> str:
    raise NotImplementedError("shifted_days is defined for SQLite and PostgreSQL only")
