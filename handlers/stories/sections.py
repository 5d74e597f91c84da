"""The words of a story, once: every rendering (chat, Markdown, HTML) lays out these same pieces.

Each function takes the dictionary of `handlers.stories.compute` and returns plain text; the
renderings only escape and arrange it, so the chat view, the Markdown and the HTML page can
never tell a story differently.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from handlers.i18n import Cat, Day, Num, _, ngettext
from handlers.painpoints.views import FIXED_LABEL, NOT_YET_LABEL
from handlers.value.figures import Month, fixed
from handlers.value.figures import pct as value_pct
from handlers.views import number

NA = _("n/a")
STEPS_TAKEN = _("Steps taken")  # the documents' fixed words, said in each document's language
NO_STEPS = _("No steps were noted.")
PROJECT_TREND = _("The project's taste check-ins by month")
ORGANISATION_TREND = _("The organisation's taste check-ins by month")
TREND_COLUMNS = (_("Month"), _("Responses"), _("CSAT"))
MADE_BY = _("Made by the PMO value bot from its own records.")


def day(iso: str | None) -> str:
    """'2026-03-01T09:00:00Z' → '2026-03-01' (in English; the reader's own form elsewhere)."""
    return Day(dt.date.fromisoformat(iso[:10])) if iso else NA


def pct(value: float | None) -> str:
    return value_pct(value)


def title(story: dict[str, Any]) -> str:
    return _("Story of pain point #%(id)s: %(project)s", id=story["painpoint"], project=story["project"])


def quote(story: dict[str, Any]) -> str:
    return f"“{story['said']['text']}”"


def attribution(story: dict[str, Any]) -> str:
    said = story["said"]
    return _(
        "%(by)s, %(date)s · impact %(impact)s/5",
        by=said["by"],
        date=day(said["reported_at"]),
        impact=said["impact"],
    )


def measure(story: dict[str, Any]) -> str:
    """`Order cycle time: 12 → 7 (+41.7%)`, or what is missing for it."""
    m = story["measure"]
    if m is None:
        return _("no measure attached")
    metric = m["metric"] or _("Measure")
    if m["after"] is None:
        return _(
            "%(metric)s: baseline %(baseline)s, not measured after the fix yet",
            metric=metric,
            baseline=number(m["baseline"]),
        )
    text = Cat(metric, ": ", number(m["baseline"]), " → ", number(m["after"]))
    better = _("lower is better") if m["better"] == "lower" else _("higher is better")
    if m["improvement_pct"] is not None:
        return Cat(text, " (", value_pct(m["improvement_pct"], signed=True), ", ", better, ")")
    return Cat(text, " (", better, ")")


def status(story: dict[str, Any]) -> str:
    if story["status"] == "resolved":
        return _("resolved %(date)s", date=day(story["resolved_at"]))
    if story["resolved_at"] is not None:
        return _("reopened (was resolved %(date)s): not fixed yet", date=day(story["resolved_at"]))
    return _("in progress") if story["status"] == "in_progress" else _("open")


def days_to_resolve(story: dict[str, Any]) -> str:
    days = story["days_to_resolve"]
    return _("not resolved yet") if days is None else _("%(days)s days", days=fixed(days))


def confirmation(story: dict[str, Any]) -> str:
    c = story["confirmation"]
    if c["confirmed"] is None:
        return _("not answered yet") if story["resolved_at"] else _("not asked yet (not resolved)")
    answer = FIXED_LABEL if c["confirmed"] else NOT_YET_LABEL
    return Cat(answer, " (", day(c["at"]), ")") if c["at"] else answer


def csat_before(story: dict[str, Any]) -> str:
    return ngettext(
        "%(pct)s (%(n)s answer in the 90 days before the report)",
        "%(pct)s (%(n)s answers in the 90 days before the report)",
        story["responses_before"],
        pct=pct(story["csat_before"]),
    )


def csat_after(story: dict[str, Any]) -> str:
    if story["status"] != "resolved":
        return _("%(na)s (not resolved)", na=NA)
    text = ngettext(
        "%(pct)s (%(n)s answer since the fix, up to 90 days)",
        "%(pct)s (%(n)s answers since the fix, up to 90 days)",
        story["responses_after"],
        pct=pct(story["csat_after"]),
    )
    if story["csat_before"] is not None and story["csat_after"] is not None:
        change = story["csat_after"] - story["csat_before"]
        return Cat(text, ", ", _("%(change)s pts", change=fixed(change, signed=True)))
    return text


def facts(story: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs, in the order a reader follows the story (after the sponsor's words,
    which every rendering shows first as a quote with `attribution`)."""
    project: str = story["project"]
    if story["segment"]:
        project = _("%(project)s (segment %(segment)s)", project=story["project"], segment=story["segment"])
    owner: str = story["owner"] or _("nobody yet")
    if story["owner"] and story["due"]:
        owner = _("%(owner)s, due %(date)s", owner=story["owner"], date=day(story["due"]))
    pairs = [
        (_("Project"), project),
        (_("Owner"), owner),
        (_("What was done"), story["fix"] or _("not recorded")),
        (_("Measure"), measure(story)),
        (_("Status"), status(story)),
        (_("Days to resolve"), days_to_resolve(story)),
        (_("Sponsor's confirmation"), confirmation(story)),
    ]
    if story["confirmation"]["words"]:
        pairs.append((_("In their words"), f"“{story['confirmation']['words']}”"))
    pairs += [(_("CSAT before"), csat_before(story)), (_("CSAT since the fix"), csat_after(story))]
    return pairs


def steps(story: dict[str, Any]) -> list[str]:
    """Each note with its date and who wrote it."""
    return [
        Cat(day(note["at"]), f" · {note['text']}" + (f" ({note['by']})" if note["by"] else ""))
        for note in story["notes"]
    ]


def trend_rows(trend: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(month, responses, CSAT) per month of the trend."""
    return [(Month(m["month"]), str(m["responses"]), pct(m["csat_pct"])) for m in trend]


def trend_caption(story: dict[str, Any]) -> str:
    """The caption of a story's chart, naming its project."""
    return _("%(project)s's taste check-ins by month", project=story["project"])


def trend_line(trend: list[dict[str, Any]]) -> str:
    months = Cat(*(Cat(m, " ", c, f" ({n})") for m, n, c in trend_rows(trend)), sep=" · ")
    return _("CSAT by month (responses): %(months)s", months=months)


def brief_heading(story: dict[str, Any]) -> str:
    """A story's heading in the track record."""
    return f"#{story['painpoint']} {story['project']}: {quote(story)}"


def brief(story: dict[str, Any]) -> list[tuple[str, str]]:
    """A story in the track record: the facts a reader compares across fixes."""
    return [
        (_("Reported"), attribution(story)),
        (_("What was done"), story["fix"] or _("not recorded")),
        (_("Measure"), measure(story)),
        (_("Days to resolve"), days_to_resolve(story)),
        (_("Confirmation"), confirmation(story)),
        (_("CSAT before"), csat_before(story)),
        (_("CSAT since the fix"), csat_after(story)),
    ]


# ---------------------------------------------------------------- the track record


def record_title(record: dict[str, Any]) -> str:
    return _("The PMO's track record")


def record_period(record: dict[str, Any]) -> str:
    """The window's first and last day (its end is the exclusive 00:00 UTC after the last)."""
    window = record["window"]
    last = dt.date.fromisoformat(window["end"][:10]) - dt.timedelta(days=1)
    return ngettext(
        "Pain points resolved from %(start)s to %(end)s (UTC), the last %(days)s day",
        "Pain points resolved from %(start)s to %(end)s (UTC), the last %(days)s days",
        window["days"],
        start=day(window["start"]),
        end=Day(last),
        days=Num(window["days"]),
    )


def totals(record: dict[str, Any]) -> list[tuple[str, str]]:
    t = record["totals"]
    median_days = t["median_days_to_resolve"]
    return [
        (_("Fixes"), Num(t["fixes"])),
        (_("Measured"), Num(t["measured"])),
        (_("Mean improvement"), value_pct(t["mean_improvement_pct"], signed=True)),
        (_("Confirmed by the sponsor"), Num(t["confirmed"])),
        (
            _("Median time to resolve"),
            NA if median_days is None else _("%(days)s days", days=fixed(median_days)),
        ),
    ]


def headline(record: dict[str, Any]) -> str:
    """The sentence a leader reads first; a figure that is null is left out (each case is a whole
    sentence, its plural chosen by the number of fixes)."""
    t = record["totals"]
    if not t["fixes"]:
        return _("No pain point was resolved in this period.")
    figures = {"fixes": Num(t["fixes"]), "measured": Num(t["measured"]), "confirmed": Num(t["confirmed"])}
    if not t["measured"]:
        return ngettext(
            "%(fixes)s pain point fixed; %(confirmed)s confirmed by the sponsor who reported it.",
            "%(fixes)s pain points fixed; %(confirmed)s confirmed by the sponsor who reported them.",
            t["fixes"],
            **figures,
        )
    if t["mean_improvement_pct"] is None:
        return ngettext(
            "%(fixes)s pain point fixed, %(measured)s measured; "
            "%(confirmed)s confirmed by the sponsor who reported it.",
            "%(fixes)s pain points fixed, %(measured)s measured; "
            "%(confirmed)s confirmed by the sponsor who reported them.",
            t["fixes"],
            **figures,
        )
    return ngettext(
        "%(fixes)s pain point fixed, %(measured)s measured (%(mean)s on average); "
        "%(confirmed)s confirmed by the sponsor who reported it.",
        "%(fixes)s pain points fixed, %(measured)s measured (%(mean)s on average); "
        "%(confirmed)s confirmed by the sponsor who reported them.",
        t["fixes"],
        mean=value_pct(t["mean_improvement_pct"], signed=True),
        **figures,
    )
