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

from handlers.i18n import SOURCE, Cat, Day, _, ngettext
from handlers.tastes import TASTES
from handlers.value.charts import trend_chart
from handlers.value.figures import NA as _NA
from handlers.value.figures import Month, Percent, amount, fixed
from handlers.value.figures import pct as _pct
from handlers.value.headline import headline as say_headline
from handlers.value.report import compute_value
from handlers.views import Fact, Section, View, localize, number

NA = _NA


# ---------------------------------------------------------------- formatting of single figures


def pct(value: float | None) -> str:
    return _pct(value)


def signed(value: float | None, suffix: str = "") -> str:
    """+7.4, or with `suffix`: ' pts' (+7.4 pts) or '%' (+41.7%), each in the reader's language."""
    if value is None:
        return NA
    if suffix == "%":
        return _pct(value, signed=True)
    if suffix == " pts":
        return _("%(value)s pts", value=fixed(value, signed=True))
    return fixed(value, signed=True)


def money(value: float | None, currency: str | None = None) -> str:
    """€1.27M, 450k, 1,234.50: compact from ten thousand on, in the currency when there is one."""
    return amount(value, currency)


def days_text(value: float | None) -> str:
    return NA if value is None else _("%(days)s days", days=fixed(value))


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
        return Cat(
            text,
            " ",
            _(
                "%(arrow)s %(change)s (was %(before)s)",
                arrow=trend_arrow(delta),
                change=signed(delta, " pts"),
                before=pct(before),
            ),
        )
    if csat is not None:
        return Cat(text, " ", _("(no earlier period to compare)"))
    return text


# ---------------------------------------------------------------- pieces shared by text and view


def title(report: dict[str, Any]) -> str:
    """'PMO value — last 90 days', plus ' — PROJECT' or ' — segment NAME' for a narrower scope."""
    scope = report["scope"]
    days = report["window"]["days"]
    parts: list[str] = [ngettext("PMO value — last %(n)s day", "PMO value — last %(n)s days", days)]
    if scope.get("project"):
        parts.append(f" — {scope['project']}")
    if scope.get("segment"):
        parts.append(_(" — segment %(segment)s", segment=scope["segment"]))
    return Cat(*parts) if len(parts) > 1 else parts[0]


def period(report: dict[str, Any]) -> str:
    """The window as inclusive UTC dates (its end is exclusive: 00:00 of the day after)."""
    start = _date(report["window"]["start"])
    last = _date(report["window"]["end"]) - dt.timedelta(days=1)
    return _("%(start)s to %(last)s (UTC)", start=Day(start), last=Day(last))


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
    share = Percent(abs(gain))
    better = _("%(pct)s better", pct=share) if gain >= 0 else _("%(pct)s worse", pct=share)
    parts: list[str] = [
        f"{mark}{where}{_quote(win['text'])} — {metric}",
        number(win["baseline"]),
        " → ",
        number(win["after"]),
        ", ",
        better,
    ]
    if win["confirmed"] is False:
        parts.append(_(" (the sponsor says not yet)"))
    return Cat(*parts)


def souring_line(row: dict[str, Any]) -> str:
    return _(
        "📉 %(project)s is souring: CSAT %(csat)s, was %(before)s (%(change)s, %(responses)s responses)",
        project=row["project"],
        csat=pct(row["csat_pct"]),
        before=pct(row["previous_csat_pct"]),
        change=signed(row["delta_csat_pts"], " pts"),
        responses=row["responses"],
    )


def at_risk_line(row: dict[str, Any], today: dt.date | None = None) -> str:
    due = dt.date.fromisoformat(row["due"])
    if today is not None and due < today:
        when = _("overdue since %(date)s", date=Day(due))
    else:
        when = _("due %(date)s", date=Day(due))
    return _(
        "⚠️ Outcome at risk: %(project)s · %(metric)s · %(progress)s of the way · %(when)s",
        project=row["project"],
        metric=row["metric"],
        progress=pct(row["progress_pct"]),
        when=when,
    )


