"""Neutral views: what to show, never how. Slack, Teams and the console each render them.

A view survives a round trip through `to_dict`/`view_from_dict` so that a channel can keep
the message it sent (the console stores it; Slack and Teams store a reference).
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any

from handlers.charts import Chart
from handlers.i18n import SOURCE, Cat, Num, _, say


@dataclass(frozen=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True)
class Section:
    """A headed group of a view: a few lines and facts under one heading (the value report's
    wins, what needs attention, and its figures grouped). Shown after the text, before the facts."""

    heading: str
    lines: tuple[str, ...] = ()
    facts: tuple[Fact, ...] = ()


@dataclass(frozen=True)
class Choice:
    """A button. `action` names what it does; `payload` is the data it carries back."""

    action: str
    label: str
    payload: dict[str, Any] = field(default_factory=dict)
    style: str | None = None  # "primary" | "danger" | None
    selected: bool = False  # the current one of a set of alternatives (a check-in's answer)


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: str = "text"  # "text" | "multiline" | "choice"
    options: tuple[tuple[str, str], ...] = ()  # (value, label) for "choice"
    required: bool = True
    placeholder: str = ""


@dataclass(frozen=True)
class Form:
    """An input to collect: a Slack modal, a Teams card input, a console form."""

    action: str
    title: str
    submit_label: str
    fields: tuple[FormField, ...]
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Attachment:
    """A file to hand to the person who asked (CSV exports)."""

    filename: str
    content: bytes
    mime: str = "text/csv"


@dataclass(frozen=True)
class View:
    """Everything a reply or a message shows, in platform-neutral terms."""

    title: str = ""
    text: str = ""
    facts: tuple[Fact, ...] = ()
    choices: tuple[Choice, ...] = ()
    lines: tuple[str, ...] = ()
    chart: bytes | None = None  # a handlers.charts.Chart (re-drawn by `localize`) or any PNG
    chart_alt: str = ""
    form: Form | None = None
    attachment: Attachment | None = None
    ok: bool = True
    public: bool = False
    sections: tuple[Section, ...] = ()
    language: str = SOURCE  # what `localize` said it in: the channels say their own words in it too

    def as_text(self) -> str:
        """The plain-text fallback every channel can show (and the CLI prints)."""
        parts: list[str] = []
        if self.title:
            parts.append(self.title)
        if self.text:
            parts.append(self.text)
        parts += [section_text(section) for section in self.sections]
        if self.facts:
            parts.append(facts_text(self.facts))
        if self.lines:
            parts.append("\n".join(self.lines))
        if self.choices:
            parts.append("  ".join(f"[{c.label}]" for c in self.choices))
        if self.attachment:
            parts.append(f"(file: {self.attachment.filename})")
        return "\n\n".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """What `dataclasses.asdict` gives, bytes as base64, without its deep copies: every durable
        job stores two of these (handlers/inbox.py), and asdict took 0.4 ms for a check-in's view.
        A chart keeps what it was drawn from (`chart_source`), so it can still be drawn again."""
        data = _plain(self)
        data["chart"] = base64.b64encode(self.chart).decode() if self.chart else None
        data["chart_source"] = self.chart.source() if isinstance(self.chart, Chart) else None
        if self.attachment:
            data["attachment"]["content"] = base64.b64encode(self.attachment.content).decode()
        return data


def facts_text(facts: tuple[Fact, ...]) -> str:
    width = max(len(f.label) for f in facts)
    return "\n".join(f"{f.label.ljust(width)}  {f.value}" for f in facts)


def section_text(section: Section) -> str:
    """A section as plain text: its heading, its lines, its facts aligned."""
    parts = [section.heading, *section.lines]
    if section.facts:
        parts.append(facts_text(section.facts))
    return "\n".join(part for part in parts if part)


_FIELDS: dict[type, tuple[str, ...]] = {}


def _plain(value: Any) -> Any:
    """Dataclasses as dicts, tuples and lists item by item; the values inside are never shared."""
    kind = type(value)
    names = _FIELDS.get(kind)
    if names is None and is_dataclass(value):
        names = _FIELDS[kind] = tuple(f.name for f in fields(value))
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    if kind is tuple or kind is list:
        return kind(_plain(item) for item in value)
    if kind is dict:
        return {key: _plain(item) for key, item in value.items()}
    return value


def view_from_dict(data: dict[str, Any]) -> View:
    form = data.get("form")
    attachment = data.get("attachment")
    return View(
        title=data.get("title", ""),
        text=data.get("text", ""),
        facts=tuple(Fact(**f) for f in data.get("facts", ())),
        choices=tuple(Choice(**c) for c in data.get("choices", ())),
        lines=tuple(data.get("lines", ())),
        chart=Chart.restore(base64.b64decode(data["chart"]), data.get("chart_source"))
        if data.get("chart")
        else None,
        chart_alt=data.get("chart_alt", ""),
        form=Form(
            action=form["action"],
            title=form["title"],
            submit_label=form["submit_label"],
            fields=tuple(
                FormField(**{**f, "options": tuple(tuple(o) for o in f.get("options", ()))})
                for f in form["fields"]
            ),
            payload=form.get("payload", {}),
        )
        if form
        else None,
        attachment=Attachment(
            filename=attachment["filename"],
            content=base64.b64decode(attachment["content"]),
            mime=attachment.get("mime", "text/csv"),
        )
        if attachment
        else None,
        ok=data.get("ok", True),
        public=data.get("public", False),
        sections=tuple(
            Section(
                heading=section.get("heading", ""),
                lines=tuple(section.get("lines", ())),
                facts=tuple(Fact(**f) for f in section.get("facts", ())),
            )
            for section in data.get("sections", ())
        ),
        language=data.get("language", SOURCE),
    )


def error(message: str, usage: str | None = None) -> View:
    """A refusal or a bad-input answer: what was wrong, and how to say it right (the usage line's
    command words stay English in every language)."""
    return View(text=message, lines=(Cat(_("Usage:"), " ", usage),) if usage else (), ok=False)


def info(message: str, *lines: str) -> View:
    return View(text=message, lines=tuple(lines))


def number(value: float | None) -> str:
    """A measurement as people read it: 1,250 or 12.5 (1.250 or 12,5 in German), — for none."""
    return Num(value)


def localize(view: View, language: str) -> View:
    """`view` with every lazy text (handlers.i18n) said in `language`, and its chart drawn in it
    (handlers.charts); English: the view as it is.

    Called where the recipient is known: handlers.outbox.perform (the caller's reply, each queued
    message) and the clock (the check-ins it sends). Drawing a chart is synchronous matplotlib
    (about a tenth of a second of CPU, unless kept): on an event loop, use `localize_async`."""
    if language == SOURCE:
        return view

    def s(text: str) -> str:
        return say(text, language)

    form = view.form
    if form is not None:
        fields_ = tuple(
            replace(
                f,
                label=s(f.label),
                placeholder=s(f.placeholder),
                options=tuple((v, s(t)) for v, t in f.options),
            )
            for f in form.fields
        )
        form = replace(form, title=s(form.title), submit_label=s(form.submit_label), fields=fields_)
    return replace(
        view,
        title=s(view.title),
        text=s(view.text),
        facts=tuple(Fact(s(f.label), s(f.value)) for f in view.facts),
        choices=tuple(replace(c, label=s(c.label)) for c in view.choices),
        lines=tuple(s(line) for line in view.lines),
        sections=tuple(
            Section(
                s(x.heading),
                tuple(s(line) for line in x.lines),
                tuple(Fact(s(f.label), s(f.value)) for f in x.facts),
            )
            for x in view.sections
        ),
        chart_alt=s(view.chart_alt),
        chart=view.chart.render(language) if isinstance(view.chart, Chart) else view.chart,
        form=form,
        language=language,
    )


async def localize_async(view: View, language: str) -> View:
    """`localize` for an event loop: in a worker thread when the chart has to be drawn in
    `language` (matplotlib would hold the loop, and every request waiting on it, for its tenth of
    a second), right here otherwise. Where it already runs in a thread of its own (the slow lane,
    bot/lane.py) it costs a thread hop; a kept chart is not drawn again."""
    chart = view.chart
    if language != SOURCE and isinstance(chart, Chart) and chart.needs_drawing(language):
        return await asyncio.to_thread(localize, view, language)
    return localize(view, language)
