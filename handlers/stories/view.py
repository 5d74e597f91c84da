"""A story as a neutral View (chat: Slack, Teams, the console, `app.py pmo story ID`)."""

from __future__ import annotations

from typing import Any

from handlers.i18n import Cat, _
from handlers.stories import sections
from handlers.value.charts import trend_chart
from handlers.views import Fact, View


def story_view(story: dict[str, Any], *, chart: bool = True) -> View:
    """The facts of `sections`, the steps as lines, and the project's trend chart."""
    steps = sections.steps(story)
    lines = (
        [_("Steps taken:"), *(Cat("• ", step) for step in steps)] if steps else [_("No steps were noted.")]
    )
    if not chart:
        lines.append(sections.trend_line(story["trend"]))
    return View(
        title=_(
            "📖 Story of pain point #%(id)s on *%(project)s*", id=story["painpoint"], project=story["project"]
        ),
        text=Cat(sections.quote(story), " — ", sections.attribution(story)),
        facts=tuple(Fact(label, value) for label, value in sections.facts(story)),
        lines=tuple(lines),
        chart=trend_chart({"trend": story["trend"]}) if chart else None,
        chart_alt=sections.trend_line(story["trend"]) if chart else "",
    )
