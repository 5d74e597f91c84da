"""`--days 30` in the /pmo language: said how options are written here, never taken for a name."""

from __future__ import annotations

import pytest

from handlers.commands.parser import ParseError, parse


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("value --days 0", "Options are written key:value, e.g. days:N, not '--days'."),
        ("value ERP --days=30", "Options are written key:value, e.g. days:N, not '--days=30'."),
        ("value --segment Finance", "Options are written key:value, e.g. segment:NAME, not '--segment'."),
        (
            "value --json",
            "'--json' is not an option of value: options are written key:value, e.g. segment:NAME.",
        ),
        ("project list --all", "'--all' is not an option of project list: options are written key:value."),
    ],
)
def test_a_dashed_option_says_how_options_are_written(text: str, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert caught.value.message == message
    assert caught.value.usage


@pytest.mark.parametrize(
    ("text", "positional", "options"),
    [
        ('value "--days"', "--days", {}),  # quoted: a name, whatever it holds
        ("value -- x", "-- x", {}),
        ("cost -5", -5.0, {}),
        (
            "outcome add P metric:Order --cycle time baseline:1 target:2",
            "P",
            {"metric": "Order --cycle time"},
        ),
    ],
)
def test_dashes_elsewhere_are_still_words(text: str, positional: object, options: dict[str, object]) -> None:
    command = parse(text)
    assert command.positional == positional
    assert options.items() <= command.options.items()
