"""The CSV files of CONTRACT.md section 6: their columns, and how one cell is read and written.

Shared by import and export so that what export writes is exactly what import reads back:
times as `YYYY-MM-DDTHH:MM:SSZ` (naive UTC inside), dates as `YYYY-MM-DD`, numbers without a
useless `.0`, and an empty cell for a missing value.

Every text cell (names, people, comments, pain-point text, metric, unit...) is written by
`write_text` and read by `text`, `free_text` or `person`, which undo its one change: a cell a
spreadsheet would run as a formula (beginning with `=`, `+`, `-`, `@`, tab or carriage return)
is written with a leading `'`, and so is one that already begins with `'`s followed by one of
those, so that reading back removes exactly one `'` and the round trip is exact. Text cells also
refuse control characters (`handlers.text`): NUL, ESC, bidirectional overrides and the like.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from handlers.i18n import _
from handlers.text import codepoint, name_control, text_control, visible
from storage.models import CADENCES, DAYS, LATEST_DUE, PAINPOINT_STATUSES

STATUSES = PAINPOINT_STATUSES
BETTER = ("lower", "higher")
ONE_TO_FIVE = {str(n): n for n in range(1, 6)}

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


class CellError(ValueError):
    """One cell that cannot be read; `reason` is the sentence shown to the user (a lazy text, so
    that `app.py import` says it in PMO_LANGUAGE)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def shown(value: str, limit: int = 40) -> str:
    """A cell quoted for an error message, shortened so one bad cell cannot flood the output;
    control characters are shown as escapes (\\x1b), never sent raw to a terminal."""
    value = value.strip()
    value = value if len(value) <= limit else f"{value[: limit - 1]}…"
    return f"'{visible(value)}'"


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what makes a spreadsheet run a cell (or hide its start)
_ESCAPED_START = frozenset("=+-@\t\r'")


def unquote(value: str) -> str:
    """Undo `write_text`: one leading `'` removed when it is followed by `'`s and then a formula start."""
    if value[:1] == "'" and value.lstrip("'").startswith(FORMULA_START):
        return value[1:]
    return value


def present(value: str, column: str, required: bool, *, scale: bool = False) -> str | None:
    """The cell without its surrounding spaces, or None when that leaves nothing (an error if
    required, which names the 1–5 scale when `scale`)."""
    value = value.strip()
    if value:
        return value
    if required:
        if scale:
            raise CellError(_("%(column)s is required (1–5)", column=column))
        raise CellError(_("%(column)s is required", column=column))
    return None


def _no_control(char: str | None, column: str) -> None:
    """Refuse a cell holding `char`, a character names or free text may not hold."""
    if char is not None:
        raise CellError(
            _("%(column)s contains a control character (%(char)s)", column=column, char=codepoint(char))
        )


def text(value: str, column: str, limit: int, *, required: bool = False) -> str | None:
    """A name-like cell: surrounding spaces dropped, empty means missing, no control characters."""
    value = present(value, column, required)
    if value is None:
        return None
    if value[0] == "'":
        value = unquote(value)
    if len(value) > limit:
        raise CellError(_("%(column)s is longer than %(limit)s characters", column=column, limit=limit))
    _no_control(name_control(value), column)
    return value


def free_text(value: str, column: str, *, required: bool = False) -> str | None:
    """A comment or description: kept exactly as written (it is part of what a row is), blank is missing.

    Line breaks and tabs are text; other control characters (NUL, ESC, BEL, bidirectional
    overrides) are refused."""
    if value[:1] == "'":
        value = unquote(value)
    if present(value, column, required) is None:
        return None
    _no_control(text_control(value), column)
    return value


def timestamp(value: str, column: str, *, required: bool = False) -> dt.datetime | None:
    """ISO-8601 date and time; no offset means UTC, an offset is converted; stored naive UTC to the second."""
    value = present(value, column, required)
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise CellError(
            _(
                "%(column)s %(value)s is not an ISO-8601 date and time (e.g. 2026-01-31T09:30:00Z)",
                column=column,
                value=shown(value),
            )
        ) from None
    try:
        return as_utc(moment)
    except OverflowError:
        raise CellError(
            _("%(column)s %(value)s is out of range", column=column, value=shown(value))
        ) from None


