"""The one table of CSV kinds is what every place that names the kinds reads."""

from __future__ import annotations

import pytest

from app import build_parser
from handlers.commands.parser import parse
from handlers.csv.kinds import COLUMNS, KINDS, kind_named


def test_a_kinds_columns_are_its_row_fields() -> None:
    assert COLUMNS["projects"] == ("name", "sponsor", "segment", "cadence", "day", "time")
    assert all(kind.columns == COLUMNS[name] for name, kind in KINDS.items())
    assert all(kind.name == name for name, kind in KINDS.items())


def test_an_unknown_kind_names_the_kinds_there_are() -> None:
    with pytest.raises(ValueError, match="unknown CSV kind 'people': expected one of projects, responses"):
        kind_named("people")


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_shell_and_the_chat_command_accept_every_kind(kind: str) -> None:
    assert build_parser().parse_args(["export", kind]).kind == kind
    assert build_parser().parse_args(["import", kind, "file.csv"]).kind == kind
    assert parse(f"export {kind}").positional == kind
