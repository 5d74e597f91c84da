"""slack_sdk's Block Kit validation with validators looked up per class (bot/slack/validation.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.basic_objects import JsonObject
from slack_sdk.models.blocks import (
    ButtonElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View as SlackView

from bot.slack import blocks, validation
from handlers.checkins.views import IMPACTS, painpoint_question, taste_question
from handlers.commands.home import command_choice
from handlers.views import Choice, Fact, View

VIEWS = (
    taste_question(7, "Apollo"),
    taste_question(7, "Apollo", rating=2, comment="Too slow"),
    painpoint_question(3, "Apollo"),
    View(
        title="Value",
        text="Figures",
        facts=tuple(Fact(f"F{i}", "v") for i in range(12)),
        lines=("a", "b"),
        chart=b"png",
        chart_alt="CSAT by month",
        choices=(Choice("share", "Share in channel", {"command": "value"}, style="primary"),),
    ),
    View(title="Home", choices=(command_choice("Pause", "pause"),)),
)


def slack_sdk_scan(obj: JsonObject) -> list[str]:
    """The validators slack_sdk's own validate_json finds on an object (its dir() scan)."""
    return [
        name
        for name in dir(obj)
        if not name.startswith("__")
        and callable(method := getattr(obj, name, None))
        and hasattr(method, "validator")
    ]


def objects(value: Any) -> Iterator[JsonObject]:
    """Every Block Kit object in a tree of them."""
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from objects(item)
    elif isinstance(value, JsonObject):
        yield value
        for key in value.attributes:
            yield from objects(getattr(value, key, None))


def rendered_objects() -> list[JsonObject]:
    """What messages, the home tab and modals are made of."""
    found = [obj for view in VIEWS for obj in objects(blocks.view_blocks(view, chart_file_id="F1"))]
    found += objects(blocks.view_blocks(VIEWS[3]))  # the chart in words
    found += objects(
        SlackView(
            type="modal",
            title=PlainTextObject(text="Pain point"),
            blocks=[
                InputBlock(
                    block_id="text",
                    label="What keeps you up at night?",
                    element=PlainTextInputElement(action_id="text", multiline=True, max_length=3000),
                ),
                InputBlock(
                    block_id="impact",
                    label="How much does it hurt?",
                    element=StaticSelectElement(
                        action_id="impact",
                        placeholder=PlainTextObject(text="Choose"),
                        options=[Option(value=v, text=t) for v, t in IMPACTS],
                    ),
                ),
            ],
        )
    )
    return found


def test_the_installed_validation_is_this_modules() -> None:
    assert JsonObject.validate_json is validation.validate_json


def test_each_objects_validators_are_the_ones_slack_sdk_would_find() -> None:
    found = rendered_objects()
    kinds = {type(obj) for obj in found}
    assert len(kinds) >= 10  # sections, buttons, actions, images, contexts, texts, inputs, options…
    for obj in found:
        assert list(validation.validator_names(type(obj))) == slack_sdk_scan(obj), type(obj).__name__


def test_every_validator_still_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []
    button = ButtonElement(text="Go", action_id="go", value="1")
    expected = slack_sdk_scan(button)
    for name in validation.validator_names(ButtonElement):
        original = getattr(button, name)
        monkeypatch.setattr(button, name, lambda original=original, name=name: ran.append(name) or original())
    button.to_dict()
    assert ran == expected and len(ran) >= 4


@pytest.mark.parametrize(
    "invalid",
    [
        lambda: ButtonElement(text="x" * 76, action_id="go"),
        lambda: ButtonElement(text="Go", action_id="a" * 256),
        lambda: ButtonElement(text="Go", action_id="go", style="loud"),
        lambda: SectionBlock(text="x" * 3001),
        lambda: StaticSelectElement(
            action_id="s", options=[Option(value=str(i), text="o") for i in range(101)]
        ),
    ],
)
def test_invalid_objects_are_still_refused(invalid: Any) -> None:
    with pytest.raises(SlackObjectFormationError):
        invalid().to_dict()