def open_line(row: dict[str, Any], *, with_project: bool = True) -> str:
    owner = row["owner"] or _("no owner yet")
    age = round(row["age_days"])
    where = f"{row['project']}: " if with_project else ""
    return Cat(
        f"🔥 #{row['painpoint']} {where}{_quote(row['text'])} · ",
        _("impact %(impact)s", impact=row["impact"]),
        " · ",
        owner,
        " · ",
        ngettext("open %(n)s day", "open %(n)s days", age),
    )


def _wins_section(report: dict[str, Any]) -> Section | None:
    wins = report.get("wins") or []
    if not wins:
        return None
    one = _one_project(report)
    return Section(_("Wins"), tuple(win_line(w, with_project=not one) for w in wins))


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
            _("Nothing needs attention: no project souring, no outcome at risk, no painful pain point open.")
        ]
    return Section(_("Needs attention"), tuple(lines))


def _sentiment(report: dict[str, Any]) -> Section:
    s = report["satisfaction"]
    mean = NA if s["mean"] is None else _("%(mean)s / 5", mean=fixed(s["mean"], digits=2))
    facts = [
        Fact(
            _("Satisfaction (CSAT)"), _csat_change(s["csat_pct"], s["previous_csat_pct"], s["delta_csat_pts"])
        ),
        Fact(_("Mean taste"), mean),
        Fact(_("Net taste"), signed(s["net_taste_pct"])),
        Fact(_("Responses"), str(s["responses"])),
        Fact(_("Response rate"), pct(report["response_rate_pct"])),
    ]
    loop = report.get("loop")
    if loop is not None:
        hours = loop["median_hours_to_follow_up"]
        followed = _("%(followed)s of %(sour)s followed up", followed=loop["followed_up"], sour=loop["sour"])
        if hours is not None:
            followed = Cat(followed, _(" (median %(hours)s h)", hours=fixed(hours)))
        facts += [
            Fact(_("Sour tastes"), followed),
            Fact(
                _("Recovered"),
                _(
                    "%(recovered)s tasted good next time (%(pct)s)",
                    recovered=loop["recovered"],
                    pct=pct(loop["recovery_pct"]),
                ),
            ),
        ]
    return Section(_("Sentiment"), facts=tuple(facts))


def _pain_points(report: dict[str, Any]) -> Section:
    pp = report["pain_points"]
    fixes: str = str(pp["measured_fixes"])
    if pp["mean_improvement_pct"] is not None:
        fixes = _(
            "%(fixes)s, mean improvement %(pct)s",
            fixes=pp["measured_fixes"],
            pct=signed(pp["mean_improvement_pct"], "%"),
        )
    facts = [
        Fact(
            _("Pain points"),
            _(
                "%(reported)s reported · %(resolved)s resolved · %(open)s open now",
                reported=pp["reported"],
                resolved=pp["resolved"],
                open=pp["open"],
            ),
        ),
        Fact(_("Median time to resolve"), days_text(pp["median_days_to_resolve"])),
        Fact(_("Measured fixes"), fixes),
    ]
    if "confirmed_fixes" in pp:  # reports computed before the loop existed (kept digests) lack them
        facts.append(
            Fact(
                _("Fixes confirmed"),
                _(
                    "%(confirmed)s confirmed by the sponsor · %(reopened)s reopened · "
                    "%(in_progress)s in progress now",
                    confirmed=pp["confirmed_fixes"],
                    reopened=pp["reopened"],
                    in_progress=pp["in_progress"],
                ),
            )
        )
    return Section(_("Pain points"), facts=tuple(facts))


def _outcomes(report: dict[str, Any]) -> Section:
    o = report["outcomes"]
    return Section(
        _("Outcomes"),
        facts=(
            Fact(
                _("Outcomes"),
                _(
                    "%(total)s total · %(achieved)s achieved · %(on_track)s on track · %(at_risk)s at risk",
                    total=o["total"],
                    achieved=o["achieved"],
                    on_track=o["on_track"],
                    at_risk=o["at_risk"],
                ),
            ),
            Fact(_("Mean progress"), pct(o["mean_progress_pct"])),
        ),
    )


