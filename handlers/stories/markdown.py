"""A story and the track record as Markdown: the pieces of `sections`, escaped and laid out."""

from __future__ import annotations

import re
from typing import Any

from handlers.stories import sections

_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")  # inline markup; no value here starts a line


def md(text: str) -> str:
    """Text as Markdown shows it literally: what a sponsor wrote is never read as markup."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _facts(pairs: list[tuple[str, str]]) -> list[str]:
    return [f"- **{md(label)}:** {md(value)}" for label, value in pairs]


def _trend(trend: list[dict[str, Any]]) -> list[str]:
    lines = ["| Month | Responses | CSAT |", "|---|---:|---:|"]
    lines += [f"| {md(m)} | {n} | {md(c)} |" for m, n, c in sections.trend_rows(trend)]
    return lines


def story_markdown(story: dict[str, Any]) -> str:
    lines = [
        f"# {md(sections.title(story))}",
        "",
        f"> {md(sections.quote(story))}",
        ">",
        f"> — {md(sections.attribution(story))}",
        "",
        *_facts(sections.facts(story)),
        "",
        "## Steps taken",
        "",
        *([f"- {md(step)}" for step in sections.steps(story)] or ["No steps were noted."]),
        "",
        "## The project's taste check-ins by month",
        "",
        *_trend(story["trend"]),
        "",
    ]
    return "\n".join(lines)


def record_markdown(record: dict[str, Any]) -> str:
    lines = [
        f"# {md(sections.record_title(record))}",
        "",
        md(sections.record_period(record)),
        "",
        f"**{md(sections.headline(record))}**",
        "",
        *_facts(sections.totals(record)),
        "",
        "## The organisation's taste check-ins by month",
        "",
        *_trend(record["trend"]),
        "",
    ]
    for story in record["stories"]:
        heading = md(sections.brief_heading(story))
        lines += [f"## \\{heading}", "", *_facts(sections.brief(story)), ""]
    return "\n".join(lines)
