"""What every part of the value report shares: its thresholds, rounding, scope filter, and the
improvement of one measured fix (METRICS.md), so that the figures and the lists agree."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Float, case, func
from sqlalchemy.sql.elements import ColumnElement

from storage.models import PainPoint

GOOD = 4  # ratings at or above this are satisfied (CSAT)
DELICIOUS = 5
SOUR = 2  # ratings at or below this count against net taste
RISK_MARGIN = 0.25  # at risk when progress trails elapsed time by more than this
LIST_LIMIT = 5  # wins and each list of attention hold at most this many


def round_half_away(value: float | None, places: int) -> float | None:
    """Round the decimal value half away from zero; None stays None, -0.0 becomes 0.0."""
    if value is None:
        return None
    quantum = Decimal(1).scaleb(-places)
    return float(Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP)) + 0.0


def pct(part: float | None, whole: float | None) -> float | None:
    if not whole:
        return None
    return 100.0 * float(part or 0) / float(whole)


def as_float(value: Any) -> float | None:
    """PostgreSQL answers some aggregates as Decimal; the report speaks float."""
    return None if value is None else float(value)


def iso_utc(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def in_scope(org_column: Any, project_column: Any, org_id: int, ids: list[int] | None) -> ColumnElement[bool]:
    """Filter on the column whose index serves the scope: org_id for the org, project_id otherwise."""
    if ids is None:
        return org_column == org_id
    if len(ids) == 1:
        return project_column == ids[0]
    return project_column.in_(ids)


def improvement() -> Any:
    """100 × (baseline − after) / |baseline| (better lower), or (after − baseline) when higher.

    Typed Float so that PostgreSQL divides in double precision (as SQLite does), not NUMERIC."""
    magnitude = func.abs(PainPoint.baseline, type_=Float)
    return case(
        (PainPoint.better == "higher", 100.0 * (PainPoint.after - PainPoint.baseline) / magnitude),
        else_=100.0 * (PainPoint.baseline - PainPoint.after) / magnitude,
    )


def measured() -> ColumnElement[bool]:
    """A fix with a before and an after to compare (a baseline of 0 has no relative change)."""
    return (PainPoint.baseline.is_not(None)) & (PainPoint.after.is_not(None)) & (PainPoint.baseline != 0)
