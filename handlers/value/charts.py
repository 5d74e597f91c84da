"""The value report's six-month trend as a small PNG every channel can attach (handlers/charts.py
draws it, in any language, and keeps the last few)."""

from __future__ import annotations

from typing import Any

from handlers.charts import Chart, chart_of, month_label, series_of
from handlers.i18n import SOURCE

__all__ = ["month_label", "trend_chart"]


def trend_chart(report: dict[str, Any], language: str = SOURCE) -> Chart:
    """PNG bytes: bars of responses per month, a line of CSAT % with gaps where it is null; the
    last month (the current one, METRICS.md `trend`) drawn as partial; its words in `language`.
    A view keeps the English one: `handlers.views.localize` draws it again for its reader."""
    return chart_of(series_of(report["trend"]), language)