def _money_section(report: dict[str, Any]) -> Section:
    b = report["benefits"]
    currency = b.get("currency")
    facts = [
        Fact(
            _("Benefits realized"),
            _(
                "%(realized)s of %(planned)s planned",
                realized=money(b["realized"], currency),
                planned=money(b["planned"], currency),
            ),
        )
    ]
    if _is_org_scope(report):
        cost = (
            money(b["pmo_cost"], currency)
            if b["pmo_cost"] is not None
            else _("%(na)s (an admin sets it with 'cost AMOUNT')", na=NA)
        )
        facts += [Fact(_("PMO cost"), cost), Fact(_("ROI"), signed(b["roi_pct"], "%"))]
    return Section(_("Money"), facts=tuple(facts))


def breakdown_line(row: dict[str, Any]) -> str:
    """'41 responses · CSAT 78.0% ▲ +7.4 pts (was 70.6%)'."""
    responses = ngettext("%(n)s response", "%(n)s responses", row["responses"])
    return Cat(
        responses, " · CSAT ", _csat_change(row["csat_pct"], row["previous_csat_pct"], row["delta_csat_pts"])
    )


def _breakdown_section(report: dict[str, Any]) -> Section | None:
    breakdown = report.get("breakdown")
    if not breakdown or not breakdown["rows"]:
        return None
    heading = _("By segment") if breakdown["by"] == "segment" else _("By project")
    lines = (_("… and %(more)s more", more=breakdown["more"]),) if breakdown.get("more") else ()
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
    months = [
        Cat(Month(m["month"]), " ", pct(m["csat_pct"]), f" ({m['responses']})") for m in report["trend"]
    ]
    joined = Cat(*months, sep=" · ")
    if report["trend"]:
        joined = Cat(joined, _(" — this month so far"))
    return _("CSAT by month (responses): %(months)s", months=joined)


def _comment_line(comment: dict[str, Any]) -> str:
    emoji, word = TASTES.get(comment["rating"], ("", str(comment["rating"])))
    when = dt.date.fromisoformat(comment["answered_at"][:10])
    text = Cat(f"{emoji} ", word, f" · {comment['project']} · ", Day(when), f": “{comment['comment']}”")
    return text if emoji else Cat(word, f" · {comment['project']} · ", Day(when), f": “{comment['comment']}”")


def headline(report: dict[str, Any]) -> str:
    """The computed headline in the reader's language (METRICS.md); the JSON keeps its English.
    A report kept from before headlines existed gets none; a kept headline that the figures no
    longer give (an older wording) is shown as it was kept."""
    kept = report.get("headline")
    if not kept:
        return ""
    said = say_headline(report)
    return said if said == kept else str(kept)


# ---------------------------------------------------------------- the renderings


def value_view(
    report: dict[str, Any], *, comments: Sequence[dict[str, Any]] = (), chart: bool = True
) -> View:
    """The report as a neutral View: the headline as its text, the story's sections, recent
    comments and the window as lines, the trend chart (or its line of text without the chart)."""
    lines = [] if chart else [_trend_line(report)]
    if comments:
        lines += [_("Recent comments:"), *(_comment_line(c) for c in comments)]
    lines.append(_("Window: %(period)s", period=period(report)))
    return View(
        title=title(report),
        text=headline(report),
        sections=sections(report),
        lines=tuple(lines),
        chart=trend_chart(report) if chart else None,
        chart_alt=_trend_line(report) if chart else "",
    )


def value_text(report: dict[str, Any], language: str = SOURCE) -> str:
    """Readable plain text for the CLI (in PMO_LANGUAGE): the same view, in the same order,
    without the picture."""
    return localize(value_view(report, chart=False), language).as_text()


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
