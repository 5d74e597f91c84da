"""The value report as text, as a neutral View, and as a PNG trend chart."""

from __future__ import annotations

import copy
import gc
import re
import struct
from typing import Any

from handlers.value.charts import draw_trend, trend_chart
from handlers.value.view import money, value_text, value_view
from handlers.views import View, view_from_dict

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# The example of CONTRACT.md section 7, with all six trend months.
REPORT: dict[str, Any] = {
    "scope": {"project": None, "segment": None},
    "window": {"start": "2026-08-24T00:00:00Z", "end": "2026-11-22T00:00:00Z", "days": 90},
    "satisfaction": {
        "responses": 41,
        "mean": 4.12,
        "csat_pct": 78.0,
        "net_taste_pct": 31.7,
        "previous_csat_pct": 70.6,
        "delta_csat_pts": 7.4,
    },
    "response_rate_pct": 83.7,
    "pain_points": {
        "reported": 9,
        "open": 4,
        "resolved": 6,
        "median_days_to_resolve": 11.5,
        "measured_fixes": 3,
        "mean_improvement_pct": 42.0,
    },
    "outcomes": {"total": 12, "achieved": 3, "on_track": 7, "at_risk": 2, "mean_progress_pct": 61.3},
    "benefits": {"planned": 2400000, "realized": 1310000, "pmo_cost": 450000, "roi_pct": 191.1},
    "trend": [
        {"month": "2026-06", "responses": 6, "mean": 3.83, "csat_pct": 66.7},
        {"month": "2026-07", "responses": 0, "mean": None, "csat_pct": None},
        {"month": "2026-08", "responses": 9, "mean": 4.0, "csat_pct": 77.8},
        {"month": "2026-09", "responses": 14, "mean": 4.21, "csat_pct": 85.7},
        {"month": "2026-10", "responses": 12, "mean": 4.08, "csat_pct": 75.0},
        {"month": "2026-11", "responses": 6, "mean": 4.17, "csat_pct": 66.7},
    ],
}


def empty_report(**scope: Any) -> dict[str, Any]:
    """What compute_value answers when there is nothing at all to compute from."""
    report = copy.deepcopy(REPORT)
    report["scope"] = {"project": None, "segment": None, **scope}
    report["satisfaction"] = dict.fromkeys(report["satisfaction"]) | {"responses": 0}
    report["response_rate_pct"] = None
    report["pain_points"] = {
        "reported": 0,
        "open": 0,
        "resolved": 0,
        "median_days_to_resolve": None,
        "measured_fixes": 0,
        "mean_improvement_pct": None,
    }
    report["outcomes"] = {"total": 0, "achieved": 0, "on_track": 0, "at_risk": 0, "mean_progress_pct": None}
    report["benefits"] = dict.fromkeys(report["benefits"])
    report["trend"] = [{**m, "responses": 0, "mean": None, "csat_pct": None} for m in report["trend"]]
    return report


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
    return width, height


def facts(view: View) -> dict[str, str]:
    return {fact.label: fact.value for fact in view.facts}


def test_money_has_thousands_separators_and_cents_only_when_needed() -> None:
    assert money(2400000) == "2,400,000"
    assert money(1234.5) == "1,234.50"
    assert money(-12500.0) == "-12,500"
    assert money(None) == "n/a"


def test_text_shows_every_figure_with_trend_arrow_and_delta() -> None:
    text = value_text(REPORT)
    assert text.splitlines()[0] == "PMO value — last 90 days"
    assert "2026-08-24 to 2026-11-21 (UTC)" in text  # the window's end is exclusive
    for expected in (
        "78.0% ▲ +7.4 pts (was 70.6%)",
        "4.12 / 5",
        "+31.7",
        "83.7%",
        "9 reported · 6 resolved · 4 open now",
        "11.5 days",
        "3, mean improvement +42.0%",
        "12 total · 3 achieved · 7 on track · 2 at risk",
        "61.3%",
        "1,310,000 of 2,400,000 planned",
        "450,000",
        "+191.1%",
        "Jun 26 66.7% (6)",
        "Jul 26 n/a (0)",
    ):
        assert expected in text, expected


