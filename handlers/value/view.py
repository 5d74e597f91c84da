"""The value report as people read it: a neutral View (every channel) and plain text (the CLI).

Both take the JSON of CONTRACT.md section 7 as computed by `handlers.value.report.compute_value`,
so no channel ever computes a figure of its own; they only format. The order is the story's
(CONTRACT section 7): the headline, the wins, what needs attention, then the figures grouped
(sentiment, pain points, outcomes, money), the table per segment or project, the trend. A null
figure reads "n/a"; money is compact in the report's currency.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.tastes import TASTES
from handlers.value.charts import month_label, trend_chart
from handlers.value.money import money as _money
from handlers.value.report import compute_value
from handlers.views import Fact, Section, View, number

NA = "n/a"


# ---------------------------------------------------------------- formatting of single figures


def pct(value: float | None) -> str:
    return NA if value is None else f"{value:.1f}%"


def signed(value: float | None, suffix: str = "") -> str:
    return NA if value is None else f"{value:+.1f}{suffix}"


def money(value: float | None, currency: str | None = None) -> str:
    """€1.27M, 450k, 1,234.50: compact from ten thousand on, in the currency when there is one."""
    return _money(value, currency, na=NA)


def days_text(value: float | None) -> str:
    return NA if value is None else f"{value:.1f} days"


def trend_arrow(delta: float | None) -> str:
    if delta is None:
        return ""
    return "▲" if delta > 0 else "▼" if delta < 0 else "▶"


def _date(iso: str) -> dt.date:
    return dt.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").date()


def _quote(text: str, limit: int = 140) -> str:
    text = " ".join(text.split())
    return f"“{text if len(text) <= limit else text[: limit - 1] + '…'}”"


def _csat_change(csat: float | None, before: float | None, delta: float | None) -> str:
    text = pct(csat)
    if delta is not None:
        text += f" {trend_arrow(delta)} {signed(delta, ' pts')} (was {pct(before)})"
    elif csat is not None:
        text += " (no earlier period to compare)"
    return text


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


def _one_project(report: dict[str, Any]) -> bool:
    return bool(report["scope"].get("project"))


def win_line(win: dict[str, Any], *, with_project: bool = True) -> str:
    """'✅ Order-to-Cash: “Orders wait days for credit checks” — Order cycle time (days) 12 → 7,
    41.7% better': the sponsor's words, before → after, ✅ when the sponsor confirmed the fix."""
    mark = "✅ " if win["confirmed"] is True else ""
    where = f"{win['project']}: " if with_project else ""
    metric = f"{win['metric']} " if win.get("metric") else ""
    gain = win["improvement_pct"]
    better = f"{abs(gain):.1f}% {'better' if gain >= 0 else 'worse'}"
    line = f"{mark}{where}{_quote(win['text'])} — {metric}{number(win['baseline'])} → {number(win['after'])}, {better}"
    if win["confirmed"] is False:
        line += " (the sponsor says not yet)"
    return line


def souring_line(row: dict[str, Any]) -> str:
    return (
        f"📉 {row['project']} is souring: CSAT {pct(row['csat_pct'])}, was {pct(row['previous_csat_pct'])} "
        f"({signed(row['delta_csat_pts'], ' pts')}, {row['responses']} responses)"
    )


def at_risk_line(row: dict[str, Any], today: dt.date | None = None) -> str:
    due = dt.date.fromisoformat(row["due"])
    when = f"overdue since {row['due']}" if today is not None and due < today else f"due {row['due']}"
    return f"⚠️ Outcome at risk: {row['project']} · {row['metric']} · {pct(row['progress_pct'])} of the way · {when}"


def open_line(row: dict[str, Any], *, with_project: bool = True) -> str:
    owner = row["owner"] or "no owner yet"
    age = row["age_days"]
    where = f"{row['project']}: " if with_project else ""
    return (
        f"🔥 #{row['painpoint']} {where}{_quote(row['text'])} · impact {row['impact']} · {owner} · "
        f"open {age:.0f} day{'s' if round(age) != 1 else ''}"
    )


def _wins_section(report: dict[str, Any]) -> Section | None:
    wins = report.get("wins") or []
    if not wins:
        return None
    one = _one_project(report)
    return Section("Wins", tuple(win_line(w, with_project=not one) for w in wins))


def _attention_section(report: dict[str, Any]) -> Section | None:
    attention = report.get("attention")
    if attention is None:
        return None
    today = _date(report["window"]["end"]) - dt.timedelta(days=1)
    one = _one_project(report)
    lines = [souring_line(r) for r in attention["souring"]]
    lines += [at_risk_line(r, today) for r in attention["at_risk"]]
    lines += [open_line(r, with_project=not one) for r in attention["open_high_impact"]]
    if not lines:
        lines = [
            "Nothing needs attention: no project souring, no outcome at risk, no painful pain point open."
        ]
    return Section("Needs attention", tuple(lines))


def _sentiment(report: dict[str, Any]) -> Section:
    s = report["satisfaction"]
    mean = NA if s["mean"] is None else f"{s['mean']:.2f} / 5"
    facts = [
        Fact("Satisfaction (CSAT)", _csat_change(s["csat_pct"], s["previous_csat_pct"], s["delta_csat_pts"])),
        Fact("Mean taste", mean),
        Fact("Net taste", signed(s["net_taste_pct"])),
        Fact("Responses", str(s["responses"])),
        Fact("Response rate", pct(report["response_rate_pct"])),
    ]
    loop = report.get("loop")
    if loop is not None:
        hours = loop["median_hours_to_follow_up"]
        followed = f"{loop['followed_up']} of {loop['sour']} followed up"
        if hours is not None:
            followed += f" (median {hours:.1f} h)"
        facts += [
            Fact("Sour tastes", followed),
            Fact("Recovered", f"{loop['recovered']} tasted good next time ({pct(loop['recovery_pct'])})"),
        ]
    return Section("Sentiment", facts=tuple(facts))


def _pain_points(report: dict[str, Any]) -> Section:
    pp = report["pain_points"]
    fixes = f"{pp['measured_fixes']}"
    if pp["mean_improvement_pct"] is not None:
        fixes += f", mean improvement {signed(pp['mean_improvement_pct'], '%')}"
    facts = [
        Fact("Pain points", f"{pp['reported']} reported · {pp['resolved']} resolved · {pp['open']} open now"),
        Fact("Median time to resolve", days_text(pp["median_days_to_resolve"])),
        Fact("Measured fixes", fixes),
    ]
    if "confirmed_fixes" in pp:  # reports computed before the loop existed (kept digests) lack them
        facts.append(
            Fact(
                "Fixes confirmed",
                f"{pp['confirmed_fixes']} confirmed by the sponsor · {pp['reopened']} reopened · "
                f"{pp['in_progress']} in progress now",
            )
        )
    return Section("Pain points", facts=tuple(facts))


def _outcomes(report: dict[str, Any]) -> Section:
    o = report["outcomes"]
    return Section(
        "Outcomes",
        facts=(
            Fact(
                "Outcomes",
                f"{o['total']} total · {o['achieved']} achieved · {o['on_track']} on track · {o['at_risk']} at risk",
            ),
            Fact("Mean progress", pct(o["mean_progress_pct"])),
        ),
    )


def _money_section(report: dict[str, Any]) -> Section:
    b = report["benefits"]
    currency = b.get("currency")
    facts = [
        Fact(
            "Benefits realized",
            f"{money(b['realized'], currency)} of {money(b['planned'], currency)} planned",
        )
    ]
    if _is_org_scope(report):
        cost = (
            money(b["pmo_cost"], currency)
            if b["pmo_cost"] is not None
            else f"{NA} (an admin sets it with 'cost AMOUNT')"
        )
        facts += [Fact("PMO cost", cost), Fact("ROI", signed(b["roi_pct"], "%"))]
    return Section("Money", facts=tuple(facts))


def breakdown_line(row: dict[str, Any]) -> str:
    """'41 responses · CSAT 78.0% ▲ +7.4 pts (was 70.6%)'."""
    responses = f"{row['responses']} response{'s' if row['responses'] != 1 else ''}"
    return (
        f"{responses} · CSAT {_csat_change(row['csat_pct'], row['previous_csat_pct'], row['delta_csat_pts'])}"
    )


def _breakdown_section(report: dict[str, Any]) -> Section | None:
    breakdown = report.get("breakdown")
    if not breakdown or not breakdown["rows"]:
        return None
    heading = "By segment" if breakdown["by"] == "segment" else "By project"
    lines = (f"… and {breakdown['more']} more",) if breakdown.get("more") else ()
    facts = tuple(Fact(row["name"], breakdown_line(row)) for row in breakdown["rows"])
    return Section(heading, lines=lines, facts=facts)


def sections(report: dict[str, Any]) -> tuple[Section, ...]:
    """Every section of the report in the story's order; empty wins and a missing table left out."""
    parts = [
        _wins_section(report),
        _attention_section(report),
        _sentiment(report),
        _pain_points(report),
        _outcomes(report),
        _money_section(report),
        _breakdown_section(report),
    ]
    return tuple(part for part in parts if part is not None)


