"""The one table of commands: every command the parser accepts has exactly one handler."""

from __future__ import annotations

import pytest

from handlers.commands.parser import SPECS, Spec
from handlers.commands.run import HANDLERS, check_every_command_handled, handles


def test_every_command_has_its_handler() -> None:
    assert set(HANDLERS) == {spec.name for spec in SPECS}


def test_a_handler_for_words_the_parser_does_not_know_fails_at_once() -> None:
    with pytest.raises(LookupError, match="'project delete' is not a command"):
        handles("project delete")


def test_a_second_handler_for_one_command_fails_at_once() -> None:
    async def other(ctx, command):  # pragma: no cover - never run
        raise AssertionError

    with pytest.raises(LookupError, match="'help' has two handlers"):
        handles("help")(other)
    assert HANDLERS["help"] is not other


def test_a_command_without_a_handler_fails_the_check() -> None:
    orphan = Spec(("project", "delete"), "project delete NAME", "staff", "name")
    with pytest.raises(LookupError, match="no handler for project delete"):
        check_every_command_handled((*SPECS, orphan))
