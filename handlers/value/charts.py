"""The value report's six-month trend as a small PNG every channel can attach.

matplotlib is imported inside the function: importing it costs about half a second, which
only the people who ask for a chart should pay. The figure is built with the object API
(`Figure` + Agg canvas), never pyplot, so nothing is kept in a global figure registry and
every figure is freed when the function returns.

A chart is a pure function of its six months of figures, and many people ask for the same
report, so the last few PNGs are kept by those figures: an identical report is not drawn again
(drawing costs about a tenth of a second of CPU; a kept PNG about 25 KB).
"""

from __future__ import annotations

import io
import math
from functools import lru_cache
from typing import Any

WIDTH_IN, HEIGHT_IN, DPI = 6.0, 3.0, 100  # 600 x 300 px
BAR_COLOUR = "#9db4d3"
LINE_COLOUR = "#c2410c"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def month_label(month: str) -> str:
    """'2026-06' → 'Jun 26': short enough for six labels across 600 px."""
    year, number = month.split("-")
    return f"{MONTHS[int(number) - 1]} {year[2:]}"


KEPT_CHARTS = 64
PARTIAL_ALPHA = 0.45  # the current month's bar and point, lighter: it has only begun

Series = tuple[tuple[str, int, float | None], ...]  # (month, responses, CSAT %) per month


def trend_chart(report: dict[str, Any]) -> bytes:
    """PNG bytes: bars of responses per month, a line of CSAT % with gaps where it is null; the
    last month (the current one, METRICS.md `trend`) drawn as partial."""
    return draw_trend(tuple((m["month"], m["responses"] or 0, m["csat_pct"]) for m in report["trend"]))


def tick_labels(series: Series) -> list[str]:
    """Each month with its responses under it, the current month's as 'so far': the counts live
    below the axis, where no line can cross them."""
    labels = [f"{month_label(month)}\n{count:,}" for month, count, _ in series]
    if series:
        month, count, _ = series[-1]
        labels[-1] = f"{month_label(month)}\n{count:,} so far"
    return labels


@lru_cache(maxsize=KEPT_CHARTS)
def draw_trend(series: Series) -> bytes:
    """The drawing itself, kept by its figures (see the module's docstring)."""
    figure = build_figure(series)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    figure.clear()
    return buffer.getvalue()


def build_figure(series: Series) -> Any:
    """The chart as a matplotlib Figure (tests look at what it holds)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    responses = [count for _, count, _ in series]
    csat = [math.nan if pct is None else pct for _, _, pct in series]
    positions = list(range(len(series)))
    last = len(series) - 1

    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    bars = figure.add_subplot()
    colours = [BAR_COLOUR] * len(series)
    container = bars.bar(positions, responses, color=colours, width=0.6, label="Responses")
    if series:  # the month that has only begun: lighter and hatched, not a collapse
        container[last].set_alpha(PARTIAL_ALPHA)
        container[last].set_hatch("///")
        container[last].set_edgecolor(BAR_COLOUR)
    if not any(responses):
        bars.text(0.5, 0.5, "No responses yet", transform=bars.transAxes, ha="center", color="#64748b")
    bars.set_ylabel("Responses")
    bars.set_ylim(0, max([*responses, 1]) * 1.15)
    bars.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    bars.set_xticks(positions, tick_labels(series), fontsize="small")
    for side in ("top", "right"):
        bars.spines[side].set_visible(False)

    line = bars.twinx()
    complete, current = csat[:last], csat[last:] if series else []
    line.plot(positions[:last], complete, color=LINE_COLOUR, marker="o", linewidth=2, label="CSAT %")
    if series and not math.isnan(csat[last]):
        # the partial month's CSAT: a hollow, lighter point, not joined to the line (a month that
        # has only begun says little yet, and a line down to it would read as a collapse)
        line.plot([last], current, color=LINE_COLOUR, marker="o", markerfacecolor="white",
                  linestyle="none", alpha=PARTIAL_ALPHA + 0.2)  # fmt: skip
    line.set_ylim(0, 105)
    line.set_ylabel("CSAT %")
    line.spines["top"].set_visible(False)

    handles = [*bars.get_legend_handles_labels()[0], *line.get_legend_handles_labels()[0][:1]]
    figure.legend(handles, ["Responses", "CSAT %"], loc="outside upper right", frameon=False, ncols=2)
    figure.suptitle("Taste check-ins by month", x=0.02, y=0.98, ha="left", va="top", fontsize="medium")
    return figure
