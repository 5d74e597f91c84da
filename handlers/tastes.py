"""The five tastes a sponsor can give, and where sour begins: words every area shares."""

from __future__ import annotations

from handlers.i18n import Cat, _

SOUR = 2  # ratings at or below this are announced

TASTES: dict[int, tuple[str, str]] = {
    5: ("😋", _("Delicious")),
    4: ("🙂", _("Tasty")),
    3: ("😐", _("Bland")),
    2: ("😕", _("Off")),
    1: ("🤢", _("Sour")),
}


def taste_label(rating: int) -> str:
    """`😋 Delicious` in English, `😋 Köstlich` once said in German (a lazy text)."""
    emoji, word = TASTES[rating]
    return Cat(emoji, word, sep=" ")
