"""Neutral views rendered as Block Kit with slack_sdk.models.blocks: messages, modals, the home tab.

Buttons carry the choice's action as `action_id` and its payload as JSON `value` (a taste
button is `taste_4` with `{"checkin": 12, "rating": 4}`, as CONTRACT section 5 says). A view's
form becomes a modal; on a message it is opened by a button `open_form_<action>` unless one of
the view's own choices (`<action>_open`) opens it already. Slack's size limits are applied here,
so no view can make Slack refuse a message. Text people wrote is escaped (&, <, >), so a comment
cannot ping @channel or forge a link.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    ImageBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View as SlackView

from bot.slack import validation
from handlers.i18n import SOURCE, _, say
from handlers.views import Choice, Fact, Form, View

validation.install()  # slack_sdk's checks, without its per-object dir() scan (bot/slack/validation.py)

TASTE_ACTION = re.compile(r"^taste_[1-5]$")
OPEN_FORM = "open_form_"
SHARE = "share"
SECTION_CHARS = 3000
FIELD_CHARS = 2000
FIELDS_PER_SECTION = 10
BUTTON_CHARS = 75
VALUE_CHARS = 2000
BUTTONS_PER_ACTIONS = 25
MESSAGE_BLOCKS = 50
SURFACE_BLOCKS = 100
MODAL_TITLE_CHARS = 24
FALLBACK_CHARS = 3000

CANCEL = _("Cancel")  # a modal's close button, in the language of the view it opens from
CHOOSE = _("Choose")  # a choice field without a placeholder of its own


class BadValue(ValueError):
    """A button value or modal metadata that is not what this app put there."""


def escape(text: str) -> str:
    """Slack mrkdwn control characters, as Slack asks them to be escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """What the user typed, from Slack's escaped text (slash commands, messages).

    Slack escapes `&`, `<` and `>` in what users type and leaves its own markup (`<@U123|sam>`,
    `<mailto:…|…>`) as it is, so unescaping keeps mentions readable by the parser while
    `R&amp;D` is stored as `R&D`.
    """
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cut_words(text: str, limit: int) -> str:
    """Cut at a word boundary (modal titles are short)."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:?")
    return head + "…"


def _chunks(lines: Iterable[str], limit: int = SECTION_CHARS) -> list[str]:
    """Lines joined into pieces that each fit a section."""
    pieces: list[str] = []
    current = ""
    for line in lines:
        line = _cut(line, limit)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            candidate = line
        current = candidate
    if current:
        pieces.append(current)
    return pieces


def encode_value(payload: dict[str, Any]) -> str:
    value = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    if len(value) > VALUE_CHARS:
        raise ValueError(f"a button payload is {len(value)} characters; Slack allows {VALUE_CHARS}")
    return value


def decode_value(value: Any) -> dict[str, Any]:
    """A button's JSON object, or BadValue: values are input like any other."""
    if not isinstance(value, str) or not value or len(value) > VALUE_CHARS:
        raise BadValue("That button carries no data I can read; nothing was changed.")
    try:
        payload = json.loads(value)
    except ValueError:
        raise BadValue("That button carries no data I can read; nothing was changed.") from None
    if not isinstance(payload, dict):
        raise BadValue("That button carries no data I can read; nothing was changed.")
    return payload


def fallback_text(view: View) -> str:
    """The notification and screen-reader text of a message."""
    return _cut(escape(view.as_text()) or " ", FALLBACK_CHARS)


def _title_text(title: str) -> str:
    return escape(title) if "*" in title else f"*{escape(title)}*"


def button(choice: Choice, action_id: str | None = None) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=_cut(choice.label, BUTTON_CHARS), emoji=True),
        action_id=action_id or choice.action,
        value=encode_value(choice.payload),
        style=choice.style if choice.style in ("primary", "danger") else None,
    )


def _buttons(choices: Sequence[Choice]) -> list[Block]:
    seen: dict[str, int] = {}
    elements: list[ButtonElement] = []
    for choice in choices:
        count = seen.get(choice.action, 0)
        seen[choice.action] = count + 1
        elements.append(button(choice, choice.action if count == 0 else f"{choice.action}#{count}"))
    return [
        ActionsBlock(elements=elements[i : i + BUTTONS_PER_ACTIONS])
        for i in range(0, len(elements), BUTTONS_PER_ACTIONS)
    ]


def form_opener(form: Form, choices: Sequence[Choice]) -> Choice | None:
    """The button that opens a view's form, unless a choice of the view opens it already."""
    if any(c.action == f"{form.action}_open" for c in choices):
        return None
    return Choice(action=f"{OPEN_FORM}{form.action}", label=form.title, payload=form.payload)


def view_blocks(
    view: View,
    *,
    chart_file_id: str | None = None,
    extra: Sequence[Choice] = (),
    with_form_button: bool = True,
) -> list[Block]:
    """One view as blocks, in reading order: title, text, sections, facts, lines, chart, buttons."""
    blocks: list[Block] = []
    if view.title:
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text=_cut(_title_text(view.title), SECTION_CHARS)))
        )
    if view.text:
        text = escape(view.text) if view.ok else f"⚠️ {escape(view.text)}"
        blocks += [SectionBlock(text=MarkdownTextObject(text=piece)) for piece in _chunks(text.split("\n"))]
    for section in view.sections:
        head = [_title_text(section.heading)] if section.heading else []
        lines = [*head, *(escape(line) for line in section.lines)]
        blocks += [SectionBlock(text=MarkdownTextObject(text=piece)) for piece in _chunks(lines)]
        blocks += _fact_blocks(section.facts)
    blocks += _fact_blocks(view.facts)
    if view.lines:
        blocks += [
            SectionBlock(text=MarkdownTextObject(text=piece))
            for piece in _chunks(escape(line) for line in view.lines)
        ]
    if view.chart is not None:
        if chart_file_id:
            blocks.append(
                ImageBlock(
                    slack_file={"id": chart_file_id}, alt_text=_cut(view.chart_alt or "chart", FIELD_CHARS)
                )
            )
        elif view.chart_alt:
            blocks.append(
                ContextBlock(elements=[MarkdownTextObject(text=_cut(escape(view.chart_alt), FIELD_CHARS))])
            )
    choices = list(view.choices)
    if with_form_button and view.form is not None:
        opener = form_opener(view.form, choices)
        if opener is not None:
            choices.append(opener)
    choices += list(extra)
    if choices:
        blocks += _buttons(choices)
    if not blocks:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=" ")))
    return blocks


