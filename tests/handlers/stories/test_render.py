"""The chat view, the Markdown and the HTML page of a story tell it from the same data, escaped."""

from __future__ import annotations

import base64
import html
import re
from html.parser import HTMLParser

from handlers.stories import sections
from handlers.stories.html import record_html, story_html
from handlers.stories.markdown import md, record_markdown, story_markdown
from handlers.stories.view import story_view
from handlers.value.charts import trend_chart

TREND = [
    {"month": m, "responses": n, "mean": None, "csat_pct": c}
    for m, n, c in (
        ("2026-01", 0, None),
        ("2026-02", 3, 33.3),
        ("2026-03", 4, 50.0),
        ("2026-04", 2, 100.0),
        ("2026-05", 0, None),
        ("2026-06", 1, 0.0),
    )
]
HOSTILE = 'Orders <script>alert(1)</script> wait *days* for [credit](http://evil.example) | checks & "more"'


def a_story(**changes: object) -> dict:
    story = {
        "painpoint": 12,
        "project": "Order-to-Cash",
        "segment": "Finance",
        "status": "resolved",
        "said": {"text": HOSTILE, "impact": 4, "reported_at": "2026-03-01T09:00:00Z", "by": "Sam Sponsor"},
        "owner": "Lena Hoffmann",
        "due": "2026-03-20",
        "notes": [
            {"at": "2026-03-03T10:00:00Z", "text": "Called the <vendor>", "by": "Lena Hoffmann"},
            {"at": "2026-03-05T16:00:00Z", "text": "Signed a second supplier", "by": None},
        ],
        "fix": "Credit limits per customer_type",
        "measure": {
            "metric": "Order cycle time (days)",
            "baseline": 12,
            "after": 7,
            "better": "lower",
            "improvement_pct": 41.7,
        },
        "resolved_at": "2026-03-11T21:00:00Z",
        "days_to_resolve": 10.5,
        "confirmation": {"confirmed": True, "at": "2026-03-12T08:00:00Z", "words": "Much better, thank you"},
        "csat_before": 33.3,
        "responses_before": 3,
        "csat_after": 75.0,
        "responses_after": 4,
        "trend": TREND,
    }
    story.update(changes)
    return story


