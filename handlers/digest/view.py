"""The value digest as leaders read it: the organisation's value report, framed as a digest.

Built from the one computation (`handlers.value.report.compute_value`) and the report's own
rendering (`handlers.value.view.value_view`), so the digest leads with whatever the report leads
with (its headline, wins and what needs attention, CONTRACT section 7) and never computes a figure
of its own. What the digest adds: its title and window (7 days weekly, 30 monthly), one line per
segment (responses, CSAT, its change) when the report has no table of its own, and a pointer to
the full report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import SOURCE, Cat, _, ngettext
from handlers.value.charts import trend_chart
from handlers.value.report import compute_value
from handlers.value.view import pct, signed, trend_arrow, value_view
from handlers.views import Fact, View, localize
from storage.models import Project

DAYS = {"weekly": 7, "monthly": 30, "off": 30}  # `off` still answers `digest now`: a month
SEGMENT_LINES = 20  # an organisation with more segments shows the first twenty and says so
FULL_REPORT = _("The full report: /pmo value (staff also see the comments).")


@dataclass(frozen=True)
class Digest:
    """One digest: the report it was built from and its view (with or without the chart)."""

    report: dict[str, Any]
    view: View


def days_for(cadence: str) -> int:
    return DAYS.get(cadence, 30)


def segment_line(satisfaction: dict[str, Any]) -> str:
    """'12 responses · CSAT 75.0% ▲ +8.3 pts': one segment's figures, from its own report."""
    responses = satisfaction["responses"]
    line = Cat(
        ngettext("%(n)s response", "%(n)s responses", responses), " · CSAT ", pct(satisfaction["csat_pct"])
    )
    delta = satisfaction["delta_csat_pts"]
    if delta is not None:
        line = Cat(line, f" {trend_arrow(delta)} ", signed(delta, " pts"))
    return line


async def segment_facts(
    session: AsyncSession, org_id: int, report: dict[str, Any], *, days: int, today: dt.date
) -> tuple[tuple[Fact, ...], tuple[str, ...]]:
    """One fact per segment, each from the segment's own report (the same computation, narrower
    scope); nothing when the report carries its own table (`breakdown`): the report shows that."""
    if "breakdown" in report:
        return (), ()
    names = sorted(
        {
            segment
            for segment in await session.scalars(
                select(Project.segment)
                .where(Project.org_id == org_id, Project.segment.is_not(None))
                .distinct()
            )
            if segment and segment.strip()
        },
        key=str.casefold,
    )
    facts = []
    for name in names[:SEGMENT_LINES]:
        narrow = await compute_value(session, org_id, segment=name, days=days, today=today)
        facts.append(Fact(name, segment_line(narrow["satisfaction"])))
    extra = len(names) - SEGMENT_LINES
    more = (ngettext("… and %(n)s more segment", "… and %(n)s more segments", extra),) if extra > 0 else ()
    return tuple(facts), more


def digest_title(days: int) -> str:
    return ngettext("PMO value digest — last %(n)s day", "PMO value digest — last %(n)s days", days)


async def build_digest(
    session: AsyncSession,
    org_id: int,
    *,
    days: int,
    today: dt.date,
    chart: bool = True,
    currency: str | None = None,
) -> Digest:
    """The digest over the `days` days ending with `today` (UTC dates, like `value days:N`).

    `chart=False` leaves the picture out (the CLI's text; the clock draws it off the event loop
    with `with_chart`)."""
    report = await compute_value(session, org_id, days=days, today=today, currency=currency)
    base = value_view(report, chart=False)
    facts, more = await segment_facts(session, org_id, report, days=days, today=today)
    lines = [*base.lines]
    if facts:
        lines += [
            _("By segment (responses · CSAT · change):"),
            *(Cat(f.label, ": ", f.value) for f in facts),
            *more,
        ]
    lines.append(FULL_REPORT)
    view = replace(base, title=digest_title(days), lines=tuple(lines))
    digest = Digest(report, view)
    return with_chart(digest) if chart else digest


def with_chart(digest: Digest) -> Digest:
    """The digest with its trend chart drawn (synchronous matplotlib: a thread's work)."""
    trend_line = next((line for line in digest.view.lines if line.startswith("CSAT by month")), "")
    lines = tuple(line for line in digest.view.lines if line != trend_line)
    view = replace(digest.view, lines=lines, chart=trend_chart(digest.report), chart_alt=trend_line)
    return Digest(digest.report, view)


def digest_text(digest: Digest, language: str = SOURCE) -> str:
    """Plain text (`python app.py digest`, in PMO_LANGUAGE): the same view, its trend as a line."""
    return localize(digest.view, language).as_text()
