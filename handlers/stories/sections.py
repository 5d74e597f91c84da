"""The words of a story, once: every rendering (chat, Markdown, HTML) lays out these same pieces.

Each function takes the dictionary of `handlers.stories.compute` and returns plain text; the
renderings only escape and arrange it, so the chat view, the Markdown and the HTML page can
never tell a story differently.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from handlers.value.charts import month_label
from handlers.views import number

NA = "n/a"


def day(iso: str | None) -> str:
    """'2026-03-01T09:00:00Z' → '2026-03-01'."""
    return iso[:10] if iso else NA


def pct(value: float | None) -> str:
    return NA if value is None else f"{value:.1f}%"


def title(story: dict[str, Any]) -> str:
    return f"Story of pain point #{story['painpoint']}: {story['project']}"


def quote(story: dict[str, Any]) -> str:
    return f"“{story['said']['text']}”"


def attribution(story: dict[str, Any]) -> str:
    said = story["said"]
    return f"{said['by']}, {day(said['reported_at'])} · impact {said['impact']}/5"


def measure(story: dict[str, Any]) -> str:
    """`Order cycle time: 12 → 7 (+41.7%)`, or what is missing for it."""
    m = story["measure"]
    if m is None:
        return "no measure attached"
    metric = m["metric"] or "Measure"
    if m["after"] is None:
        return f"{metric}: baseline {number(m['baseline'])}, not measured after the fix yet"
    text = f"{metric}: {number(m['baseline'])} → {number(m['after'])}"
    better = "lower is better" if m["better"] == "lower" else "higher is better"
    if m["improvement_pct"] is not None:
        return f"{text} ({m['improvement_pct']:+.1f}%, {better})"
    return f"{text} ({better})"


def status(story: dict[str, Any]) -> str:
    if story["status"] == "resolved":
        return f"resolved {day(story['resolved_at'])}"
    if story["resolved_at"] is not None:
        return f"reopened (was resolved {day(story['resolved_at'])}): not fixed yet"
    return "in progress" if story["status"] == "in_progress" else "open"


def days_to_resolve(story: dict[str, Any]) -> str:
    days = story["days_to_resolve"]
    return "not resolved yet" if days is None else f"{days:.1f} days"


def confirmation(story: dict[str, Any]) -> str:
    c = story["confirmation"]
    if c["confirmed"] is None:
        return "not answered yet" if story["resolved_at"] else "not asked yet (not resolved)"
    answer = "✅ Fixed" if c["confirmed"] else "❌ Not yet"
    return f"{answer} ({day(c['at'])})" if c["at"] else answer


def csat_before(story: dict[str, Any]) -> str:
    n = story["responses_before"]
    return f"{pct(story['csat_before'])} ({n} answer{'s' if n != 1 else ''} in the 90 days before the report)"


def csat_after(story: dict[str, Any]) -> str:
    if story["status"] != "resolved":
        return f"{NA} (not resolved)"
    n = story["responses_after"]
    text = f"{pct(story['csat_after'])} ({n} answer{'s' if n != 1 else ''} since the fix, up to 90 days)"
    if story["csat_before"] is not None and story["csat_after"] is not None:
        change = story["csat_after"] - story["csat_before"]
        text += f", {change:+.1f} pts"
    return text


def facts(story: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs, in the order a reader follows the story (after the sponsor's words,
    which every rendering shows first as a quote with `attribution`)."""
    project = story["project"] + (f" (segment {story['segment']})" if story["segment"] else "")
    owner = story["owner"] or "nobody yet"
    if story["owner"] and story["due"]:
        owner += f", due {story['due']}"
    pairs = [
        ("Project", project),
        ("Owner", owner),
        ("What was done", story["fix"] or "not recorded"),
        ("Measure", measure(story)),
        ("Status", status(story)),
        ("Days to resolve", days_to_resolve(story)),
        ("Sponsor's confirmation", confirmation(story)),
    ]
    if story["confirmation"]["words"]:
        pairs.append(("In their words", f"“{story['confirmation']['words']}”"))
    pairs += [("CSAT before", csat_before(story)), ("CSAT since the fix", csat_after(story))]
    return pairs


def steps(story: dict[str, Any]) -> list[str]:
    """Each note with its date and who wrote it."""
    return [
        f"{day(note['at'])} · {note['text']}" + (f" ({note['by']})" if note["by"] else "")
        for note in story["notes"]
    ]


def trend_rows(trend: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(month, responses, CSAT) per month of the trend."""
    return [(month_label(m["month"]), str(m["responses"]), pct(m["csat_pct"])) for m in trend]


def trend_line(trend: list[dict[str, Any]]) -> str:
    return "CSAT by month (responses): " + " · ".join(f"{m} {c} ({n})" for m, n, c in trend_rows(trend))


def brief_heading(story: dict[str, Any]) -> str:
    """A story's heading in the track record."""
    return f"#{story['painpoint']} {story['project']}: {quote(story)}"


def brief(story: dict[str, Any]) -> list[tuple[str, str]]:
    """A story in the track record: the facts a reader compares across fixes."""
    return [
        ("Reported", attribution(story)),
        ("What was done", story["fix"] or "not recorded"),
        ("Measure", measure(story)),
        ("Days to resolve", days_to_resolve(story)),
        ("Confirmation", confirmation(story)),
        ("CSAT before", csat_before(story)),
        ("CSAT since the fix", csat_after(story)),
    ]


# ---------------------------------------------------------------- the track record


def record_title(record: dict[str, Any]) -> str:
    return "The PMO's track record"


def record_period(record: dict[str, Any]) -> str:
    start = day(record["window"]["start"])
    last = dt.date.fromisoformat(day(record["window"]["end"])) - dt.timedelta(days=1)
    return f"Pain points resolved from {start} to {last.isoformat()} (UTC), the last {record['window']['days']} days"


def totals(record: dict[str, Any]) -> list[tuple[str, str]]:
    t = record["totals"]
    mean = NA if t["mean_improvement_pct"] is None else f"{t['mean_improvement_pct']:+.1f}%"
    median_days = NA if t["median_days_to_resolve"] is None else f"{t['median_days_to_resolve']:.1f} days"
    return [
        ("Fixes", str(t["fixes"])),
        ("Measured", str(t["measured"])),
        ("Mean improvement", mean),
        ("Confirmed by the sponsor", str(t["confirmed"])),
        ("Median time to resolve", median_days),
    ]


def headline(record: dict[str, Any]) -> str:
    """The sentence a leader reads first; a figure that is null is left out."""
    t = record["totals"]
    if not t["fixes"]:
        return "No pain point was resolved in this period."
    text = f"{t['fixes']} pain point{'s' if t['fixes'] != 1 else ''} fixed"
    if t["measured"]:
        text += f", {t['measured']} measured"
        if t["mean_improvement_pct"] is not None:
            text += f" ({t['mean_improvement_pct']:+.1f}% on average)"
    text += f"; {t['confirmed']} confirmed by the sponsor who reported {'it' if t['fixes'] == 1 else 'them'}."
    return text
