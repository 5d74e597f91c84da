"""The value report's headline: one sentence of the figures that exist (METRICS.md `headline`).

Built from the computed figures only, so it says what the figures below it say. Choices where
METRICS.md leaves room: percentages are whole (78%, +42%, ROI +191%) and the change of CSAT has
one decimal, as in CONTRACT.md's example; a null figure is left out, and so is a count of none
(no fix in the window says nothing a headline should lead with; the figures below still show 0);
benefits are left out while nothing is planned. Money is compact, in the report's currency.
"""

from __future__ import annotations

from typing import Any

from handlers.value.common import round_half_away
from handlers.value.money import money


def whole_pct(value: float, *, sign: bool = False) -> str:
    rounded = int(round_half_away(value, 0) or 0)
    return f"{rounded:+d}%" if sign else f"{rounded}%"


def change(delta: float | None) -> str:
    """' (up 7.4 pts)', ' (down 3.0 pts)', ' (unchanged)', or nothing when there is no earlier figure."""
    if delta is None:
        return ""
    if delta == 0:
        return " (unchanged)"
    return f" ({'up' if delta > 0 else 'down'} {abs(delta):.1f} pts)"


def _plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def headline(report: dict[str, Any]) -> str:
    """'Sponsors' satisfaction 78% (up 7.4 pts); 6 pain points fixed, 3 measured (+42% on average);
    €1.31M of €2.4M benefits realized; ROI +191%.'"""
    s, pp, b = report["satisfaction"], report["pain_points"], report["benefits"]
    currency = b.get("currency")
    parts: list[str] = []
    if s["csat_pct"] is not None:
        who = "Sponsor's" if report["scope"].get("project") else "Sponsors'"
        parts.append(f"{who} satisfaction {whole_pct(s['csat_pct'])}{change(s['delta_csat_pts'])}")
    if pp["resolved"]:
        fixed = _plural(pp["resolved"], "pain point fixed", "pain points fixed")
        if pp["measured_fixes"] and pp["mean_improvement_pct"] is not None:
            fixed += f", {pp['measured_fixes']:,} measured ({whole_pct(pp['mean_improvement_pct'], sign=True)} on average)"
        parts.append(fixed)
    if b["realized"] is not None and b["planned"]:
        parts.append(f"{money(b['realized'], currency)} of {money(b['planned'], currency)} benefits realized")
    if b["roi_pct"] is not None:
        parts.append(f"ROI {whole_pct(b['roi_pct'], sign=True)}")
    if not parts:
        days = report["window"]["days"]
        return (
            f"Nothing to tell yet: no answers, fixes or benefits in the last {_plural(days, 'day', 'days')}."
        )
    return "; ".join(parts) + "."
