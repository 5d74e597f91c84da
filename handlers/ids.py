"""Row ids from outside: typed in a command, or carried in a button's payload.

Ids are INTEGER columns (32-bit in PostgreSQL), so a bigger number cannot be one, and asking the
database for it would fail instead of finding nothing. Written ids take ASCII digits only:
`int()` and `str.isdigit()` also accept other scripts' digits ("٣").
"""

from __future__ import annotations

MAX_ID = 2**31 - 1


def positive_int(text: str) -> int:
    """A whole number above 0 as written (ASCII digits); ValueError says what is wrong."""
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise ValueError(f"'{text}' is not a whole number above 0")
    return int(text)


def parse_id(text: str) -> int:
    """An id as written in a command: a whole number from 1 to MAX_ID; ValueError says what is wrong."""
    value = positive_int(text)
    if value > MAX_ID:
        raise ValueError(f"'{text}' is not an id (too large)")
    return value


def as_id(value: object) -> int | None:
    """An id carried in a payload (JSON): an int, not a bool, from 1 to MAX_ID; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        return None
    return value
