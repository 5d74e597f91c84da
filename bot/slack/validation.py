"""slack_sdk's Block Kit validation, with each class's validators found once instead of per object.

`JsonObject.to_dict()` validates an object before serialising it, and slack_sdk's `validate_json`
finds the validators by scanning `dir(self)` and reading every attribute, for every object of
every message: on a check-in message that scan was two thirds of the rendering time (0.26 of
0.39 ms). The validators are methods of the class, marked by slack_sdk's `@JsonValidator`, so one
list per class serves all its objects. `install()` swaps the scan for that list; the same
validators run in the same (alphabetical) order and raise the same SlackObjectFormationError.
tests/bot/slack/test_validation.py checks that the list equals what the scan finds on real objects.
"""

from __future__ import annotations

from slack_sdk.models.basic_objects import JsonObject

_BY_CLASS: dict[type, tuple[str, ...]] = {}


def validator_names(cls: type) -> tuple[str, ...]:
    """The names of the class's validators, as slack_sdk's own scan would find them."""
    names = _BY_CLASS.get(cls)
    if names is None:
        names = tuple(
            name
            for name in dir(cls)
            if not name.startswith("__")
            and callable(method := getattr(cls, name, None))
            and hasattr(method, "validator")
        )
        _BY_CLASS[cls] = names
    return names


def validate_json(self: JsonObject) -> None:
    """JsonObject.validate_json, with the validators looked up once per class."""
    for name in validator_names(type(self)):
        getattr(self, name)()


def install() -> None:
    JsonObject.validate_json = validate_json  # type: ignore[method-assign]