def _fact_blocks(facts: Sequence[Fact]) -> list[Block]:
    """Facts as two-column fields, ten to a section (Slack's limit)."""
    fields = [
        MarkdownTextObject(text=_cut(f"*{escape(f.label)}*\n{escape(f.value)}", FIELD_CHARS)) for f in facts
    ]
    return [
        SectionBlock(fields=fields[i : i + FIELDS_PER_SECTION])
        for i in range(0, len(fields), FIELDS_PER_SECTION)
    ]


def _fit(blocks: list[Block], limit: int) -> list[Block]:
    """Keep within a surface's block limit, keeping the buttons (last) when cutting lines."""
    if len(blocks) <= limit:
        return blocks
    actions = [b for b in blocks if isinstance(b, ActionsBlock)]
    rest = [b for b in blocks if not isinstance(b, ActionsBlock)][: limit - len(actions) - 1]
    note = ContextBlock(elements=[MarkdownTextObject(text="… (shortened; ask for less to see everything)")])
    return [*rest, note, *actions]


def message(
    view: View, *, chart_file_id: str | None = None, extra: Sequence[Choice] = ()
) -> list[dict[str, Any]]:
    """Blocks for chat.postMessage / chat.update / respond()."""
    return [
        b.to_dict() for b in _fit(view_blocks(view, chart_file_id=chart_file_id, extra=extra), MESSAGE_BLOCKS)
    ]


def home(sections: Sequence[View]) -> dict[str, Any]:
    """The App Home tab: each section a view, dividers between."""
    blocks: list[Block] = []
    for index, section in enumerate(sections):
        if index:
            blocks.append(DividerBlock())
        blocks += view_blocks(section, with_form_button=False)
    return SlackView(type="home", blocks=_fit(blocks, SURFACE_BLOCKS)).to_dict()


def modal(form: Form, *, metadata: dict[str, Any], intro: str = "", language: str = SOURCE) -> dict[str, Any]:
    """A form as a modal; `metadata` (JSON) comes back with the submission as private_metadata."""
    blocks: list[Block] = []
    repeated = bool(form.fields) and form.fields[0].label == form.title
    if intro or (len(form.title) > MODAL_TITLE_CHARS and not repeated):
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text=_cut(_title_text(intro or form.title), SECTION_CHARS)))
        )
    for field in form.fields:
        element: Any
        if field.kind == "choice":
            element = StaticSelectElement(
                action_id=field.name,
                placeholder=PlainTextObject(text=_cut(field.placeholder or say(CHOOSE, language), 150)),
                options=[Option(value=value, text=_cut(label, 75)) for value, label in field.options],
            )
        else:
            element = PlainTextInputElement(
                action_id=field.name,
                multiline=field.kind == "multiline",
                max_length=3000,
                placeholder=PlainTextObject(text=_cut(field.placeholder, 150)) if field.placeholder else None,
            )
        blocks.append(
            InputBlock(
                block_id=field.name,
                label=_cut(field.label, FIELD_CHARS),
                element=element,
                optional=not field.required,
            )
        )
    private = json.dumps(metadata, separators=(",", ":"))
    if len(private) > 3000:
        raise ValueError("modal metadata is longer than Slack's 3,000 characters")
    return SlackView(
        type="modal",
        callback_id=form.action,
        title=PlainTextObject(text=_cut_words(form.title, MODAL_TITLE_CHARS)),
        submit=PlainTextObject(text=_cut(form.submit_label, MODAL_TITLE_CHARS)),
        close=PlainTextObject(text=say(CANCEL, language)),
        blocks=blocks,
        private_metadata=private,
    ).to_dict()


def submitted_values(state: Any) -> dict[str, str | None]:
    """A modal submission's `state.values` as {field name: value}; BadValue if it is not Slack's shape."""
    if not isinstance(state, dict) or not isinstance(state.get("values"), dict):
        raise BadValue("That form sent something I cannot read; nothing was changed.")
    values: dict[str, str | None] = {}
    for block in state["values"].values():
        if not isinstance(block, dict):
            raise BadValue("That form sent something I cannot read; nothing was changed.")
        for name, element in block.items():
            if not isinstance(element, dict):
                raise BadValue("That form sent something I cannot read; nothing was changed.")
            if element.get("type") == "static_select":
                selected = element.get("selected_option")
                values[name] = selected.get("value") if isinstance(selected, dict) else None
            else:
                value = element.get("value")
                values[name] = value if isinstance(value, str) or value is None else None
    return values


def decode_metadata(text: Any) -> dict[str, Any]:
    if not isinstance(text, str) or len(text) > 3000:
        raise BadValue("That form is not one I opened; nothing was changed.")
    try:
        data = json.loads(text)
    except ValueError:
        raise BadValue("That form is not one I opened; nothing was changed.") from None
    if not isinstance(data, dict) or not isinstance(data.get("payload"), dict):
        raise BadValue("That form is not one I opened; nothing was changed.")
    return data
