"""Control characters (handlers.text): refused in names and free text, stripped from chat comments."""

from __future__ import annotations

import pytest

from handlers.text import name_problem, strip_controls, text_problem, visible
from storage.db import Database
from storage.models import Answer, Checkin
from tests.helpers import make_world

REFUSED_EVERYWHERE = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9b", "\u202a", "\u202e", "\u2066", "\u2069"]
FINE_IN_TEXT_ONLY = ["\t", "\n", "\r"]
FINE_EVERYWHERE = ["é", "🚀", "\u200d", "\u200f", "\u00a0", " ", "שלום"]


@pytest.mark.parametrize("char", REFUSED_EVERYWHERE)
def test_refused_in_names_and_text(char: str) -> None:
    reason = f"contains a control character (U+{ord(char):04X})"
    assert name_problem(f"a{char}b") == text_problem(f"a{char}b") == reason
    assert strip_controls(f"a{char}b") == "ab"


@pytest.mark.parametrize("char", FINE_IN_TEXT_ONLY)
def test_line_breaks_and_tabs_are_text_but_not_names(char: str) -> None:
    assert text_problem(f"a{char}b") is None and strip_controls(f"a{char}b") == f"a{char}b"
    assert name_problem(f"a{char}b") == f"contains a control character (U+{ord(char):04X})"


@pytest.mark.parametrize("char", FINE_EVERYWHERE)
def test_ordinary_characters_are_fine(char: str) -> None:
    assert name_problem(f"a{char}b") is None and text_problem(f"a{char}b") is None
    assert strip_controls(f"a{char}b") == f"a{char}b" == visible(f"a{char}b")


def test_visible_escapes_what_a_terminal_would_run() -> None:
    assert visible("red\x1b[31m\u202eevil\nnext") == "red\\x1b[31m\\u202eevil\\nnext"


async def test_a_sponsors_comment_keeps_its_words_without_the_control_characters(db: Database) -> None:
    world = await make_world(db)
    view = await world.run(world.staff, "checkin Apollo")
    assert view.ok, view.as_text()
    [checkin] = await world.rows(Checkin)
    assert (await world.act(world.sponsor, "taste_2", {"checkin": checkin.id, "rating": 2})).ok
    comment = {"comment": "Too \x1b[31mslow\x07\u202e, and\nthe \x00UI\u2066"}
    assert (await world.act(world.sponsor, "taste_comment", {"checkin": checkin.id}, comment)).ok
    stored = await world.get(Checkin, checkin.id)
    assert stored.comment == "Too [31mslow, and the UI"
    assert [a.comment for a in await world.rows(Answer)][-1] == "Too [31mslow, and the UI"
