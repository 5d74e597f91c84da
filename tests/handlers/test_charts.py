"""The trend chart in the reader's language (handlers/charts.py, docs/languages.md): its words drawn
in German, French…, the English drawing as it always was, a view's chart drawn again by `localize`
(off the event loop with `localize_async`), kept across the outbox's JSON, never drawn twice."""

from __future__ import annotations

import copy
import pickle
import threading
from dataclasses import dataclass
from typing import Any

import pytest

from handlers import charts
from handlers.charts import Chart, build_figure, chart_of, draw_trend, series_of, tick_labels
from handlers.value.charts import trend_chart
from handlers.value.view import value_view
from handlers.views import View, localize, localize_async, view_from_dict
from tests.handlers.value.test_value_view import REPORT, empty_report

# Six months from December to May: "Dez." and "März" as CLDR abbreviates them (format context).
WINTER: charts.Series = (
    ("2025-12", 1250, 80.0),
    ("2026-01", 0, None),
    ("2026-02", 9, 77.8),
    ("2026-03", 14, 85.7),
    ("2026-04", 12, 75.0),
    ("2026-05", 3, 66.7),
)


def figure_words(figure: Any) -> list[str]:
    """Every text a reader sees on the figure: title, legend, axis labels, tick labels, notes."""
    words = [figure._suptitle.get_text()]
    words += [text.get_text() for legend in figure.legends for text in legend.get_texts()]
    for axes in figure.axes:
        words += [axes.get_ylabel(), *(t.get_text() for t in axes.texts)]
        words += [t.get_text() for t in axes.get_xticklabels()]
    return [word for word in words if word]


@dataclass(frozen=True)
class Drawing:
    """A figure that was drawn: what from, in which language, its words, the thread that drew it."""

    series: charts.Series
    language: str
    words: list[str]
    thread: str


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[Drawing]:
    """Each figure drawn from now on (nothing is kept from before)."""
    seen: list[Drawing] = []
    original = charts.build_figure

    def spy(series: charts.Series, language: str = "en") -> Any:
        figure = original(series, language)
        seen.append(Drawing(series, language, figure_words(figure), threading.current_thread().name))
        return figure

    monkeypatch.setattr(charts, "build_figure", spy)
    draw_trend.cache_clear()
    return seen


def test_a_german_chart_says_its_months_labels_and_so_far_in_german() -> None:
    assert tick_labels(WINTER, "de") == [
        "Dez. 25\n1.250",
        "Jan. 26\n0",
        "Feb. 26\n9",
        "März 26\n14",
        "Apr. 26\n12",
        "Mai 26\n3 bisher",
    ]
    figure = build_figure(WINTER, "de")
    words = figure_words(figure)
    figure.clear()
    assert words[:3] == ["Geschmacks-Check-ins nach Monat", "Antworten", "CSAT in %"]
    assert {"Antworten", "CSAT in %"} <= set(words[3:])  # the axes' labels
    assert "Dez. 25\n1.250" in words and "Mai 26\n3 bisher" in words
    assert not any("so far" in word or "Responses" in word or "Dec" in word for word in words)
    empty = build_figure(series_of(empty_report()["trend"]), "de")
    assert "Noch keine Antworten" in figure_words(empty)
    empty.clear()


def test_the_english_chart_is_drawn_as_it_always_was() -> None:
    figure = build_figure(WINTER)
    words = figure_words(figure)
    figure.clear()
    assert words[:3] == ["Taste check-ins by month", "Responses", "CSAT %"]
    assert "Dec 25\n1,250" in words and "Mar 26\n14" in words and "May 26\n3 so far" in words
    english = trend_chart(REPORT)
    assert trend_chart(REPORT, "en") is english and english.language == "en"
    assert english.series == series_of(REPORT["trend"])
    assert trend_chart(REPORT, "de") != english


def test_a_view_localized_to_french_carries_a_french_chart(drawn: list[Drawing]) -> None:
    view = value_view(REPORT)
    assert isinstance(view.chart, Chart) and [d.language for d in drawn] == ["en"]
    french = localize(view, "fr")
    assert isinstance(french.chart, Chart) and french.chart.language == "fr"
    assert french.chart != view.chart and french.chart.startswith(b"\x89PNG")
    assert view.chart.language == "en"  # the English view keeps its English chart
    [french_drawing] = drawn[1:]
    assert french_drawing.language == "fr" and french_drawing.series == view.chart.series
    assert {"Check-ins de goût par mois", "Réponses", "CSAT en %", "nov. 26\n6 jusqu'ici"} <= set(
        french_drawing.words
    )
    assert localize(view, "en") is view and len(drawn) == 2  # English: never drawn again


def test_a_chart_survives_the_outbox_json_and_can_still_be_drawn_again() -> None:
    french = localize(value_view(REPORT), "fr")
    stored = view_from_dict(french.to_dict())
    assert stored == french and isinstance(stored.chart, Chart)
    assert (stored.chart.series, stored.chart.language) == (french.chart.series, "fr")
    german = localize(stored, "de")
    assert german.chart == trend_chart(REPORT, "de") != stored.chart
    for kept in (copy.deepcopy(stored.chart), pickle.loads(pickle.dumps(stored.chart))):
        assert isinstance(kept, Chart) and kept == stored.chart and kept.language == "fr"
    # a view stored before charts remembered their figures: its PNG as it was, not drawn again
    old = {**french.to_dict(), "chart_source": None}
    assert type(view_from_dict(old).chart) is bytes
    assert localize(view_from_dict(old), "de").chart == french.chart


def test_the_same_chart_in_the_same_language_is_drawn_once(drawn: list[Drawing]) -> None:
    view = value_view(REPORT)
    for _ in range(3):
        localize(view, "de")
        localize(value_view(copy.deepcopy(REPORT)), "de")
    assert [d.language for d in drawn] == ["en", "de"]
    assert chart_of(series_of(REPORT["trend"]), "de") is localize(view, "de").chart


def test_two_threads_asking_for_the_same_chart_draw_it_once(drawn: list[Drawing]) -> None:
    barrier = threading.Barrier(4)
    got: list[Chart] = []

    def ask() -> None:
        barrier.wait()
        got.append(trend_chart(REPORT, "es"))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(got) == 4 and all(chart is got[0] for chart in got)
    assert [d.language for d in drawn] == ["es"]


async def test_localize_async_draws_in_a_worker_thread_never_on_the_loop(
    drawn: list[Drawing],
) -> None:
    view = value_view(REPORT)  # drawn here, in English (callers draw it in a thread: bot/lane.py)
    loop_thread = threading.current_thread().name
    portuguese = await localize_async(view, "pt")
    assert isinstance(portuguese.chart, Chart) and portuguese.chart.language == "pt"
    [_english, portuguese_drawing] = drawn
    assert portuguese_drawing.language == "pt" and portuguese_drawing.thread != loop_thread
    assert "Check-ins de sabor por mês" in portuguese_drawing.words
    assert await localize_async(view, "en") is view
    plain = View(title="Trend", chart=b"\x89PNG not a chart")  # any PNG: kept as it is
    assert (await localize_async(plain, "pt")).chart == plain.chart
    assert len(drawn) == 2
