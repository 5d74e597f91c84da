"""A story and the track record as Markdown: the pieces of `sections`, said in the document's
language (handlers.i18n), escaped and laid out."""

from __future__ import annotations

import re
from typing import Any

from handlers.i18n import SOURCE, say
from handlers.stories import sections

_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")  # inline markup; no value here starts a line
_BREAKING = re.compile(r"[^\S\xa0\u2007\u202f]+")  # any run of spaces and line breaks, but not
# the non-breaking spaces a language writes inside a figure (1 250, 41,7 %)


def md(text: str) -> str:
    """Text as Markdown shows it literally, on one line: what a sponsor wrote is never read as
    markup."""
    return _SPECIAL.sub(r"\\\1", _BREAKING.sub(" ", str(text)).strip(" "))


def _md(text: str, language: str) -> str:
    """`text` said in `language`, then escaped."""
    return md(say(text, language))


def _facts(pairs: list[tuple[str, str]], language: str) -> list[str]:
    return [f"- **{_md(label, language)}:** {_md(value, language)}" for label, value in pairs]


def _trend(trend: list[dict[str, Any]], language: str) -> list[str]:
    header = " | ".join(_md(word, language) for word in sections.TREND_COLUMNS)
    lines = [f"| {header} |", "|---|---:|---:|"]
    lines += [f"| {_md(m, language)} | {n} | {_md(c, language)} |" for m, n, c in sections.trend_rows(trend)]
    return lines


def story_markdown(story: dict[str, Any], *, language: str = SOURCE) -> str:
    steps = [f"- {_md(step, language)}" for step in sections.steps(story)]
    lines = [
        f"# {_md(sections.title(story), language)}",
        "",
        f"> {md(sections.quote(story))}",
        ">",
        f"> — {_md(sections.attribution(story), language)}",
        "",
        *_facts(sections.facts(story), language),
        "",
        f"## {_md(sections.STEPS_TAKEN, language)}",
        "",
        *(steps or [_md(sections.NO_STEPS, language)]),
        "",
        f"## {_md(sections.PROJECT_TREND, language)}",
        "",
        *_trend(story["trend"], language),
        "",
    ]
    return "\n".join(lines)


def record_markdown(record: dict[str, Any], *, language: str = SOURCE) -> str:
    lines = [
        f"# {_md(sections.record_title(record), language)}",
        "",
        _md(sections.record_period(record), language),
        "",
        f"**{_md(sections.headline(record), language)}**",
        "",
        *_facts(sections.totals(record), language),
        "",
        f"## {_md(sections.ORGANISATION_TREND, language)}",
        "",
        *_trend(record["trend"], language),
        "",
    ]
    for story in record["stories"]:
        heading = _md(sections.brief_heading(story), language)
        lines += [f"## \\{heading}", "", *_facts(sections.brief(story), language), ""]
    return "\n".join(lines)
