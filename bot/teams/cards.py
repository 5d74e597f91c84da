"""Neutral views as Adaptive Cards 1.5, the way Teams shows them.

Pure dictionaries, no SDK: a title and text as TextBlocks, facts as a FactSet, the chart as an
image (a data URI, re-encoded small enough for Teams' 28 KB message limit), buttons as
`Action.Submit` whose `data` holds `"action"` and the button's payload (CONTRACT section 5), and a
form as inputs on the card with its own submit button. Teams sends the data back as the `value`
of a message, with the inputs' values merged in.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Sequence
from typing import Any

from handlers.i18n import _, ngettext, say
from handlers.interactions import action_name
from handlers.views import Choice, Fact, Form, View

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
FILE_CONSENT_TYPE = "application/vnd.microsoft.teams.card.file.consent"
FILE_INFO_TYPE = "application/vnd.microsoft.teams.card.file.info"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
MESSAGE_BUDGET = 24_000  # bytes of card JSON; Teams refuses messages over about 28 KB
OPENS_FORM = frozenset({"painpoint_open"})  # on Teams the form is already on the card
STYLES = {"primary": "positive", "danger": "destructive"}
_BOLD = re.compile(r"(?<![*\w])\*([^*\n]+)\*(?![*\w])")


def bold(text: str) -> str:
    """The core marks names with single asterisks (`*Apollo*`); Adaptive Cards bold with two."""
    return _BOLD.sub(r"**\1**", text)


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": bold(text), "wrap": True, **style}


def submit_data(choice: Choice) -> dict[str, Any]:
    """What a button sends back: the action's name (`taste`, not `taste_4`) and its payload."""
    return {**choice.payload, "action": action_name(choice.action)}


def _button(choice: Choice) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "Action.Submit",
        "title": choice.label,
        "data": submit_data(choice),
        "associatedInputs": "none",  # a taste click must not wait for the comment box
    }
    if choice.style in STYLES:
        button["style"] = STYLES[choice.style]
    return button


def _input(field: Any) -> dict[str, Any]:
    common = {"id": field.name, "label": field.label, "isRequired": field.required}
    if field.required:
        common["errorMessage"] = f"{field.label} is needed."
    if field.kind == "choice":
        return {
            "type": "Input.ChoiceSet",
            **common,
            "style": "compact",
            "choices": [{"title": label, "value": value} for value, label in field.options],
            "value": field.options[-1][0] if field.options else "",
        }
    block = {"type": "Input.Text", **common, "isMultiline": field.kind == "multiline", "maxLength": 3000}
    if field.placeholder:
        block["placeholder"] = field.placeholder
    return block


def _form(form: Form) -> list[dict[str, Any]]:
    return [
        {
            "type": "Container",
            "separator": True,
            "items": [_text(form.title, weight="Bolder"), *(_input(f) for f in form.fields)],
        },
        {
            "type": "ActionSet",
            "actions": [
                {
                    "type": "Action.Submit",
                    "title": form.submit_label,
                    "data": {**form.payload, "action": form.action},
                    "associatedInputs": "auto",
                }
            ],
        },
    ]


def chart_data_uri(png: bytes, colours: int = 32) -> str:
    """The chart as a data URI, palette-reduced (about a quarter of the size, same picture)."""
    try:
        from PIL import Image

        image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colours)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
        small = buffer.getvalue()
        png = small if len(small) < len(png) else png
    except (ImportError, OSError):
        pass  # the original PNG is still a valid picture
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _facts(facts: Sequence[Fact]) -> dict[str, Any]:
    return {"type": "FactSet", "facts": [{"title": f.label, "value": f.value} for f in facts]}


def card(view: View, *, chart: bool = True, max_lines: int | None = None) -> dict[str, Any]:
    """The Adaptive Card for a view."""
    body: list[dict[str, Any]] = []
    if view.title:
        body.append(_text(view.title, size="Medium", weight="Bolder"))
    if view.text:
        body.append(_text(view.text, color="Attention" if not view.ok else "Default"))
    for section in view.sections:
        if section.heading:
            body.append(_text(section.heading, weight="Bolder", spacing="Medium"))
        body += [_text(line, spacing="Small") for line in section.lines]
        if section.facts:
            body.append(_facts(section.facts))
    if view.facts:
        body.append(_facts(view.facts))
    if view.chart and chart:
        body.append(
            {
                "type": "Image",
                "url": chart_data_uri(view.chart),
                "altText": view.chart_alt or "chart",
                "size": "Stretch",
            }
        )
    lines = list(view.lines)
    if max_lines is not None and len(lines) > max_lines:
        left = len(lines) - max_lines
        more = ngettext(
            "… and %(n)s more (too long for one Teams message)",
            "… and %(n)s more (too long for one Teams message)",
            left,
        )
        lines = [*lines[:max_lines], say(more, view.language)]
    body += [_text(line, spacing="Small") for line in lines]
    if view.attachment:
        body.append(_text(f"📎 {view.attachment.filename}", isSubtle=True))
    choices = [c for c in view.choices if not (view.form and c.action in OPENS_FORM)]
    if choices:
        body.append({"type": "ActionSet", "actions": [_button(c) for c in choices]})
    if view.form:
        body += _form(view.form)
    if not body:
        body.append(_text(say(_("Done."), view.language)))
    return {
        "type": "AdaptiveCard",
        "$schema": SCHEMA,
        "version": VERSION,
        "fallbackText": view.as_text()[:1000],
        "body": body,
        "msteams": {"width": "Full"},
    }


def size(content: dict[str, Any]) -> int:
    return len(json.dumps(content, ensure_ascii=False).encode("utf-8"))


def fitted_card(view: View) -> dict[str, Any]:
    """The card, made to fit one Teams message: the chart goes first, then the longest lists."""
    content = card(view)
    if size(content) <= MESSAGE_BUDGET:
        return content
    content = card(view, chart=False)
    lines = len(view.lines)
    while size(content) > MESSAGE_BUDGET and lines > 0:
        lines //= 2
        content = card(view, chart=False, max_lines=lines)
    return content


def file_consent(content: bytes, description: str, context: dict[str, Any]) -> dict[str, Any]:
    """The FileConsentCard's content: Teams asks the person before the bot writes to their OneDrive."""
    return {
        "description": description,
        "sizeInBytes": len(content),
        "acceptContext": context,
        "declineContext": context,
    }


def file_info(unique_id: str, file_type: str) -> dict[str, Any]:
    """The FileInfoCard's content, shown after the upload: the file in the chat."""
    return {"uniqueId": unique_id, "fileType": file_type}
