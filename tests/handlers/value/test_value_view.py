"""The value report as text, as a neutral View, and as a PNG trend chart."""

from __future__ import annotations

import copy
import gc
import re
import struct
from typing import Any

from handlers.charts import draw_trend
from handlers.value.charts import trend_chart
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
        "in_progress": 2,
        "confirmed_fixes": 2,
        "reopened": 1,
    },
    "loop": {
        "sour": 5,
        "followed_up": 4,
        "median_hours_to_follow_up": 6.5,
        "recovered": 2,
        "recovery_pct": 66.7,
    },
    "outcomes": {"total": 12, "achieved": 3, "on_track": 7, "at_risk": 2, "mean_progress_pct": 61.3},
    "benefits": {
        "planned": 2400000,
        "realized": 1310000,
        "pmo_cost": 450000,
        "roi_pct": 191.1,
        "currency": "EUR",
    },
    "wins": [
        {
            "painpoint": 12,
            "project": "Order-to-Cash",
            "text": "Orders wait days for credit checks",
            "metric": "Order cycle time (days)",
            "baseline": 12,
            "after": 7,
            "improvement_pct": 41.7,
            "confirmed": True,
            "resolved_at": "2026-10-08T14:02:11Z",
        },
        {
            "painpoint": 15,
            "project": "ERP Upgrade",
            "text": "Invoices are keyed in twice",
            "metric": "Manual hours per week",
            "baseline": 40,
            "after": 30,
            "improvement_pct": 25.0,
            "confirmed": None,
            "resolved_at": "2026-11-02T09:00:00Z",
        },
    ],
    "attention": {
        "souring": [
            {
                "project": "ERP Upgrade",
                "responses": 4,
                "csat_pct": 25.0,
                "previous_csat_pct": 75.0,
                "delta_csat_pts": -50.0,
            }
        ],
        "at_risk": [
            {
                "outcome": 7,
                "project": "ERP Upgrade",
                "metric": "Month-end close (days)",
                "progress_pct": 10.0,
                "due": "2026-12-31",
            }
        ],
        "open_high_impact": [
            {
                "painpoint": 14,
                "project": "ERP Upgrade",
                "text": "Key users have no time to test",
                "impact": 5,
                "age_days": 41.2,
                "owner": "Lena Hoffmann",
            }
        ],
    },
    "headline": "Sponsors' satisfaction 78% (up 7.4 pts); 6 pain points fixed, 3 measured (+42% on average); "
    "€1.31M of €2.4M benefits realized; ROI +191%.",
    "breakdown": {
        "by": "segment",
        "rows": [
            {
                "name": "Finance",
                "responses": 25,
                "csat_pct": 84.0,
                "previous_csat_pct": 70.0,
                "delta_csat_pts": 14.0,
            },
            {
                "name": "Operations",
                "responses": 16,
                "csat_pct": 68.8,
                "previous_csat_pct": None,
                "delta_csat_pts": None,
            },
        ],
        "more": 0,
    },
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
        "in_progress": 0,
        "confirmed_fixes": 0,
        "reopened": 0,
    }
    report["loop"] = {
        "sour": 0,
        "followed_up": 0,
        "median_hours_to_follow_up": None,
        "recovered": 0,
        "recovery_pct": None,
    }
    report["outcomes"] = {"total": 0, "achieved": 0, "on_track": 0, "at_risk": 0, "mean_progress_pct": None}
    report["benefits"] = dict.fromkeys(report["benefits"])
    report["wins"] = []
    report["attention"] = {"souring": [], "at_risk": [], "open_high_impact": []}
    report["headline"] = "Nothing to tell yet: no answers, fixes or benefits in the last 90 days."
    report["breakdown"] = None if scope.get("project") else {"by": "project", "rows": [], "more": 0}
    report["trend"] = [{**m, "responses": 0, "mean": None, "csat_pct": None} for m in report["trend"]]
    return report


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
    return width, height


