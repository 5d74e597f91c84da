"""SQL expressions that SQLite and PostgreSQL spell differently, compiled per dialect.

The value report computes durations inside the database (so that a million rows never reach
Python); SQLite has no interval type and PostgreSQL has no `julianday`, hence these constructs.
Both return days as a floating-point number.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


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