def as_utc(moment: dt.datetime) -> dt.datetime:
    """Naive UTC to the second: how every time is stored."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0) if moment.microsecond else moment


def day_date(value: str, column: str) -> dt.date | None:
    value = value.strip()
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise CellError(
            _("%(column)s %(value)s is not a date (YYYY-MM-DD)", column=column, value=shown(value))
        ) from None
    if day > LATEST_DUE:
        raise CellError(
            _(
                "%(column)s %(value)s is too far away (the latest is %(latest)s)",
                column=column,
                value=shown(value),
                latest=LATEST_DUE.isoformat(),
            )
        )
    return day


def number(value: str, column: str, *, required: bool = False) -> float | None:
    value = present(value, column, required)
    if value is None:
        return None
    try:
        result = float(value)
    except ValueError:
        raise CellError(
            _("%(column)s %(value)s is not a number", column=column, value=shown(value))
        ) from None
    if not math.isfinite(result):
        raise CellError(_("%(column)s %(value)s is not a number", column=column, value=shown(value)))
    return result


def one_to_five(value: str, column: str, *, required: bool = False) -> int | None:
    value = present(value, column, required, scale=True)
    if value is None:
        return None
    result = ONE_TO_FIVE.get(value)
    if result is None:
        raise CellError(_("%(column)s %(value)s is not 1–5", column=column, value=shown(value)))
    return result


def choice(value: str, column: str, choices: tuple[str, ...]) -> str | None:
    """One word of a fixed list, in any letter case; empty means missing."""
    value = value.strip()
    if not value:
        return None
    word = value.lower()
    if word not in choices:
        raise CellError(
            _(
                "%(column)s %(value)s is not one of %(choices)s",
                column=column,
                value=shown(value),
                choices=", ".join(choices),
            )
        )
    return word


def cadence(value: str) -> str | None:
    return choice(value, "cadence", CADENCES)


def weekday(value: str) -> str | None:
    return choice(value, "day", DAYS)


def time_of_day(value: str) -> str | None:
    """HH:MM on a 24-hour clock, stored zero-padded ("9:05" becomes "09:05")."""
    value = value.strip()
    if not value:
        return None
    match = _TIME.fullmatch(value)
    if match is None:
        raise CellError(_("time %(value)s is not HH:MM (00:00–23:59)", value=shown(value)))
    return f"{int(match[1]):02d}:{match[2]}"


def person(value: str, column: str) -> str:
    """An e-mail address (lower-cased, it is matched without case) or a platform user id (kept as is)."""
    value = value.strip()
    if not value:
        raise CellError(_("%(column)s is required (an e-mail address or a platform user id)", column=column))
    if value[0] == "'":
        value = unquote(value)
    _no_control(name_control(value), column)
    if "@" in value:
        if len(value) > 320 or _EMAIL.fullmatch(value) is None:
            raise CellError(
                _("%(column)s %(value)s is not an e-mail address", column=column, value=shown(value))
            )
        return value.lower()
    if len(value) > 200 or not value.isprintable():
        raise CellError(
            _(
                "%(column)s %(value)s is not an e-mail address or a platform user id",
                column=column,
                value=shown(value),
            )
        )
    return value


def is_email(token: str) -> bool:
    return "@" in token


def write_timestamp(value: dt.datetime | None) -> str:
    return "" if value is None else value.replace(microsecond=0).isoformat() + "Z"


def write_date(value: dt.date | None) -> str:
    return "" if value is None else value.isoformat()


def write_number(value: float | None) -> str:
    """12.0 → "12", 12.5 → "12.5"; the shortest text that reads back as the same float."""
    if value is None:
        return ""
    if float(value).is_integer() and abs(value) < 1e16:  # repr() turns to 1e+16 from there
        return str(int(value))
    return repr(float(value))


def write_text(value: str | None) -> str:
    """A text cell: `'` before what a spreadsheet would run as a formula (see the module docstring)."""
    if value is None:
        return ""
    if value[:1] in _ESCAPED_START and (value[0] != "'" or value.lstrip("'").startswith(FORMULA_START)):
        return "'" + value
    return value
