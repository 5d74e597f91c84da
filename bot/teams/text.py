"""From a Teams message to the words of a `/pmo` command.

Teams writes @mentions into the text as `<at>Name</at>` and lists them as `mention` entities.
The bot's own mention is removed; everyone else's becomes `<@AADID>`, the form the shared parser
reads as a person. Formatting Teams may add (`<p>`, `&nbsp;`, mailto links) is taken away.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_FORMATTING = re.compile(r"</?(?:p|br|div|span|b|i|u|strong|em|a)\b[^>]*>", re.IGNORECASE)


@dataclass(frozen=True)
class Mention:
    user_id: str
    name: str
    text: str  # as written in the message, e.g. "<at>Sam Sponsor</at>"


def _entity_data(entity: Any) -> dict[str, Any]:
    data = entity.serialize() if hasattr(entity, "serialize") else dict(entity)
    data.update(getattr(entity, "additional_properties", None) or {})
    return data


def mentions(entities: list[Any] | None) -> list[Mention]:
    found = []
    for entity in entities or ():
        data = _entity_data(entity)
        mentioned = data.get("mentioned") or {}
        if data.get("type") == "mention" and isinstance(mentioned, dict) and mentioned.get("id"):
            found.append(
                Mention(str(mentioned["id"]), str(mentioned.get("name") or ""), str(data.get("text") or ""))
            )
    return found


def command_text(
    text: str | None, bot_id: str | None, found: list[Mention], people: Mapping[str, str]
) -> str:
    """The message's words with the bot's mention removed and others as `<@id>`.

    `people` maps a mentioned Teams user id (29:…) to the id the bot knows them by (AAD object id).
    """
    text = text or ""
    placeholders: dict[str, str] = {}
    for number, mention in enumerate(found):
        if not mention.text or mention.text not in text:
            continue
        if mention.user_id == bot_id:
            text = text.replace(mention.text, " ")
            continue
        key = f"\x00{number}\x00"
        placeholders[key] = f"<@{people.get(mention.user_id, mention.user_id)}>"
        text = text.replace(mention.text, key)
    text = html.unescape(_FORMATTING.sub(" ", text)).replace("\u00a0", " ")
    for key, value in placeholders.items():
        text = text.replace(key, value)
    return " ".join(text.split())
