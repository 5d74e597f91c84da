"""A story and the track record as one self-contained, printable HTML page.

Self-contained means no reference outside the file at all: the styles are inline, the trend
chart (handlers/charts.py, drawn in the document's language) is a `data:` URI, fonts are
the reader's own. The print styles lay it out on A4: the page's content is never wider than
the printable width (210 mm less the margins), long words wrap, and a story is not split across
pages when it fits on one. Every piece of text comes from `sections`, said in the page's language
(its `<html lang>`) and escaped here.
"""

from __future__ import annotations

import base64
from html import escape
from typing import Any

from handlers.i18n import SOURCE, say
from handlers.stories import sections
from handlers.value.charts import trend_chart

PAGE_MARGIN_MM = 15
PRINTABLE_MM = 210 - 2 * PAGE_MARGIN_MM  # 180 mm: nothing on the page is wider

STYLE = f"""
@page {{ size: A4; margin: {PAGE_MARGIN_MM}mm; }}
* {{ box-sizing: border-box; }}
html {{ color-scheme: light; }}
body {{ margin: 0 auto; padding: 10mm 0; max-width: {PRINTABLE_MM}mm; color: #0f172a; background: #fff;
  font: 10.5pt/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  overflow-wrap: anywhere; }}
@media print {{ body {{ padding: 0; }} }}
h1 {{ font-size: 18pt; line-height: 1.2; margin: 0 0 2mm; }}
h2 {{ font-size: 12.5pt; margin: 0 0 1.5mm; }}
.lead {{ color: #475569; margin: 0 0 4mm; }}
.headline {{ font-size: 12.5pt; font-weight: 600; margin: 0 0 4mm; }}
blockquote {{ margin: 3mm 0 4mm; padding: 1mm 0 1mm 4mm; border-left: 1.2mm solid #c2410c; }}
blockquote p {{ font-size: 14pt; margin: 0 0 1mm; }}
blockquote footer {{ color: #475569; }}
dl {{ display: grid; grid-template-columns: 44mm minmax(0, 1fr); gap: 1mm 4mm; margin: 0 0 4mm; }}
dt {{ font-weight: 600; color: #334155; }}
dd {{ margin: 0; min-width: 0; }}
ol.steps {{ margin: 0 0 4mm; padding-left: 6mm; }}
figure {{ margin: 0 0 4mm; break-inside: avoid; }}
figure img {{ display: block; width: 100%; max-width: 150mm; height: auto; }}
figcaption {{ color: #64748b; font-size: 8.5pt; }}
.totals {{ display: grid; grid-template-columns: repeat(5, minmax(0, 1fr)); gap: 2mm; margin: 0 0 5mm; }}
.total {{ border: 0.3mm solid #cbd5e1; border-radius: 2mm; padding: 2mm; }}
.total b {{ display: block; font-size: 15pt; }}
.total span {{ color: #475569; font-size: 8.5pt; }}
article {{ break-inside: avoid; border-top: 0.3mm solid #cbd5e1; padding-top: 3mm; margin-top: 3mm; }}
article dl {{ grid-template-columns: 34mm minmax(0, 1fr); margin: 0; }}
.page-footer {{ color: #64748b; font-size: 8.5pt; margin-top: 6mm; }}
"""


def _page(title: str, body: list[str], language: str) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{escape(language)}">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_html(title, language)}</title>",
            f"<style>{STYLE}</style>",
            "</head>",
            "<body>",
            *body,
            f'<p class="page-footer">{_html(sections.MADE_BY, language)}</p>',
            "</body>",
            "</html>",
            "",
        ]
    )


def _html(text: str, language: str) -> str:
    """`text` said in `language`, then escaped."""
    return escape(say(text, language))


def _facts(pairs: list[tuple[str, str]], language: str) -> str:
    items = "".join(
        f"<dt>{_html(label, language)}</dt><dd>{_html(value, language)}</dd>" for label, value in pairs
    )
    return f"<dl>{items}</dl>"


def _chart(trend: list[dict[str, Any]], caption: str, language: str) -> str:
    png = base64.b64encode(trend_chart({"trend": trend}, language)).decode("ascii")
    line = _html(sections.trend_line(trend), language)
    return (
        f'<figure><img src="data:image/png;base64,{png}" alt="{line}" width="600" height="300">'
        f"<figcaption>{_html(caption, language)}. {line}</figcaption></figure>"
    )


def story_html(story: dict[str, Any], *, language: str = SOURCE) -> str:
    steps = sections.steps(story)
    body = [
        f"<h1>{_html(sections.title(story), language)}</h1>",
        f"<blockquote><p>{escape(sections.quote(story))}</p>"
        f"<footer>{_html(sections.attribution(story), language)}</footer></blockquote>",
        _facts(sections.facts(story), language),
        f"<h2>{_html(sections.STEPS_TAKEN, language)}</h2>",
        '<ol class="steps">' + "".join(f"<li>{_html(step, language)}</li>" for step in steps) + "</ol>"
        if steps
        else f'<p class="lead">{_html(sections.NO_STEPS, language)}</p>',
        _chart(story["trend"], sections.trend_caption(story), language),
    ]
    return _page(sections.title(story), body, language)


def _story_article(story: dict[str, Any], language: str) -> str:
    heading = _html(sections.brief_heading(story), language)
    return f"<article><h2>{heading}</h2>{_facts(sections.brief(story), language)}</article>"


def record_html(record: dict[str, Any], *, language: str = SOURCE) -> str:
    totals = "".join(
        f'<div class="total"><b>{_html(value, language)}</b><span>{_html(label, language)}</span></div>'
        for label, value in sections.totals(record)
    )
    body = [
        f"<h1>{_html(sections.record_title(record), language)}</h1>",
        f'<p class="lead">{_html(sections.record_period(record), language)}</p>',
        f'<p class="headline">{_html(sections.headline(record), language)}</p>',
        f'<div class="totals">{totals}</div>',
        _chart(record["trend"], sections.ORGANISATION_TREND, language),
        *(_story_article(story, language) for story in record["stories"]),
    ]
    return _page(sections.record_title(record), body, language)