def facts(view: View) -> dict[str, str]:
    """Every fact of the view, in its sections or not."""
    return {fact.label: fact.value for fact in (*view.facts, *(f for s in view.sections for f in s.facts))}


def test_money_is_compact_in_the_currency_and_exact_below_ten_thousand() -> None:
    assert money(2400000) == "2.4M"
    assert money(1268226.03, "EUR") == "€1.27M"  # the example
    assert money(2215000, "EUR") == "€2.22M"  # half away from zero on the decimal value
    assert money(450000, "USD") == "$450k"
    assert money(12345, "CHF") == "CHF 12.3k"  # a code without a well-known symbol stands before it
    assert money(999999, "GBP") == "£1M"  # not 1000k
    assert money(1234.5) == "1,234.50"
    assert money(-12500.0, "EUR") == "-€12.5k"
    assert money(0, "EUR") == "€0"
    assert money(None, "EUR") == "n/a"


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
        "€1.31M of €2.4M planned",
        "€450k",
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
    assert facts(view)["PMO cost"] == "€450k"
    assert view.lines == (
        "Recent comments:",
        "😕 Off · Apollo · 2026-11-21: “Too slow”",
        "😋 Delicious · Zephyr · 2026-11-20: “Great pace”",
        "Window: 2026-08-24 to 2026-11-21 (UTC)",
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
        + " · ".join(f"{m} n/a (0)" for m in ("Jun 26", "Jul 26", "Aug 26", "Sep 26", "Oct 26", "Nov 26"))
        + " — this month so far",
        "Window: 2026-08-24 to 2026-11-21 (UTC)",
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


# ---------------------------------------------------------------- the story's order, in every rendering

STORY = ("Wins", "Needs attention", "Sentiment", "Pain points", "Outcomes", "Money", "By segment")


def positions(text: str, needles: tuple[str, ...]) -> list[int]:
    found = [text.find(needle) for needle in needles]
    assert -1 not in found, [n for n, at in zip(needles, found, strict=True) if at == -1]
    return found


def test_text_leads_with_the_headline_then_wins_then_attention_then_the_figures() -> None:
    text = value_text(REPORT)
    lines = text.splitlines()
    assert lines[0] == "PMO value — last 90 days"
    assert lines[2] == REPORT["headline"]  # first after the title
    order = positions(text, (REPORT["headline"], *(f"\n{heading}\n" for heading in STORY), "CSAT by month"))
    assert order == sorted(order)
    # the wins: before → after in the sponsor's words, ✅ only where the sponsor confirmed
    assert (
        "✅ Order-to-Cash: “Orders wait days for credit checks” — Order cycle time (days) 12 → 7, 41.7% better"
        in lines
    )
    assert "ERP Upgrade: “Invoices are keyed in twice” — Manual hours per week 40 → 30, 25.0% better" in lines
    # what needs attention: the souring project, the outcome at risk, the painful pain point's owner and age
    assert "📉 ERP Upgrade is souring: CSAT 25.0%, was 75.0% (-50.0 pts, 4 responses)" in lines
    assert (
        "⚠️ Outcome at risk: ERP Upgrade · Month-end close (days) · 10.0% of the way · due 2026-12-31" in lines
    )
    assert (
        "🔥 #14 ERP Upgrade: “Key users have no time to test” · impact 5 · Lena Hoffmann · open 41 days"
        in lines
    )
    # the table per segment: responses, CSAT and its change
    assert re.search(r"Finance\s+25 responses · CSAT 84.0% ▲ \+14.0 pts \(was 70.0%\)", text)
    assert re.search(r"Operations\s+16 responses · CSAT 68.8% \(no earlier period to compare\)", text)


def test_view_sections_are_in_the_story_order_and_survive_the_round_trip() -> None:
    view = value_view(REPORT)
    assert view.text == REPORT["headline"]
    assert tuple(section.heading for section in view.sections) == STORY
    assert view_from_dict(view.to_dict()) == view


def test_no_wins_and_nothing_wrong_say_so_without_inventing_figures() -> None:
    view = value_view(empty_report())
    headings = [section.heading for section in view.sections]
    assert "Wins" not in headings and "By segment" not in headings and "By project" not in headings
    attention = next(section for section in view.sections if section.heading == "Needs attention")
    assert attention.lines == (
        "Nothing needs attention: no project souring, no outcome at risk, no painful pain point open.",
    )
    assert view.text == "Nothing to tell yet: no answers, fixes or benefits in the last 90 days."


def test_a_project_report_reads_as_that_projects_story() -> None:
    report = copy.deepcopy(REPORT)
    report["scope"] = {"project": "ERP Upgrade", "segment": None}
    report["wins"] = report["wins"][1:]
    report["breakdown"] = None
    view = value_view(report)
    assert view.title == "PMO value — last 90 days — ERP Upgrade"
    wins = view.sections[0]
    assert wins.heading == "Wins" and wins.lines[0].startswith(
        "“Invoices are keyed in twice”"
    )  # no project name
    attention = view.sections[1].lines
    assert attention[-1].startswith("🔥 #14 “Key users have no time to test”")
    assert "By project" not in [s.heading for s in view.sections]
    assert "PMO cost" not in facts(view)


def test_slack_teams_and_console_render_the_same_order() -> None:
    from bot.slack.blocks import message
    from bot.teams.cards import card

    view = value_view(REPORT, chart=False)
    slack = "\n".join(
        block["text"]["text"] if "text" in block else "\n".join(f["text"] for f in block.get("fields", []))
        for block in message(view)
    )
    order = positions(slack, (REPORT["headline"], *(f"*{heading}*" for heading in STORY), "CSAT by month"))
    assert order == sorted(order)
    assert "✅ Order-to-Cash" in slack and "€1.31M of €2.4M planned" in slack

    body = card(view)["body"]
    texts = [b.get("text", "") for b in body]
    heads = [texts.index(heading) for heading in STORY]  # bold by the block's weight
    assert texts.index(REPORT["headline"]) < heads[0] and heads == sorted(heads)
    facts_sets = [b for b in body if b["type"] == "FactSet"]
    assert facts_sets[0]["facts"][0] == {
        "title": "Satisfaction (CSAT)",
        "value": "78.0% ▲ +7.4 pts (was 70.6%)",
    }

    console = view.to_dict()  # what the console's script renders, section by section
    assert [section["heading"] for section in console["sections"]] == list(STORY)


def series_of(report: dict[str, Any]) -> tuple[tuple[str, int, float | None], ...]:
    return tuple((m["month"], m["responses"], m["csat_pct"]) for m in report["trend"])


def test_chart_marks_the_current_month_as_partial_and_keeps_labels_off_the_line() -> None:
    from handlers.charts import PARTIAL_ALPHA, build_figure, tick_labels

    report = copy.deepcopy(REPORT)
    report["trend"][-1] = {
        "month": "2026-11",
        "responses": 1,
        "mean": 1.0,
        "csat_pct": 0.0,
    }  # began yesterday
    series = series_of(report)
    assert tick_labels(series) == [
        "Jun 26\n6",
        "Jul 26\n0",
        "Aug 26\n9",
        "Sep 26\n14",
        "Oct 26\n12",
        "Nov 26\n1 so far",
    ]
    figure = build_figure(series)
    bars, line = figure.axes
    assert [t.get_text() for t in bars.get_xticklabels()] == tick_labels(series)
    assert len(bars.texts) == len(line.texts) == 0  # no count drawn where the line runs: they are tick labels
    patches = bars.patches
    assert patches[-1].get_alpha() == PARTIAL_ALPHA and all(p.get_alpha() is None for p in patches[:-1])
    solid, *partial = line.get_lines()
    assert list(solid.get_xdata()) == [0, 1, 2, 3, 4]  # the line stops at the last complete month
    assert [list(p.get_xdata()) for p in partial] == [[5]]  # the month so far: one hollow point of its own
    assert partial[0].get_markerfacecolor() == "white"
    figure.clear()