def test_falling_satisfaction_points_down() -> None:
    report = copy.deepcopy(REPORT)
    report["satisfaction"].update(previous_csat_pct=81.2, delta_csat_pts=-3.2)
    assert "78.0% ▼ -3.2 pts (was 81.2%)" in value_text(report)


def test_nulls_read_n_a_never_zero() -> None:
    text = value_text(empty_report())
    figures = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in text.splitlines() if "  " in line)
    assert figures["Satisfaction (CSAT)"] == "n/a"
    assert figures["Mean taste"] == "n/a"
    assert figures["Responses"] == "0"
    assert figures["Response rate"] == "n/a"
    assert figures["Median time to resolve"] == "n/a"
    assert figures["Measured fixes"] == "0"
    assert figures["Benefits realized"] == "n/a of n/a planned"
    assert figures["PMO cost"] == "n/a (an admin sets it with 'cost AMOUNT')"
    assert figures["ROI"] == "n/a"
    assert "0.0" not in text and "0%" not in text


def test_view_has_title_facts_comments_and_chart() -> None:
    comments = [
        {"project": "Apollo", "rating": 2, "comment": "Too slow", "answered_at": "2026-11-21T12:00:00Z"},
        {"project": "Zephyr", "rating": 5, "comment": "Great pace", "answered_at": "2026-11-20T09:30:00Z"},
    ]
    view = value_view(REPORT, comments=comments)
    assert view.title == "PMO value — last 90 days"
    assert facts(view)["Satisfaction (CSAT)"] == "78.0% ▲ +7.4 pts (was 70.6%)"
    assert facts(view)["PMO cost"] == "450,000"
    assert view.lines == (
        "Recent comments:",
        "😕 Off · Apollo · 2026-11-21: “Too slow”",
        "😋 Delicious · Zephyr · 2026-11-20: “Great pace”",
    )
    assert view.chart is not None and png_size(view.chart) == (600, 300)
    assert "Jun 26 66.7% (6)" in view.chart_alt
    assert view_from_dict(view.to_dict()) == view  # survives the console's round trip


def test_project_view_leaves_out_the_pmo_cost_and_can_skip_the_chart() -> None:
    report = empty_report(project="Apollo")
    view = value_view(report, chart=False)
    assert view.title == "PMO value — last 90 days — Apollo"
    assert view.chart is None
    assert "PMO cost" not in facts(view) and "ROI" not in facts(view)
    assert view.lines == (
        "CSAT by month (responses): "
        + " · ".join(f"{m} n/a (0)" for m in ("Jun 26", "Jul 26", "Aug 26", "Sep 26", "Oct 26", "Nov 26")),
    )
    segment = value_view(empty_report(segment="Retail"), chart=False)
    assert segment.title == "PMO value — last 90 days — segment Retail"


def test_chart_is_a_600_by_300_png_even_with_gaps_and_no_data() -> None:
    full = trend_chart(REPORT)
    empty = trend_chart(empty_report())
    assert png_size(full) == png_size(empty) == (600, 300)
    assert full != empty


def test_chart_leaves_no_figure_behind() -> None:
    from matplotlib.figure import Figure

    trend_chart(REPORT)  # the first call imports matplotlib
    gc.collect()
    before = sum(isinstance(o, Figure) for o in gc.get_objects())
    for _ in range(3):
        draw_trend.cache_clear()  # draw each time
        trend_chart(REPORT)
    gc.collect()
    assert sum(isinstance(o, Figure) for o in gc.get_objects()) == before


def test_an_identical_report_is_not_drawn_again_and_a_changed_one_is() -> None:
    draw_trend.cache_clear()
    first = trend_chart(REPORT)
    assert trend_chart(copy.deepcopy(REPORT)) is first
    assert draw_trend.cache_info().hits == 1
    changed = copy.deepcopy(REPORT)
    changed["trend"][-1]["responses"] = (changed["trend"][-1]["responses"] or 0) + 1
    assert trend_chart(changed) != first
    assert draw_trend.cache_info().misses == 2