class References(HTMLParser):
    """Every attribute that could make a browser fetch something, and every element's name."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.urls += [
            value or "" for name, value in attrs if name in ("src", "href", "srcset", "action", "poster")
        ]


def references(page: str) -> References:
    found = References()
    found.feed(page)
    return found


def test_every_fact_and_step_is_in_the_view_the_markdown_and_the_html() -> None:
    story = a_story()
    view, markdown, page = story_view(story), story_markdown(story), story_html(story)
    pairs = sections.facts(story)
    assert [(f.label, f.value) for f in view.facts] == pairs
    for label, value in pairs:
        assert f"- **{md(label)}:** {md(value)}" in markdown
        assert f"<dt>{html.escape(label)}</dt><dd>{html.escape(value)}</dd>" in page
    for step in sections.steps(story):
        assert f"• {step}" in view.lines
        assert f"- {md(step)}" in markdown
        assert f"<li>{html.escape(step)}</li>" in page
    facts = dict(pairs)
    assert facts["Measure"] == "Order cycle time (days): 12 → 7 (+41.7%, lower is better)"
    assert facts["CSAT before"] == "33.3% (3 answers in the 90 days before the report)"
    assert facts["CSAT since the fix"] == "75.0% (4 answers since the fix, up to 90 days), +41.7 pts"
    assert facts["Sponsor's confirmation"] == "✅ Fixed (2026-03-12)"
    assert facts["In their words"] == "“Much better, thank you”"
    assert facts["Owner"] == "Lena Hoffmann, due 2026-03-20"
    assert sections.steps(story) == [
        "2026-03-03 · Called the <vendor> (Lena Hoffmann)",
        "2026-03-05 · Signed a second supplier",
    ]
    assert view.chart is not None and view.chart.startswith(b"\x89PNG")


def test_what_a_sponsor_wrote_is_never_markup() -> None:
    story = a_story()
    markdown, page = story_markdown(story), story_html(story)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<script>" not in markdown and "\\<script\\>" in markdown
    assert "\\*days\\*" in markdown and "\\[credit\\]" in markdown and "customer\\_type" in markdown
    found = references(page)
    assert "script" not in found.tags and "a" not in found.tags and "link" not in found.tags
    assert found.urls and all(url.startswith("data:image/png;base64,") for url in found.urls)
    assert not re.search(r"url\(|@import|https?://(?!evil\.example)", page)  # only the escaped text's


def test_the_edge_cases_read_as_such() -> None:
    story = a_story(
        status="open",
        resolved_at=None,
        days_to_resolve=None,
        fix=None,
        owner=None,
        notes=[],
        measure={
            "metric": "Days",
            "baseline": 10,
            "after": None,
            "better": "higher",
            "improvement_pct": None,
        },
        confirmation={"confirmed": None, "at": None, "words": None},
        csat_before=None,
        responses_before=0,
        csat_after=None,
        responses_after=0,
    )
    facts = dict(sections.facts(story))
    assert facts["CSAT before"] == "n/a (0 answers in the 90 days before the report)"
    assert facts["CSAT since the fix"] == "n/a (not resolved)"
    assert facts["Days to resolve"] == "not resolved yet"
    assert facts["Measure"] == "Days: baseline 10, not measured after the fix yet"
    assert facts["Sponsor's confirmation"] == "not asked yet (not resolved)"
    assert (facts["Owner"], facts["What was done"], facts["Status"]) == ("nobody yet", "not recorded", "open")
    assert "In their words" not in facts
    assert "No steps were noted." in story_markdown(story) and "No steps were noted." in story_html(story)
    reopened = dict(sections.facts(a_story(status="open")))
    assert reopened["Status"] == "reopened (was resolved 2026-03-11): not fixed yet"


def record(*stories: dict) -> dict:
    measured = [s for s in stories if s["measure"] and s["measure"]["improvement_pct"] is not None]
    return {
        "window": {"start": "2025-07-02T00:00:00Z", "end": "2026-07-02T00:00:00Z", "days": 365},
        "totals": {"fixes": len(stories), "measured": len(measured), "mean_improvement_pct": 41.7 if measured else None,
                   "confirmed": 1, "median_days_to_resolve": 10.5},
        "stories": list(stories),
        "trend": TREND,
    }  # fmt: skip


def test_the_track_record_opens_with_the_totals_in_both_documents() -> None:
    data = record(a_story(), a_story(painpoint=13, measure=None, said={**a_story()["said"], "text": "Slow"}))
    markdown, page = record_markdown(data), record_html(data)
    headline = (
        "2 pain points fixed, 1 measured (+41.7% on average); 1 confirmed by the sponsor who reported them."
    )
    assert sections.headline(data) == headline
    assert f"**{md(headline)}**" in markdown and html.escape(headline) in page
    period = "Pain points resolved from 2025-07-02 to 2026-07-01 (UTC), the last 365 days"
    assert period in markdown and period in page
    for label, value in sections.totals(data):
        assert f"- **{md(label)}:** {md(value)}" in markdown
        assert f"<b>{html.escape(value)}</b><span>{html.escape(label)}</span>" in page
    # the stories in the order given (measured first, as computed), each with the same brief facts
    assert markdown.index("\\#12 ") < markdown.index("\\#13 ")
    assert page.index("<h2>#12 ") < page.index("<h2>#13 ")
    for story in data["stories"]:
        for label, value in sections.brief(story):
            assert f"- **{md(label)}:** {md(value)}" in markdown
            assert f"<dt>{html.escape(label)}</dt><dd>{html.escape(value)}</dd>" in page
    assert all(url.startswith("data:image/png;base64,") for url in references(page).urls)
    assert '<html lang="en">' in page and "<title>The PMO&#x27;s track record</title>" in page


def test_an_empty_track_record() -> None:
    data = record()
    data["totals"].update(confirmed=0, median_days_to_resolve=None)
    assert sections.headline(data) == "No pain point was resolved in this period."
    assert "No pain point was resolved in this period." in record_markdown(data)
    assert "<article>" not in record_html(data)


# ---------------------------------------------------------------- in the organisation's language

# the documents' own English words: none may be left in another language's document (what people
# typed, "Order cycle time (days)" or "Much better, thank you", is theirs and stays as it is; "Status"
# and "CSAT" are German too)
ENGLISH = (
    "Story of pain point", "Steps taken", "No steps were noted", "taste check-ins", "Month", "Responses",
    "Made by", "Project", "Owner", "What was done", "Measure", "Days to resolve", "confirmation",
    "In their words", "CSAT before", "since the fix", "lower is better", "resolved", "answers", "impact",
    "track record", "Pain points", "pain point", "Fixes", "Measured", "Mean improvement",
    "Confirmed by", "Median time", "Reported", "Confirmation", "n/a", "on average", "sponsor who",
)  # fmt: skip


def english_left(document: str) -> list[str]:
    return [word for word in ENGLISH if word in document]


def test_a_german_story_in_markdown_and_html() -> None:
    story = a_story()
    markdown, page = story_markdown(story, language="de"), story_html(story, language="de")
    assert markdown.startswith("# Geschichte von Pain Point #12: Order-to-Cash\n")
    assert "> — Sam Sponsor, 01.03.2026 · Auswirkung 4/5" in markdown
    assert "- **Messgröße:** Order cycle time (days): 12 → 7 (+41,7\xa0%, niedriger ist besser)" in markdown
    assert "- **Tage bis zur Lösung:** 10,5 Tage" in markdown
    assert "- **Verantwortlich:** Lena Hoffmann, fällig 20.03.2026" in markdown
    assert "## Unternommene Schritte" in markdown and "- 03.03.2026 · Called the \\<vendor\\>" in markdown
    assert "## Geschmacks-Check-ins des Projekts nach Monat" in markdown
    assert "| Monat | Antworten | CSAT |" in markdown and "| Feb. 26 | 3 | 33,3\xa0% |" in markdown
    assert page.startswith('<!DOCTYPE html>\n<html lang="de">')
    assert "<title>Geschichte von Pain Point #12: Order-to-Cash</title>" in page
    assert (
        "<h2>Unternommene Schritte</h2>" in page and "<li>05.03.2026 · Signed a second supplier</li>" in page
    )
    assert "<dt>Bestätigung des Sponsors</dt><dd>✅ Behoben (12.03.2026)</dd>" in page
    assert "<figcaption>Geschmacks-Check-ins von Order-to-Cash nach Monat. CSAT nach Monat" in page
    assert 'alt="CSAT nach Monat (Antworten): Jan. 26' in page
    assert "Erstellt vom PMO-Bot aus seinen eigenen Aufzeichnungen." in page
    assert english_left(markdown) == [] and english_left(page) == []
    # the inlined chart is the German drawing, not the English one
    german, english = (trend_chart({"trend": story["trend"]}, lang) for lang in ("de", "en"))
    assert base64.b64encode(german).decode() in page and base64.b64encode(english).decode() not in page
    # what the sponsor wrote is still escaped, in every language
    assert "<script>" not in page and "\\<script\\>" in markdown
    bare = a_story(notes=[])
    assert "Es wurden keine Schritte notiert." in story_markdown(bare, language="de")
    assert '<p class="lead">Es wurden keine Schritte notiert.</p>' in story_html(bare, language="de")


def test_a_german_track_record() -> None:
    data = record(a_story(), a_story(painpoint=13, measure=None))
    markdown, page = record_markdown(data, language="de"), record_html(data, language="de")
    assert markdown.startswith("# Die Bilanz des PMO\n")
    period = "Vom 02.07.2025 bis 01.07.2026 (UTC) gelöste Pain Points, ein Zeitraum von 365 Tagen"
    headline = "2 Pain Points behoben, 1 gemessen (+41,7\xa0% im Schnitt); 1 vom Sponsor bestätigt, der sie gemeldet hat."
    assert period in markdown and f"**{headline}**" in markdown
    assert "- **Mittlere Verbesserung:** +41,7\xa0%" in markdown and "- **Gemeldet:** Sam Sponsor" in markdown
    assert "- **Mediane Zeit bis zur Lösung:** 10,5 Tage" in markdown
    assert "## Geschmacks-Check-ins der Organisation nach Monat" in markdown
    assert '<html lang="de">' in page and f'<p class="headline">{headline}</p>' in page
    assert '<div class="total"><b>2</b><span>Behebungen</span></div>' in page
    assert "<dt>Bestätigung</dt><dd>✅ Behoben (12.03.2026)</dd>" in page
    assert english_left(markdown) == [] and english_left(page) == []
    empty = record()
    assert "In diesem Zeitraum wurde kein Pain Point gelöst." in record_markdown(empty, language="de")


def test_a_french_track_record_writes_french_numbers() -> None:
    data = record(a_story())
    data["totals"].update(fixes=1250, measured=1000, confirmed=1)
    headline = sections.headline(data)
    assert headline == (
        "1,250 pain points fixed, 1,000 measured (+41.7% on average); 1 confirmed by the sponsor who reported them."
    )
    french = (
        "1\u202f250 points de douleur corrigés, dont 1\u202f000 avec mesure (+41,7\xa0% en moyenne) ; "
        "1 avec la confirmation du sponsor qui les a signalés."
    )
    assert f"**{french}**" in record_markdown(data, language="fr")
    page = record_html(data, language="fr")
    assert '<html lang="fr">' in page and f'<p class="headline">{french}</p>' in page
    assert "Points de douleur résolus du 2 juil. 2025 au 1 juil. 2026 (UTC)" in page
    one = record(a_story(measure=None))
    single = "**1 point de douleur corrigé ; 1 avec la confirmation du sponsor qui l'a signalé.**"
    assert single in record_markdown(one, language="fr")
