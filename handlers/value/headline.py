"""The value report's headline: one sentence of the figures that exist (METRICS.md `headline`).

Built from the computed figures only, so it says what the figures below it say. Choices where
METRICS.md leaves room: percentages are whole (78%, +42%, ROI +191%) and the change of CSAT has
one decimal, as in CONTRACT.md's example; a null figure is left out, and so is a count of none
(no fix in the window says nothing a headline should lead with; the figures below still show 0);
benefits are left out while nothing is planned. Money is compact, in the report's currency.
"""

from __future__ import annotations

from typing import Any

from handlers.i18n import Cat, Num, _, ngettext
from handlers.value.common import round_half_away
from handlers.value.figures import Compact, Fixed, Percent


def whole_pct(value: float, *, sign: bool = False) -> str:
    rounded = int(round_half_away(value, 0) or 0)
    return Percent(rounded, signed=sign, digits=0)


def change(delta: float | None) -> str:
    """' (up 7.4 pts)', ' (down 3.0 pts)', ' (unchanged)', or nothing when there is no earlier figure."""
    if delta is None:
        return ""
    if delta == 0:
        return _(" (unchanged)")
    pts = Fixed(abs(delta))
    return _(" (up %(pts)s pts)", pts=pts) if delta > 0 else _(" (down %(pts)s pts)", pts=pts)


def headline(report: dict[str, Any]) -> str:
    """'Sponsors' satisfaction 78% (up 7.4 pts); 6 pain points fixed, 3 measured (+42% on average);
    €1.31M of €2.4M benefits realized; ROI +191%.' A lazy text: its `str` is the English the
    JSON keeps, and the report's view says it in the reader's language."""
    s, pp, b = report["satisfaction"], report["pain_points"], report["benefits"]
    currency = b.get("currency")
    parts: list[str] = []
    if s["csat_pct"] is not None:
        whose = (
            _(
                "Sponsor's satisfaction %(pct)s%(change)s",
                pct=whole_pct(s["csat_pct"]),
                change=change(s["delta_csat_pts"]),
            )
            if report["scope"].get("project")
            else _(
                "Sponsors' satisfaction %(pct)s%(change)s",
                pct=whole_pct(s["csat_pct"]),
                change=change(s["delta_csat_pts"]),
            )
        )
        parts.append(whose)
    if pp["resolved"]:
        count = pp["resolved"]
        fixed = ngettext("%(count)s pain point fixed", "%(count)s pain points fixed", count, count=Num(count))
        if pp["measured_fixes"] and pp["mean_improvement_pct"] is not None:
            fixed = Cat(
                fixed,
                _(
                    ", %(measured)s measured (%(pct)s on average)",
                    measured=Num(pp["measured_fixes"]),
                    pct=whole_pct(pp["mean_improvement_pct"], sign=True),
                ),
            )
        parts.append(fixed)
    if b["realized"] is not None and b["planned"]:
        parts.append(
            _(
                "%(realized)s of %(planned)s benefits realized",
                realized=Compact(b["realized"], currency),
                planned=Compact(b["planned"], currency),
            )
        )
    if b["roi_pct"] is not None:
        parts.append(_("ROI %(pct)s", pct=whole_pct(b["roi_pct"], sign=True)))
    if not parts:
        days = report["window"]["days"]
        return ngettext(
            "Nothing to tell yet: no answers, fixes or benefits in the last %(count)s day.",
            "Nothing to tell yet: no answers, fixes or benefits in the last %(count)s days.",
            days,
            count=Num(days),
        )
    return Cat(Cat(*parts, sep="; "), ".")
