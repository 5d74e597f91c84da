"""The five tastes a sponsor can give, and where sour begins: words every area shares."""

from __future__ import annotations

SOUR = 2  # ratings at or below this are announced

TASTES: dict[int, tuple[str, str]] = {
    5: ("😋", "Delicious"),
    4: ("🙂", "Tasty"),
    3: ("😐", "Bland"),
    2: ("😕", "Off"),
    1: ("🤢", "Sour"),
}


def taste_label(rating: int) -> str:
    emoji, word = TASTES[rating]
    return f"{emoji} {word}"
