"""Row ids from outside: one check for what people type and one for what payloads carry."""

from __future__ import annotations

import pytest

from handlers.ids import MAX_ID, as_id, parse_id, positive_int


@pytest.mark.parametrize("text", ["0", "-1", "+1", "1.0", "", " 1", "٣", "x"])
def test_positive_int_refuses_what_is_not_a_whole_number_above_zero(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a whole number above 0"):
        positive_int(text)


def test_parse_id_takes_digits_up_to_the_largest_id() -> None:
    assert positive_int("007") == 7
    assert parse_id("1") == 1
    assert parse_id(str(MAX_ID)) == MAX_ID == 2**31 - 1
    with pytest.raises(ValueError, match=rf"^'{MAX_ID + 1}' is not an id \(too large\)$"):
        parse_id(str(MAX_ID + 1))
    with pytest.raises(ValueError, match=r"^'0' is not a whole number above 0$"):
        parse_id("0")


@pytest.mark.parametrize("value", [None, True, False, 0, -3, MAX_ID + 1, "5", 5.0, [5], {"id": 5}])
def test_as_id_refuses_anything_but_an_int_id(value: object) -> None:
    assert as_id(value) is None


def test_as_id_keeps_an_int_id() -> None:
    assert as_id(1) == 1
    assert as_id(MAX_ID) == MAX_ID
