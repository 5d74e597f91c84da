"""Control characters in what people type: refused in names and commands, stripped from chat comments.

A name (project, segment, metric, unit, person) is one line of visible text: it may hold no
control character at all (C0 and C1 controls, DEL, line and paragraph separators) and no
bidirectional override or isolate (U+202A–U+202E, U+2066–U+2069), which can make a name read
differently from what it is, and which terminals and logs would otherwise receive raw.

Free text (a comment, a pain point, what was done) may also span lines, so tab, line feed and
carriage return are allowed in it; every other character of the list above is not.

`str.isprintable()` is false for every one of these characters, so the common case (printable
text) costs one C call and the regular expression runs only on text that has something unusual.
"""

from __future__ import annotations

import re

from handlers.i18n import _

_BIDI = "\u202a-\u202e\u2066-\u2069"  # LRE RLE PDF LRO RLO, LRI RLI FSI PDI
_IN_NAME = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}]")
_IN_TEXT = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}]")


def codepoint(char: str) -> str:
    """How a character is named in a message: U+001B."""
    return f"U+{ord(char):04X}"


def name_control(value: str) -> str | None:
    """The first character a name may not hold, or None."""
    if value.isprintable():
        return None
    found = _IN_NAME.search(value)
    return found[0] if found else None


def text_control(value: str) -> str | None:
    """The first character free text may not hold (tab and line breaks are fine), or None."""
    if value.isprintable():
        return None
    found = _IN_TEXT.search(value)
    return found[0] if found else None


def name_problem(value: str) -> str | None:
    """'contains a control character (U+001B)' when a name holds one, else None."""
    char = name_control(value)
    return None if char is None else _("contains a control character (%(char)s)", char=codepoint(char))


def text_problem(value: str) -> str | None:
    """'contains a control character (U+0000)' when free text holds one, else None."""
    char = text_control(value)
    return None if char is None else _("contains a control character (%(char)s)", char=codepoint(char))


def strip_controls(value: str) -> str:
    """Free text with the characters it may not hold removed: for what a sponsor says in chat,
    whose words are kept rather than refused."""
    if value.isprintable():
        return value
    return _IN_TEXT.sub("", value)


def said(value: object) -> str:
    """What a sponsor wrote in a form (a comment, what is still wrong): kept as one line, without
    the characters free text may not hold (NUL for PostgreSQL, ESC, bidi overrides)."""
    return " ".join(strip_controls(str(value or "")).split())


def visible(value: str) -> str:
    """Text safe to echo in a message: each character a name may not hold written as an escape (\\x1b)."""
    if value.isprintable():
        return value
    return _IN_NAME.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), value)
