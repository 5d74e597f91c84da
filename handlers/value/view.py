"""The value report as people read it: plain text (CLI, chat fallback) and a neutral View.

Both take the JSON of CONTRACT.md section 7 as computed by `handlers.value.report.compute_value`,
so no channel ever computes a figure of its own; they only format. A null figure reads "n/a".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from handlers.tastes import TASTES
from handlers.value.charts import month_label, trend_chart
from handlers.views import Fact, View

NA = "n/a"


# ---------------------------------------------------------------- formatting of single figures


def pct(value: float | None) -> str:
    return NA if value is None else f"{value:.1f}%"


def signed(value: float | None, suffix: str = "") -> str:
    return NA if value is None else f"{value:+.1f}{suffix}"


def money(value: float | None) -> str:
    """1,310,000 or 1,234.50: thousands separators, cents only when there are any."""
    if value is None:
        return NA
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def days_text(value: float | None) -> str:
    return NA if value is None else f"{value:.1f} days"


def trend_arrow(delta: float | None) -> str:
    if delta is None:
        return ""
    return "▲" if delta > 0 else "▼" if delta < 0 else "▶"


def _date(iso: str) -> dt.date:
    return dt.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").date()


# ---------------------------------------------------------------- pieces shared by text and view


def title(report: dict[str, Any]) -> str:
    """'PMO value — last 90 days', plus ' — PROJECT' or ' — segment NAME' for a narrower scope."""
    scope = report["scope"]
    days = report["window"]["days"]
    text = f"PMO value — last {days} day{'s' if days != 1 else ''}"
    if scope.get("project"):
        text += f" — {scope['project']}"
    if scope.get("segment"):
        text += f" — segment {scope['segment']}"
    return text


def period(report: dict[str, Any]) -> str:
    """The window as inclusive UTC dates (its end is exclusive: 00:00 of the day after)."""
    start = _date(report["window"]["start"])
    last = _date(report["window"]["end"]) - dt.timedelta(days=1)
    return f"{start.isoformat()} to {last.isoformat()} (UTC)"


def _is_org_scope(report: dict[str, Any]) -> bool:
    return not report["scope"].get("project") and not report["scope"].get("segment")


def _facts(report: dict[str, Any]) -> list[Fact]:
    s = report["satisfaction"]
    pp = report["pain_points"]
    o = report["outcomes"]
    b = report["benefits"]
    delta = s["delta_csat_pts"]
    csat = pct(s["csat_pct"])
    if delta is not None:
        csat += f" {trend_arrow(delta)} {signed(delta, ' pts')} (was {pct(s['previous_csat_pct'])})"
    elif s["csat_pct"] is not None:
        csat += " (no earlier period to compare)"
    mean = NA if s["mean"] is None else f"{s['mean']:.2f} / 5"
    fixes = f"{pp['measured_fixes']}"
    if pp["mean_improvement_pct"] is not None:
        fixes += f", mean improvement {signed(pp['mean_improvement_pct'], '%')}"
    facts = [
        Fact("Satisfaction (CSAT)", csat),
        Fact("Mean taste", mean),
        Fact("Net taste", signed(s["net_taste_pct"])),
        Fact("Responses", str(s["responses"])),
        Fact("Response rate", pct(report["response_rate_pct"])),
        Fact("Pain points", f"{pp['reported']} reported · {pp['resolved']} resolved · {pp['open']} open now"),
        Fact("Median time to resolve", days_text(pp["median_days_to_resolve"])),
        Fact("Measured fixes", fixes),
        *_loop_facts(report),
        Fact(
            "Outcomes",
            f"{o['total']} total · {o['achieved']} achieved · {o['on_track']} on track · {o['at_risk']} at risk",
        ),
        Fact("Mean progress", pct(o["mean_progress_pct"])),
        Fact("Benefits realized", f"{money(b['realized'])} of {money(b['planned'])} planned"),
    ]
    if _is_org_scope(report):
        cost = (
            money(b["pmo_cost"])
            if b["pmo_cost"] is not None
            else f"{NA} (an admin sets it with 'cost AMOUNT')"
        )
        facts += [Fact("PMO cost", cost), Fact("ROI", signed(b["roi_pct"], "%"))]
    return facts


def _loop_facts(report: dict[str, Any]) -> list[Fact]:
    """Closing the loop: owned, confirmed and reopened pain points; what was done about sour tastes."""
    pp = report["pain_points"]
    loop = report.get("loop")
    facts = []
    if "confirmed_fixes" in pp:  # reports computed before the loop existed (kept digests) lack them
        facts.append(
            Fact(
                "Fixes confirmed",
                f"{pp['confirmed_fixes']} confirmed by the sponsor · {pp['reopened']} reopened · "
                f"{pp['in_progress']} in progress now",
            )
        )
    if loop is not None:
        hours = loop["median_hours_to_follow_up"]
        followed = f"{loop['followed_up']} of {loop['sour']} followed up"
        if hours is not None:
            followed += f" (median {hours:.1f} h)"
        facts += [
            Fact("Sour tastes", followed),
            Fact("Recovered", f"{loop['recovered']} tasted good next time ({pct(loop['recovery_pct'])})"),
        ]
    return facts


def _trend_line(report: dict[str, Any]) -> str:
    months = [f"{month_label(m['month'])} {pct(m['csat_pct'])} ({m['responses']})" for m in report["trend"]]
    return "CSAT by month (responses): " + " · ".join(months)


def _comment_line(comment: dict[str, Any]) -> str:
    emoji, word = TASTES.get(comment["rating"], ("", str(comment["rating"])))
    when = comment["answered_at"][:10]
    return f"{emoji} {word} · {comment['project']} · {when}: “{comment['comment']}”".strip()


# ---------------------------------------------------------------- the two renderings


def value_text(report: dict[str, Any]) -> str:
    """Readable plain text for the CLI and chat: every figure, nulls as n/a, then the trend."""
    facts = _facts(report)
    width = max(len(f.label) for f in facts)
    lines = [title(report), period(report), ""]
    lines += [f"{f.label.ljust(width)}  {f.value}" for f in facts]
    lines += ["", _trend_line(report)]
    return "\n".join(lines)


def value_view(
    report: dict[str, Any], *, comments: Sequence[dict[str, Any]] = (), chart: bool = True
) -> View:
    """The report as a neutral View: facts per figure, recent comments as lines, the trend chart."""
    lines = [] if chart else [_trend_line(report)]  # without the chart, the trend still shows
    if comments:
        lines += ["Recent comments:", *(_comment_line(c) for c in comments)]
    return View(
        title=title(report),
        text=period(report),
        facts=tuple(_facts(report)),
        lines=tuple(lines),
        chart=trend_chart(report) if chart else None,
        chart_alt=_trend_line(report) if chart else "",
    )