def _trend_line(report: dict[str, Any]) -> str:
    months = [f"{month_label(m['month'])} {pct(m['csat_pct'])} ({m['responses']})" for m in report["trend"]]
    partial = " — this month so far" if report["trend"] else ""
    return "CSAT by month (responses): " + " · ".join(months) + partial


def _comment_line(comment: dict[str, Any]) -> str:
    emoji, word = TASTES.get(comment["rating"], ("", str(comment["rating"])))
    when = comment["answered_at"][:10]
    return f"{emoji} {word} · {comment['project']} · {when}: “{comment['comment']}”".strip()


def headline(report: dict[str, Any]) -> str:
    """The computed headline; a report kept from before headlines existed gets none."""
    return str(report.get("headline") or "")


# ---------------------------------------------------------------- the renderings


def value_view(
    report: dict[str, Any], *, comments: Sequence[dict[str, Any]] = (), chart: bool = True
) -> View:
    """The report as a neutral View: the headline as its text, the story's sections, recent
    comments and the window as lines, the trend chart (or its line of text without the chart)."""
    lines = [] if chart else [_trend_line(report)]
    if comments:
        lines += ["Recent comments:", *(_comment_line(c) for c in comments)]
    lines.append(f"Window: {period(report)}")
    return View(
        title=title(report),
        text=headline(report),
        sections=sections(report),
        lines=tuple(lines),
        chart=trend_chart(report) if chart else None,
        chart_alt=_trend_line(report) if chart else "",
    )


def value_text(report: dict[str, Any]) -> str:
    """Readable plain text for the CLI: the same view, in the same order, without the picture."""
    return value_view(report, chart=False).as_text()


async def organisation_view(
    session: AsyncSession,
    org_id: int,
    *,
    days: int,
    currency: str | None = None,
    today: dt.date | None = None,
    chart: bool = True,
) -> View:
    """The organisation's report over the last `days` days as a View (the digest's body)."""
    report = await compute_value(session, org_id, days=days, today=today, currency=currency)
    return value_view(report, chart=chart)
