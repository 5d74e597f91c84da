"""A six-month trend (responses and CSAT % by month) as a small PNG every channel can attach,
drawn in the reader's language.

matplotlib is imported inside the function: importing it costs about half a second, which
only the people who ask for a chart should pay. The figure is built with the object API
(`Figure` + Agg canvas), never pyplot, so nothing is kept in a global figure registry and
every figure is freed when the function returns.

A chart is a pure function of its months of figures and its language, and many people ask for
the same report, so the last few PNGs are kept by both: an identical report is not drawn again
in the same language (drawing costs about a tenth of a second of CPU; a kept PNG about 25 KB).
One drawing at a time (a lock): two threads asking for the same chart draw it once, and
matplotlib, which holds the GIL while it draws anyway, is never used by two threads at once.

The PNG is a `Chart`: `bytes` that remember what they were drawn from, as a lazy text
(handlers.i18n) is a `str` that remembers its msgid. A view is built with the English chart;
`handlers.views.localize` asks the chart for another language with `Chart.render`, which draws
it then (or finds it kept). It lives here, beside handlers.views (which must know it), and not in
handlers.value, which the views may not import.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from babel.dates import get_month_names

from handlers.i18n import LANGUAGES, SOURCE, Num, _

WIDTH_IN, HEIGHT_IN, DPI = 6.0, 3.0, 100  # 600 x 300 px
BAR_COLOUR = "#9db4d3"
LINE_COLOUR = "#c2410c"

KEPT_CHARTS = 64
PARTIAL_ALPHA = 0.45  # the current month's bar and point, lighter: it has only begun

RESPONSES = _("Responses")
CSAT = _("CSAT %")
NO_RESPONSES = _("No responses yet")
TITLE = _("Taste check-ins by month")

Series = tuple[tuple[str, int, float | None], ...]  # (month, responses, CSAT %) per month


def month_label(month: str, language: str = SOURCE) -> str:
    """'2026-06' → 'Jun 26', 'Juni 26', 'juin 26': the language's abbreviated month (CLDR, as
    Babel has it), short enough for six labels across 600 px."""
    year, number = month.split("-")
    name = get_month_names("abbreviated", locale=language if language in LANGUAGES else SOURCE)
    return f"{name[int(number)]} {year[2:]}"


def series_of(trend: Iterable[Mapping[str, Any]]) -> Series:
    """A report's `trend` (METRICS.md) as the chart's series: no responses counts as 0."""
    return tuple((m["month"], m["responses"] or 0, m["csat_pct"]) for m in trend)


class Chart(bytes):
    """A trend chart's PNG that remembers its series and its language, so that it can be drawn
    again in another language (`render`), and kept across a view's `to_dict`/`view_from_dict`
    (`source`/`restore`)."""

    series: Series
    language: str

    def __new__(cls, png: bytes, series: Series, language: str = SOURCE) -> Chart:
        self = super().__new__(cls, png)
        self.series, self.language = series, language
        return self

    def __reduce__(self) -> tuple[Any, ...]:  # copies and pickles stay re-drawable
        return (Chart, (bytes(self), self.series, self.language))

    def needs_drawing(self, language: str) -> bool:
        """Whether `render(language)` may have to draw (then, on an event loop, call it in a thread)."""
        return language != self.language and language in LANGUAGES

    def render(self, language: str) -> Chart:
        """The same chart in `language` (itself when it already is, or the language is unknown)."""
        return chart_of(self.series, language) if self.needs_drawing(language) else self

    def source(self) -> dict[str, Any]:
        """What it was drawn from, as JSON can hold it."""
        return {"series": [list(month) for month in self.series], "language": self.language}

    @staticmethod
    def restore(png: bytes, source: Mapping[str, Any] | None) -> bytes:
        """The chart back from its PNG and `source`; plain bytes when nothing says what it was
        drawn from (a view stored before charts remembered it)."""
        if not source:
            return png
        series = tuple((str(m), int(n), None if p is None else float(p)) for m, n, p in source["series"])
        return Chart(png, series, str(source.get("language") or SOURCE))


_DRAWING = threading.Lock()


def chart_of(series: Series, language: str = SOURCE) -> Chart:
    """The chart of `series` in `language`, drawn unless kept (see the module's docstring)."""
    with _DRAWING:
        return draw_trend(series, language)


def tick_labels(series: Series, language: str = SOURCE) -> list[str]:
    """Each month with its responses under it, the current month's as 'so far': the counts live
    below the axis, where no line can cross them."""
    labels = [f"{month_label(month, language)}\n{Num(count).render(language)}" for month, count, _ in series]
    if series:
        month, count = series[-1][:2]
        so_far = _("%(count)s so far", count=Num(count)).render(language)
        labels[-1] = f"{month_label(month, language)}\n{so_far}"
    return labels


@lru_cache(maxsize=KEPT_CHARTS)
def draw_trend(series: Series, language: str = SOURCE) -> Chart:
    """The drawing itself, kept by its figures and language (see the module's docstring)."""
    figure = build_figure(series, language)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    figure.clear()
    return Chart(buffer.getvalue(), series, language)


def build_figure(series: Series, language: str = SOURCE) -> Any:
    """The chart as a matplotlib Figure, its words in `language` (tests look at what it holds)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    responses_word, csat_word = RESPONSES.render(language), CSAT.render(language)
    responses = [count for _, count, _ in series]
    csat = [math.nan if pct is None else pct for _, _, pct in series]
    positions = list(range(len(series)))
    last = len(series) - 1

    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    bars = figure.add_subplot()
    colours = [BAR_COLOUR] * len(series)
    container = bars.bar(positions, responses, color=colours, width=0.6, label=responses_word)
    if series:  # the month that has only begun: lighter and hatched, not a collapse
        container[last].set_alpha(PARTIAL_ALPHA)
        container[last].set_hatch("///")
        container[last].set_edgecolor(BAR_COLOUR)
    if not any(responses):
        bars.text(0.5, 0.5, NO_RESPONSES.render(language), transform=bars.transAxes, ha="center",
                  color="#64748b")  # fmt: skip
    bars.set_ylabel(responses_word)
    bars.set_ylim(0, max([*responses, 1]) * 1.15)
    bars.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    bars.set_xticks(positions, tick_labels(series, language), fontsize="small")
    for side in ("top", "right"):
        bars.spines[side].set_visible(False)

    line = bars.twinx()
    complete, current = csat[:last], csat[last:] if series else []
    line.plot(positions[:last], complete, color=LINE_COLOUR, marker="o", linewidth=2, label=csat_word)
    if series and not math.isnan(csat[last]):
        # the partial month's CSAT: a hollow, lighter point, not joined to the line (a month that
        # has only begun says little yet, and a line down to it would read as a collapse)
        line.plot([last], current, color=LINE_COLOUR, marker="o", markerfacecolor="white",
                  linestyle="none", alpha=PARTIAL_ALPHA + 0.2)  # fmt: skip
    line.set_ylim(0, 105)
    line.set_ylabel(csat_word)
    line.spines["top"].set_visible(False)

    handles = [*bars.get_legend_handles_labels()[0], *line.get_legend_handles_labels()[0][:1]]
    figure.legend(handles, [responses_word, csat_word], loc="outside upper right", frameon=False, ncols=2)
    figure.suptitle(TITLE.render(language), x=0.02, y=0.98, ha="left", va="top", fontsize="medium")
    return figure
